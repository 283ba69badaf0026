/*
 * bad_restart_complete: completes its restart twice.
 *
 * The bug: the author read that NdisFRestartComplete "tells NDIS that the
 * restart is complete" and calls it at the end of FilterRestart, then
 * returns NDIS_STATUS_SUCCESS as well. NdisFRestartComplete is only for a
 * FilterRestart that returned NDIS_STATUS_PENDING, and only once: here the
 * restart is completed twice, the second time after NDIS may already have
 * moved the module on (started its datapath, or paused it again).
 *
 * On Windows: NDIS's restart bookkeeping for the module is released twice;
 * Driver Verifier's NDIS checks report the unexpected completion, and
 * without it the stack's PnP state machine can be corrupted (a hang in the
 * next pause, or a bugcheck 0x7C).
 *
 * Expected finding: restart-complete-unexpected in FilterRestart, naming
 * this module.
 */
#include "testlwf.h"

static FILTER_RESTART TwiceRestart;

_Use_decl_annotations_ static NDIS_STATUS
TwiceRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(RestartParameters);
    InterlockedExchange(&Module->State, TlRunning);
    /* BUG: only a restart that returns NDIS_STATUS_PENDING is completed so. */
    NdisFRestartComplete(Module->FilterHandle, NDIS_STATUS_SUCCESS);
    return NDIS_STATUS_SUCCESS;
}

static VOID TwiceCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = TwiceRestart;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_restart_complete", TwiceCustomize, NULL, 0);
}
