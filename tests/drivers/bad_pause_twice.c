/*
 * bad_pause_twice: FilterPause returns NDIS_STATUS_SUCCESS and ALSO calls
 * NdisFPauseComplete.
 *
 * The bug (the one behind a well-known Npcap BSOD): the filter counts its
 * in-flight operations and has one helper, "complete the pause if we are
 * idle", called both from FilterPause and from the completion path of the
 * last in-flight operation. FilterPause calls the helper, which finds the
 * module idle and calls NdisFPauseComplete, and then FilterPause returns
 * NDIS_STATUS_SUCCESS as well: the pause is completed twice.
 *
 * On Windows: NDIS advances the stack's pause state machine twice; the
 * second completion acts on a stack that has moved on (often already being
 * detached), and NDIS bugchecks with 0x7C BUGCODE_NDIS_DRIVER.
 *
 * Expected finding: pause-complete-twice naming NdisFPauseComplete or
 * FilterPause.
 */
#include "testlwf.h"

static FILTER_PAUSE PtwPause;

/* Called wherever the in-flight count may have dropped to zero. */
static VOID PtwCompletePauseIfIdle(PTL_MODULE Module)
{
    if (ReadNoFence(&Module->State) == TlPausing && ReadNoFence(&Module->Outstanding) == 0) {
        InterlockedExchange(&Module->State, TlPaused);
        NdisFPauseComplete(Module->FilterHandle);
    }
}

_Use_decl_annotations_ static NDIS_STATUS PtwPause(NDIS_HANDLE FilterModuleContext,
                                                   PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    PtwCompletePauseIfIdle(Module);
    /* BUG: should be NDIS_STATUS_PENDING once the helper may complete. */
    return NDIS_STATUS_SUCCESS;
}

static VOID PtwCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = PtwPause;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pause_twice", PtwCustomize, NULL, 0);
}
