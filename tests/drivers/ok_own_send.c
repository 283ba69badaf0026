/*
 * ok_own_send: a filter that answers traffic with frames of its own: every
 * OK_SEND_EVERY receive calls it sends one small frame (built in its own
 * NBL pool, tl_frame.h) down the stack, then passes the receive on. Built
 * twice:
 *   ok_own_send      sends from inside FilterReceiveNetBufferLists, at the
 *                    receive's IRQL
 *   ok_own_send_dpc  the receive queues the module's DPC, which sends
 *                    (OK_SEND_FROM_DPC): the decision is the receive's, the
 *                    send may come after FilterPause was called (the
 *                    hand-off ndisemu's verifier follows, docs/verifier.md)
 *
 * Why it is correct (NdisFSendNetBufferLists, FilterSendNetBufferListsComplete,
 * "Pausing a Filter Module" in the WDK), with ok_gate.h and tl_frame.h:
 * - The send is decided only inside a receive call that entered the gate
 *   while Running, so never once Pausing is visible; the frame's gate
 *   reference is taken there and held until FilterSendNetBufferListsComplete
 *   gives it back, so the pause stays pending until the module's own send
 *   (and, for the DPC variant, the DPC that makes it) has completed, as the
 *   Pausing state requires.
 * - The originated NBL carries the module's own handle as SourceHandle and
 *   comes from its own pool; NDIS_SEND_FLAGS_DISPATCH_LEVEL is passed exactly
 *   when the sender runs at DISPATCH_LEVEL (the receive said so, or a DPC).
 * - FilterSendNetBufferListsComplete tells its own NBL from the sends of the
 *   drivers above (SourceHandle) and never completes it upward; the others
 *   go up with the flags they came with.
 * - One frame per module, never sent twice (a flag claimed by exchange,
 *   cleared when it is back), so its DPC is queued at most once at a time.
 *   Detach frees it: detach follows a completed pause, so the frame is back;
 *   the DPC variant first flushes the DPC, which may still be returning
 *   from the routine that sent it.
 */
#include "tl_frame.h"
#include "ok_gate.h"

#define OK_SEND_EVERY 16

static FILTER_RECEIVE_NET_BUFFER_LISTS OsReceive;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE OsSendComplete;

static VOID OsSend(PTL_MODULE Module, ULONG SendFlags)
{
    PTL_FRAME_CONTEXT Os = Module->DriverData;

    NdisFSendNetBufferLists(Module->FilterHandle, TlFrameNbl(Module, Os->Frame),
                            NDIS_DEFAULT_PORT_NUMBER, SendFlags);
}

#ifdef OK_SEND_FROM_DPC
static KDEFERRED_ROUTINE OsSendDpc;

_Use_decl_annotations_ static VOID OsSendDpc(PKDPC Dpc, PVOID DeferredContext,
                                             PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    OsSend(DeferredContext, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
}
#endif

_Use_decl_annotations_ static VOID OsReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PTL_FRAME_CONTEXT Os = Module->DriverData;

    if (!OkGateEnter(Module)) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    if (Os != NULL && InterlockedIncrement(&Os->Count) % OK_SEND_EVERY == 0 &&
        InterlockedExchange(&Os->Away, 1) == 0) {
        OkGateAddRef(Module); /* the frame's reference, until its send completes */
#ifdef OK_SEND_FROM_DPC
        KeInsertQueueDpc(&Module->Dpc, NULL, NULL);
#else
        OsSend(Module, NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                           ? NDIS_SEND_FLAGS_DISPATCH_LEVEL
                           : 0);
#endif
    }
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
    OkGateLeave(Module);
}

_Use_decl_annotations_ static VOID OsSendComplete(NDIS_HANDLE FilterModuleContext,
                                                  PNET_BUFFER_LIST NetBufferLists,
                                                  ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PTL_FRAME_CONTEXT Os = Module->DriverData;
    BOOLEAN Ours = TlTakeOwn(Module, &NetBufferLists);

    if (NetBufferLists != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, NetBufferLists, SendCompleteFlags);
    if (Ours) {
        InterlockedExchange(&Os->Away, 0);
        OkGateLeave(Module); /* may end the pause: the last access */
    }
}

#ifdef OK_SEND_FROM_DPC
#define OS_SERVICE L"ok_own_send_dpc"

static VOID OsAttach(PTL_MODULE Module)
{
    KeInitializeDpc(&Module->Dpc, OsSendDpc, Module);
    TlFrameContextAttach(Module);
}

static VOID OsDetach(PTL_MODULE Module)
{
    KeFlushQueuedDpcs();
    TlFrameContextDetach(Module);
}
#else
#define OS_SERVICE L"ok_own_send"
#define OsAttach TlFrameContextAttach
#define OsDetach TlFrameContextDetach
#endif

static VOID OsCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OkGateRestart;
    Chars->PauseHandler = OkGatePause;
    Chars->ReceiveNetBufferListsHandler = OsReceive;
    Chars->SendNetBufferListsCompleteHandler = OsSendComplete;
    TlOnAttach = OsAttach;
    TlOnDetach = OsDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, OS_SERVICE, OsCustomize, NULL, 0);
}
