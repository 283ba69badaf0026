/*
 * DPCs: targeted DPCs wait for the CPU they target; KeInsertQueueDpc and
 * KeRemoveQueuedDpc bookkeeping; and KeFlushQueuedDpcs with both halves of
 * its documented guarantee:
 *  1. a DPC queued before the flush has run when the flush returns;
 *  2. a passive thread that raised to DISPATCH_LEVEL on a CPU does not
 *     delay the flush when nothing is queued there (the flush is no grace
 *     period), while a DPC targeted at that CPU does wait for it.
 */
#include "ktest.h"

#define NCPU 2

static atomic_int g_ran;
static atomic_int g_ran_on = -1;
static atomic_int g_hold_cpu = -1;
static atomic_bool g_release;
static atomic_bool g_flush_done;

static VOID count_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc, (void)a2;
    CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL);
    CHECK(KeIsExecutingDpc());
    CHECK(Context == (PVOID)0x1234 && a1 == (PVOID)0x55);
    atomic_store(&g_ran_on, (int)KeGetCurrentProcessorNumberEx(NULL));
    atomic_fetch_add(&g_ran, 1);
}

/* A passive thread that raises to DISPATCH_LEVEL and stays until released. */
static void *holder(void *arg)
{
    KIRQL old;
    (void)arg;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    atomic_store(&g_hold_cpu, (int)KeGetCurrentProcessorNumberEx(NULL));
    while (!atomic_load(&g_release))
        kt_sleep_ms(1);
    atomic_store(&g_hold_cpu, -1);
    KeLowerIrql(old);
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    KeFlushQueuedDpcs();
    atomic_store(&g_flush_done, true);
    return NULL;
}

/* A DPC that queues itself again at once: an unpaced receive DPC. */
static atomic_bool g_storm;

static VOID storm_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Context, (void)a1, (void)a2;
    if (atomic_load(&g_storm))
        KeInsertQueueDpc(Dpc, NULL, NULL);
}

static atomic_int g_raises;

static void *raiser(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeLowerIrql(old);
        atomic_fetch_add(&g_raises, 1);
    }
    return NULL;
}

static int start_holder(pthread_t *t)
{
    atomic_store(&g_release, false);
    CHECK(pthread_create(t, NULL, holder, NULL) == 0);
    CHECK(WAIT_UNTIL(atomic_load(&g_hold_cpu) >= 0, 5000));
    return atomic_load(&g_hold_cpu);
}

int main(int argc, char **argv)
{
    KDPC dpc;
    PROCESSOR_NUMBER pn = {0};
    pthread_t h, f;
    int cpu;
    (void)argc, (void)argv;

    emu_kernel_init(NCPU);

    /* Plain targeted DPC; a second insert while queued answers FALSE. */
    KeInitializeDpc(&dpc, count_dpc, (PVOID)0x1234);
    pn.Number = 1;
    CHECK(KeSetTargetProcessorDpcEx(&dpc, &pn) == STATUS_SUCCESS);
    pn.Number = NCPU;
    CHECK(KeSetTargetProcessorDpcEx(&dpc, &pn) == STATUS_INVALID_PARAMETER);
    CHECK(KeInsertQueueDpc(&dpc, (PVOID)0x55, NULL));
    CHECK(WAIT_UNTIL(atomic_load(&g_ran) == 1, 5000));
    CHECK(atomic_load(&g_ran_on) == 1);

    /* A DPC targeted at a CPU held at DISPATCH by a passive thread waits. */
    cpu = start_holder(&h);
    pn.Number = (UCHAR)cpu;
    KeSetTargetProcessorDpcEx(&dpc, &pn);
    atomic_store(&g_ran, 0);
    CHECK(KeInsertQueueDpc(&dpc, (PVOID)0x55, NULL));
    CHECK(!KeInsertQueueDpc(&dpc, (PVOID)0x55, NULL)); /* already queued */
    kt_sleep_ms(150);
    CHECK(atomic_load(&g_ran) == 0);

    /* Half 1: the flush does not return before that queued DPC has run. */
    atomic_store(&g_flush_done, false);
    CHECK(pthread_create(&f, NULL, flusher, NULL) == 0);
    kt_sleep_ms(150);
    CHECK(!atomic_load(&g_flush_done));
    CHECK(atomic_load(&g_ran) == 0);
    atomic_store(&g_release, true);
    pthread_join(h, NULL);
    pthread_join(f, NULL);
    CHECK(atomic_load(&g_flush_done));
    CHECK(atomic_load(&g_ran) == 1 && atomic_load(&g_ran_on) == cpu);

    /* Half 2: nothing queued: a CPU held at DISPATCH does not delay it (the
       holder stays until released below, so a flush that waited for it
       would never return: no timing is judged)... */
    cpu = start_holder(&h);
    atomic_store(&g_flush_done, false);
    CHECK(pthread_create(&f, NULL, flusher, NULL) == 0);
    CHECK(WAIT_UNTIL(atomic_load(&g_flush_done), 30000));
    pthread_join(f, NULL);
    CHECK(atomic_load(&g_hold_cpu) == cpu); /* the holder is still at DISPATCH */
    /* ...whereas a DPC targeted at that CPU (the grace-period DPC) does wait. */
    pn.Number = (UCHAR)cpu;
    KeSetTargetProcessorDpcEx(&dpc, &pn);
    atomic_store(&g_ran, 0);
    CHECK(KeInsertQueueDpc(&dpc, (PVOID)0x55, NULL));
    kt_sleep_ms(100);
    CHECK(atomic_load(&g_ran) == 0);
    /* KeRemoveQueuedDpc takes it back before it runs. */
    CHECK(KeRemoveQueuedDpc(&dpc));
    CHECK(!KeRemoveQueuedDpc(&dpc));
    atomic_store(&g_release, true);
    pthread_join(h, NULL);
    KeFlushQueuedDpcs();
    CHECK(atomic_load(&g_ran) == 0);

    /* Untargeted: goes to the inserting CPU. */
    {
        KDPC d2;
        KIRQL old;
        int here;
        KeInitializeDpc(&d2, count_dpc, (PVOID)0x1234);
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        here = (int)KeGetCurrentProcessorNumberEx(NULL);
        CHECK(KeInsertQueueDpc(&d2, (PVOID)0x55, NULL));
        kt_sleep_ms(50);
        CHECK(atomic_load(&g_ran) == 0); /* we hold that CPU */
        KeLowerIrql(old);
        KeFlushQueuedDpcs();
        CHECK(atomic_load(&g_ran) == 1 && atomic_load(&g_ran_on) == here);
    }

    /*
     * Every CPU drains a DPC that never stops re-queueing itself; a passive
     * thread must still get a CPU at DISPATCH_LEVEL between two DPCs, as
     * Windows' scheduler would give it one. Without the hand-over the DPC
     * threads keep their CPUs for good and this waits out its limit.
     */
    {
        KDPC storm[NCPU];
        pthread_t r;
        atomic_store(&g_storm, true);
        for (int c = 0; c < NCPU; c++) {
            KeInitializeDpc(&storm[c], storm_dpc, NULL);
            pn.Number = (UCHAR)c;
            KeSetTargetProcessorDpcEx(&storm[c], &pn);
            CHECK(KeInsertQueueDpc(&storm[c], NULL, NULL));
        }
        CHECK(pthread_create(&r, NULL, raiser, NULL) == 0);
        CHECK(WAIT_UNTIL(atomic_load(&g_raises) == 200, 30000));
        pthread_join(r, NULL);
        atomic_store(&g_storm, false);
        KeFlushQueuedDpcs();
    }

    /* KeFlushQueuedDpcs is PASSIVE_LEVEL only. */
    CHECK(emu_violation_count() == 0);
    {
        KIRQL old;
        KeRaiseIrql(APC_LEVEL, &old);
        KeFlushQueuedDpcs();
        KeLowerIrql(old);
    }
    kt_expect_only(EMU_RULE_IRQL, 1);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
