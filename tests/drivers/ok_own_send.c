/*
 * ok_own_send: a filter that answers traffic with frames of its own: every
 * OK_SEND_EVERY receive calls it sends one small frame (built in its own
 * NBL pool) down the stack from inside FilterReceiveNetBufferLists, at the
 * receive's IRQL, then passes the receive on.
 *
 * Why it is correct (NdisFSendNetBufferLists, FilterSendNetBufferListsComplete,
 * "Pausing a Filter Module" in the WDK), with ok_gate.h and tl_frame.h:
 * - The send is started only inside a receive call that entered the gate
 *   while Running, so never once Pausing is visible; the frame's gate
 *   reference is held until FilterSendNetBufferListsComplete gives it back,
 *   so the pause stays pending until the module's own send has completed,
 *   as the Pausing state requires.
 * - The originated NBL carries the module's own handle as SourceHandle and
 *   comes from its own pool; NDIS_SEND_FLAGS_DISPATCH_LEVEL is passed exactly
 *   when the receive said it runs at DISPATCH_LEVEL.
 * - FilterSendNetBufferListsComplete tells its own NBL from the sends of the
 *   drivers above (SourceHandle) and never completes it upward; the others
 *   go up with the flags they came with.
 * - One frame per module, never sent twice (a flag claimed by exchange,
 *   cleared when it is back). Detach frees it: detach follows a completed
 *   pause, so the frame is back.
 */
#include "tl_frame.h"
#include "ok_gate.h"

#define OK_SEND_EVERY 16

typedef struct _OS_MODULE {
    PTL_FRAME Frame;
    volatile LONG Away;     /* the frame is on its way down or below */
    volatile LONG Receives; /* receive calls, to pick every OK_SEND_EVERY-th */
} OS_MODULE, *POS_MODULE;

static FILTER_RESTART OsRestart;
static FILTER_PAUSE OsPause;
static FILTER_RECEIVE_NET_BUFFER_LISTS OsReceive;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE OsSendComplete;

_Use_decl_annotations_ static NDIS_STATUS
OsRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    UNREFERENCED_PARAMETER(RestartParameters);
    OkGateOpen(FilterModuleContext);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS OsPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    UNREFERENCED_PARAMETER(PauseParameters);
    return OkGateClose(FilterModuleContext);
}

_Use_decl_annotations_ static VOID OsReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    POS_MODULE Os = Module->DriverData;

    if (!OkGateEnter(Module)) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    if (Os != NULL && InterlockedIncrement(&Os->Receives) % OK_SEND_EVERY == 0 &&
        InterlockedExchange(&Os->Away, 1) == 0) {
        OkGateAddRef(Module); /* the frame's reference, until its send completes */
        NdisFSendNetBufferLists(
            Module->FilterHandle, TlFrameNbl(Module, Os->Frame), NDIS_DEFAULT_PORT_NUMBER,
            NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0);
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
    POS_MODULE Os = Module->DriverData;
    PNET_BUFFER_LIST Theirs = NULL, *Tail = &Theirs, Nbl, Next;
    BOOLEAN Ours = FALSE;

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (Nbl->SourceHandle == Module->FilterHandle) {
            Ours = TRUE;
        } else {
            *Tail = Nbl;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    if (Theirs != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, Theirs, SendCompleteFlags);
    if (Ours) {
        InterlockedExchange(&Os->Away, 0);
        OkGateLeave(Module); /* may end the pause: the last access */
    }
}

/* Without its frame a module runs as a plain pass-through. */
static VOID OsAttach(PTL_MODULE Module)
{
    POS_MODULE Os = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Os),
                                                      TL_POOL_TAG, NormalPoolPriority);

    if (Os == NULL)
        return;
    NdisZeroMemory(Os, sizeof(*Os));
    Os->Frame = TlFrameAllocate(Module);
    if (Os->Frame == NULL) {
        NdisFreeMemory(Os, 0, 0);
        return;
    }
    Module->DriverData = Os;
}

static VOID OsDetach(PTL_MODULE Module)
{
    POS_MODULE Os = Module->DriverData;

    if (Os == NULL)
        return;
    TlFrameFree(Os->Frame);
    NdisFreeMemory(Os, 0, 0);
}

static VOID OsCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OsRestart;
    Chars->PauseHandler = OsPause;
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
    return TlRegister(DriverObject, L"ok_own_send", OsCustomize, NULL, 0);
}
