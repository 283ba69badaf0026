/*
 * Rundown protection, plain and cache-aware, same scenario for both through
 * one ops table: references granted before the rundown hold it up, none is
 * granted after it began, the wait ends with the last release, and
 * re-initialization makes the object usable again. A stress phase races
 * acquirers (spread over CPUs, released on other CPUs) with the rundown.
 */
#include "ktest.h"

struct rd_ops {
    const char *name;
    BOOLEAN (*acquire)(void *r);
    void (*release)(void *r);
    void (*wait)(void *r);
    void (*reinit)(void *r);
};

static BOOLEAN p_acq(void *r)
{
    return ExAcquireRundownProtection(r);
}
static void p_rel(void *r)
{
    ExReleaseRundownProtection(r);
}
static void p_wait(void *r)
{
    ExWaitForRundownProtectionRelease(r);
}
static void p_re(void *r)
{
    ExReInitializeRundownProtection(r);
}
static BOOLEAN c_acq(void *r)
{
    return ExAcquireRundownProtectionCacheAware(r);
}
static void c_rel(void *r)
{
    ExReleaseRundownProtectionCacheAware(r);
}
static void c_wait(void *r)
{
    ExWaitForRundownProtectionReleaseCacheAware(r);
}
static void c_re(void *r)
{
    ExReInitializeRundownProtectionCacheAware(r);
}

static const struct rd_ops g_ops[] = {
    {"plain", p_acq, p_rel, p_wait, p_re},
    {"cache-aware", c_acq, c_rel, c_wait, c_re},
};

struct ctx {
    const struct rd_ops *ops;
    void *r;
    atomic_bool waited;
    atomic_long held;     /* references granted and not yet released */
    atomic_bool violated; /* the wait returned while a reference was held */
    atomic_bool stop;
};

static void *waiter(void *arg)
{
    struct ctx *c = arg;
    c->ops->wait(c->r);
    if (atomic_load(&c->held) != 0)
        atomic_store(&c->violated, true);
    atomic_store(&c->waited, true);
    return NULL;
}

static void *racer(void *arg)
{
    struct ctx *c = arg;
    unsigned n = 0;
    while (!atomic_load(&c->stop)) {
        KIRQL old;
        /* Take it on one CPU, drop it possibly on another. */
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        if (!c->ops->acquire(c->r)) {
            KeLowerIrql(old);
            continue;
        }
        atomic_fetch_add(&c->held, 1);
        KeLowerIrql(old);
        if ((++n & 7) == 0)
            sched_yield();
        atomic_fetch_sub(&c->held, 1);
        c->ops->release(c->r);
    }
    return NULL;
}

static bool refused(const struct rd_ops *ops, void *r)
{
    if (!ops->acquire(r))
        return true;
    ops->release(r);
    return false;
}

static void scenario(const struct rd_ops *ops, void *r, int rounds)
{
    struct ctx c = {.ops = ops, .r = r};
    pthread_t w, rs[3];
    int i, k;

    CHECK(ops->acquire(r));
    CHECK(ops->acquire(r));
    atomic_store(&c.held, 2);
    CHECK(pthread_create(&w, NULL, waiter, &c) == 0);
    kt_sleep_ms(50);
    CHECK(!atomic_load(&c.waited));            /* two references hold the rundown */
    /* None granted once it began (the waiter may start late on a busy
       host: one granted before is given back, or the wait never ends). */
    CHECK(WAIT_UNTIL(refused(ops, r), 30000));
    atomic_store(&c.held, 1);
    ops->release(r);
    kt_sleep_ms(30);
    CHECK(!atomic_load(&c.waited));
    atomic_store(&c.held, 0);
    ops->release(r);
    CHECK(WAIT_UNTIL(atomic_load(&c.waited), 30000));
    pthread_join(w, NULL);
    CHECK(!atomic_load(&c.violated));
    CHECK(!ops->acquire(r));

    ops->reinit(r);
    CHECK(ops->acquire(r));
    ops->release(r);

    for (k = 0; k < rounds; k++) {
        ops->reinit(r);
        atomic_store(&c.stop, false);
        atomic_store(&c.waited, false);
        for (i = 0; i < 3; i++)
            CHECK(pthread_create(&rs[i], NULL, racer, &c) == 0);
        kt_sleep_ms(5);
        waiter(&c);
        CHECK(!atomic_load(&c.violated));
        atomic_store(&c.stop, true);
        for (i = 0; i < 3; i++)
            pthread_join(rs[i], NULL);
    }
    printf("%s ok\n", ops->name);
}

int main(int argc, char **argv)
{
    EX_RUNDOWN_REF plain;
    PEX_RUNDOWN_REF_CACHE_AWARE ca;
    int rounds = kt_stress(argc, argv) ? 400 : 20;
    emu_kernel_init(4);
    ExInitializeRundownProtection(&plain);
    scenario(&g_ops[0], &plain, rounds);

    ca = ExAllocateCacheAwareRundownProtection(NonPagedPoolNx, 'tsTR');
    CHECK(ca != NULL);
    scenario(&g_ops[1], ca, rounds);
    ExFreeCacheAwareRundownProtection(ca);

    /* Caller-provided storage for the cache-aware form. */
    {
        SIZE_T n = ExSizeOfRundownProtectionCacheAware();
        void *buf = ExAllocatePoolZero(NonPagedPoolNx, n, 'tsTR');
        CHECK(buf != NULL);
        ExInitializeRundownProtectionCacheAware(buf, n);
        CHECK(c_acq(buf));
        c_rel(buf);
        c_wait(buf);
        CHECK(!c_acq(buf));
        ExFreePoolWithTag(buf, 'tsTR');
    }
    CHECK(emu_violation_count() == 0);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
