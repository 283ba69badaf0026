/*
 * DPC queues, one per emulated CPU, each drained by that CPU's DPC thread
 * while it holds the CPU (ke_cpu.c). A DPC targeted at CPU k therefore runs
 * only when no other context is at DISPATCH_LEVEL on CPU k, and DPCs of one
 * CPU run one at a time, in queue order.
 *
 * A queued DPC's DpcData points at the queue it sits on. It is set and
 * cleared only under that queue's lock, so KeInsertQueueDpc and
 * KeRemoveQueuedDpc racing from different CPUs agree on whether it is queued.
 */
#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dpc_queue {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    LIST_ENTRY head;
    _Atomic unsigned queued; /* read without the lock by ke_dpc_pending() */
    bool running;            /* a routine of this queue is executing */
    bool stop;
    unsigned index;
    pthread_t thread;
} DECLSPEC_CACHEALIGN;

static struct dpc_queue g_q[MAXIMUM_PROCESSORS];
static unsigned g_nq;

bool ke_dpc_pending(unsigned cpu)
{
    return cpu < g_nq && atomic_load_explicit(&g_q[cpu].queued, memory_order_relaxed) != 0;
}

static void run_one(PKDPC dpc, PVOID a1, PVOID a2, const struct emu_handoff *from)
{
    struct emu_callctx ctx;
    PKDEFERRED_ROUTINE routine = dpc->DeferredRoutine;
    PVOID context = dpc->DeferredContext;
    /* The pop checks the IRQL and spin locks the routine returned with. */
    emu_callctx_push_from(&ctx, dpc->EmuModule ? dpc->EmuModule : "ndisemu", "DeferredRoutine",
                          dpc, from);
    routine(dpc, context, a1, a2);
    emu_callctx_pop(&ctx);
}

static void *dpc_thread(void *arg)
{
    struct dpc_queue *q = arg;
    struct _KTHREAD *t = ke_current_thread();
    t->pinned = true;
    t->role = "the DPC thread";
    t->last_cpu = (int)q->index;
    t->module = "ndisemu";
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && IsListEmpty(&q->head))
            pthread_cond_wait(&q->wake, &q->lock);
        if (q->stop && IsListEmpty(&q->head))
            break;
        pthread_mutex_unlock(&q->lock);

        /* Blocks while another context is at DISPATCH_LEVEL on this CPU. */
        ke_cpu_take(t);
        t->irql = DISPATCH_LEVEL;
        t->in_dpc = true;
        pthread_mutex_lock(&q->lock);
        while (!IsListEmpty(&q->head)) {
            PKDPC dpc = CONTAINING_RECORD(RemoveHeadList(&q->head), KDPC, DpcListEntry);
            PVOID a1 = dpc->SystemArgument1, a2 = dpc->SystemArgument2;
            struct emu_handoff from = dpc->EmuFrom;
            /* Dequeued before it runs: the routine may queue itself again. */
            __atomic_store_n(&dpc->DpcData, NULL, __ATOMIC_SEQ_CST);
            atomic_fetch_sub(&q->queued, 1);
            q->running = true;
            pthread_mutex_unlock(&q->lock);
            run_one(dpc, a1, a2, &from);
            pthread_mutex_lock(&q->lock);
            q->running = false;
            if (ke_cpu_wanted(q->index))
                break; /* a raiser waits for this CPU: let it in between two DPCs */
        }
        pthread_mutex_unlock(&q->lock);
        t->in_dpc = false;
        t->irql = PASSIVE_LEVEL;
        ke_cpu_give(t);
        ke_cpu_hand_over(q->index);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

void ke_dpc_init(unsigned ncpus)
{
    unsigned i;
    g_nq = ncpus;
    for (i = 0; i < ncpus; i++) {
        struct dpc_queue *q = &g_q[i];
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        InitializeListHead(&q->head);
        q->queued = 0;
        q->running = false;
        q->stop = false;
        q->index = i;
        if (pthread_create(&q->thread, NULL, dpc_thread, q) != 0) {
            fprintf(stderr, "ndisemu: cannot start the DPC thread of CPU %u\n", i);
            abort();
        }
    }
}

void ke_dpc_shutdown(void)
{
    unsigned i;
    for (i = 0; i < g_nq; i++) {
        pthread_mutex_lock(&g_q[i].lock);
        g_q[i].stop = true;
        pthread_cond_signal(&g_q[i].wake);
        pthread_mutex_unlock(&g_q[i].lock);
    }
    for (i = 0; i < g_nq; i++) {
        pthread_join(g_q[i].thread, NULL);
        pthread_mutex_destroy(&g_q[i].lock);
        pthread_cond_destroy(&g_q[i].wake);
    }
    g_nq = 0;
}

static void init_dpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext,
                     UCHAR type)
{
    Dpc->Type = type;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->DpcListEntry.Flink = Dpc->DpcListEntry.Blink = NULL;
    Dpc->ProcessorHistory = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = Dpc->SystemArgument2 = NULL;
    Dpc->DpcData = NULL;
    memset(&Dpc->EmuFrom, 0, sizeof(Dpc->EmuFrom));
    Dpc->EmuModule = emu_module_for_address((const void *)DeferredRoutine);
}

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    init_dpc(Dpc, DeferredRoutine, DeferredContext, 19 /* DpcObject */);
}

/* Threaded DPCs may run as ordinary DPCs (the documented fallback when
   threaded DPCs are disabled); ndisemu always does so. */
VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                   PVOID DeferredContext)
{
    init_dpc(Dpc, DeferredRoutine, DeferredContext, 24 /* ThreadedDpcObject */);
}

/*
 * Importance and Number may legally be changed while the DPC sits in a queue
 * or is being inserted from another CPU: the WDK documents that such a call
 * has no effect on the queued instance, only on the next insertion, and
 * allows it at any IRQL. So the setters race the read in insert() by design;
 * both sides use relaxed atomics (a 16/8-bit store is atomic on the hardware
 * Windows runs on, and insert() needs either value, never a torn one).
 */
VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    __atomic_store_n(&Dpc->Importance, (UCHAR)Importance, __ATOMIC_RELAXED);
}

VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    if ((unsigned char)Number >= emu_cpu_count())
        KeBugCheckEx(0x5C /* INVALID_PROCESSOR */, (ULONG_PTR)Dpc, (ULONG_PTR)(UCHAR)Number, 0, 0);
    __atomic_store_n(&Dpc->Number, (USHORT)((UCHAR)Number + 1), __ATOMIC_RELAXED);
}

NTSTATUS NTAPI KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
    if (ProcNumber->Group != 0 || ProcNumber->Number >= emu_cpu_count())
        return STATUS_INVALID_PARAMETER;
    __atomic_store_n(&Dpc->Number, (USHORT)(ProcNumber->Number + 1), __ATOMIC_RELAXED);
    return STATUS_SUCCESS;
}

static BOOLEAN insert(PRKDPC Dpc, PVOID a1, PVOID a2, bool at_tail)
{
    struct dpc_queue *q;
    unsigned k, target;
    if (g_nq == 0)
        emu_kernel_init(2);
    target = __atomic_load_n(&Dpc->Number, __ATOMIC_RELAXED);
    k = target ? target - 1u : KeGetCurrentProcessorNumberEx(NULL);
    q = &g_q[k % g_nq];
    pthread_mutex_lock(&q->lock);
    {
        PVOID expected = NULL;
        if (!__atomic_compare_exchange_n(&Dpc->DpcData, &expected, (PVOID)q, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            pthread_mutex_unlock(&q->lock);
            return FALSE;
        }
    }
    Dpc->SystemArgument1 = a1;
    Dpc->SystemArgument2 = a2;
    /* Only the insertion that queues it hands off: a FALSE one queued nothing. */
    emu_handoff_capture(&Dpc->EmuFrom);
    Dpc->ProcessorHistory |= (KAFFINITY)1 << q->index;
    if (at_tail)
        InsertTailList(&q->head, &Dpc->DpcListEntry);
    else
        InsertHeadList(&q->head, &Dpc->DpcListEntry);
    atomic_fetch_add(&q->queued, 1);
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    return TRUE;
}

/*
 * DpcData goes from NULL to q only by a compare-exchange under q's lock and
 * back to NULL only under q's lock. Two CPUs inserting the same untargeted
 * DPC take different queue locks, but only one compare-exchange succeeds:
 * the other answers FALSE ("already queued"), as Windows does. A remover
 * that read q then takes q's lock and re-reads, so it sees either the DPC
 * on q's list or not queued at all, never half-inserted.
 */
BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    return insert(Dpc, SystemArgument1, SystemArgument2,
                  __atomic_load_n(&Dpc->Importance, __ATOMIC_RELAXED) != HighImportance);
}

BOOLEAN NTAPI KeRemoveQueuedDpc(PRKDPC Dpc)
{
    struct dpc_queue *q = __atomic_load_n(&Dpc->DpcData, __ATOMIC_SEQ_CST);
    if (q == NULL)
        return FALSE;
    pthread_mutex_lock(&q->lock);
    if (__atomic_load_n(&Dpc->DpcData, __ATOMIC_SEQ_CST) != q) {
        pthread_mutex_unlock(&q->lock);
        return FALSE;
    }
    RemoveEntryList(&Dpc->DpcListEntry);
    __atomic_store_n(&Dpc->DpcData, NULL, __ATOMIC_SEQ_CST);
    atomic_fetch_sub(&q->queued, 1);
    pthread_mutex_unlock(&q->lock);
    return TRUE;
}

BOOLEAN NTAPI KeIsExecutingDpc(void)
{
    return ke_current_thread()->in_dpc;
}

struct flush_wait {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned remaining;
};

static VOID flush_marker(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    struct flush_wait *w = Context;
    (void)Dpc, (void)a1, (void)a2;
    pthread_mutex_lock(&w->lock);
    if (--w->remaining == 0)
        pthread_cond_signal(&w->done);
    pthread_mutex_unlock(&w->lock);
}

/*
 * KeFlushQueuedDpcs, with exactly its documented guarantee: it returns once
 * every DPC that was queued on any CPU when it was called has run (or been
 * removed). It puts a marker DPC at the tail of every queue that holds a DPC
 * or is running one and waits for all markers: a queue runs in order, one
 * routine at a time, so its marker runs only after everything ahead of it
 * (DPCs inserted later at the head only delay the marker, never skip it).
 *
 * What it does NOT guarantee, and ndisemu must not give for free: that code
 * running at DISPATCH_LEVEL outside a DPC — a passive thread that raised
 * IRQL, a spin-lock holder — has left. A CPU with nothing queued gets no
 * marker, so such a context does not delay the flush at all. This is why
 * KeFlushQueuedDpcs alone is not a grace period for readers that raise IRQL
 * themselves (DESIGN.md, strategy `flushdpc`), while a DPC queued to every
 * CPU is (strategy `epoch`): that DPC has to wait for the CPU.
 */
VOID NTAPI KeFlushQueuedDpcs(void)
{
    struct flush_wait w;
    KDPC markers[MAXIMUM_PROCESSORS];
    unsigned i;
    emu_irql_require("KeFlushQueuedDpcs", PASSIVE_LEVEL);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.done, NULL);
    w.remaining = 0;
    pthread_mutex_lock(&w.lock);
    for (i = 0; i < g_nq; i++) {
        struct dpc_queue *q = &g_q[i];
        bool busy;
        pthread_mutex_lock(&q->lock);
        busy = q->running || !IsListEmpty(&q->head);
        pthread_mutex_unlock(&q->lock);
        if (!busy)
            continue;
        init_dpc(&markers[i], flush_marker, &w, 19);
        markers[i].EmuModule = "ndisemu";
        markers[i].Number = (USHORT)(i + 1);
        w.remaining++;
        insert(&markers[i], NULL, NULL, true);
    }
    while (w.remaining != 0)
        pthread_cond_wait(&w.done, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_cond_destroy(&w.done);
    pthread_mutex_destroy(&w.lock);
}

/*
 * Verifier hook (ke_pool.c, object-freed-while-queued): takes a DPC whose
 * KDPC lies in [lo, lo + n) off its queue and returns it, or NULL. Called
 * before the memory is freed, so the queue never links freed memory and
 * the routine never runs on it. Under each queue's lock, as insert and
 * remove are: a DPC is found here exactly when it is queued.
 */
PKDPC ke_dpc_unqueue_in(const void *lo, size_t n)
{
    unsigned i;
    for (i = 0; i < g_nq; i++) {
        struct dpc_queue *q = &g_q[i];
        PLIST_ENTRY e;
        if (atomic_load_explicit(&q->queued, memory_order_relaxed) == 0)
            continue;
        pthread_mutex_lock(&q->lock);
        for (e = q->head.Flink; e != &q->head; e = e->Flink) {
            PKDPC dpc = CONTAINING_RECORD(e, KDPC, DpcListEntry);
            if ((const char *)dpc >= (const char *)lo &&
                (const char *)dpc < (const char *)lo + n) {
                RemoveEntryList(e);
                __atomic_store_n(&dpc->DpcData, NULL, __ATOMIC_SEQ_CST);
                atomic_fetch_sub(&q->queued, 1);
                pthread_mutex_unlock(&q->lock);
                return dpc;
            }
        }
        pthread_mutex_unlock(&q->lock);
    }
    return NULL;
}
