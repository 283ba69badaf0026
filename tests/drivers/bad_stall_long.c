/*
 * bad_stall_long: a busy-wait longer than the WDK allows.
 *
 * The bug: the first receive of each module "lets the rule table settle"
 * with NdisStallExecution(200): a busy-wait of 200 microseconds at
 * DISPATCH_LEVEL, in the receive path.
 *
 * On Windows: SDV's NdisStallExecution_Delay rule (never more than 50
 * microseconds; a longer wait belongs to NdisMSleep, at PASSIVE_LEVEL). The
 * CPU does nothing else meanwhile: receive latency, and DPC watchdog time.
 *
 * Expected finding: stall-too-long naming this driver in
 * FilterReceiveNetBufferLists.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS SlReceive;

_Use_decl_annotations_ static VOID SlReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    if (InterlockedExchange(&Module->Counter, 1) == 0)
        NdisStallExecution(200); /* BUG: more than 50 microseconds */
    TlFilterReceiveNetBufferLists(FilterModuleContext, NetBufferLists, PortNumber,
                                  NumberOfNetBufferLists, ReceiveFlags);
}

static VOID SlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = SlReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_stall_long", SlCustomize, NULL, 0);
}
