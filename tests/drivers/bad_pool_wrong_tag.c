/*
 * bad_pool_wrong_tag: frees a pool block with a tag other than its own.
 *
 * The bug: two kinds of per-module blocks, allocated with tags 'rWlB'
 * (rules) and 'sWlB' (statistics); the detach path frees both with the
 * rules tag, a copy-paste slip.
 *
 * On Windows: ExFreePoolWithTag checks the tag: bugcheck 0xC2
 * BAD_POOL_CALLER (parameter 0xA) with the verifier on.
 *
 * Expected finding: pool-wrong-tag in FilterDetach.
 */
#include "testlwf.h"

#define WT_RULES_TAG 'rWlB'
#define WT_STATS_TAG 'sWlB'

static VOID WtAttach(PTL_MODULE Module)
{
    Module->DriverData = ExAllocatePool2(POOL_FLAG_NON_PAGED, 128, WT_RULES_TAG);
    Module->QueueHead = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, WT_STATS_TAG);
}

static VOID WtDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        ExFreePoolWithTag(Module->DriverData, WT_RULES_TAG);
    if (Module->QueueHead != NULL)
        ExFreePoolWithTag(Module->QueueHead, WT_RULES_TAG); /* BUG: WT_STATS_TAG */
    Module->QueueHead = NULL;
}

static VOID WtCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = WtAttach;
    TlOnDetach = WtDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pool_wrong_tag", WtCustomize, NULL, 0);
}
