/*
 * Helpers for the NDIS-layer tests: a check macro, a fake miniport/protocol
 * host that records what NDIS asks of it, and an in-test filter driver
 * ("tf") whose behaviour each test switches with a few knobs.
 */
#ifndef NDISEMU_TEST_NDIS_UTIL_H
#define NDISEMU_TEST_NDIS_UTIL_H

#include <ndis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "kernel.h"
#include "ndis_internal.h"
#include "verifier.h"

static int t_failures;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            t_failures++;                                                                          \
        }                                                                                          \
    } while (0)
#define CHECK_RULE(rule, n) CHECK(emu_violation_count_rule(rule) == (size_t)(n))

/* ---- event log: the order NDIS called things in ---- */
static char t_log[4096];
static pthread_mutex_t t_log_mu = PTHREAD_MUTEX_INITIALIZER;
static inline void t_logf(const char *s)
{
    pthread_mutex_lock(&t_log_mu);
    size_t used = strlen(t_log), n = strlen(s);
    if (used + n + 2 <= sizeof(t_log)) {
        memcpy(t_log + used, s, n);
        t_log[used + n] = ' ';
        t_log[used + n + 1] = 0;
    }
    pthread_mutex_unlock(&t_log_mu);
}
static inline void t_log_reset(void)
{
    t_log[0] = 0;
}

/* ---- fake host ---- */
struct t_host {
    struct emu_adapter *ad;
    NDIS_HANDLE pool;
    _Atomic long rx_at_protocol, returned_to_miniport, sent_to_miniport, completed_to_protocol;
    bool keep_returns; /* keep returned NBLs until t_host_free (double-return tests) */
    /* Gates for traffic threads: a paused miniport/protocol originates
       nothing and waits for what is in flight, as DESIGN.md requires. */
    _Atomic bool mp_on, pr_on;
    _Atomic long mp_inflight, pr_inflight;
    PNET_BUFFER_LIST kept;
};

static inline void h_mp_send(void *mp, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    struct t_host *h = mp;
    (void)port;
    for (PNET_BUFFER_LIST n = nbls; n; n = n->Next) {
        h->sent_to_miniport++;
        n->Status = NDIS_STATUS_SUCCESS;
    }
    emu_miniport_send_complete(h->ad, nbls, flags & NDIS_SEND_FLAGS_DISPATCH_LEVEL);
}
static inline void h_mp_return(void *mp, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct t_host *h = mp;
    (void)flags;
    while (nbls) {
        PNET_BUFFER_LIST next = nbls->Next;
        h->returned_to_miniport++;
        if (h->keep_returns) {
            nbls->Next = h->kept;
            h->kept = nbls;
        } else {
            NdisFreeNetBufferList(nbls);
        }
        nbls = next;
    }
}
static inline void h_mp_pause(void *mp)
{
    struct t_host *h = mp;
    atomic_store(&h->mp_on, false);
    while (atomic_load(&h->mp_inflight) != 0)
        YieldProcessor();
    t_logf("mp_pause");
}
static inline void h_mp_restart(void *mp)
{
    struct t_host *h = mp;
    t_logf("mp_restart");
    atomic_store(&h->mp_on, true);
}
static inline NDIS_STATUS h_mp_oid(void *mp, PNDIS_OID_REQUEST req)
{
    (void)mp;
    return req->DATA.QUERY_INFORMATION.Oid == OID_GEN_LINK_SPEED ? NDIS_STATUS_SUCCESS
                                                                 : NDIS_STATUS_NOT_SUPPORTED;
}
static inline void h_pr_receive(void *pr, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                                ULONG flags)
{
    struct t_host *h = pr;
    (void)port;
    h->rx_at_protocol += count;
    if (!(flags & NDIS_RECEIVE_FLAGS_RESOURCES))
        emu_protocol_return(h->ad, nbls, 0);
}
static inline void h_pr_send_complete(void *pr, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct t_host *h = pr;
    (void)flags;
    while (nbls) {
        PNET_BUFFER_LIST next = nbls->Next;
        h->completed_to_protocol++;
        NdisFreeNetBufferList(nbls);
        nbls = next;
    }
}
static inline void h_pr_pause(void *pr)
{
    struct t_host *h = pr;
    atomic_store(&h->pr_on, false);
    while (atomic_load(&h->pr_inflight) != 0)
        YieldProcessor();
    t_logf("pr_pause");
}
static inline void h_pr_restart(void *pr)
{
    struct t_host *h = pr;
    t_logf("pr_restart");
    atomic_store(&h->pr_on, true);
}
static const struct emu_edge_ops t_ops __attribute__((unused)) = {
    .miniport_send = h_mp_send,
    .miniport_return = h_mp_return,
    .miniport_pause = h_mp_pause,
    .miniport_restart = h_mp_restart,
    .miniport_oid = h_mp_oid,
    .protocol_receive = h_pr_receive,
    .protocol_send_complete = h_pr_send_complete,
    .protocol_pause = h_pr_pause,
    .protocol_restart = h_pr_restart,
};

static inline struct t_host *t_host_new(const char *alias)
{
    struct t_host *h = calloc(1, sizeof(*h));
    struct emu_adapter_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.name, sizeof(info.name), "\\DEVICE\\{%s}", alias);
    snprintf(info.alias, sizeof(info.alias), "%s", alias);
    info.mac[0] = 0x02;
    info.ifindex = 7;
    info.rx_queues = 1;
    h->ad = emu_adapter_create(&info, &t_ops, h, h);
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.fAllocateNetBuffer = TRUE;
    pp.DataSize = 128;
    pp.PoolTag = 'tsET';
    h->pool = NdisAllocateNetBufferListPool(emu_adapter_miniport_handle(h->ad), &pp);
    return h;
}

static inline PNET_BUFFER_LIST t_chain(struct t_host *h, NDIS_HANDLE source, unsigned n)
{
    PNET_BUFFER_LIST head = NULL, *tail = &head;
    for (unsigned i = 0; i < n; i++) {
        PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(h->pool, 0, 0, NULL, 0, 60);
        nbl->SourceHandle = source;
        *tail = nbl;
        tail = &nbl->Next;
    }
    return head;
}

static inline void t_host_free(struct t_host *h)
{
    emu_adapter_destroy(h->ad);
    while (h->kept) {
        PNET_BUFFER_LIST n = h->kept->Next;
        NdisFreeNetBufferList(h->kept);
        h->kept = n;
    }
    NdisFreeNetBufferListPool(h->pool);
    free(h);
}

#endif
