/*
 * own_resources: a correct filter that indicates receives of its own, with
 * and without NDIS_RECEIVE_FLAGS_RESOURCES.
 *
 * For every receive chain it passes up while Running, it also indicates one
 * NBL from its own pool: every other time with RESOURCES (the NBL is back
 * the moment the call returns, and the driver frees it right there), else
 * without (the NBL comes back through FilterReturnNetBufferLists, where the
 * driver picks out its own and frees them). FilterPause waits for the ones
 * still away.
 *
 * Expected: no finding under churn. (ndisemu used to count each RESOURCES
 * indication of an own NBL as outstanding for ever: pause-with-outstanding-
 * nbls at every pause, nbl-leak at detach.)
 */
#include "tl_own.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS OrReceive;
static FILTER_RETURN_NET_BUFFER_LISTS OrReturn;
static FILTER_PAUSE OrPause;

static VOID OrIndicateOwn(PTL_MODULE Module, NDIS_PORT_NUMBER PortNumber, ULONG ReceiveFlags)
{
    PNET_BUFFER_LIST Own = TlOwnAllocate(Module);
    BOOLEAN Resources = (InterlockedIncrement(&Module->Counter) & 1) != 0;
    ULONG Flags = ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;

    if (Own == NULL)
        return;
    if (Resources) {
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Own, PortNumber, 1,
                                           Flags | NDIS_RECEIVE_FLAGS_RESOURCES);
        TlOwnFree(Own); /* ours again: the call has returned */
        return;
    }
    InterlockedIncrement(&Module->Outstanding);
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Own, PortNumber, 1, Flags);
}

_Use_decl_annotations_ static VOID OrReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
    if (ReadNoFence(&Module->State) == TlRunning)
        OrIndicateOwn(Module, PortNumber, ReceiveFlags);
}

_Use_decl_annotations_ static VOID OrReturn(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Nbl, Next;

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (TlOwnIsMine(Module, Nbl)) {
            TlOwnFree(Nbl);
            InterlockedDecrement(&Module->Outstanding);
        } else {
            *PassTail = Nbl;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    if (Pass != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Pass, ReturnFlags);
}

/* The pause completes once every own indication without RESOURCES is back:
   the protocol returns them by itself, so waiting here always ends. */
_Use_decl_annotations_ static NDIS_STATUS OrPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    LARGE_INTEGER Delay;

    TlFilterPause(Module, PauseParameters);
    Delay.QuadPart = -10000; /* 1 ms */
    while (ReadNoFence(&Module->Outstanding) != 0)
        KeDelayExecutionThread(KernelMode, FALSE, &Delay);
    return NDIS_STATUS_SUCCESS;
}

static VOID OrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = OrReceive;
    Chars->ReturnNetBufferListsHandler = OrReturn;
    Chars->PauseHandler = OrPause;
    TlOnAttach = TlOwnAttach;
    TlOnDetach = TlOwnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"own_resources", OrCustomize, NULL, 0);
}
