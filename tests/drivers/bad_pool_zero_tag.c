/*
 * bad_pool_zero_tag: pool allocated with the tag 0.
 *
 * The bug: the module's flow table is allocated with a tag macro that a
 * header refactoring left defined as 0. Everything is freed correctly; the
 * allocation just cannot be told from any other in a pool dump.
 *
 * On Windows: SDV's NdisAllocateMemoryWithTagPriority rule (a driver must
 * give every allocation a tag); with Driver Verifier's pool tracking, a
 * zero tag stops the machine at the allocation (0xC2, 0x9B).
 *
 * Expected finding: pool-zero-tag naming this driver in FilterAttach.
 */
#include "testlwf.h"

#define ZT_FLOW_TAG 0 /* BUG: was 'wFtZ' before the header moved */

static VOID ZtAttach(PTL_MODULE Module)
{
    Module->DriverData = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, 256, ZT_FLOW_TAG,
                                                           NormalPoolPriority);
}

static VOID ZtDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        NdisFreeMemory(Module->DriverData, 0, 0);
    Module->DriverData = NULL;
}

static VOID ZtCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = ZtAttach;
    TlOnDetach = ZtDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pool_zero_tag", ZtCustomize, NULL, 0);
}
