/*
 * The miniport end of an emulated adapter: originates receive NBLs from the
 * traffic set on its receive-queue CPUs, at DISPATCH_LEVEL from DPCs, and
 * sinks sends.
 *
 * Receive path: a pacing thread per adapter turns the configured rate into
 * per-queue credit and queues each queue's targeted KDPC. The DPC is the
 * only consumer of its queue's free slots, so taking and filling them needs
 * no lock; slots come back from any CPU (MiniportReturnNetBufferLists)
 * through a lock-free stack the DPC drains with one exchange.
 *
 * Pause (MiniportPause) is the Dekker pair paused/busy, both sequentially
 * consistent: a DPC marks itself busy and then checks paused; Pause sets
 * paused and then waits for busy to clear. Either the DPC sees paused and
 * indicates nothing, or Pause sees it busy and waits; afterwards it waits for
 * `outstanding` (indicated, not returned) to reach zero, as a real miniport
 * must before it completes its pause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"
#include "verifier.h"

#define HOST_POOL_TAG 'pmHE'
#define HOST_RESOURCES_EVERY                                                                       \
    16                      /* one indication in this many sets NDIS_RECEIVE_FLAGS_RESOURCES       \
                             */
#define HOST_DEFER_EVERY 4  /* one send in this many is completed later, from a DPC */
#define HOST_FAST_BATCHES 4 /* batches per DPC run at --rate 0 */

static KDEFERRED_ROUTINE host_mp_rx_dpc;
static KDEFERRED_ROUTINE host_mp_complete_dpc;

static void *host_mp_pacer(void *arg);

static void queue_reclaim(struct emu_host *h, struct host_mp_queue *q, struct host_slot *s,
                          uint64_t *dropped)
{
    if (!atomic_load_explicit(&s->seen, memory_order_relaxed))
        (*dropped)++;
    if (!h->cfg.recycle) {
        /* A fresh NBL per use: a filter that touches one after handing it
           back then touches freed memory, which ASan reports. */
        NdisFreeNetBufferList(s->nbl);
        s->nbl = NdisAllocateNetBufferAndNetBufferList(h->mp.pool, 0, 0, s->mdls[0], 0, s->len);
        if (s->nbl)
            NET_BUFFER_LIST_MINIPORT_RESERVED(s->nbl)[0] = s;
    }
    (void)q;
}

static void host_mp_rx_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    struct host_mp_queue *q = ctx;
    struct emu_host *h = q->h;
    struct host_miniport *mp = &h->mp;
    bool fast = h->cfg.rx_pps == 0;
    (void)dpc, (void)a1, (void)a2;

    atomic_store(&q->busy, 1);
    /* As a real miniport's receive DPC does: when the CPU has been at
       DISPATCH_LEVEL long enough for the kernel to advise a yield, indicate
       nothing and let the DPC queue drain. The credit stays for the pacer's
       next DPC, and the DPC watchdog judges only what the driver keeps. */
    if (atomic_load(&mp->paused) || atomic_load(&mp->stop) || KeShouldYieldProcessor()) {
        atomic_store(&q->busy, 0);
        return;
    }
    uint64_t t0 = emu_now_ns();
    uint64_t budget = (uint64_t)h->cfg.batch * HOST_FAST_BATCHES;
    if (!fast) {
        uint64_t credit = atomic_exchange(&q->credit, 0);
        if (credit > budget)
            atomic_fetch_add(&q->credit, credit - budget);
        else
            budget = credit;
    }
    while (budget > 0) {
        PNET_BUFFER_LIST head = NULL, *tail = &head;
        struct host_slot *taken[256];
        unsigned n = 0, want = h->cfg.batch < budget ? h->cfg.batch : (unsigned)budget;
        if (want > 256)
            want = 256;
        while (n < want) {
            if (!q->local)
                q->local = host_stack_take(&q->returned);
            if (!q->local)
                break;
            struct host_slot *s = q->local;
            q->local = s->next;
            if (!s->nbl)
                continue; /* reallocation failed (recycle off): the slot is retired */
            host_slot_fill(h, s, (uint32_t)(emu_rng_next(&q->rng) % h->cfg.traffic->count),
                           &q->rng);
            *tail = s->nbl;
            tail = &NET_BUFFER_LIST_NEXT_NBL(s->nbl);
            taken[n++] = s;
        }
        if (n == 0)
            break;
        ULONG flags = NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
        bool resources = ++q->batches % HOST_RESOURCES_EVERY == 0 ||
                         atomic_load_explicit(&mp->rx_resources_all, memory_order_relaxed);
        if (resources)
            flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
        else
            atomic_fetch_add(&q->outstanding, n);
        host_count(h, EMU_RX_ORIGINATED, n);
        emu_miniport_indicate_receive(h->ad, head, NDIS_DEFAULT_PORT_NUMBER, n, flags);
        if (resources) {
            /* With NDIS_RECEIVE_FLAGS_RESOURCES the NBLs are ours again the
               moment the indication returns: no MiniportReturn follows. */
            uint64_t dropped = 0;
            for (unsigned i = 0; i < n; i++) {
                queue_reclaim(h, q, taken[i], &dropped);
                taken[i]->next = q->local;
                q->local = taken[i];
            }
            host_count(h, EMU_RX_RETURNED, n);
            if (dropped)
                host_count(h, EMU_RX_DROPPED_BY_FILTER, dropped);
        }
        budget -= n;
        if (atomic_load(&mp->paused))
            break;
    }
    if (!fast && budget > 0)
        atomic_fetch_add(&q->credit, budget);
    atomic_store(&q->last_run_ns, emu_now_ns() - t0);
    atomic_store(&q->busy, 0);
}

void host_mp_return(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct emu_host *h = ctx;
    struct host_miniport *mp = &h->mp;
    long per_queue[HOST_MAX_QUEUES] = {0};
    struct host_slot *first[HOST_MAX_QUEUES] = {0}, *last[HOST_MAX_QUEUES] = {0};
    uint64_t n = 0, dropped = 0;
    (void)flags;

    for (PNET_BUFFER_LIST nbl = nbls, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        struct host_slot *s =
            host_slot_of(mp->slots, mp->nslots, NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0]);
        if (!s || s->nbl != nbl) {
            emu_violation(EMU_RULE_NBL_WRONG_OWNER, NULL, NULL,
                          "adapter %u: miniport got back an NBL it never indicated (%p)", h->index,
                          (void *)nbl);
            continue;
        }
        struct host_mp_queue *q = &mp->q[s->queue];
        queue_reclaim(h, q, s, &dropped);
        s->next = NULL;
        if (last[s->queue])
            last[s->queue]->next = s;
        else
            first[s->queue] = s;
        last[s->queue] = s;
        per_queue[s->queue]++;
        n++;
    }
    host_count(h, EMU_RX_RETURNED, n);
    if (dropped)
        host_count(h, EMU_RX_DROPPED_BY_FILTER, dropped);
    for (unsigned i = 0; i < mp->nq; i++) {
        if (!first[i])
            continue;
        host_stack_push(&mp->q[i].returned, first[i], last[i]);
        /* After the push: once Pause sees zero, every slot is reachable. */
        atomic_fetch_sub(&mp->q[i].outstanding, per_queue[i]);
    }
}

static void complete_sends(struct emu_host *h, PNET_BUFFER_LIST nbls, ULONG flags)
{
    long n = 0;
    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    emu_miniport_send_complete(h->ad, nbls, flags);
    atomic_fetch_sub(&h->mp.tx_pending, n);
}

static void host_mp_complete_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    struct emu_host *h = ctx;
    (void)dpc, (void)a1, (void)a2;
    PNET_BUFFER_LIST nbls = atomic_exchange(&h->mp.deferred, NULL);
    if (nbls)
        complete_sends(h, nbls, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
}

void host_mp_send(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    struct emu_host *h = ctx;
    struct host_miniport *mp = &h->mp;
    struct host_protocol *pr = &h->pr;
    bool paused = atomic_load(&mp->paused);
    uint64_t n = 0, corrupted = 0;
    PNET_BUFFER_LIST last = NULL;
    (void)port;

    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        struct host_slot *s =
            host_slot_of(pr->slots, pr->nslots, NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0]);
        if (s && s->nbl == nbl && !paused) {
            if (!host_nb_intact(h, NET_BUFFER_LIST_FIRST_NB(nbl), s->pkt)) {
                corrupted++;
                emu_violation(EMU_RULE_STATE, NULL, NULL,
                              "corrupted packet: adapter %u tx packet %u reached the miniport "
                              "with different bytes",
                              h->index, s->pkt);
            }
            atomic_store_explicit(&s->seen, 1, memory_order_relaxed);
        }
        NET_BUFFER_LIST_STATUS(nbl) = paused ? NDIS_STATUS_PAUSED : NDIS_STATUS_SUCCESS;
        last = nbl;
        n++;
    }
    if (!n)
        return;
    if (!paused)
        host_count(h, EMU_TX_REACHED_MINIPORT, n);
    if (corrupted)
        host_count(h, EMU_TX_CORRUPTED, corrupted);
    atomic_fetch_add(&mp->tx_pending, (long)n);
    ULONG cflags =
        NDIS_TEST_SEND_AT_DISPATCH_LEVEL(flags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
    if (!paused && atomic_fetch_add(&mp->sends, 1) % HOST_DEFER_EVERY == 0) {
        host_nbl_push(&mp->deferred, nbls, last);
        KeInsertQueueDpc(&mp->complete_dpc, NULL, NULL);
        return;
    }
    complete_sends(h, nbls, cflags);
}

/*
 * MiniportCancelSend: the sends still queued for the completion DPC that
 * carry the cancel id complete now with NDIS_STATUS_SEND_ABORTED; the rest
 * go back on the queue. The queue is taken with one exchange, as the DPC
 * takes it, so each NBL is completed by exactly one of them; Pause waits on
 * tx_pending, which the aborted ones leave through complete_sends.
 */
void host_mp_cancel_send(void *ctx, PVOID cancel_id)
{
    struct emu_host *h = ctx;
    PNET_BUFFER_LIST keep = NULL, keep_last = NULL, gone = NULL, *gone_tail = &gone;
    uint64_t n = 0;

    host_count(h, EMU_SEND_CANCELS_AT_MINIPORT, 1);
    for (PNET_BUFFER_LIST nbl = atomic_exchange(&h->mp.deferred, NULL), next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        if (NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(nbl) == cancel_id) {
            NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SEND_ABORTED;
            *gone_tail = nbl;
            gone_tail = &NET_BUFFER_LIST_NEXT_NBL(nbl);
            n++;
        } else {
            NET_BUFFER_LIST_NEXT_NBL(nbl) = keep;
            keep = nbl;
            if (!keep_last)
                keep_last = nbl;
        }
    }
    if (keep) {
        host_nbl_push(&h->mp.deferred, keep, keep_last);
        KeInsertQueueDpc(&h->mp.complete_dpc, NULL, NULL);
    }
    if (gone) {
        host_count(h, EMU_TX_ABORTED, n);
        complete_sends(h, gone,
                       KeGetCurrentIrql() >= DISPATCH_LEVEL ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                                            : 0);
    }
}

void host_mp_pause(void *ctx)
{
    struct emu_host *h = ctx;
    struct host_miniport *mp = &h->mp;

    atomic_store(&mp->paused_at_ns, emu_now_ns());
    atomic_store(&mp->paused, 1);
    for (;;) {
        bool idle = atomic_load(&mp->tx_pending) == 0;
        for (unsigned i = 0; i < mp->nq && idle; i++)
            idle = !atomic_load(&mp->q[i].busy) && atomic_load(&mp->q[i].outstanding) == 0;
        if (idle)
            break;
        /* A deferred completion may sit behind a DPC already drained. */
        if (atomic_load(&mp->deferred))
            KeInsertQueueDpc(&mp->complete_dpc, NULL, NULL);
        host_sleep_ns(200000);
    }
}

void host_mp_restart(void *ctx)
{
    struct emu_host *h = ctx;
    struct host_miniport *mp = &h->mp;
    uint64_t pps = atomic_load(&mp->running_pps), at = atomic_load(&mp->paused_at_ns);

    if (!h->cfg.rx_pps && pps && at) {
        uint64_t due = (emu_now_ns() - at) * pps / 1000000000u;
        if (due)
            host_count(h, EMU_RX_NOT_ORIGINATED, due);
    }
    atomic_store(&mp->paused, 0);
}

/*
 * Unpaced (rate 0), the load offered is whatever the stack sustains, so what
 * falls due while the stack is paused is estimated: the pacer keeps the rate
 * this adapter originated over its running millisecond samples (an average
 * with a time constant of about 5 ms; a sample that straddles a pause is not
 * used), and Restart counts the pause's length at that rate as not
 * originated. Nothing is estimated before the adapter has run once.
 */
struct unpaced_sample {
    uint64_t t, originated;
    bool was_paused;
};

static void sample_running_rate(struct emu_host *h, struct unpaced_sample *e, uint64_t now)
{
    uint64_t originated;
    bool paused;

    if (now - e->t < 1000000)
        return;
    paused = atomic_load(&h->mp.paused);
    originated = host_total(h, EMU_RX_ORIGINATED);
    if (!paused && !e->was_paused) {
        int64_t sample = (int64_t)((originated - e->originated) * 1000000000u / (now - e->t));
        int64_t pps = (int64_t)atomic_load(&h->mp.running_pps);
        atomic_store(&h->mp.running_pps, (uint64_t)(pps == 0 ? sample : pps + (sample - pps) / 5));
    }
    e->t = now;
    e->originated = originated;
    e->was_paused = paused;
}

static void *host_mp_pacer(void *arg)
{
    struct emu_host *h = arg;
    struct host_miniport *mp = &h->mp;
    uint64_t last = emu_now_ns(), carry = 0;
    struct unpaced_sample est = {.t = last, .was_paused = true};

    while (!atomic_load(&mp->stop)) {
        uint64_t now = emu_now_ns();
        if (!h->cfg.rx_pps) {
            sample_running_rate(h, &est, now);
        } else {
            /* Credit is owed in proportion to elapsed time; while paused it is
               counted as not originated instead, so a long pause does not turn
               into a burst. */
            uint64_t due = (now - last) * h->cfg.rx_pps + carry;
            uint64_t pkts = due / 1000000000u;
            carry = due % 1000000000u;
            if (atomic_load(&mp->paused)) {
                if (pkts)
                    host_count(h, EMU_RX_NOT_ORIGINATED, pkts);
            } else {
                for (unsigned i = 0; i < mp->nq; i++) {
                    uint64_t share = pkts / mp->nq + (i < pkts % mp->nq);
                    uint64_t c = atomic_fetch_add(&mp->q[i].credit, share) + share;
                    uint64_t cap = h->cfg.rx_pps / 10 + h->cfg.batch;
                    if (c > cap)
                        atomic_store(&mp->q[i].credit, cap);
                }
            }
        }
        last = now;
        uint64_t longest = 0;
        if (!atomic_load(&mp->paused)) {
            for (unsigned i = 0; i < mp->nq; i++) {
                KeInsertQueueDpc(&mp->q[i].dpc, NULL, NULL);
                uint64_t run = atomic_load(&mp->q[i].last_run_ns);
                longest = run > longest ? run : longest;
            }
        }
        /* A CPU with a DPC queued goes to its DPC thread first, so a pacer
           that kept every queue's DPC queued would starve PASSIVE_LEVEL
           threads that raise IRQL (the protocol's sender) forever: leave each
           CPU idle at least as long as the last DPC run held it. A real
           miniport gets the same back-pressure from interrupt moderation. */
        uint64_t tick = h->cfg.rx_pps ? 1000000 : 50000;
        host_sleep_ns(longest > tick ? longest : tick);
    }
    return NULL;
}

bool host_mp_init(struct emu_host *h, char *err, size_t errlen)
{
    struct host_miniport *mp = &h->mp;
    unsigned per_queue = h->cfg.batch * 8 < 256 ? 256 : h->cfg.batch * 8;
    unsigned segs = host_max_segs(&h->cfg);

    atomic_store(&mp->paused, 1);
    mp->nq = h->cfg.rx_queues;
    mp->pool = host_nbl_pool(emu_adapter_miniport_handle(h->ad), HOST_POOL_TAG);
    mp->nslots = per_queue * mp->nq;
    mp->slots = calloc(mp->nslots, sizeof(*mp->slots));
    if (!mp->pool || !mp->slots) {
        snprintf(err, errlen, "adapter %u: miniport pool allocation failed", h->index);
        return false;
    }
    KeInitializeDpc(&mp->complete_dpc, host_mp_complete_dpc, h);
    for (unsigned i = 0; i < mp->nq; i++) {
        struct host_mp_queue *q = &mp->q[i];
        PROCESSOR_NUMBER pn;
        q->h = h;
        q->index = i;
        q->rng = h->cfg.seed ^ ((uint64_t)h->index << 32) ^ i;
        KeInitializeDpc(&q->dpc, host_mp_rx_dpc, q);
        if (NT_SUCCESS(KeGetProcessorNumberFromIndex((h->cfg.first_cpu + i) % h->cfg.cpus, &pn)))
            KeSetTargetProcessorDpcEx(&q->dpc, &pn);
        for (unsigned j = 0; j < per_queue; j++) {
            struct host_slot *s = &mp->slots[i * per_queue + j];
            if (!host_slot_init(h, s, emu_adapter_miniport_handle(h->ad), mp->pool, segs)) {
                snprintf(err, errlen, "adapter %u: miniport NBL allocation failed", h->index);
                return false;
            }
            s->queue = i;
            NET_BUFFER_LIST_MINIPORT_RESERVED(s->nbl)[0] = s;
            s->next = q->local;
            q->local = s;
        }
    }
    return true;
}

void host_mp_start(struct emu_host *h)
{
    atomic_store(&h->mp.stop, 0);
    if (pthread_create(&h->mp.pacer, NULL, host_mp_pacer, h) == 0)
        h->mp.pacer_running = true;
}

void host_mp_stop(struct emu_host *h)
{
    atomic_store(&h->mp.stop, 1);
    if (h->mp.pacer_running) {
        pthread_join(h->mp.pacer, NULL);
        h->mp.pacer_running = false;
    }
}

void host_mp_fini(struct emu_host *h)
{
    struct host_miniport *mp = &h->mp;
    /* No DPC of ours may still be queued when the slots go. */
    atomic_store(&mp->stop, 1);
    KeFlushQueuedDpcs();
    if (mp->slots)
        for (unsigned i = 0; i < mp->nslots; i++)
            host_slot_fini(&mp->slots[i]);
    free(mp->slots);
    mp->slots = NULL;
    if (mp->pool)
        NdisFreeNetBufferListPool(mp->pool);
    mp->pool = NULL;
}
