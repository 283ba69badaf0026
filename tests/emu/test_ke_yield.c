/*
 * KeShouldYieldProcessor: FALSE below DISPATCH_LEVEL and early in a
 * DISPATCH_LEVEL stretch, TRUE once the stretch has used the advised CPU
 * time, FALSE again in the next stretch; in a DPC, the stretch is the DPC
 * queue's, so a DPC that runs after a long one on the same CPU, with no
 * drop below DISPATCH_LEVEL between them, is told to yield at once.
 */
#include "ktest.h"

#include <time.h>

#define YIELD_MS 20u

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns ms of this thread's CPU time (wall time would not do: a busy host
   may deschedule the thread, and that is no stretch of the emulated CPU). */
static void burn_cpu_ms(unsigned ms)
{
    uint64_t t0 = thread_cpu_ns();
    while (thread_cpu_ns() - t0 < (uint64_t)ms * 1000000u)
        ;
}

static atomic_int g_first_saw = -1, g_second_saw = -1;

/* Runs first on the CPU: asks (starting the count), then burns. */
static VOID long_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc, (void)Context, (void)a1, (void)a2;
    atomic_store(&g_first_saw, KeShouldYieldProcessor() ? 1 : 0);
    burn_cpu_ms(2 * YIELD_MS);
}

static VOID next_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc, (void)Context, (void)a1, (void)a2;
    atomic_store(&g_second_saw, KeShouldYieldProcessor() ? 1 : 0);
}

int main(int argc, char **argv)
{
    KIRQL old;
    KDPC first, second;
    PROCESSOR_NUMBER pn = {0};
    (void)argc, (void)argv;

    emu_kernel_init(2);
    ke_cpu_set_yield_after_ms(YIELD_MS);

    CHECK(!KeShouldYieldProcessor()); /* PASSIVE_LEVEL: no stretch */

    /* A raised thread: the advice comes after YIELD_MS of its CPU time. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(!KeShouldYieldProcessor());
    burn_cpu_ms(YIELD_MS / 4);
    CHECK(!KeShouldYieldProcessor());
    burn_cpu_ms(YIELD_MS);
    CHECK(KeShouldYieldProcessor());
    CHECK(KeShouldYieldProcessor());
    KeLowerIrql(old);
    CHECK(!KeShouldYieldProcessor());

    /* A new stretch starts the count again. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(!KeShouldYieldProcessor());
    KeLowerIrql(old);

    /* Two DPCs on the CPU this thread holds, queued before it lowers, so
       the DPC thread runs them back to back in one stretch. */
    KeInitializeDpc(&first, long_dpc, NULL);
    KeInitializeDpc(&second, next_dpc, NULL);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    pn.Number = (UCHAR)KeGetCurrentProcessorNumberEx(NULL);
    CHECK(KeSetTargetProcessorDpcEx(&first, &pn) == STATUS_SUCCESS);
    CHECK(KeSetTargetProcessorDpcEx(&second, &pn) == STATUS_SUCCESS);
    CHECK(KeInsertQueueDpc(&first, NULL, NULL));
    CHECK(KeInsertQueueDpc(&second, NULL, NULL));
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    CHECK(atomic_load(&g_first_saw) == 0);
    CHECK(atomic_load(&g_second_saw) == 1);

    CHECK(emu_violation_count() == 0);
    printf("ok: KeShouldYieldProcessor advises a yield after %u ms of one stretch\n", YIELD_MS);
    return 0;
}
