/*
 * Spin locks. A KSPIN_LOCK holds the owning thread's identity while held,
 * which is what lets the verifier name a release by the wrong context or a
 * recursive acquire.
 *
 * The spin itself is polite: an emulated CPU is a host thread, and 2 host
 * cores may carry 64 emulated CPUs, so a waiter that only spun could keep
 * the holder's host thread off the core it needs to reach its release.
 */
#include "kernel.h"
#include "verifier.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define SPINS_BEFORE_YIELD 200

static ULONG_PTR me(void)
{
    return (ULONG_PTR)ke_current_thread();
}

static void acquire(PKSPIN_LOCK SpinLock, const char *api)
{
    ULONG_PTR self = me();
    unsigned spins = 0;
    if (__atomic_load_n(SpinLock, __ATOMIC_RELAXED) == self) {
        /* On one CPU this spins forever; there is no sane way to go on. */
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL,
                      "%s: recursive acquire of spin lock %p by its owner (deadlock on Windows)",
                      api, (void *)SpinLock);
        emu_violations_print(stderr, false);
        fprintf(stderr, "ndisemu: aborting: recursive spin lock acquire would hang the CPU\n");
        abort();
    }
    for (;;) {
        ULONG_PTR expected = 0;
        if (__atomic_compare_exchange_n(SpinLock, &expected, self, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            ((struct _KTHREAD *)self)->spinlocks++; /* checked on callback return */
            return;
        }
        if (++spins < SPINS_BEFORE_YIELD) {
            YieldProcessor();
        } else {
            spins = 0;
            sched_yield();
        }
    }
}

static void release(PKSPIN_LOCK SpinLock, const char *api)
{
    ULONG_PTR owner = __atomic_load_n(SpinLock, __ATOMIC_RELAXED);
    if (owner == 0) {
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL, "%s: spin lock %p is not held", api,
                      (void *)SpinLock);
        return;
    }
    if (owner != me())
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, NULL,
                      "%s: spin lock %p released by a different context than its acquirer", api,
                      (void *)SpinLock);
    else if (((struct _KTHREAD *)owner)->spinlocks > 0)
        ((struct _KTHREAD *)owner)->spinlocks--;
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
}

VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELAXED);
}

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL old;
    emu_irql_require_max("KeAcquireSpinLock", DISPATCH_LEVEL);
    old = KfRaiseIrql(DISPATCH_LEVEL);
    acquire(SpinLock, "KeAcquireSpinLock");
    return old;
}

VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    emu_irql_require("KeReleaseSpinLock", DISPATCH_LEVEL);
    release(SpinLock, "KeReleaseSpinLock");
    KeLowerIrql(NewIrql);
}

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    emu_irql_require_max("KeAcquireSpinLockAtDpcLevel", HIGH_LEVEL);
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, NULL,
                      "KeAcquireSpinLockAtDpcLevel called at IRQL %u (must be >= DISPATCH_LEVEL)",
                      KeGetCurrentIrql());
    acquire(SpinLock, "KeAcquireSpinLockAtDpcLevel");
}

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, NULL,
                      "KeReleaseSpinLockFromDpcLevel called at IRQL %u (must be >= DISPATCH_LEVEL)",
                      KeGetCurrentIrql());
    release(SpinLock, "KeReleaseSpinLockFromDpcLevel");
}

BOOLEAN FASTCALL KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    ULONG_PTR expected = 0;
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, NULL,
                      "KeTryToAcquireSpinLockAtDpcLevel called at IRQL %u", KeGetCurrentIrql());
    if (!__atomic_compare_exchange_n(SpinLock, &expected, me(), false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return FALSE;
    ke_current_thread()->spinlocks++;
    return TRUE;
}

BOOLEAN FASTCALL KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0;
}

/* Queued spin locks: the WDK hands waiters off in FIFO order; ndisemu keeps
   the same interface over the plain lock (fairness is not part of the
   contract a driver may rely on). */
VOID FASTCALL KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    emu_irql_require_max("KeAcquireInStackQueuedSpinLock", DISPATCH_LEVEL);
    LockHandle->LockQueue.Next = NULL;
    LockHandle->LockQueue.Lock = SpinLock;
    LockHandle->OldIrql = KfRaiseIrql(DISPATCH_LEVEL);
    acquire(SpinLock, "KeAcquireInStackQueuedSpinLock");
}

VOID FASTCALL KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    emu_irql_require("KeReleaseInStackQueuedSpinLock", DISPATCH_LEVEL);
    release(LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLock");
    KeLowerIrql(LockHandle->OldIrql);
}

VOID FASTCALL KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                       PKLOCK_QUEUE_HANDLE LockHandle)
{
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, NULL,
                      "KeAcquireInStackQueuedSpinLockAtDpcLevel called at IRQL %u",
                      KeGetCurrentIrql());
    LockHandle->LockQueue.Next = NULL;
    LockHandle->LockQueue.Lock = SpinLock;
    LockHandle->OldIrql = DISPATCH_LEVEL;
    acquire(SpinLock, "KeAcquireInStackQueuedSpinLockAtDpcLevel");
}

VOID FASTCALL KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, NULL,
                      "KeReleaseInStackQueuedSpinLockFromDpcLevel called at IRQL %u",
                      KeGetCurrentIrql());
    release(LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLockFromDpcLevel");
}
