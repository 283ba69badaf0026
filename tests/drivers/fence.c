/*
 * fence: the seed question's rejected idea, built so that ndisemu can show
 * why it was rejected.
 *
 * The idea: to reconfigure global state, make every module of the driver
 * meet inside FilterPause. Each FilterPause announces itself, and waits on a
 * driver-global event until ALL attached modules are pausing; the last one
 * to arrive does the reconfiguration and releases everyone.
 *
 * Why it deadlocks: NDIS pauses one stack top-down, one module at a time,
 * and does not call FilterPause of the module below until the one above has
 * completed its pause. With two modules of this driver on one adapter
 * (--stack fence,fence) the upper module waits for the lower one, which
 * NDIS will never pause while the upper one is still in FilterPause. Any
 * other serialization of pauses (two adapters paused one after the other by
 * a PnP operation) does the same.
 *
 * On Windows: the PnP thread hangs inside NDIS; adapter disable, sleep and
 * shutdown hang, ending in 0x9F DRIVER_POWER_STATE_FAILURE.
 *
 * Expected finding: deadlock naming FilterPause, ndisemu exit status 3.
 */
#include "testlwf.h"

static KEVENT FeAllPausing;
static volatile LONG FeAttached;
static volatile LONG FePausing;

static FILTER_PAUSE FePause;
static FILTER_RESTART FeRestart;

_Use_decl_annotations_ static NDIS_STATUS FePause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    if (InterlockedIncrement(&FePausing) == ReadNoFence(&FeAttached)) {
        /* Last to arrive: every datapath of the driver is quiet here. This is
           where the global reconfiguration would go. */
        KeSetEvent(&FeAllPausing, IO_NO_INCREMENT, FALSE);
    } else {
        /* The rendezvous: waits for modules NDIS has not started pausing. */
        KeWaitForSingleObject(&FeAllPausing, Executive, KernelMode, FALSE, NULL);
    }
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS
FeRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    if (InterlockedDecrement(&FePausing) <= 0) {
        InterlockedExchange(&FePausing, 0);
        KeClearEvent(&FeAllPausing);
    }
    return TlFilterRestart(FilterModuleContext, RestartParameters);
}

static VOID FeAttach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    InterlockedIncrement(&FeAttached);
}

static VOID FeDetach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    InterlockedDecrement(&FeAttached);
}

static VOID FeCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = FePause;
    Chars->RestartHandler = FeRestart;
    TlOnAttach = FeAttach;
    TlOnDetach = FeDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&FeAllPausing, NotificationEvent, FALSE);
    return TlRegister(DriverObject, L"fence", FeCustomize, NULL, 0);
}
