/*
 * What the miniport half (host_miniport.c) and the protocol half
 * (host_protocol.c) of one adapter's host share. Not for other files.
 *
 * Figures are per-CPU counters: at DISPATCH_LEVEL the emulated CPU is owned
 * by the running context until it lowers IRQL (DESIGN.md, the IRQL model),
 * so each CPU's slot has one writer at a time and needs no atomic
 * read-modify-write; relaxed loads/stores only keep the end-of-run (and
 * per-second) readers free of torn values. Code below DISPATCH_LEVEL owns no
 * CPU and uses the shared atomic slot instead, which is off the hot path.
 */
#ifndef NDISEMU_HOST_INTERNAL_H
#define NDISEMU_HOST_INTERNAL_H

#include <ndis.h>
#include <pthread.h>
#include <stdatomic.h>

#include "adapter.h"
#include "host.h"

#define HOST_MAX_CPUS 64
#define HOST_MAX_QUEUES 16

struct host_ctr_cpu {
    uint64_t v[EMU_HOST_COUNTER_COUNT];
} __attribute__((aligned(64)));

/* A preallocated NBL with its own copy of the packet and MDLs over the copy. */
struct host_slot {
    PNET_BUFFER_LIST nbl;
    NDIS_HANDLE source; /* NBL SourceHandle: the originator's own NDIS handle */
    struct host_slot *next;
    uint8_t *buf;
    PMDL *mdls;
    unsigned nmdls;
    uint32_t pkt, len;
    unsigned queue;
    /* Set by the other end when the packet reached it; read by the owner
       once the NBL is back, which NDIS's hand-back orders after the write. */
    atomic_uchar seen;
};

/* Lock-free LIFO of slots: any thread pushes, a consumer takes all at once
   (exchange), so there is no pop and hence no ABA. */
struct host_stack {
    _Atomic(struct host_slot *) head;
};

struct host_mp_queue {
    KDPC dpc;
    struct emu_host *h;
    unsigned index;
    struct host_slot *local; /* only this queue's DPC touches it */
    struct host_stack returned;
    atomic_uint_fast64_t credit;
    atomic_int busy;
    atomic_long outstanding;          /* indicated, not yet returned */
    atomic_uint_fast64_t last_run_ns; /* how long the DPC's last run held its CPU */
    uint64_t batches;                 /* DPC only */
    uint64_t rng;                     /* DPC only */
};

struct host_miniport {
    struct host_slot *slots;
    unsigned nslots;
    NDIS_HANDLE pool;
    struct host_mp_queue q[HOST_MAX_QUEUES];
    unsigned nq;
    atomic_int paused;
    atomic_int stop;
    pthread_t pacer;
    bool pacer_running;
    /* deferred send completions, completed from a DPC */
    KDPC complete_dpc;
    _Atomic(PNET_BUFFER_LIST) deferred;
    atomic_long tx_pending;
    atomic_uint sends;
    atomic_bool rx_resources_all; /* every indication with NDIS_RECEIVE_FLAGS_RESOURCES */
    /* Unpaced: the rate sustained while running, and when the pause began. */
    _Atomic uint64_t running_pps, paused_at_ns;
};

struct host_protocol {
    struct host_slot *slots;
    unsigned nslots;
    NDIS_HANDLE pool;
    struct host_stack free_shared;
    struct host_slot *local; /* the sender thread's */
    struct host_stack late;  /* receive NBLs kept to be returned late */
    _Atomic(PNET_BUFFER_LIST) late_nbls;
    atomic_uint receives;
    atomic_int paused;
    atomic_int stop;
    atomic_int thread_busy, dpc_busy;
    atomic_long outstanding; /* sent (or handed to the send DPC), not completed */
    KDPC send_dpc;
    _Atomic(PNET_BUFFER_LIST) dpc_chain;
    atomic_int stop_returner; /* the returner outlives the sender: a pause needs it */
    pthread_t sender, returner;
    bool sender_running, returner_running;
    uint64_t rng; /* sender thread only */
};

#define HOST_PEND_MAX 8
#define HOST_OID_BUF 256

/* An OID the miniport answered and pended, to complete at due_ns. */
struct host_pended {
    PNDIS_OID_REQUEST req;
    uint64_t due_ns;
    NDIS_STATUS status;
};

/* The control path of both halves (host_control.c). */
struct host_control {
    pthread_mutex_t mu; /* everything below but issue_mu's and the protocol's request */
    pthread_cond_t cv;
    bool inited;
    /* miniport */
    struct host_pended pend[HOST_PEND_MAX];
    unsigned npend;
    bool stop;
    pthread_t completer;
    bool completer_running;
    ULONG packet_filter;
    unsigned mcast_count;
    atomic_bool link_down;
    /* protocol: one request at a time, under issue_mu */
    pthread_mutex_t issue_mu;
    NDIS_OID_REQUEST req;
    uint8_t buf[HOST_OID_BUF];
    uint64_t seq;
    bool done; /* under mu */
    NDIS_STATUS done_status;
    char name[80]; /* "protocol@ndisemuN", for the watch */
    atomic_int cancel_sends; /* cancels the sender still has to make */
};

/* The cancel id the protocol sets on every send of adapter h. */
#define HOST_CANCEL_ID(h) ((PVOID)(uintptr_t)((h)->index + 1))

struct emu_host {
    struct emu_host_config cfg;
    struct emu_adapter *ad;
    unsigned index;
    struct host_miniport mp;
    struct host_protocol pr;
    struct host_control ctl;
    struct host_ctr_cpu cpu[HOST_MAX_CPUS];
    _Atomic uint64_t slow[EMU_HOST_COUNTER_COUNT];
};

/* One counter summed over its per-CPU slices (relaxed: a figure, not a sync point). */
uint64_t host_total(const struct emu_host *h, enum emu_host_counter c);

static inline void host_count(struct emu_host *h, enum emu_host_counter c, uint64_t n)
{
    if (KeGetCurrentIrql() >= DISPATCH_LEVEL) {
        uint64_t *p = &h->cpu[KeGetCurrentProcessorNumberEx(NULL) % HOST_MAX_CPUS].v[c];
        __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
    } else {
        atomic_fetch_add_explicit(&h->slow[c], n, memory_order_relaxed);
    }
}

static inline void host_stack_push(struct host_stack *s, struct host_slot *first,
                                   struct host_slot *last)
{
    struct host_slot *old = atomic_load_explicit(&s->head, memory_order_relaxed);
    do {
        last->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&s->head, &old, first, memory_order_release,
                                                    memory_order_relaxed));
}

static inline struct host_slot *host_stack_take(struct host_stack *s)
{
    return atomic_exchange_explicit(&s->head, NULL, memory_order_acquire);
}

static inline void host_nbl_push(_Atomic(PNET_BUFFER_LIST) *head, PNET_BUFFER_LIST first,
                                 PNET_BUFFER_LIST last)
{
    PNET_BUFFER_LIST old = atomic_load_explicit(head, memory_order_relaxed);
    do {
        NET_BUFFER_LIST_NEXT_NBL(last) = old;
    } while (!atomic_compare_exchange_weak_explicit(head, &old, first, memory_order_release,
                                                    memory_order_relaxed));
}

/* The slot behind an NBL if, and only if, it is one of `slots`: NBLs from a
   filter carry whatever that filter put in the reserved fields. */
static inline struct host_slot *host_slot_of(struct host_slot *slots, unsigned n, void *p)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)slots;
    if (a < b || a >= b + (uintptr_t)n * sizeof(*slots) || (a - b) % sizeof(*slots))
        return NULL;
    return p;
}

/* Slot setup shared by both halves: buffer, MDLs, NBL from `pool`. */
bool host_slot_init(struct emu_host *h, struct host_slot *s, NDIS_HANDLE handle, NDIS_HANDLE pool,
                    unsigned max_segs);
void host_slot_fini(struct host_slot *s);
/* Copies packet `pkt` into the slot and lays it over MDLs per the split. */
void host_slot_fill(struct emu_host *h, struct host_slot *s, uint32_t pkt, uint64_t *rng);
/* True when the NET_BUFFER's data equals the slot's source packet. */
bool host_nb_intact(struct emu_host *h, PNET_BUFFER nb, uint32_t pkt);
unsigned host_max_segs(const struct emu_host_config *cfg);
/* An NBL pool with one NET_BUFFER per NBL, as each host end allocates. */
NDIS_HANDLE host_nbl_pool(NDIS_HANDLE owner, ULONG tag);
void host_sleep_ns(uint64_t ns);

/* host_miniport.c */
bool host_mp_init(struct emu_host *h, char *err, size_t errlen);
void host_mp_fini(struct emu_host *h);
void host_mp_start(struct emu_host *h);
void host_mp_stop(struct emu_host *h);
void host_mp_send(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags);
void host_mp_return(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags);
void host_mp_pause(void *ctx);
void host_mp_restart(void *ctx);
void host_mp_cancel_send(void *ctx, PVOID cancel_id);

/* host_protocol.c */
bool host_pr_init(struct emu_host *h, char *err, size_t errlen);
void host_pr_fini(struct emu_host *h);
void host_pr_start(struct emu_host *h);
void host_pr_stop(struct emu_host *h);
void host_pr_stop_returner(struct emu_host *h);
void host_pr_receive(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                     ULONG flags);
void host_pr_send_complete(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags);
void host_pr_pause(void *ctx);
void host_pr_restart(void *ctx);

/* host_control.c */
bool host_ctl_init(struct emu_host *h, char *err, size_t errlen);
void host_ctl_fini(struct emu_host *h);
NDIS_STATUS host_mp_oid(void *ctx, PNDIS_OID_REQUEST req);
void host_mp_cancel_oid(void *ctx, PVOID request_id);
void host_mp_device_pnp(void *ctx, PNET_DEVICE_PNP_EVENT ev);
void host_pr_oid_complete(void *ctx, PNDIS_OID_REQUEST req, NDIS_STATUS status);
void host_pr_status(void *ctx, PNDIS_STATUS_INDICATION ind);
NDIS_STATUS host_pr_net_pnp(void *ctx, PNET_PNP_EVENT_NOTIFICATION ev);
void host_oid_burst(struct emu_host *h);
void host_indicate_link(struct emu_host *h, bool up);
void host_reset(struct emu_host *h);

#endif
