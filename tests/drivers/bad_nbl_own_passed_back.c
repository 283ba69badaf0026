/*
 * bad_nbl_own_passed_back: returns down an NBL it allocated itself.
 *
 * The bug: the filter injects a frame of its own every 16th receive chain
 * (indicated without RESOURCES, so it comes back through
 * FilterReturnNetBufferLists). Its return handler was copied from a
 * pass-through filter: it hands everything down with
 * NdisFReturnNetBufferLists instead of picking out and freeing its own.
 *
 * On Windows: NDIS routes the NBL by its SourceHandle, which names this
 * module: the NBL loops back into it, or NDIS bugchecks (0x7C) with the
 * verifier on.
 *
 * Expected finding: nbl-own-passed-back in NdisFReturnNetBufferLists. The
 * NBLs it so loses are never freed: their pool is freed with them still
 * allocated at detach (nbl-leak) and they are still charged to the driver
 * at unload (resource-leak): consequences, allowed by the test.
 */
#include "tl_own.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS OpReceive;

_Use_decl_annotations_ static VOID OpReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Own;

    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
    if (ReadNoFence(&Module->State) != TlRunning ||
        InterlockedIncrement(&Module->Counter) % 16 != 0 || (Own = TlOwnAllocate(Module)) == NULL)
        return;
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Own, PortNumber, 1,
                                       ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
}

/* The return handler is the skeleton's pass-through one: that is the bug. */
static VOID OpCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = OpReceive;
    TlOnAttach = TlOwnAttach;
    TlOnDetach = TlOwnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_nbl_own_passed_back", OpCustomize, NULL, 0);
}
