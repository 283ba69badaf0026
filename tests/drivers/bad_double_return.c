/*
 * bad_double_return: hands a receive NBL back to NDIS twice.
 *
 * The bug: a sampling filter drops every 16th frame. The drop path was
 * refactored to return the dropped frames early, but the old clean-up block
 * at the bottom, which also returns whatever sits on the drop list, was left
 * in place. Every dropped NBL is returned twice.
 *
 * On Windows: the miniport gets the same NBL back twice, re-posts it to its
 * receive ring twice and two DMA descriptors point at one buffer; with
 * Driver Verifier's NDIS checks on, bugcheck 0xC4/0x7C. Without them, memory
 * corruption far from the culprit, hours later.
 *
 * Expected finding: nbl-double-return in FilterReceiveNetBufferLists.
 */
#include "testlwf.h"

#define DR_SAMPLE_EVERY 16

static FILTER_RECEIVE_NET_BUFFER_LISTS DrReceive;

_Use_decl_annotations_ static VOID DrReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Drop = NULL, *DropTail = &Drop, Next;
    ULONG PassCount = 0;
    ULONG ReturnFlags =
        NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;

    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) {
        TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                      ReceiveFlags);
        return;
    }
    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        if (InterlockedIncrement(&Module->Counter) % DR_SAMPLE_EVERY == 0) {
            *DropTail = NetBufferLists;
            DropTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        } else {
            *PassTail = NetBufferLists;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
            PassCount++;
        }
    }
    if (Drop != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Drop, ReturnFlags);
    if (Pass != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Pass, PortNumber, PassCount,
                                           ReceiveFlags);
    /* BUG: left over from before the early return above. */
    if (Drop != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Drop, ReturnFlags);
}

static VOID DrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = DrReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_double_return", DrCustomize, NULL, 0);
}
