/*
 * bad_nbl_leak: keeps receive NBLs forever.
 *
 * The bug: a filter that blocks traffic to a port "drops" matching frames by
 * unlinking them from the chain and simply not indicating them. Dropping a
 * receive means returning it to NDIS; this driver forgets to, so every
 * dropped NBL stays owned by the filter module for good.
 *
 * On Windows: the miniport's receive pool drains a little with every drop,
 * throughput collapses once it is empty, and the next adapter disable or
 * driver update hangs forever in the miniport's pause, which waits for the
 * lost NBLs (a 0x9F power-state bugcheck if it happens during sleep).
 *
 * Expected finding: nbl-leak naming this module.
 */
#include "testlwf.h"

#define NL_DROP_EVERY 32

static FILTER_RECEIVE_NET_BUFFER_LISTS NlReceive;

_Use_decl_annotations_ static VOID NlReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Next;
    ULONG PassCount = 0;

    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) {
        TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                      ReceiveFlags);
        return;
    }
    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        /* BUG: a blocked frame is unlinked and forgotten, never returned. */
        if (InterlockedIncrement(&Module->Counter) % NL_DROP_EVERY == 0)
            continue;
        *PassTail = NetBufferLists;
        PassTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        PassCount++;
    }
    if (Pass != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Pass, PortNumber, PassCount,
                                           ReceiveFlags);
}

static VOID NlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = NlReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_leak", NlCustomize, NULL, 0);
}
