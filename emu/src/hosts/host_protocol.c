/*
 * The protocol end of an emulated adapter: checks every received packet
 * against its source, returns receive NBLs (some late, from a passive
 * thread), and sends traffic down from a passive thread (at PASSIVE_LEVEL,
 * or raised to DISPATCH_LEVEL around the call) and from a DPC.
 *
 * Pause (NetEventPause) uses the same Dekker pair as the miniport: a sender
 * marks itself busy, then checks paused; Pause sets paused, then waits for
 * both senders to be idle and for `outstanding` to drain. A batch handed to
 * the send DPC is counted in `outstanding` before the hand-off, and the DPC
 * re-checks paused itself, so a batch queued just before a pause is either
 * sent before Pause stops waiting or given back unsent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"
#include "verifier.h"

#define HOST_PR_POOL_TAG 'rpHE'
#define HOST_LATE_EVERY 32 /* one receive indication in this many is returned late */

static KDEFERRED_ROUTINE host_pr_send_dpc;

void host_pr_receive(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                     ULONG flags)
{
    struct emu_host *h = ctx;
    struct host_miniport *mp = &h->mp;
    uint64_t n = 0, corrupted = 0;
    PNET_BUFFER_LIST last = NULL;
    (void)port, (void)count;

    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        struct host_slot *s =
            host_slot_of(mp->slots, mp->nslots, NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0]);
        if (s && s->nbl == nbl) {
            if (!host_nb_intact(h, NET_BUFFER_LIST_FIRST_NB(nbl), s->pkt)) {
                corrupted++;
                emu_violation(EMU_RULE_STATE, NULL, NULL,
                              "corrupted packet: adapter %u rx packet %u reached the protocol "
                              "with different bytes",
                              h->index, s->pkt);
            }
            atomic_store_explicit(&s->seen, 1, memory_order_relaxed);
        }
        last = nbl;
        n++;
    }
    host_count(h, EMU_RX_DELIVERED, n);
    if (corrupted)
        host_count(h, EMU_RX_CORRUPTED, corrupted);
    if (!n || NDIS_TEST_RECEIVE_CANNOT_PEND(flags))
        return; /* NDIS_RECEIVE_FLAGS_RESOURCES: they go back when we return */
    if (atomic_fetch_add(&h->pr.receives, 1) % HOST_LATE_EVERY == HOST_LATE_EVERY - 1) {
        host_nbl_push(&h->pr.late_nbls, nbls, last);
        return;
    }
    emu_protocol_return(
        h->ad, nbls,
        NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(flags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

/* Returns kept receive NBLs a little later, at PASSIVE_LEVEL: a protocol may
   hold them as long as it likes, and the miniport's Pause must wait. */
static void *host_pr_returner(void *arg)
{
    struct emu_host *h = arg;
    for (;;) {
        bool stopping = atomic_load(&h->pr.stop_returner);
        PNET_BUFFER_LIST nbls = atomic_exchange(&h->pr.late_nbls, NULL);
        if (nbls)
            emu_protocol_return(h->ad, nbls, 0);
        if (stopping)
            break;
        host_sleep_ns(2000000);
    }
    return NULL;
}

void host_pr_send_complete(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct emu_host *h = ctx;
    struct host_protocol *pr = &h->pr;
    struct host_slot *first = NULL, *tail = NULL;
    uint64_t n = 0, refused = 0, dropped = 0;
    (void)flags;

    for (PNET_BUFFER_LIST nbl = nbls, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        struct host_slot *s =
            host_slot_of(pr->slots, pr->nslots, NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0]);
        if (!s || s->nbl != nbl) {
            emu_violation(EMU_RULE_NBL_WRONG_OWNER, NULL, NULL,
                          "adapter %u: protocol got a send completion for an NBL it never sent "
                          "(%p)",
                          h->index, (void *)nbl);
            continue;
        }
        if (NET_BUFFER_LIST_STATUS(nbl) == NDIS_STATUS_PAUSED)
            refused++;
        else if (!atomic_load_explicit(&s->seen, memory_order_relaxed))
            dropped++;
        s->next = NULL;
        if (tail)
            tail->next = s;
        else
            first = s;
        tail = s;
        n++;
    }
    host_count(h, EMU_TX_COMPLETED, n);
    if (refused)
        host_count(h, EMU_TX_REFUSED_PAUSED, refused);
    if (dropped)
        host_count(h, EMU_TX_DROPPED_BY_FILTER, dropped);
    if (first)
        host_stack_push(&pr->free_shared, first, tail);
    atomic_fetch_sub(&pr->outstanding, (long)n);
}

/* Takes up to `want` free slots and fills them: the sender thread's list. */
static PNET_BUFFER_LIST build_batch(struct emu_host *h, unsigned want, unsigned *got)
{
    struct host_protocol *pr = &h->pr;
    PNET_BUFFER_LIST head = NULL, *tail = &head;
    unsigned n = 0;
    while (n < want) {
        if (!pr->local)
            pr->local = host_stack_take(&pr->free_shared);
        if (!pr->local)
            break;
        struct host_slot *s = pr->local;
        pr->local = s->next;
        host_slot_fill(h, s, (uint32_t)(emu_rng_next(&pr->rng) % h->cfg.traffic->count), &pr->rng);
        NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(s->nbl, HOST_CANCEL_ID(h));
        *tail = s->nbl;
        tail = &NET_BUFFER_LIST_NEXT_NBL(s->nbl);
        n++;
    }
    *got = n;
    return head;
}

static void give_back_unsent(struct emu_host *h, PNET_BUFFER_LIST nbls)
{
    struct host_slot *first = NULL, *tail = NULL;
    long n = 0;
    for (PNET_BUFFER_LIST nbl = nbls, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        struct host_slot *s = NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0];
        s->next = NULL;
        if (tail)
            tail->next = s;
        else
            first = s;
        tail = s;
        n++;
    }
    if (first)
        host_stack_push(&h->pr.free_shared, first, tail);
    atomic_fetch_sub(&h->pr.outstanding, n);
}

static void host_pr_send_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    struct emu_host *h = ctx;
    struct host_protocol *pr = &h->pr;
    (void)dpc, (void)a1, (void)a2;

    atomic_store(&pr->dpc_busy, 1);
    PNET_BUFFER_LIST nbls = atomic_exchange(&pr->dpc_chain, NULL);
    if (nbls) {
        if (atomic_load(&pr->paused)) {
            give_back_unsent(h, nbls);
        } else {
            unsigned n = 0;
            for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
                n++;
            host_count(h, EMU_TX_SENT, n);
            emu_protocol_send(h->ad, nbls, NDIS_DEFAULT_PORT_NUMBER,
                              NDIS_SEND_FLAGS_DISPATCH_LEVEL);
        }
    }
    atomic_store(&pr->dpc_busy, 0);
}

static void *host_pr_sender(void *arg)
{
    struct emu_host *h = arg;
    struct host_protocol *pr = &h->pr;
    uint64_t start = emu_now_ns(), sent = 0, round = 0;

    while (!atomic_load(&pr->stop)) {
        if (h->cfg.tx_pps) {
            uint64_t due = (emu_now_ns() - start) * h->cfg.tx_pps / 1000000000u;
            if (sent >= due) {
                host_sleep_ns(1000000);
                continue;
            }
        }
        atomic_store(&pr->thread_busy, 1);
        if (atomic_load(&pr->paused)) {
            atomic_store(&pr->thread_busy, 0);
            start = emu_now_ns(), sent = 0;
            host_sleep_ns(1000000);
            continue;
        }
        if (atomic_load(&h->ctl.cancel_sends) > 0) {
            /* Inside the busy window, like a send: the stack is not Paused. */
            atomic_fetch_sub(&h->ctl.cancel_sends, 1);
            host_count(h, EMU_SEND_CANCELS, 1);
            emu_protocol_cancel_send(h->ad, HOST_CANCEL_ID(h));
        }
        unsigned n;
        PNET_BUFFER_LIST nbls = build_batch(h, h->cfg.batch, &n);
        if (!nbls) {
            atomic_store(&pr->thread_busy, 0);
            host_sleep_ns(200000);
            continue;
        }
        atomic_fetch_add(&pr->outstanding, n);
        sent += n;
        switch (round++ % 3) {
        case 0: {
            /* A passive sender that raises IRQL around the send: the caller
               KeFlushQueuedDpcs alone cannot wait for (DESIGN.md). */
            KIRQL old;
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            host_count(h, EMU_TX_SENT, n);
            emu_protocol_send(h->ad, nbls, NDIS_DEFAULT_PORT_NUMBER,
                              NDIS_SEND_FLAGS_DISPATCH_LEVEL);
            KeLowerIrql(old);
            break;
        }
        case 1:
            host_count(h, EMU_TX_SENT, n);
            emu_protocol_send(h->ad, nbls, NDIS_DEFAULT_PORT_NUMBER, 0);
            break;
        default: {
            PNET_BUFFER_LIST expected = NULL;
            PROCESSOR_NUMBER pn;
            if (atomic_compare_exchange_strong(&pr->dpc_chain, &expected, nbls)) {
                if (NT_SUCCESS(KeGetProcessorNumberFromIndex((ULONG)(round % h->cfg.cpus), &pn)))
                    KeSetTargetProcessorDpcEx(&pr->send_dpc, &pn);
                KeInsertQueueDpc(&pr->send_dpc, NULL, NULL);
            } else {
                host_count(h, EMU_TX_SENT, n);
                emu_protocol_send(h->ad, nbls, NDIS_DEFAULT_PORT_NUMBER, 0);
            }
            break;
        }
        }
        atomic_store(&pr->thread_busy, 0);
        if (!h->cfg.tx_pps)
            host_sleep_ns(20000);
    }
    return NULL;
}

void host_pr_pause(void *ctx)
{
    struct emu_host *h = ctx;
    struct host_protocol *pr = &h->pr;

    atomic_store(&pr->paused, 1);
    for (;;) {
        if (!atomic_load(&pr->thread_busy) && !atomic_load(&pr->dpc_busy) &&
            atomic_load(&pr->outstanding) == 0)
            break;
        /* The send DPC may have been re-targeted and not run yet. */
        if (atomic_load(&pr->dpc_chain))
            KeInsertQueueDpc(&pr->send_dpc, NULL, NULL);
        host_sleep_ns(200000);
    }
}

void host_pr_restart(void *ctx)
{
    struct emu_host *h = ctx;
    atomic_store(&h->pr.paused, 0);
}

bool host_pr_init(struct emu_host *h, char *err, size_t errlen)
{
    struct host_protocol *pr = &h->pr;
    unsigned segs = host_max_segs(&h->cfg);

    atomic_store(&pr->paused, 1);
    pr->rng = h->cfg.seed ^ 0x5eed5eedull ^ h->index;
    pr->pool = host_nbl_pool(emu_adapter_protocol_handle(h->ad), HOST_PR_POOL_TAG);
    pr->nslots = h->cfg.batch * 8 < 256 ? 256 : h->cfg.batch * 8;
    pr->slots = calloc(pr->nslots, sizeof(*pr->slots));
    if (!pr->pool || !pr->slots) {
        snprintf(err, errlen, "adapter %u: protocol pool allocation failed", h->index);
        return false;
    }
    KeInitializeDpc(&pr->send_dpc, host_pr_send_dpc, h);
    for (unsigned i = 0; i < pr->nslots; i++) {
        struct host_slot *s = &pr->slots[i];
        if (!host_slot_init(h, s, emu_adapter_protocol_handle(h->ad), pr->pool, segs)) {
            snprintf(err, errlen, "adapter %u: protocol NBL allocation failed", h->index);
            return false;
        }
        NET_BUFFER_LIST_PROTOCOL_RESERVED(s->nbl)[0] = s;
        s->next = pr->local;
        pr->local = s;
    }
    return true;
}

void host_pr_start(struct emu_host *h)
{
    struct host_protocol *pr = &h->pr;
    atomic_store(&pr->stop, 0);
    if (!pr->returner_running && pthread_create(&pr->returner, NULL, host_pr_returner, h) == 0)
        pr->returner_running = true;
    if (h->cfg.tx && !pr->sender_running &&
        pthread_create(&pr->sender, NULL, host_pr_sender, h) == 0)
        pr->sender_running = true;
}

void host_pr_stop(struct emu_host *h)
{
    struct host_protocol *pr = &h->pr;
    atomic_store(&pr->stop, 1);
    if (pr->sender_running)
        pthread_join(pr->sender, NULL);
    pr->sender_running = false;
}

void host_pr_stop_returner(struct emu_host *h)
{
    struct host_protocol *pr = &h->pr;
    atomic_store(&pr->stop_returner, 1);
    if (pr->returner_running)
        pthread_join(pr->returner, NULL);
    pr->returner_running = false;
}

void host_pr_fini(struct emu_host *h)
{
    struct host_protocol *pr = &h->pr;
    host_pr_stop_returner(h);
    KeFlushQueuedDpcs();
    /* No kept receive NBL is left here: the returner's last pass, before
       the adapter went away, gave every one back. */
    if (pr->slots)
        for (unsigned i = 0; i < pr->nslots; i++)
            host_slot_fini(&pr->slots[i]);
    free(pr->slots);
    pr->slots = NULL;
    if (pr->pool)
        NdisFreeNetBufferListPool(pr->pool);
    pr->pool = NULL;
}
