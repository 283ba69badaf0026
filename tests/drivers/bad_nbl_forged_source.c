/*
 * bad_nbl_forged_source: originates NBLs whose SourceHandle is not its
 * filter module handle.
 *
 * The bug: a filter that injects a frame of its own for every receive chain
 * sets SourceHandle to the filter DRIVER handle from NdisFRegisterFilterDriver
 * (the one handle it keeps in a global) instead of the module's
 * NdisFilterHandle. It indicates with NDIS_RECEIVE_FLAGS_RESOURCES and frees
 * the NBL when the call returns, so the forged handle is its only bug.
 *
 * On Windows: NDIS routes the NBL's return by SourceHandle; a driver handle
 * there sends it to no module (or to the wrong one) and the machine
 * bugchecks (0x7C with the NDIS verifier) far from the culprit.
 *
 * Expected finding: nbl-forged-source in NdisFIndicateReceiveNetBufferLists.
 */
#include "tl_own.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS FsReceive;

_Use_decl_annotations_ static VOID FsReceive(NDIS_HANDLE FilterModuleContext,
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
    Own->SourceHandle = TlFilterDriverHandle; /* BUG: the driver's handle, not the module's */
    NdisFIndicateReceiveNetBufferLists(
        Module->FilterHandle, Own, PortNumber, 1,
        (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) | NDIS_RECEIVE_FLAGS_RESOURCES);
    TlOwnFree(Own);
}

static VOID FsCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = FsReceive;
    TlOnAttach = TlOwnAttach;
    TlOnDetach = TlOwnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_forged_source", FsCustomize, NULL, 0);
}
