/*
 * NDIS timer objects over the kernel's timer queue: a one-shot timer fires
 * once, at DISPATCH_LEVEL, with the context it was set with (or the
 * default); a periodic one fires until cancelled, and once its cancel
 * returns at PASSIVE_LEVEL its callback runs no more; NdisSetTimerObject
 * and NdisCancelTimerObject answer TRUE exactly when the timer was in the
 * queue. Then the verifier's timer rules, each once: a set timer freed
 * (timer-not-cancelled), a periodic timer cancelled at DISPATCH_LEVEL
 * (irql, SDV PeriodicTimer), AllocationTag 0 (pool-zero-tag).
 */
#include "ktest.h"

#include <ndis.h>

static atomic_int g_fired;
static atomic_int g_bad;
static _Atomic(void *) g_last_ctx;

static VOID on_timer(PVOID S1, PVOID FunctionContext, PVOID S2, PVOID S3)
{
    (void)S1, (void)S2, (void)S3;
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        atomic_fetch_add(&g_bad, 1);
    atomic_store(&g_last_ctx, FunctionContext);
    atomic_fetch_add(&g_fired, 1);
}

static NDIS_HANDLE alloc_timer(ULONG tag)
{
    NDIS_TIMER_CHARACTERISTICS c = {0};
    NDIS_HANDLE h = NULL;
    c.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    c.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    c.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    c.AllocationTag = tag;
    c.TimerFunction = on_timer;
    c.FunctionContext = (PVOID)0xD0;
    CHECK(NdisAllocateTimerObject((NDIS_HANDLE)0x1, &c, &h) == NDIS_STATUS_SUCCESS);
    CHECK(h != NULL);
    return h;
}

static LARGE_INTEGER in_ms(LONGLONG ms)
{
    LARGE_INTEGER d;
    d.QuadPart = -ms * 10000;
    return d;
}

int main(int argc, char **argv)
{
    NDIS_TIMER_CHARACTERISTICS bad = {0};
    NDIS_HANDLE h;
    KIRQL old;
    int n;
    (void)argc, (void)argv;
    emu_kernel_init(2);

    /* A wrong header is refused. */
    bad.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    bad.TimerFunction = on_timer;
    CHECK(NdisAllocateTimerObject((NDIS_HANDLE)0x1, &bad, &h) == NDIS_STATUS_BAD_CHARACTERISTICS);

    /* One-shot, default context: fires once. */
    h = alloc_timer('mTtT');
    CHECK(!NdisSetTimerObject(h, in_ms(20), 0, NULL));
    CHECK(WAIT_UNTIL(atomic_load(&g_fired) == 1, 5000));
    CHECK(atomic_load(&g_last_ctx) == (void *)0xD0);
    kt_sleep_ms(100);
    CHECK(atomic_load(&g_fired) == 1);
    CHECK(!NdisCancelTimerObject(h)); /* expired: no longer queued */

    /* Set far ahead: queued. A second set answers TRUE; a cancel TRUE once. */
    CHECK(!NdisSetTimerObject(h, in_ms(10000), 0, (PVOID)0xC1));
    CHECK(NdisSetTimerObject(h, in_ms(10000), 0, (PVOID)0xC1));
    CHECK(NdisCancelTimerObject(h));
    CHECK(!NdisCancelTimerObject(h));
    kt_sleep_ms(50);
    CHECK(atomic_load(&g_fired) == 1);

    /* Periodic, own context: fires repeatedly; after the cancel, never again. */
    CHECK(!NdisSetTimerObject(h, in_ms(5), 5, (PVOID)0xC2));
    CHECK(WAIT_UNTIL(atomic_load(&g_fired) >= 6, 10000));
    CHECK(atomic_load(&g_last_ctx) == (void *)0xC2);
    CHECK(NdisCancelTimerObject(h)); /* a periodic timer stays queued until cancelled */
    n = atomic_load(&g_fired);
    kt_sleep_ms(100);
    CHECK(atomic_load(&g_fired) == n);
    NdisFreeTimerObject(h);
    CHECK(atomic_load(&g_bad) == 0);
    CHECK(emu_violation_count() == 0);

    /* timer-not-cancelled: freed while set. */
    h = alloc_timer('mTtT');
    NdisSetTimerObject(h, in_ms(10000), 0, NULL);
    NdisFreeTimerObject(h);
    kt_expect_only(EMU_RULE_TIMER_NOT_CANCELLED, 1);
    emu_violations_reset();

    /* irql (SDV PeriodicTimer): a periodic timer cancelled at DISPATCH_LEVEL. */
    h = alloc_timer('mTtT');
    NdisSetTimerObject(h, in_ms(10000), 1000, NULL);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(NdisCancelTimerObject(h));
    KeLowerIrql(old);
    NdisFreeTimerObject(h);
    kt_expect_only(EMU_RULE_IRQL, 1);
    emu_violations_reset();

    /* pool-zero-tag: AllocationTag 0. */
    h = alloc_timer(0);
    NdisFreeTimerObject(h);
    kt_expect_only(EMU_RULE_POOL_ZERO_TAG, 1);

    emu_kernel_shutdown();
    printf("test_ke_timer: ok\n");
    return 0;
}
