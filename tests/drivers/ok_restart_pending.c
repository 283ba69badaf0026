/*
 * ok_restart_pending: every restart is pended and completed from an NDIS
 * I/O work item with NdisFRestartComplete.
 *
 * Why it is correct (FilterRestart, NdisFRestartComplete, "Starting a
 * Filter Module" in the WDK):
 * - FilterRestart may return NDIS_STATUS_PENDING and complete later with
 *   NdisFRestartComplete at IRQL <= DISPATCH_LEVEL; the work item routine
 *   runs at PASSIVE_LEVEL and calls it exactly once per restart.
 * - The routine publishes Running before it completes the restart: the WDK
 *   lets a filter resume indicating receives as soon as FilterRestart was
 *   called, before NdisFRestartComplete. It originates nothing of its own.
 * - NdisFRestartComplete is the routine's last access to the module: once
 *   the restart is complete NDIS may pause and detach it.
 * - The work item is queued once per restart; NDIS restarts only a Paused
 *   module, which it cannot be before the previous restart completed, so the
 *   item is never queued twice. FilterDetach (Paused only, so no restart is
 *   pending) frees it.
 */
#include "testlwf.h"

static FILTER_RESTART OrRestart;
static NDIS_IO_WORKITEM_FUNCTION OrCompleteRestart;

_Use_decl_annotations_ static VOID OrCompleteRestart(PVOID WorkItemContext,
                                                     NDIS_HANDLE NdisIoWorkItemHandle)
{
    PTL_MODULE Module = WorkItemContext;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    InterlockedExchange(&Module->State, TlRunning);
    /* Last access: the module may be paused and detached from here on. */
    NdisFRestartComplete(Module->FilterHandle, NDIS_STATUS_SUCCESS);
}

_Use_decl_annotations_ static NDIS_STATUS
OrRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(RestartParameters);
    if (Module->DriverData == NULL)
        return NDIS_STATUS_RESOURCES; /* no work item: the restart fails cleanly */
    return TlPendToWorkItem(Module, TlRestarting, OrCompleteRestart);
}

static VOID OrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OrRestart;
    TlUseWorkItems();
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_restart_pending", OrCustomize, NULL, 0);
}
