/*
 * bad_hang_pause: FilterPause pends and never completes.
 *
 * The bug: FilterPause returns NDIS_STATUS_PENDING, meaning to call
 * NdisFPauseComplete once its queue drains, but the drain notification was
 * never wired up: the pause stays pending forever.
 *
 * On Windows: 0x7C(0x25) NDIS watchdog (the pause did not complete).
 *
 * Expected finding: deadlock naming the pause (waiting for NdisFPauseComplete),
 * exit status 3.
 */
#include "testlwf.h"

static FILTER_PAUSE HpPause;

_Use_decl_annotations_ static NDIS_STATUS HpPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    return NDIS_STATUS_PENDING; /* BUG: nothing ever calls NdisFPauseComplete */
}

static VOID HpCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = HpPause;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_hang_pause", HpCustomize, NULL, 0);
}
