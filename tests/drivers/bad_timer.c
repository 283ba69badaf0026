/*
 * bad_timer (two drivers from one source): an NDIS timer object misused.
 *
 * Each module keeps a periodic statistics timer (NdisAllocateTimerObject
 * in FilterAttach, NdisSetTimerObject with a 20 ms period). The callback
 * only counts, in a global, so the bug under test is the only one.
 *
 * bad_timer_not_cancelled: FilterDetach frees the timer without cancelling
 * it first. SDV's CancelTimerObject rule (every timer set is cancelled when
 * the driver is done with it); on Windows the freed timer is still in the
 * timer queue: 0xC7 TIMER_OR_DPC_INVALID, or a callback on freed memory.
 * Expected finding: timer-not-cancelled naming the driver in FilterDetach.
 *
 * bad_timer_periodic_cancel (BAD_TIMER_CANCEL_AT_DISPATCH): FilterDetach
 * cancels the periodic timer while holding the module's spin lock, i.e. at
 * DISPATCH_LEVEL. SDV's PeriodicTimer and Irql_Timer_Function rules: a
 * periodic timer is cancelled at PASSIVE_LEVEL only (the cancel waits for
 * a running callback, which it cannot do at DISPATCH_LEVEL).
 * Expected finding: irql naming the driver in FilterDetach.
 *
 * bad_timer_at_unload (BAD_TIMER_AT_UNLOAD): no per-module timer; instead
 * one driver-wide periodic timer, set in DriverEntry, that DriverUnload
 * neither cancels nor frees (the clean-up was written for an older one-shot
 * timer that had always expired by then). Expected findings:
 * timer-not-cancelled naming the driver at DriverUnload, and the timer
 * object itself as a resource-leak.
 */
#include "testlwf.h"

#define TM_TIMER_TAG 'mTlB'

static volatile LONG TmTicks;

static NDIS_TIMER_FUNCTION TmTick;

_Use_decl_annotations_ static VOID TmTick(PVOID S1, PVOID Context, PVOID S2, PVOID S3)
{
    UNREFERENCED_PARAMETER(S1);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(S2);
    UNREFERENCED_PARAMETER(S3);
    InterlockedIncrement(&TmTicks);
}

/* A periodic timer owned by Owner (a module's or the driver's handle). */
static NDIS_HANDLE TmStartTimer(NDIS_HANDLE Owner)
{
    NDIS_TIMER_CHARACTERISTICS Chars;
    NDIS_HANDLE Timer;
    LARGE_INTEGER Due;

    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    Chars.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    Chars.AllocationTag = TM_TIMER_TAG;
    Chars.TimerFunction = TmTick;
    if (NdisAllocateTimerObject(Owner, &Chars, &Timer) != NDIS_STATUS_SUCCESS)
        return NULL;
    Due.QuadPart = -20 * 10000; /* 20 ms from now, then every 20 ms */
    NdisSetTimerObject(Timer, Due, 20, NULL);
    return Timer;
}

#ifdef BAD_TIMER_AT_UNLOAD
static NDIS_HANDLE TmDriverTimer;
#else
static VOID TmAttach(PTL_MODULE Module)
{
    Module->DriverData = TmStartTimer(Module->FilterHandle);
}

static VOID TmDetach(PTL_MODULE Module)
{
    if (Module->DriverData == NULL)
        return;
#ifdef BAD_TIMER_CANCEL_AT_DISPATCH
    NdisAcquireSpinLock(&Module->Lock);
    NdisCancelTimerObject(Module->DriverData); /* BUG: a periodic timer, at DISPATCH_LEVEL */
    NdisReleaseSpinLock(&Module->Lock);
#endif
    /* bad_timer_not_cancelled's BUG: no NdisCancelTimerObject before the free. */
    NdisFreeTimerObject(Module->DriverData);
    Module->DriverData = NULL;
}

static VOID TmCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = TmAttach;
    TlOnDetach = TmDetach;
}
#endif

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
#if defined(BAD_TIMER_AT_UNLOAD)
    NTSTATUS Status = TlRegister(DriverObject, L"bad_timer_at_unload", NULL, NULL, 0);
    if (NT_SUCCESS(Status))
        TmDriverTimer = TmStartTimer(TlFilterDriverHandle); /* BUG: never cancelled or freed */
    return Status;
#elif defined(BAD_TIMER_CANCEL_AT_DISPATCH)
    return TlRegister(DriverObject, L"bad_timer_periodic_cancel", TmCustomize, NULL, 0);
#else
    return TlRegister(DriverObject, L"bad_timer_not_cancelled", TmCustomize, NULL, 0);
#endif
}
