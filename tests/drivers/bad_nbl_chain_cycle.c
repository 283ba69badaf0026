/*
 * bad_nbl_chain_cycle: returns a chain whose Next links loop.
 *
 * The bug: a sampling filter returns every 4th frame. A fairness tweak
 * rotates the batch it returns so the oldest frame goes last: it links the
 * old head after the tail, but does not clear the old head's Next, which
 * still points at the new head. Whenever a batch has two frames or more,
 * the chain is a loop.
 *
 * On Windows: the miniport's return handler walks the chain for ever at
 * DISPATCH_LEVEL: a hang, then DPC watchdog bugcheck 0x133.
 *
 * Expected finding: nbl-chain-cycle in NdisFReturnNetBufferLists; ndisemu
 * cuts the loop where it closes and goes on, so nothing hangs.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS CcReceive;

_Use_decl_annotations_ static VOID CcReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Drop = NULL, DropLast = NULL, Next;
    ULONG PassCount = 0;

    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) {
        TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                      ReceiveFlags);
        return;
    }
    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        if (InterlockedIncrement(&Module->Counter) % 4 == 0) {
            if (DropLast != NULL)
                NET_BUFFER_LIST_NEXT_NBL(DropLast) = NetBufferLists;
            else
                Drop = NetBufferLists;
            DropLast = NetBufferLists;
        } else {
            *PassTail = NetBufferLists;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
            PassCount++;
        }
    }
    if (Drop != NULL && Drop != DropLast) {
        PNET_BUFFER_LIST OldHead = Drop;
        Drop = NET_BUFFER_LIST_NEXT_NBL(OldHead);
        NET_BUFFER_LIST_NEXT_NBL(DropLast) = OldHead;
        /* BUG: NET_BUFFER_LIST_NEXT_NBL(OldHead) still points at Drop. */
    }
    if (Drop != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Drop,
                                  NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                      ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                      : 0);
    if (Pass != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Pass, PortNumber, PassCount,
                                           ReceiveFlags);
}

static VOID CcCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = CcReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_chain_cycle", CcCustomize, NULL, 0);
}
