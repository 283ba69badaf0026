/*
 * bad_generic_object_leak: a generic object that is never freed.
 *
 * The bug: each module allocates a generic NDIS object (the handle of a
 * helper component that has none of its own) and keeps it in the module;
 * the detach path frees the module and forgets NdisFreeGenericObject.
 *
 * On Windows: SDV's NdisAllocateGenericObject rule (every generic object
 * allocated is freed); the object and what NDIS tracks with it leak.
 *
 * Expected finding: resource-leak naming this driver at DriverUnload, with
 * the tag 'oGlB' (shown 'BlGo', in memory order, as a pool dump shows it).
 */
#include "testlwf.h"

#define GL_OBJECT_TAG 'oGlB'

static VOID GlAttach(PTL_MODULE Module)
{
    Module->DriverData = NdisAllocateGenericObject(NULL, GL_OBJECT_TAG, 64);
}

static VOID GlDetach(PTL_MODULE Module)
{
    /* BUG: no NdisFreeGenericObject(Module->DriverData). */
    Module->DriverData = NULL;
}

static VOID GlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = GlAttach;
    TlOnDetach = GlDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_generic_object_leak", GlCustomize, NULL, 0);
}
