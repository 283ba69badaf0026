/*
 * bad_irql_return: FilterRestart returns at DISPATCH_LEVEL.
 *
 * The bug: the restart path refreshes a per-module counter "atomically" by
 * raising IRQL around it, and the early-out for an already-fresh counter
 * returns before the matching KeLowerIrql. Every API it calls in between is
 * legal at DISPATCH_LEVEL, so no API-level check can see it; only the IRQL
 * the callback returns at gives it away.
 *
 * On Windows: NDIS continues the restart at DISPATCH_LEVEL; Driver Verifier
 * bugchecks on return from the callback (0xC4, IRQL changed by the driver),
 * SDV: Irql_Filter_Driver_Function.
 *
 * Expected finding: irql in FilterRestart, "returned at DISPATCH_LEVEL,
 * called at PASSIVE_LEVEL".
 */
#include "testlwf.h"

static FILTER_RESTART IrrRestart;

_Use_decl_annotations_ static NDIS_STATUS IrrRestart(NDIS_HANDLE FilterModuleContext,
                                                     PNDIS_FILTER_RESTART_PARAMETERS Params)
{
    PTL_MODULE Module = FilterModuleContext;
    KIRQL OldIrql;

    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    Module->Counter++;
    if (Module->Counter > 0)
        /* BUG: returns without KeLowerIrql(OldIrql). */
        return TlFilterRestart(FilterModuleContext, Params);
    KeLowerIrql(OldIrql);
    return TlFilterRestart(FilterModuleContext, Params);
}

static VOID IrrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = IrrRestart;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_irql_return", IrrCustomize, NULL, 0);
}
