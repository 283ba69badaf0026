/*
 * bad_hang_dispatch: a system thread left at DISPATCH_LEVEL.
 *
 * The bug: the driver's periodic thread raises IRQL to update statistics
 * "without being preempted" and its early-out path skips the KeLowerIrql.
 * From then on the thread sleeps between ticks at DISPATCH_LEVEL, holding
 * its CPU: DPCs for that CPU never run again.
 *
 * On Windows: the wait at DISPATCH_LEVEL bugchecks at once (0xA) on a
 * verifier-enabled machine; otherwise the CPU is lost and 0x133 follows.
 *
 * Expected findings: irql (the wait at DISPATCH_LEVEL), then deadlock
 * naming the CPU held by the system thread, exit status 3.
 */
#include "testlwf.h"

static volatile LONG HdTicks;

static VOID HdTick(VOID)
{
    KIRQL OldIrql;

    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    if (InterlockedIncrement(&HdTicks) > 2)
        return; /* BUG: still at DISPATCH_LEVEL */
    KeLowerIrql(OldIrql);
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_hang_dispatch", NULL, HdTick, 50);
}
