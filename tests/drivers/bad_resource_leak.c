/*
 * bad_resource_leak: an NBL pool that nothing frees.
 *
 * The bug: FilterAttach allocates the module's NBL pool (for frames it
 * injects); the detach path, rewritten to free everything through one
 * helper, lost the NdisFreeNetBufferListPool call. Each attach leaks a pool.
 *
 * On Windows: the pool's memory is lost for good; with the NDIS verifier
 * the leaked pool is reported at unload (0xC4/0x62-style, like pool).
 *
 * Expected finding: resource-leak naming this driver at DriverUnload
 * ("NET_BUFFER_LIST pool(s) with tag 'EmTl' never freed").
 */
#include "tl_own.h"

static VOID RlDetach(PTL_MODULE Module)
{
    Module->DriverData = NULL; /* BUG: NdisFreeNetBufferListPool is gone */
}

static VOID RlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = TlOwnAttach;
    TlOnDetach = RlDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_resource_leak", RlCustomize, NULL, 0);
}
