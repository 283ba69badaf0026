/*
 * bad_dpc_requeue: a polling DPC that re-queues itself on its own CPU.
 *
 * The bug: instead of being queued when work arrives, the driver's
 * "harvest" DPC polls: each run looks for work, finds none most of the time,
 * and queues itself again. Each run is short, so no single DPC is ever too
 * long, but the CPU it runs on never drops below DISPATCH_LEVEL again.
 *
 * On Windows: bugcheck 0x133 DPC_WATCHDOG_VIOLATION, parameter 1 (the
 * cumulative DPC watchdog: too long at DISPATCH_LEVEL or above).
 *
 * Expected finding: dpc-watchdog in DeferredRoutine of bad_dpc_requeue,
 * exit status 3.
 */
#include "testlwf.h"

static KDPC DrDpc;
static volatile LONG DrRunning; /* between the first restart and the detach */

static KDEFERRED_ROUTINE DrHarvest;

_Use_decl_annotations_ static VOID DrHarvest(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    KeStallExecutionProcessor(50); /* "looks for work" */
    if (ReadNoFence(&DrRunning))
        KeInsertQueueDpc(Dpc, NULL, NULL); /* BUG: polls by re-queueing itself */
}

static VOID DrOnAttach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    if (InterlockedExchange(&DrRunning, 1) == 0)
        KeInsertQueueDpc(&DrDpc, NULL, NULL);
}

/* So that the only bug is the polling: nothing is queued once a module goes. */
static VOID DrOnDetach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    InterlockedExchange(&DrRunning, 0);
    KeRemoveQueuedDpc(&DrDpc);
    KeFlushQueuedDpcs();
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeDpc(&DrDpc, DrHarvest, NULL);
    KeSetTargetProcessorDpc(&DrDpc, 0);
    TlOnAttach = DrOnAttach;
    TlOnDetach = DrOnDetach;
    return TlRegister(DriverObject, L"bad_dpc_requeue", NULL, NULL, 0);
}
