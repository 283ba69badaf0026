/*
 * bad_indication_invalid (two drivers from one source): a status or Net
 * PnP notification passed up in a copy whose header is wrong.
 *
 * bad_status_invalid: FilterStatus rewrites what it passes up in a copy on
 * its stack, zeroed and filled field by field; the header is forgotten, so
 * the copy's Header.Type is 0. On Windows: bug check 0x7C
 * BUGCODE_NDIS_DRIVER, parameter 1 0x20 (a filter indicated an illegal
 * NDIS_STATUS_INDICATION). Expected finding: status-indication-invalid
 * naming the driver in FilterStatus.
 *
 * bad_pnp_invalid (BAD_PNP_INVALID): FilterNetPnPEvent does the same for
 * Net PnP events and sets Header.Size to sizeof(NET_PNP_EVENT), the inner
 * structure's size, not the notification's. On Windows: 0x7C, parameter 1
 * 0x22 (an illegal NET_PNP_EVENT_NOTIFICATION). Expected finding:
 * pnp-event-invalid naming the driver in FilterNetPnPEvent.
 */
#include "testlwf.h"

#ifdef BAD_PNP_INVALID
static FILTER_NET_PNP_EVENT IiNetPnPEvent;

_Use_decl_annotations_ static NDIS_STATUS IiNetPnPEvent(NDIS_HANDLE FilterModuleContext,
                                                        PNET_PNP_EVENT_NOTIFICATION Event)
{
    PTL_MODULE Module = FilterModuleContext;
    NET_PNP_EVENT_NOTIFICATION Copy;

    NdisZeroMemory(&Copy, sizeof(Copy));
    Copy.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    Copy.Header.Revision = NET_PNP_EVENT_NOTIFICATION_REVISION_1;
    Copy.Header.Size = sizeof(NET_PNP_EVENT); /* BUG: the inner structure's size */
    Copy.PortNumber = Event->PortNumber;
    Copy.NetPnPEvent = Event->NetPnPEvent;
    return NdisFNetPnPEvent(Module->FilterHandle, &Copy);
}
#else
static FILTER_STATUS IiStatus;

_Use_decl_annotations_ static VOID IiStatus(NDIS_HANDLE FilterModuleContext,
                                            PNDIS_STATUS_INDICATION StatusIndication)
{
    PTL_MODULE Module = FilterModuleContext;
    NDIS_STATUS_INDICATION Copy;

    NdisZeroMemory(&Copy, sizeof(Copy));
    /* BUG: no Copy.Header = StatusIndication->Header. */
    Copy.SourceHandle = StatusIndication->SourceHandle;
    Copy.PortNumber = StatusIndication->PortNumber;
    Copy.StatusCode = StatusIndication->StatusCode;
    Copy.Flags = StatusIndication->Flags;
    Copy.DestinationHandle = StatusIndication->DestinationHandle;
    Copy.RequestId = StatusIndication->RequestId;
    Copy.StatusBuffer = StatusIndication->StatusBuffer;
    Copy.StatusBufferSize = StatusIndication->StatusBufferSize;
    Copy.Guid = StatusIndication->Guid;
    NdisFIndicateStatus(Module->FilterHandle, &Copy);
}
#endif

static VOID IiCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
#ifdef BAD_PNP_INVALID
    Chars->NetPnPEventHandler = IiNetPnPEvent;
#else
    Chars->StatusHandler = IiStatus;
#endif
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
#ifdef BAD_PNP_INVALID
    return TlRegister(DriverObject, L"bad_pnp_invalid", IiCustomize, NULL, 0);
#else
    return TlRegister(DriverObject, L"bad_status_invalid", IiCustomize, NULL, 0);
#endif
}
