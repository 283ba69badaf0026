/*
 * bad_nbl_count_mismatch: indicates a chain with a stale NumberOfNetBufferLists.
 *
 * The bug: a sampling filter returns every 8th frame and indicates the
 * rest, but passes up the count it was given, not the count of the chain
 * it built.
 *
 * On Windows: the protocol above sizes its work by the count (NDIS 6
 * drivers index arrays with it): it walks off the chain's end or ignores
 * frames. Driver Verifier's NDIS checks validate the count.
 *
 * Expected finding: nbl-count-mismatch in NdisFIndicateReceiveNetBufferLists.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS CmReceive;

_Use_decl_annotations_ static VOID CmReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Drop = NULL, *DropTail = &Drop, Next;

    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) {
        TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                      ReceiveFlags);
        return;
    }
    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        if (InterlockedIncrement(&Module->Counter) % 8 == 0) {
            *DropTail = NetBufferLists;
            DropTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        } else {
            *PassTail = NetBufferLists;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        }
    }
    if (Drop != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Drop,
                                  NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                      ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                      : 0);
    /* BUG: the count of the chain as it arrived, not of Pass. */
    if (Pass != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Pass, PortNumber,
                                           NumberOfNetBufferLists, ReceiveFlags);
}

static VOID CmCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = CmReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_count_mismatch", CmCustomize, NULL, 0);
}
