/*
 * bad_wrong_owner: sends down an NBL it has already passed up.
 *
 * The bug: an "ARP responder" filter answers on the host's behalf by
 * turning the received frame around in place and sending it back out, to
 * save a copy. But it also indicates the same NBL up the stack, so the
 * protocol owns it when the filter hands it to NdisFSendNetBufferLists:
 * one NBL now travels both ways at once, and neither path owns it.
 *
 * On Windows: the protocol returns the NBL to the miniport's receive pool
 * while the miniport is still transmitting from it; the next receive DMA
 * overwrites a frame on the wire, then the send completion frees an NBL
 * that is back in a receive ring. Bugcheck 0xD1 or silent corruption.
 *
 * Expected finding: nbl-wrong-owner in FilterReceiveNetBufferLists.
 * It reflects one frame per module only, so the evidence stays readable.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS WoReceive;

_Use_decl_annotations_ static VOID WoReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Reply = NetBufferLists;

    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        return;
    if (InterlockedCompareExchange(&Module->Counter, 1, 0) != 0)
        return;
    /* BUG: Reply went up the stack a line above; it is not ours any more. */
    NdisFSendNetBufferLists(Module->FilterHandle, Reply, PortNumber,
                            NDIS_SEND_FLAGS_DISPATCH_LEVEL);
}

static VOID WoCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = WoReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_wrong_owner", WoCustomize, NULL, 0);
}
