/*
 * ok_pause_workitem: every pause is pended and completed from an NDIS I/O
 * work item.
 *
 * Why it is correct ("Pausing a Filter Module", FilterPause,
 * NdisFPauseComplete, NdisQueueIoWorkItem in the WDK):
 * - FilterPause may return NDIS_STATUS_PENDING and complete later with
 *   NdisFPauseComplete, at IRQL <= DISPATCH_LEVEL, from any context; a work
 *   item routine runs at PASSIVE_LEVEL.
 * - From the start of FilterPause the module is Pausing: the datapath sees
 *   the new state (interlocked store before the work item is queued) and
 *   bounces what arrives, which the Pausing state allows. The skeleton
 *   originates and queues nothing, so nothing is outstanding.
 * - The pause is completed exactly once: FilterPause queues the item exactly
 *   once per pause and returns PENDING; the routine calls NdisFPauseComplete
 *   once and touches neither the module nor the work item afterwards (NDIS
 *   may detach the module the moment the pause is complete).
 * - A work item is never queued twice: NDIS calls FilterPause only on a
 *   Running module, so the previous pause (and its routine's last access to
 *   the item) completed before this one began.
 * - FilterDetach frees the work item: detach follows a completed pause, and
 *   the routine does not touch the item after NdisFPauseComplete.
 */
#include "testlwf.h"

static FILTER_PAUSE OwPause;
static NDIS_IO_WORKITEM_FUNCTION OwCompletePause;

_Use_decl_annotations_ static VOID OwCompletePause(PVOID WorkItemContext,
                                                   NDIS_HANDLE NdisIoWorkItemHandle)
{
    PTL_MODULE Module = WorkItemContext;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    InterlockedExchange(&Module->State, TlPaused);
    /* Last access: the module may be detached from here on. */
    NdisFPauseComplete(Module->FilterHandle);
}

_Use_decl_annotations_ static NDIS_STATUS OwPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    if (Module->DriverData == NULL) {
        /* No work item (its allocation failed at attach): pause inline. */
        InterlockedExchange(&Module->State, TlPaused);
        return NDIS_STATUS_SUCCESS;
    }
    return TlPendToWorkItem(Module, TlPausing, OwCompletePause);
}

static VOID OwCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = OwPause;
    TlUseWorkItems();
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_pause_workitem", OwCustomize, NULL, 0);
}
