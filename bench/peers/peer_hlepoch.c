/*
 * The hlrcu component's read side (rcu/hlrcu.h, the inline functions hotlwf
 * and examples/maclist compile in, unchanged) on a minimal user-mode model of
 * the NT mechanism it relies on: a CPU at DISPATCH_LEVEL runs one context
 * until that context lowers IRQL, and lowering IRQL is where the DPCs queued
 * to the CPU run.
 *
 * Why a model of NT is still needed here (and only of NT): the figure
 * checked against QSBR includes the quiescent point, and on NT that is
 * KeLowerIrql (a CR8 write, then a look at the processor's DPC queue),
 * which user mode cannot execute. ndisemu's KeLowerIrql takes a host mutex,
 * the emulator's cost: `hl-epoch-ndisemu` (peer_ndisemu.c) runs the whole
 * component there, for correctness, not for this figure. So the sections
 * below are hlrcu's own code; the CPU lock, the pending flag and the writer's
 * grace period stand for NT's dispatcher.
 *
 * Read side, per section: `hl-epoch` is HlRcuDereference, one acquire load
 * of the published pointer, a plain MOV on x86-64, as QSBR's
 * rcu_dereference; `hl-epoch-view` is HlRcuCacheIsStale, the per-CPU cache
 * check hotlwf's HlEpochReadEnter uses: it compares the generation with the
 * one the cached view was built for and reloads only when it moved. Each reader is the only context of its emulated CPU (one
 * reader per CPU, as one receive DPC per queue CPU), so it takes the CPU's
 * lock once, at registration, and keeps it. Every qs_every sections it
 * "lowers and raises IRQL": on x64 a CR8 write, after which the CPU runs
 * the DPCs queued to it; the model checks the CPU's pending flag (a plain
 * load) and runs the grace DPC inline (hl_drain). No host lock is taken
 * there: that is what an uncontended CPU costs on NT. When a reader
 * unregisters, its CPU falls idle and the CPU's DPC thread, blocked on the
 * CPU lock until then, runs what is queued. `hl-epoch-ndisemu` runs the
 * view read side on libndisemu's KeRaiseIrql / KeLowerIrql instead, which
 * take a host mutex at every quiescent point: the emulator's cost.
 *
 * Grace period: bump the generation, queue one "DPC" per emulated CPU, wait
 * until all have run. A DPC for CPU k runs only where no section is open on
 * k: at its reader's quiescent point, or on the DPC thread once no reader
 * holds k. The pending flag is set with a seq_cst exchange after the release
 * store of the pointer and the generation and taken with another, so every
 * section after the DPC sees both, and every section before it has ended
 * before the count that releases the writer (the argument in
 * driver/epoch.c, 1.). A reader that has not yet seen the flag set only
 * delays the grace period; it cannot end it early.
 */
#include <stdlib.h>
#include "hlrcu.h"
#include "peers.h"

/*
 * An emulated CPU; its one reader's state is the CPU's (NT's per-processor
 * block, which a DISPATCH_LEVEL context addresses directly through GS).
 * The reader's fields share the first cache line; the DPC thread's follow.
 */
struct hl_cpu {
    atomic_int dpc_pending; /* the grace DPC is queued to this CPU */
    HLRCU_CACHE cache;      /* hl-epoch-view: the generation `cached` belongs to */
    const struct peer_cfg *cached;
    pthread_mutex_t irql __attribute__((aligned(64))); /* held = at DISPATCH_LEVEL */
    pthread_mutex_t qlock;                             /* the DPC thread sleeps on qcv */
    pthread_cond_t qcv;
    int exit;
    pthread_t dpc_thread;
} __attribute__((aligned(64)));

/* Only Pointer and Generation are used: the grace period below is the model's. */
static HLRCU hl_pub __attribute__((aligned(64)));

static struct hl_cpu *hl_cpus;
static unsigned hl_ncpus, hl_pin_cpus;
static atomic_int hl_remaining;
static pthread_mutex_t hl_done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hl_done_cv = PTHREAD_COND_INITIALIZER;
static int hl_done;

/* The grace DPC's body: running at all is the proof; the count tells the writer when. */
static void hl_grace_dpc(void)
{
    if (atomic_fetch_sub(&hl_remaining, 1) == 1) {
        pthread_mutex_lock(&hl_done_lock);
        hl_done = 1;
        pthread_cond_signal(&hl_done_cv);
        pthread_mutex_unlock(&hl_done_lock);
    }
}

/* Called with the CPU held: the last thing before IRQL drops below DISPATCH_LEVEL. */
static inline void hl_drain(struct hl_cpu *cpu)
{
    if (atomic_load_explicit(&cpu->dpc_pending, memory_order_relaxed) &&
        atomic_exchange(&cpu->dpc_pending, 0))
        hl_grace_dpc();
}

static void *hl_dpc_thread(void *arg)
{
    struct hl_cpu *cpu = arg;

    peer_pin((unsigned)(cpu - hl_cpus), hl_pin_cpus);
    pthread_mutex_lock(&cpu->qlock);
    for (;;) {
        while (!cpu->exit && !atomic_load(&cpu->dpc_pending))
            pthread_cond_wait(&cpu->qcv, &cpu->qlock);
        if (cpu->exit)
            break;
        pthread_mutex_unlock(&cpu->qlock);
        /* A DPC runs at DISPATCH_LEVEL on its CPU: it has to get the CPU first. */
        pthread_mutex_lock(&cpu->irql);
        hl_drain(cpu);
        pthread_mutex_unlock(&cpu->irql);
        pthread_mutex_lock(&cpu->qlock);
    }
    pthread_mutex_unlock(&cpu->qlock);
    return NULL;
}

/* `hl-epoch`: HlRcuDereference. A section is an acquire load of the pointer (a plain MOV). */
static inline const struct peer_cfg *hl_read_enter(struct hl_cpu *cpu)
{
    (void)cpu;
    return HlRcuDereference(&hl_pub);
}

/*
 * `hl-epoch-view`: the driver's read side (HlEpochReadEnter): the reader keeps
 * a view of the configuration and rebuilds it only when the generation
 * moved, which is how each filter module keeps its per-CPU classification
 * state. Here the "view" is the pointer itself; the row shows what the
 * generation compare costs per section on top of the engine.
 */
static inline const struct peer_cfg *hl_read_enter_view(struct hl_cpu *cpu)
{
    PVOID current;

    if (__builtin_expect(HlRcuCacheIsStale(&hl_pub, &cpu->cache, &current), 0))
        cpu->cached = current;
    return cpu->cached;
}

/* Readers and CPUs are one to one (hl_init): reader i is CPU i's only context. */
static void hl_register(struct peer_reader *r)
{
    struct hl_cpu *cpu = &hl_cpus[r->id];

    cpu->cache.Generation = 0; /* never published: the first section loads the pointer */
    r->priv = cpu;
    pthread_mutex_lock(&cpu->irql);
}

static void hl_unregister(struct peer_reader *r)
{
    struct hl_cpu *cpu = r->priv;

    hl_drain(cpu);
    pthread_mutex_unlock(&cpu->irql);
}

#define PEER_FLAVOUR_READER hl_reader
#define PEER_REGISTER(r) hl_register(r)
#define PEER_UNREGISTER(r) hl_unregister(r)
#define PEER_READ_BEGIN(p) hl_read_enter((struct hl_cpu *)(p))
#define PEER_READ_END(p) ((void)(p))
#define PEER_QUIESCENT(p) hl_drain((struct hl_cpu *)(p))
#include "peer_loop.h"
#undef PEER_FLAVOUR_READER
#undef PEER_READ_BEGIN
#define PEER_FLAVOUR_READER hl_view_reader
#define PEER_READ_BEGIN(p) hl_read_enter_view((struct hl_cpu *)(p))
#include "peer_loop.h"

static int hl_init(const struct peer_params *p, struct peer_cfg *first)
{
    unsigned i;

    hl_ncpus = p->readers;
    hl_pin_cpus = p->cpus;
    hl_cpus = aligned_alloc(64, sizeof(*hl_cpus) * hl_ncpus);
    if (hl_cpus == NULL)
        return -1;
    __atomic_store_n(&hl_pub.Generation, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hl_pub.Pointer, first, __ATOMIC_SEQ_CST);
    for (i = 0; i < hl_ncpus; i++) {
        struct hl_cpu *cpu = &hl_cpus[i];

        pthread_mutex_init(&cpu->irql, NULL);
        pthread_mutex_init(&cpu->qlock, NULL);
        pthread_cond_init(&cpu->qcv, NULL);
        atomic_store(&cpu->dpc_pending, 0);
        cpu->exit = 0;
        pthread_create(&cpu->dpc_thread, NULL, hl_dpc_thread, cpu);
    }
    return 0;
}

static void hl_fini(void)
{
    unsigned i;

    for (i = 0; i < hl_ncpus; i++) {
        struct hl_cpu *cpu = &hl_cpus[i];

        pthread_mutex_lock(&cpu->qlock);
        cpu->exit = 1;
        pthread_cond_signal(&cpu->qcv);
        pthread_mutex_unlock(&cpu->qlock);
        pthread_join(cpu->dpc_thread, NULL);
        pthread_cond_destroy(&cpu->qcv);
        pthread_mutex_destroy(&cpu->qlock);
        pthread_mutex_destroy(&cpu->irql);
    }
    peer_retire(__atomic_exchange_n(&hl_pub.Pointer, NULL, __ATOMIC_SEQ_CST));
    free(hl_cpus);
    hl_cpus = NULL;
}

static struct peer_cfg *hl_replace(struct peer_cfg *c)
{
    struct peer_cfg *old = __atomic_load_n(&hl_pub.Pointer, __ATOMIC_RELAXED);
    unsigned i;

    /* HlRcuExchange's two stores (one writer here, so without its spin lock). */
    __atomic_store_n(&hl_pub.Pointer, c, __ATOMIC_RELEASE); /* W1 */
    __atomic_store_n(&hl_pub.Generation, __atomic_load_n(&hl_pub.Generation, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELEASE); /* W2 */

    hl_done = 0;
    atomic_store(&hl_remaining, (int)hl_ncpus);
    for (i = 0; i < hl_ncpus; i++) { /* W3: KeInsertQueueDpc to every CPU */
        struct hl_cpu *cpu = &hl_cpus[i];

        atomic_exchange(&cpu->dpc_pending, 1);
        pthread_mutex_lock(&cpu->qlock);
        pthread_cond_signal(&cpu->qcv);
        pthread_mutex_unlock(&cpu->qlock);
    }
    pthread_mutex_lock(&hl_done_lock);
    while (!hl_done)
        pthread_cond_wait(&hl_done_cv, &hl_done_lock);
    pthread_mutex_unlock(&hl_done_lock);
    return old; /* W4 is the caller's */
}

const struct peer_flavour peer_hlepoch = {"hl-epoch", hl_init, hl_fini, hl_reader, hl_replace};
const struct peer_flavour peer_hlepoch_view = {"hl-epoch-view", hl_init, hl_fini, hl_view_reader,
                                               hl_replace};
