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

static VOID TmAttach(PTL_MODULE Module)
{
    NDIS_TIMER_CHARACTERISTICS Chars;
    LARGE_INTEGER Due;

    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    Chars.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    Chars.AllocationTag = TM_TIMER_TAG;
    Chars.TimerFunction = TmTick;
    Chars.FunctionContext = Module;
    if (NdisAllocateTimerObject(Module->FilterHandle, &Chars, &Module->DriverData) !=
        NDIS_STATUS_SUCCESS) {
        Module->DriverData = NULL;
        return;
    }
    Due.QuadPart = -20 * 10000; /* 20 ms from now, then every 20 ms */
    NdisSetTimerObject(Module->DriverData, Due, 20, NULL);
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

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
#ifdef BAD_TIMER_CANCEL_AT_DISPATCH
    return TlRegister(DriverObject, L"bad_timer_periodic_cancel", TmCustomize, NULL, 0);
#else
    return TlRegister(DriverObject, L"bad_timer_not_cancelled", TmCustomize, NULL, 0);
#endif
}
