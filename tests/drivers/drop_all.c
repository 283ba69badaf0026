/*
 * drop_all: a filter that follows every rule of the contract and still
 * breaks the network: it drops every packet, both ways. It hands each
 * receive back to the miniport and completes each send with
 * NDIS_STATUS_SUCCESS without passing it on.
 *
 * ndisemu's verifier has nothing to say about it (no rule is broken); the
 * conformance run must fail it, in its traffic and connectivity phases,
 * while the phases that only exercise the control path pass.
 */
#include "testlwf.h"

static FILTER_SEND_NET_BUFFER_LISTS DaSend;
static FILTER_RECEIVE_NET_BUFFER_LISTS DaReceive;

_Use_decl_annotations_ static VOID DaSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Nbl;

    UNREFERENCED_PARAMETER(PortNumber);
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl))
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_SUCCESS;
    NdisFSendNetBufferListsComplete(
        Module->FilterHandle, NetBufferLists,
        NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ static VOID DaReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    TlRejectReceive(FilterModuleContext, NetBufferLists, ReceiveFlags);
}

static VOID DaCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->SendNetBufferListsHandler = DaSend;
    Chars->ReceiveNetBufferListsHandler = DaReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"drop_all", DaCustomize, NULL, 0);
}
