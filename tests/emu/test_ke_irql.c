/*
 * IRQL and CPUs: raise/lower bookkeeping, processor numbering, the irql
 * findings for raising down / lowering up, and CPU exclusivity: many threads
 * on few CPUs, and never two contexts at DISPATCH_LEVEL on one CPU.
 */
#include "ktest.h"

#define NCPU 3
#define NTHREADS 6

static struct _KTHREAD *_Atomic g_occupant[NCPU];
static atomic_long g_sections;
static atomic_int g_cpus_seen;
static long g_iters = 20000;

static void *hammer(void *arg)
{
    long i;
    int seen = 0;
    (void)arg;
    for (i = 0; i < g_iters; i++) {
        KIRQL old;
        struct _KTHREAD *me = KeGetCurrentThread(), *prev;
        ULONG cpu;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        cpu = KeGetCurrentProcessorNumberEx(NULL);
        CHECK(cpu < NCPU);
        CHECK(ke_cpu_owner(cpu) == me);
        prev = atomic_exchange(&g_occupant[cpu], me);
        CHECK(prev == NULL);
        if ((i & 63) == 0)
            sched_yield(); /* invite the other contexts to try this CPU */
        prev = atomic_exchange(&g_occupant[cpu], NULL);
        CHECK(prev == me);
        atomic_fetch_add(&g_sections, 1);
        seen |= 1 << cpu;
        KeLowerIrql(old);
        CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    }
    atomic_fetch_or(&g_cpus_seen, seen);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[NTHREADS];
    PROCESSOR_NUMBER pn;
    KIRQL old, old2;
    KAFFINITY aff;
    int i;

    if (kt_stress(argc, argv))
        g_iters = 400000;
    emu_kernel_init(NCPU);
    CHECK(emu_cpu_count() == NCPU);
    CHECK(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS) == NCPU);
    CHECK(KeQueryActiveProcessorCount(&aff) == NCPU && aff == 7);
    CHECK(KeGetProcessorNumberFromIndex(2, &pn) == STATUS_SUCCESS && pn.Group == 0 &&
          pn.Number == 2);
    CHECK(KeGetProcessorNumberFromIndex(NCPU, &pn) == STATUS_INVALID_PARAMETER);
    CHECK(KeGetProcessorIndexFromNumber(&pn) == 2);

    /* Raise/lower nest; the CPU is held from the first raise to DISPATCH
       until IRQL drops below it, and the thread stays on that CPU. */
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    CHECK(emu_cpu_current() == -1);
    KeRaiseIrql(APC_LEVEL, &old);
    CHECK(old == PASSIVE_LEVEL && emu_cpu_current() == -1);
    old2 = KeRaiseIrqlToDpcLevel();
    CHECK(old2 == APC_LEVEL && KeGetCurrentIrql() == DISPATCH_LEVEL);
    CHECK(emu_cpu_current() >= 0);
    CHECK(KeGetCurrentProcessorNumberEx(&pn) == (ULONG)emu_cpu_current());
    CHECK(pn.Number == emu_cpu_current() && pn.Group == 0);
    i = emu_cpu_current();
    KeLowerIrql(old2);
    CHECK(emu_cpu_current() == -1 && KeGetCurrentIrql() == APC_LEVEL);
    /* At PASSIVE the current processor is the last one the thread held. */
    CHECK(KeGetCurrentProcessorNumberEx(NULL) == (ULONG)i);
    KeLowerIrql(old);
    CHECK(emu_violation_count() == 0);

    /* Lowering to a level above the current one, raising to one below. */
    KeLowerIrql(DISPATCH_LEVEL);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(APC_LEVEL, &old2);
    CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL);
    KeLowerIrql(old);
    kt_expect_only(EMU_RULE_IRQL, 2);
    emu_violations_reset();

    /* A callback returning at another IRQL, or holding a spin lock it took:
       one finding each, naming the callback, and the caller's IRQL back. */
    {
        struct emu_callctx c;
        KSPIN_LOCK lock;
        KeInitializeSpinLock(&lock);
        emu_callctx_push(&c, "drv", "FilterRestart", NULL);
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        emu_callctx_pop(&c);
        CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL && emu_cpu_current() == -1);
        kt_expect_only(EMU_RULE_IRQL, 1);
        emu_violations_reset();
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        emu_callctx_push(&c, "drv", "FilterReceiveNetBufferLists", NULL);
        KeAcquireSpinLockAtDpcLevel(&lock);
        emu_callctx_pop(&c);
        CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL);
        kt_expect_only(EMU_RULE_IRQL, 1);
        emu_violations_reset();
        KeReleaseSpinLockFromDpcLevel(&lock); /* by its owner: no finding */
        emu_callctx_push(&c, "drv", "FilterReceiveNetBufferLists", NULL);
        KeLowerIrql(PASSIVE_LEVEL);
        emu_callctx_pop(&c); /* called at DISPATCH_LEVEL, returned at PASSIVE */
        CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL && emu_cpu_current() >= 0);
        kt_expect_only(EMU_RULE_IRQL, 1);
        emu_violations_reset();
        /* Balanced: nothing. */
        emu_callctx_push(&c, "drv", "FilterReceiveNetBufferLists", NULL);
        KeAcquireSpinLockAtDpcLevel(&lock);
        KeReleaseSpinLockFromDpcLevel(&lock);
        emu_callctx_pop(&c);
        KeLowerIrql(old);
        CHECK(emu_violation_count() == 0);
    }

    for (i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, hammer, NULL) == 0);
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(atomic_load(&g_sections) == NTHREADS * g_iters);
    /* Contention spread the threads over more than one CPU. */
    CHECK(__builtin_popcount((unsigned)atomic_load(&g_cpus_seen)) > 1);
    CHECK(emu_violation_count() == 0);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
