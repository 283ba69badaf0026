/*
 * bad_nbl_modified_after_handoff: writes to an NBL's data after indicating it.
 *
 * The bug: the filter keeps one NBL of its own per module and injects it
 * (without RESOURCES) for a receive chain whenever it is back. After the
 * indication it stamps a sequence number into the frame: a line that moved
 * below the NdisFIndicateReceiveNetBufferLists call in a refactoring. When
 * the protocol has not returned the NBL yet, the frame it is reading
 * changes under it.
 *
 * On Windows: corrupted frames in the protocol, seen only under load; no
 * bugcheck. The data race is all TSan would see, so the test is not run
 * under TSan (the race itself would be its report).
 *
 * Expected finding: nbl-modified-after-handoff when the NBL comes back
 * (NdisReturnNetBufferLists, the protocol's return), naming this module.
 */
#include "tl_own.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS MaReceive;
static FILTER_RETURN_NET_BUFFER_LISTS MaReturn;
static FILTER_PAUSE MaPause;

#define MA_NBL(Module) ((PNET_BUFFER_LIST)(Module)->QueueHead)

static VOID MaAttach(PTL_MODULE Module)
{
    TlOwnAttach(Module);
    Module->QueueHead = TlOwnAllocate(Module);
}

static VOID MaDetach(PTL_MODULE Module)
{
    if (MA_NBL(Module) != NULL)
        TlOwnFree(MA_NBL(Module));
    TlOwnDetach(Module);
}

_Use_decl_annotations_ static VOID MaReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Own = MA_NBL(Module);

    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
    if (Own == NULL || ReadNoFence(&Module->State) != TlRunning ||
        InterlockedCompareExchange(&Module->Outstanding, 1, 0) != 0)
        return;
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Own, PortNumber, 1,
                                       ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    /* BUG: the NBL may still be with the protocol. */
    TlOwnData(Own)[0] = (UCHAR)InterlockedIncrement(&Module->Counter);
}

_Use_decl_annotations_ static VOID MaReturn(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Pass = NULL, *PassTail = &Pass, Nbl, Next;

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (Nbl == MA_NBL(Module)) {
            InterlockedExchange(&Module->Outstanding, 0);
        } else {
            *PassTail = Nbl;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    if (Pass != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Pass, ReturnFlags);
}

_Use_decl_annotations_ static NDIS_STATUS MaPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    LARGE_INTEGER Delay;

    TlFilterPause(Module, PauseParameters);
    Delay.QuadPart = -10000; /* 1 ms: the protocol returns it by itself */
    while (ReadNoFence(&Module->Outstanding) != 0)
        KeDelayExecutionThread(KernelMode, FALSE, &Delay);
    return NDIS_STATUS_SUCCESS;
}

static VOID MaCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = MaReceive;
    Chars->ReturnNetBufferListsHandler = MaReturn;
    Chars->PauseHandler = MaPause;
    TlOnAttach = MaAttach;
    TlOnDetach = MaDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_modified_after_handoff", MaCustomize, NULL, 0);
}
