/*
 * bad_hang_status: FilterStatus and FilterNetPnPEvent never return.
 *
 * The bug: on a status indication (bad_hang_status) or a Net PnP event
 * (bad_hang_pnp, built with BAD_HANG_PNP) the driver waits, at PASSIVE_LEVEL
 * where a wait is legal, for a "reconfigured" event that nothing sets: the
 * code meant to set it was never written. The first such callback never
 * returns.
 *
 * On Windows: NDIS's watchdog for the status or PnP callback fires,
 * 0x7C(0x25) with 0x13 (FilterStatus) or 0x12 (FilterNetPnPEvent).
 *
 * Expected finding: deadlock in FilterStatus (bad_hang_status) or in
 * FilterNetPnPEvent (bad_hang_pnp), exit status 3.
 */
#include "testlwf.h"

static KEVENT HhReconfigured; /* never set: the bug */

static VOID HhWaitForever(VOID)
{
    /* A wait is legal only below DISPATCH_LEVEL; ndisemu calls both handlers
       at PASSIVE_LEVEL, where the bug is a hang and nothing else. */
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        KeWaitForSingleObject(&HhReconfigured, Executive, KernelMode, FALSE, NULL);
}

#ifdef BAD_HANG_PNP
static FILTER_NET_PNP_EVENT HhNetPnPEvent;

_Use_decl_annotations_ static NDIS_STATUS HhNetPnPEvent(NDIS_HANDLE FilterModuleContext,
                                                        PNET_PNP_EVENT_NOTIFICATION Event)
{
    PTL_MODULE Module = FilterModuleContext;

    HhWaitForever();
    return NdisFNetPnPEvent(Module->FilterHandle, Event);
}
#else
static FILTER_STATUS HhStatus;

_Use_decl_annotations_ static VOID HhStatus(NDIS_HANDLE FilterModuleContext,
                                            PNDIS_STATUS_INDICATION StatusIndication)
{
    PTL_MODULE Module = FilterModuleContext;

    HhWaitForever();
    NdisFIndicateStatus(Module->FilterHandle, StatusIndication);
}
#endif

static VOID HhCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
#ifdef BAD_HANG_PNP
    Chars->NetPnPEventHandler = HhNetPnPEvent;
#else
    Chars->StatusHandler = HhStatus;
#endif
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&HhReconfigured, NotificationEvent, FALSE);
#ifdef BAD_HANG_PNP
    return TlRegister(DriverObject, L"bad_hang_pnp", HhCustomize, NULL, 0);
#else
    return TlRegister(DriverObject, L"bad_hang_status", HhCustomize, NULL, 0);
#endif
}
