/*
 * Fast mutexes (and guarded mutexes, the same thing here): Count starts at
 * 1; the acquirer that takes it to 0 owns it, every other decrement waits on
 * the synchronization event, and each release that finds waiters (Count
 * still below 1 after its increment) wakes exactly one. Held at APC_LEVEL,
 * not recursive.
 */
#include "kernel.h"
#include "verifier.h"

#include <stdio.h>
#include <stdlib.h>

VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    __atomic_store_n(&FastMutex->Count, 1, __ATOMIC_RELAXED);
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
    FastMutex->OldIrql = 0;
}

static void acquire(PFAST_MUTEX FastMutex, const char *api)
{
    if (__atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED) == KeGetCurrentThread()) {
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL,
                      "%s: recursive acquire of fast mutex %p by its owner (deadlock)", api,
                      (void *)FastMutex);
        emu_violations_print(stderr, false);
        fprintf(stderr, "ndisemu: aborting: recursive fast mutex acquire would hang\n");
        abort();
    }
    if (InterlockedDecrement(&FastMutex->Count) != 0) {
        __atomic_fetch_add(&FastMutex->Contention, 1, __ATOMIC_RELAXED);
        KeWaitForSingleObject(&FastMutex->Event, Executive, KernelMode, FALSE, NULL);
    }
    __atomic_store_n(&FastMutex->Owner, KeGetCurrentThread(), __ATOMIC_RELAXED);
}

static void release(PFAST_MUTEX FastMutex, const char *api)
{
    if (__atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED) != KeGetCurrentThread()) {
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL,
                      "%s: fast mutex %p released by a thread that does not own it", api,
                      (void *)FastMutex);
        return;
    }
    __atomic_store_n(&FastMutex->Owner, NULL, __ATOMIC_RELAXED);
    if (InterlockedIncrement(&FastMutex->Count) != 1)
        KeSetEvent(&FastMutex->Event, 0, FALSE);
}

VOID FASTCALL ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old;
    emu_irql_require_max("ExAcquireFastMutex", APC_LEVEL);
    old = KfRaiseIrql(APC_LEVEL);
    acquire(FastMutex, "ExAcquireFastMutex");
    FastMutex->OldIrql = old;
}

VOID FASTCALL ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old = (KIRQL)FastMutex->OldIrql;
    emu_irql_require("ExReleaseFastMutex", APC_LEVEL);
    release(FastMutex, "ExReleaseFastMutex");
    KeLowerIrql(old);
}

BOOLEAN FASTCALL ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old;
    LONG one = 1;
    emu_irql_require_max("ExTryToAcquireFastMutex", APC_LEVEL);
    old = KfRaiseIrql(APC_LEVEL);
    if (!__atomic_compare_exchange_n(&FastMutex->Count, &one, 0, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        KeLowerIrql(old);
        return FALSE;
    }
    __atomic_store_n(&FastMutex->Owner, KeGetCurrentThread(), __ATOMIC_RELAXED);
    FastMutex->OldIrql = old;
    return TRUE;
}

VOID FASTCALL ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    acquire(FastMutex, "ExAcquireFastMutexUnsafe");
}

VOID FASTCALL ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    release(FastMutex, "ExReleaseFastMutexUnsafe");
}
