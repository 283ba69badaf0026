/*
 * bad_pool_double_free: frees one pool block twice.
 *
 * The bug: the filter keeps a statistics block per module and "resets" it
 * on every pause by freeing it, meaning to allocate a fresh one at restart.
 * The restart path allocates only when the pointer is NULL, and the pause
 * path never sets it to NULL: the second pause frees the block again, and
 * so does FilterDetach.
 *
 * On Windows: bugcheck 0xC2 BAD_POOL_CALLER (parameter 0x7: the block was
 * already freed), or pool corruption found much later without the verifier.
 *
 * Expected finding: pool-double-free in FilterPause or FilterDetach. ndisemu
 * reports it and ignores the second free; nothing else breaks.
 */
#include "testlwf.h"

#define DF_TAG 'fDlB'

static FILTER_PAUSE DfPause;
static FILTER_RESTART DfRestart;

static VOID DfAttach(PTL_MODULE Module)
{
    Module->DriverData = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, DF_TAG);
}

static VOID DfDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        ExFreePoolWithTag(Module->DriverData, DF_TAG);
}

_Use_decl_annotations_ static NDIS_STATUS DfPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    if (Module->DriverData != NULL)
        ExFreePoolWithTag(Module->DriverData, DF_TAG); /* BUG: the pointer stays */
    return TlFilterPause(Module, PauseParameters);
}

_Use_decl_annotations_ static NDIS_STATUS
DfRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    if (Module->DriverData == NULL)
        Module->DriverData = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, DF_TAG);
    return TlFilterRestart(Module, RestartParameters);
}

static VOID DfCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = DfPause;
    Chars->RestartHandler = DfRestart;
    TlOnAttach = DfAttach;
    TlOnDetach = DfDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pool_double_free", DfCustomize, NULL, 0);
}
