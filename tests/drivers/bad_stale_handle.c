/*
 * bad_stale_handle: allocates from an NBL pool it has already freed.
 *
 * The bug: to save memory while paused, FilterPause frees the module's NBL
 * pool, meaning FilterRestart to allocate a new one. But the handle is not
 * cleared and restart allocates only when it is NULL: after the first pause
 * every injected frame is allocated from a freed pool, and FilterDetach
 * frees that pool a second time.
 *
 * On Windows: NdisAllocateNetBufferAndNetBufferList reads a freed pool
 * header: pool corruption or a bugcheck (0x7C / 0xC2) far from the cause.
 *
 * Expected finding: stale-handle, in NdisAllocateNetBufferAndNetBufferList
 * (a receive injecting a frame) and NdisFreeNetBufferListPool (detach).
 * A receive still in flight when FilterPause frees the pool can leave one
 * of its NBLs allocated at that moment: nbl-leak, a consequence, allowed.
 */
#include "tl_own.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS ShReceive;
static FILTER_PAUSE ShPause;
static FILTER_RESTART ShRestart;

_Use_decl_annotations_ static VOID ShReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Own;

    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
    if (ReadNoFence(&Module->State) != TlRunning || (Own = TlOwnAllocate(Module)) == NULL)
        return;
    NdisFIndicateReceiveNetBufferLists(
        Module->FilterHandle, Own, PortNumber, 1,
        (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) | NDIS_RECEIVE_FLAGS_RESOURCES);
    TlOwnFree(Own);
}

_Use_decl_annotations_ static NDIS_STATUS ShPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    NDIS_STATUS Status = TlFilterPause(Module, PauseParameters);

    if (Module->DriverData != NULL)
        NdisFreeNetBufferListPool(Module->DriverData); /* BUG: the handle stays */
    return Status;
}

_Use_decl_annotations_ static NDIS_STATUS
ShRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    if (Module->DriverData == NULL)
        TlOwnAttach(Module);
    return TlFilterRestart(Module, RestartParameters);
}

static VOID ShCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = ShReceive;
    Chars->PauseHandler = ShPause;
    Chars->RestartHandler = ShRestart;
    TlOnAttach = TlOwnAttach;
    TlOnDetach = TlOwnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_stale_handle", ShCustomize, NULL, 0);
}
