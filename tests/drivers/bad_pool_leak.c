/*
 * bad_pool_leak: an allocation that nothing frees by unload.
 *
 * The bug: FilterAttach allocates a per-adapter statistics block and hangs
 * it off the module; a later clean-up moved the module's teardown into a
 * helper and the helper frees everything but the statistics block. Each
 * attach leaks one block tagged 'sPlB'.
 *
 * On Windows: non-paged pool shrinks with every adapter restart, install or
 * resume from sleep; Driver Verifier bugchecks at unload with 0xC4 (0x62,
 * "driver unloading without freeing its pool allocations") and `!poolused`
 * points at the tag.
 *
 * Expected finding: pool-leak naming this driver.
 */
#include "testlwf.h"

#define PL_STATS_TAG 'sPlB'

typedef struct _PL_STATS {
    ULONG64 Frames[64];
} PL_STATS, *PPL_STATS;

static VOID PlAttach(PTL_MODULE Module)
{
    Module->DriverData = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(PL_STATS), PL_STATS_TAG);
}

static VOID PlDetach(PTL_MODULE Module)
{
    /* BUG: Module->DriverData (the statistics block) is never freed. */
    Module->DriverData = NULL;
}

static VOID PlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = PlAttach;
    TlOnDetach = PlDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pool_leak", PlCustomize, NULL, 0);
}
