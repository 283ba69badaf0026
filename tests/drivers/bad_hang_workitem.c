/*
 * bad_hang_workitem: a work item that never returns.
 *
 * The bug: attach queues a work item that loads the module's rules and
 * then waits for a "rules applied" acknowledgement with no timeout; the
 * acknowledgement comes from a component that is not there. The system
 * worker thread is lost for good.
 *
 * On Windows: the worker is gone; unload hangs waiting for the item, and a
 * PnP operation waiting behind it ends in 0x9F.
 *
 * Expected finding: deadlock in the work item routine (NDIS_IO_WORKITEM_ROUTINE) of
 * bad_hang_workitem, exit status 3.
 */
#include "testlwf.h"

static KEVENT HwApplied; /* never set: the bug */
static NDIS_HANDLE HwItem;
static volatile LONG HwQueued;

static NDIS_IO_WORKITEM_FUNCTION HwLoadRules;

_Use_decl_annotations_ static VOID HwLoadRules(PVOID Context, NDIS_HANDLE WorkItem)
{
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(WorkItem);
    KeWaitForSingleObject(&HwApplied, Executive, KernelMode, FALSE, NULL);
}

static VOID HwOnAttach(PTL_MODULE Module)
{
    if (InterlockedExchange(&HwQueued, 1) != 0)
        return;
    HwItem = NdisAllocateIoWorkItem(Module->FilterHandle);
    if (HwItem != NULL)
        NdisQueueIoWorkItem(HwItem, HwLoadRules, NULL);
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&HwApplied, NotificationEvent, FALSE);
    TlOnAttach = HwOnAttach;
    return TlRegister(DriverObject, L"bad_hang_workitem", NULL, NULL, 0);
}
