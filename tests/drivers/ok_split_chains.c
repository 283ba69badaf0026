/*
 * ok_split_chains: every receive and send chain is split into single NBLs
 * and forwarded with one NDIS call per NBL, the NBL count of each call
 * being 1.
 *
 * Why it is correct (FilterReceiveNetBufferLists,
 * NdisFIndicateReceiveNetBufferLists, FilterSendNetBufferLists in the WDK):
 * - A filter may pass on any subset of a chain in any number of calls; each
 *   call's NumberOfNetBufferLists must match the chain it passes, here 1.
 * - Each NBL is unlinked (its Next set to NULL) before it is passed on, and
 *   the next one was read before: once passed on, an NBL is not touched.
 * - NDIS_RECEIVE_FLAGS_RESOURCES is kept on each piece: every piece is
 *   indicated synchronously, before this call returns, so the indicator gets
 *   them all back on return as that flag requires.
 * - The state is read once per chain, as the skeleton does: a call already
 *   in flight when FilterPause starts may finish the Running way.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS OsReceive;
static FILTER_SEND_NET_BUFFER_LISTS OsSend;

_Use_decl_annotations_ static VOID OsReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Nbl, Next;

    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Nbl, PortNumber, 1, ReceiveFlags);
    }
}

_Use_decl_annotations_ static VOID OsSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Nbl, Next;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectSend(Module, NetBufferLists, SendFlags);
        return;
    }
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        NdisFSendNetBufferLists(Module->FilterHandle, Nbl, PortNumber, SendFlags);
    }
}

static VOID OsCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = OsReceive;
    Chars->SendNetBufferListsHandler = OsSend;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_split_chains", OsCustomize, NULL, 0);
}
