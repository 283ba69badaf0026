/*
 * Rundown protection, plain and cache-aware.
 *
 * Plain: one word, references counted in steps of 2, bit 0 set once the
 * rundown has begun. Acquire is a compare-exchange that fails once bit 0 is
 * set; the waiter sets bit 0 and sleeps until the word is exactly 1 (active,
 * no references). The last release, seeing 1, wakes it.
 *
 * Cache-aware: the point of the variant is that acquire/release touch only
 * a counter private to the current processor, each on its own cache line,
 * so that a hot path (a per-packet reference) does not bounce one line
 * between all CPUs. The price is a rundown that must sum every counter.
 *
 * Correctness of the sum: an acquire increments its CPU's counter and then
 * checks the shared `active` flag; the waiter sets `active` and then reads
 * the counters (all seq_cst, the store-buffer pattern). So either the
 * acquirer sees `active` and backs out, or its increment precedes the flag
 * in the total order and the waiter's later reads include it. A reference
 * may be released on another CPU than it was taken on (counters go
 * negative); since the increment was visible before the flag was set, a
 * waiter that sees the decrement also sees the increment: the sum may
 * overstate (a reader that backs out, a decrement not yet seen) but never
 * reaches zero while a granted reference is held.
 */
#include "kernel.h"
#include "fault.h"
#include "verifier.h"

#include <pthread.h>
#include <stdlib.h>

#define RUNDOWN_ACTIVE ((ULONG_PTR)1)
#define RUNDOWN_INC ((ULONG_PTR)2)

/* Waiters of every rundown sleep here; releases that may complete a
   rundown broadcast under the lock, so a waiter that tested "not yet"
   under the lock cannot miss the wake-up. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static void wake_waiters(void)
{
    pthread_mutex_lock(&g_lock);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

VOID FASTCALL ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELAXED);
}

VOID FASTCALL ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE);
}

BOOLEAN FASTCALL ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_RELAXED);
    do {
        if (v & RUNDOWN_ACTIVE)
            return FALSE;
    } while (!__atomic_compare_exchange_n(&RunRef->Count, &v, v + RUNDOWN_INC * Count, true,
                                          __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    return TRUE;
}

BOOLEAN FASTCALL ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    return ExAcquireRundownProtectionEx(RunRef, 1);
}

VOID FASTCALL ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    ULONG_PTR v = __atomic_sub_fetch(&RunRef->Count, RUNDOWN_INC * Count, __ATOMIC_RELEASE);
    if ((LONG_PTR)v < 0)
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL,
                      "ExReleaseRundownProtection without a matching acquire (%p)", (void *)RunRef);
    if (v == RUNDOWN_ACTIVE)
        wake_waiters();
}

VOID FASTCALL ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    ExReleaseRundownProtectionEx(RunRef, 1);
}

VOID FASTCALL ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef)
{
    emu_irql_require_max("ExWaitForRundownProtectionRelease", APC_LEVEL);
    __atomic_fetch_or(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&g_lock);
    while (__atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE) != RUNDOWN_ACTIVE)
        pthread_cond_wait(&g_cv, &g_lock);
    pthread_mutex_unlock(&g_lock);
}

VOID FASTCALL ExRundownCompleted(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_RELEASE);
}

struct rundown_cpu {
    volatile LONG_PTR refs;
} DECLSPEC_CACHEALIGN;

struct _EX_RUNDOWN_REF_CACHE_AWARE {
    volatile LONG active;
    ULONG ncpu;
    bool pool; /* allocated by ExAllocateCacheAwareRundownProtection */
    ULONG tag;
    struct rundown_cpu *cpus; /* ncpu entries, each on its own cache line */
};

static struct rundown_cpu *cpus_of(struct _EX_RUNDOWN_REF_CACHE_AWARE *r)
{
    return (struct rundown_cpu *)ALIGN_UP_POINTER_BY(r + 1, SYSTEM_CACHE_ALIGNMENT_SIZE);
}

SIZE_T NTAPI ExSizeOfRundownProtectionCacheAware(void)
{
    return sizeof(struct _EX_RUNDOWN_REF_CACHE_AWARE) +
           emu_cpu_count() * sizeof(struct rundown_cpu) + SYSTEM_CACHE_ALIGNMENT_SIZE;
}

/* The caller's buffer (pool: 16-byte aligned) is realigned to a cache line. */
VOID NTAPI ExInitializeRundownProtectionCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware,
                                                   SIZE_T RunRefSize)
{
    struct _EX_RUNDOWN_REF_CACHE_AWARE *r = RunRefCacheAware;
    ULONG i;
    (void)RunRefSize;
    r->active = 0;
    r->ncpu = emu_cpu_count() ? emu_cpu_count() : 1;
    r->pool = false;
    r->cpus = cpus_of(r);
    for (i = 0; i < r->ncpu; i++)
        r->cpus[i].refs = 0;
}

PEX_RUNDOWN_REF_CACHE_AWARE NTAPI ExAllocateCacheAwareRundownProtection(POOL_TYPE PoolType,
                                                                        ULONG PoolTag)
{
    if (emu_fault_should_fail("ExAllocateCacheAwareRundownProtection", __builtin_return_address(0)))
        return NULL;
    struct _EX_RUNDOWN_REF_CACHE_AWARE *r;
    (void)PoolType;
    r = emu_pool_alloc(ExSizeOfRundownProtectionCacheAware(), PoolTag, true,
                       __builtin_return_address(0));
    if (r == NULL)
        return NULL;
    ExInitializeRundownProtectionCacheAware(r, ExSizeOfRundownProtectionCacheAware());
    r->pool = true;
    r->tag = PoolTag;
    return r;
}

VOID NTAPI ExFreeCacheAwareRundownProtection(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    if (RunRefCacheAware && RunRefCacheAware->pool)
        emu_pool_free(RunRefCacheAware, RunRefCacheAware->tag, __builtin_return_address(0));
}

static struct rundown_cpu *my_slot(struct _EX_RUNDOWN_REF_CACHE_AWARE *r)
{
    return &r->cpus[KeGetCurrentProcessorNumberEx(NULL) % r->ncpu];
}

BOOLEAN FASTCALL
ExAcquireRundownProtectionCacheAwareEx(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware, ULONG Count)
{
    struct _EX_RUNDOWN_REF_CACHE_AWARE *r = RunRefCacheAware;
    struct rundown_cpu *c;
    if (__atomic_load_n(&r->active, __ATOMIC_SEQ_CST))
        return FALSE;
    c = my_slot(r);
    __atomic_fetch_add(&c->refs, (LONG_PTR)Count, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->active, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_sub(&c->refs, (LONG_PTR)Count, __ATOMIC_SEQ_CST);
        wake_waiters();
        return FALSE;
    }
    return TRUE;
}

BOOLEAN FASTCALL ExAcquireRundownProtectionCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    return ExAcquireRundownProtectionCacheAwareEx(RunRefCacheAware, 1);
}

VOID FASTCALL ExReleaseRundownProtectionCacheAwareEx(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware,
                                                     ULONG Count)
{
    struct _EX_RUNDOWN_REF_CACHE_AWARE *r = RunRefCacheAware;
    __atomic_fetch_sub(&my_slot(r)->refs, (LONG_PTR)Count, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->active, __ATOMIC_SEQ_CST))
        wake_waiters();
}

VOID FASTCALL ExReleaseRundownProtectionCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    ExReleaseRundownProtectionCacheAwareEx(RunRefCacheAware, 1);
}

static LONG_PTR sum(struct _EX_RUNDOWN_REF_CACHE_AWARE *r)
{
    LONG_PTR s = 0;
    ULONG i;
    for (i = 0; i < r->ncpu; i++)
        s += __atomic_load_n(&r->cpus[i].refs, __ATOMIC_SEQ_CST);
    return s;
}

VOID FASTCALL
ExWaitForRundownProtectionReleaseCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    struct _EX_RUNDOWN_REF_CACHE_AWARE *r = RunRefCacheAware;
    emu_irql_require_max("ExWaitForRundownProtectionReleaseCacheAware", APC_LEVEL);
    __atomic_store_n(&r->active, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&g_lock);
    while (sum(r) != 0)
        pthread_cond_wait(&g_cv, &g_lock);
    pthread_mutex_unlock(&g_lock);
}

VOID FASTCALL ExRundownCompletedCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    __atomic_store_n(&RunRefCacheAware->active, 1, __ATOMIC_SEQ_CST);
}

VOID FASTCALL
ExReInitializeRundownProtectionCacheAware(PEX_RUNDOWN_REF_CACHE_AWARE RunRefCacheAware)
{
    ULONG i;
    for (i = 0; i < RunRefCacheAware->ncpu; i++)
        __atomic_store_n(&RunRefCacheAware->cpus[i].refs, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&RunRefCacheAware->active, 0, __ATOMIC_SEQ_CST);
}
