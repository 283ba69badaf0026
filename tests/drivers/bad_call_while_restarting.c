/*
 * bad_call_while_restarting: sends a frame of its own from FilterRestart.
 *
 * The bug: a "link monitor" filter announces to its peer that the link is
 * up again by sending one small frame of its own each time the module
 * restarts, straight from FilterRestart, before it returns. Its pause waits
 * for the frame to complete, so nothing leaks and the author believed the
 * restart was clean. But until the restart completes the module is
 * Restarting, and a Restarting module may not send or indicate anything of
 * its own: the frame should be sent from the datapath once Running (or from
 * a work item queued at the end of the restart that checks the state).
 *
 * On Windows: the send races the restart of the stack; below this module
 * the drivers are Running and it usually works, but the protocols above
 * have not been told the link is up, and a miniport that is being
 * restarted (NDIS restarts a stack bottom-up after a reset or a power
 * transition) gets a send before its own restart completed. NDIS does not
 * check this.
 *
 * Expected finding: call-while-restarting in NdisFSendNetBufferLists,
 * naming this module.
 */
#include "tl_frame.h"

static FILTER_RESTART HelloRestart;
static FILTER_PAUSE HelloPause;

_Use_decl_annotations_ static NDIS_STATUS
HelloRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    PTL_FRAME Hello = Module->DriverData;

    UNREFERENCED_PARAMETER(RestartParameters);
    if (Hello != NULL && InterlockedCompareExchange(&Module->Outstanding, 1, 0) == 0) {
        KeClearEvent(&Module->Idle);
        /* BUG: the module is Restarting until this function returns. */
        NdisFSendNetBufferLists(Module->FilterHandle, TlFrameNbl(Module, Hello),
                                NDIS_DEFAULT_PORT_NUMBER, 0);
    }
    InterlockedExchange(&Module->State, TlRunning);
    return NDIS_STATUS_SUCCESS;
}

/* Right as far as it goes: its own frame is waited for. */
_Use_decl_annotations_ static NDIS_STATUS HelloPause(NDIS_HANDLE FilterModuleContext,
                                                     PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

static VOID HelloAttach(PTL_MODULE Module)
{
    Module->DriverData = TlFrameAllocate(Module);
}

/* After the last pause the frame is back. */
static VOID HelloDetach(PTL_MODULE Module)
{
    PTL_FRAME Hello = Module->DriverData;

    if (Hello == NULL)
        return;
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    TlFrameFree(Hello);
}

static VOID HelloCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = HelloRestart;
    Chars->PauseHandler = HelloPause;
    Chars->SendNetBufferListsCompleteHandler = TlFrameSendComplete;
    TlOnAttach = HelloAttach;
    TlOnDetach = HelloDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_call_while_restarting", HelloCustomize, NULL, 0);
}
