/*
 * bad_call_while_paused: originates a send from a DPC while its module is
 * pausing.
 *
 * The bug: a "link monitor" filter tells its peer that the link is going
 * down by sending one small frame of its own whenever the module pauses. The
 * frame is built and sent from a DPC (the code is shared with the periodic
 * keepalive, which also runs as a DPC), which FilterPause queues; FilterPause
 * then waits for the frame to complete, so the author believed the pause was
 * clean. But from the start of FilterPause the module may not originate
 * anything: the DPC sends into a stack that is being paused.
 *
 * On Windows: the send races the pause of the drivers below; if their pause
 * completes first the miniport gets a send while paused or halted and
 * touches freed rings: a 0xD1/0x3B bugcheck during adapter disable, sleep or
 * any filter install that restarts the stack. NDIS does not check this.
 *
 * Expected finding: call-while-paused in NdisFSendNetBufferLists, naming
 * this module.
 */
#include "tl_frame.h"

static KDEFERRED_ROUTINE KaDpc;
static FILTER_PAUSE KaPause;

_Use_decl_annotations_ static VOID KaDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                                         PVOID SystemArgument2)
{
    PTL_MODULE Module = DeferredContext;
    PTL_FRAME Ka = Module->DriverData;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    /* BUG: a Pausing module may not originate; the frame should have been
       sent before NDIS called FilterPause, or not at all. */
    NdisFSendNetBufferLists(Module->FilterHandle, TlFrameNbl(Module, Ka), NDIS_DEFAULT_PORT_NUMBER,
                            NDIS_SEND_FLAGS_DISPATCH_LEVEL);
}

_Use_decl_annotations_ static NDIS_STATUS KaPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    if (Module->DriverData != NULL && InterlockedCompareExchange(&Module->Outstanding, 1, 0) == 0) {
        KeClearEvent(&Module->Idle);
        KeInsertQueueDpc(&Module->Dpc, NULL, NULL);
    }
    /* Right as far as it goes: its own frame is waited for. */
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

static VOID KaAttach(PTL_MODULE Module)
{
    PTL_FRAME Ka = TlFrameAllocate(Module);

    if (Ka == NULL)
        return;
    KeInitializeDpc(&Module->Dpc, KaDpc, Module);
    Module->DriverData = Ka;
}

/* After the last pause the frame is back; the flush waits out the DPC that
   sent it, so nothing can touch Ka or the module's KDPC any more. */
static VOID KaDetach(PTL_MODULE Module)
{
    PTL_FRAME Ka = Module->DriverData;

    if (Ka == NULL)
        return;
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    KeFlushQueuedDpcs();
    TlFrameFree(Ka);
}

static VOID KaCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = KaPause;
    Chars->SendNetBufferListsCompleteHandler = TlFrameSendComplete;
    TlOnAttach = KaAttach;
    TlOnDetach = KaDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_call_while_paused", KaCustomize, NULL, 0);
}
