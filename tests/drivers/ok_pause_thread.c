/*
 * ok_pause_thread: every pause is pended and completed by the driver's own
 * system thread (the skeleton's ticker, every millisecond).
 *
 * Why it is correct ("Pausing a Filter Module", NdisFPauseComplete,
 * PsCreateSystemThread in the WDK):
 * - FilterPause publishes Pausing (the datapath bounces from then on, as the
 *   Pausing state allows), raises the module's "pause requested" flag and
 *   returns NDIS_STATUS_PENDING. Nothing else is outstanding: the skeleton
 *   originates and queues nothing.
 * - The thread claims a request with one compare-exchange of the flag (1 to
 *   0), so each pause is completed exactly once, and completes it at
 *   PASSIVE_LEVEL (NdisFPauseComplete allows <= DISPATCH_LEVEL).
 * - The thread finds modules on the skeleton's module list, under its lock;
 *   it calls NdisFPauseComplete after dropping the lock (no NDIS call under
 *   a driver spin lock). The module cannot be detached in between: NDIS
 *   detaches only Paused modules, and this one stays Pausing until that call.
 *   After it, the thread does not touch the module again.
 * - The thread is stopped in DriverUnload after NdisFDeregisterFilterDriver
 *   (which detaches every module), so it never outlives the driver.
 */
#include "testlwf.h"

static FILTER_PAUSE OtPause;

_Use_decl_annotations_ static NDIS_STATUS OtPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    InterlockedExchange(&Module->Outstanding, 1);
    return NDIS_STATUS_PENDING;
}

/* One pending pause claimed from the module list, or NULL. */
static PTL_MODULE OtClaimOne(VOID)
{
    PTL_MODULE Claimed = NULL;
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    for (Entry = TlModuleList.Flink; Entry != &TlModuleList; Entry = Entry->Flink) {
        PTL_MODULE Module = CONTAINING_RECORD(Entry, TL_MODULE, Link);
        if (InterlockedCompareExchange(&Module->Outstanding, 0, 1) == 1) {
            Claimed = Module;
            break;
        }
    }
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
    return Claimed;
}

static VOID OtTick(VOID)
{
    PTL_MODULE Module;

    while ((Module = OtClaimOne()) != NULL) {
        InterlockedExchange(&Module->State, TlPaused);
        /* Last access: the module may be detached from here on. */
        NdisFPauseComplete(Module->FilterHandle);
    }
}

static VOID OtCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = OtPause;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_pause_thread", OtCustomize, OtTick, 1);
}
