/*
 * One adapter's host: creation and teardown of the adapter with the
 * miniport and protocol halves wired in as its edges, the packet slots both
 * halves use, and the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_internal.h"
#include "verifier.h"

static const char *const counter_names[EMU_HOST_COUNTER_COUNT] = {
    "rx_originated",
    "rx_delivered",
    "rx_dropped_by_filter",
    "rx_returned",
    "rx_not_originated",
    "rx_corrupted",
    "tx_sent",
    "tx_reached_miniport",
    "tx_completed",
    "tx_dropped_by_filter",
    "tx_refused_paused",
    "tx_corrupted",
    "tx_aborted",
    "oid_issued",
    "oid_pended",
    "oid_completed",
    "oid_cancelled",
    "oid_unexpected_answers",
    "status_indicated",
    "status_delivered",
    "net_pnp_delivered",
    "device_pnp_at_miniport",
    "resets",
    "send_cancels",
    "send_cancels_at_miniport",
    "filter_oid_requests",
    "filter_oid_cancels",
    "filter_status_indications",
    "filter_net_pnp_events",
    "filter_device_pnp_events",
    "filter_send_cancels",
    "filter_restarts_with_attributes",
};

_Static_assert(EMU_FILTER_RESTARTS_WITH_ATTRIBUTES - EMU_FILTER_OID_REQUESTS + 1 == EMU_FC_COUNT &&
                   EMU_FILTER_SEND_CANCELS - EMU_FILTER_OID_REQUESTS ==
                       EMU_FC_SEND_CANCEL - EMU_FC_OID,
               "the filter_* figures mirror enum emu_filter_call");

const char *emu_host_counter_name(enum emu_host_counter c)
{
    return c < EMU_HOST_COUNTER_COUNT ? counter_names[c] : "?";
}

static const struct emu_edge_ops host_ops = {
    .miniport_send = host_mp_send,
    .miniport_return = host_mp_return,
    .miniport_pause = host_mp_pause,
    .miniport_restart = host_mp_restart,
    .miniport_oid = host_mp_oid,
    .miniport_cancel_oid = host_mp_cancel_oid,
    .miniport_cancel_send = host_mp_cancel_send,
    .miniport_device_pnp = host_mp_device_pnp,
    .protocol_receive = host_pr_receive,
    .protocol_send_complete = host_pr_send_complete,
    .protocol_pause = host_pr_pause,
    .protocol_restart = host_pr_restart,
    .protocol_oid_complete = host_pr_oid_complete,
    .protocol_status = host_pr_status,
    .protocol_net_pnp = host_pr_net_pnp,
};

void host_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

NDIS_HANDLE host_nbl_pool(NDIS_HANDLE owner, ULONG tag)
{
    NET_BUFFER_LIST_POOL_PARAMETERS pp;

    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = tag;
    return NdisAllocateNetBufferListPool(owner, &pp);
}

unsigned host_max_segs(const struct emu_host_config *cfg)
{
    uint32_t len = cfg->traffic->max_len;
    switch (cfg->split.kind) {
    case EMU_SPLIT_HALF:
        return 2;
    case EMU_SPLIT_RANDOM:
        return 6;
    case EMU_SPLIT_EVERY: {
        uint32_t n = (len + cfg->split.every - 1) / cfg->split.every;
        return n < 1 ? 1 : n > EMU_SPLIT_MAX_SEGS ? EMU_SPLIT_MAX_SEGS : n;
    }
    default:
        return 1;
    }
}

bool host_slot_init(struct emu_host *h, struct host_slot *s, NDIS_HANDLE handle, NDIS_HANDLE pool,
                    unsigned max_segs)
{
    uint32_t cap = h->cfg.traffic->max_len ? h->cfg.traffic->max_len : 1;
    s->buf = malloc(cap);
    s->mdls = calloc(max_segs, sizeof(*s->mdls));
    if (!s->buf || !s->mdls)
        return false;
    for (unsigned i = 0; i < max_segs; i++) {
        s->mdls[i] = NdisAllocateMdl(handle, s->buf, cap);
        if (!s->mdls[i])
            return false;
        s->nmdls = i + 1;
    }
    s->source = handle;
    s->nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, s->mdls[0], 0, cap);
    return s->nbl != NULL;
}

void host_slot_fini(struct host_slot *s)
{
    if (s->nbl)
        NdisFreeNetBufferList(s->nbl);
    for (unsigned i = 0; i < s->nmdls; i++)
        NdisFreeMdl(s->mdls[i]);
    free(s->mdls);
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

/* ndisemu's MDLs are plain byte ranges (ndis/nbl.h), so a slot's MDLs are
   re-pointed in place instead of reallocated: no allocation per packet. */
static void mdl_point(PMDL m, uint8_t *va, uint32_t len)
{
    m->MappedSystemVa = va;
    m->StartVa = (PVOID)((uintptr_t)va & ~(uintptr_t)(PAGE_SIZE - 1));
    m->ByteOffset = (ULONG)((uintptr_t)va & (PAGE_SIZE - 1));
    m->ByteCount = len;
    m->Next = NULL;
}

void host_slot_fill(struct emu_host *h, struct host_slot *s, uint32_t pkt, uint64_t *rng)
{
    const struct emu_packet *p = &h->cfg.traffic->pkts[pkt];
    uint32_t seg[EMU_SPLIT_MAX_SEGS];
    unsigned n = emu_split_lengths(&h->cfg.split, p->len, rng, seg, s->nmdls);
    uint32_t off = 0;

    memcpy(s->buf, p->data, p->len);
    for (unsigned i = 0; i < n; i++) {
        mdl_point(s->mdls[i], s->buf + off, seg[i]);
        if (i)
            s->mdls[i - 1]->Next = s->mdls[i];
        off += seg[i];
    }
    s->pkt = pkt;
    s->len = p->len;
    atomic_store_explicit(&s->seen, 0, memory_order_relaxed);
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(s->nbl);
    NET_BUFFER_NEXT_NB(nb) = NULL;
    NET_BUFFER_FIRST_MDL(nb) = s->mdls[0];
    NET_BUFFER_CURRENT_MDL(nb) = s->mdls[0];
    NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
    NET_BUFFER_DATA_OFFSET(nb) = 0;
    NET_BUFFER_DATA_LENGTH(nb) = p->len;
    NET_BUFFER_LIST_NEXT_NBL(s->nbl) = NULL;
    NET_BUFFER_LIST_STATUS(s->nbl) = NDIS_STATUS_SUCCESS;
    s->nbl->SourceHandle = s->source;
}

bool host_nb_intact(struct emu_host *h, PNET_BUFFER nb, uint32_t pkt)
{
    const struct emu_packet *p = &h->cfg.traffic->pkts[pkt];
    if (NET_BUFFER_DATA_LENGTH(nb) != p->len)
        return false;
    PMDL m = NET_BUFFER_CURRENT_MDL(nb);
    ULONG moff = NET_BUFFER_CURRENT_MDL_OFFSET(nb);
    uint32_t off = 0;
    while (off < p->len) {
        if (!m)
            return false;
        const uint8_t *va = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
        ULONG n = MmGetMdlByteCount(m);
        if (moff > n || !va)
            return false;
        n -= moff;
        if (n > p->len - off)
            n = p->len - off;
        if (memcmp(va + moff, p->data + off, n))
            return false;
        off += n;
        moff = 0;
        m = m->Next;
    }
    return true;
}

struct emu_host *emu_host_create(unsigned index, const struct emu_host_config *cfg, char *err,
                                 size_t errlen)
{
    struct emu_adapter_info info;
    struct emu_host *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    if (h->cfg.batch == 0)
        h->cfg.batch = 32;
    if (h->cfg.rx_queues == 0)
        h->cfg.rx_queues = 1;
    if (h->cfg.rx_queues > HOST_MAX_QUEUES)
        h->cfg.rx_queues = HOST_MAX_QUEUES;
    if (h->cfg.cpus == 0)
        h->cfg.cpus = 1;
    h->index = index;

    memset(&info, 0, sizeof(info));
    info.index = index;
    snprintf(info.name, sizeof(info.name), "\\DEVICE\\{4E444953-454D-5500-0000-%012X}", index);
    snprintf(info.alias, sizeof(info.alias), "ndisemu%u", index);
    uint8_t mac[6] = {0x02, 0x4e, 0x45, 0x4d, (uint8_t)(index >> 8), (uint8_t)index};
    memcpy(info.mac, mac, 6);
    info.ifindex = 100 + index;
    info.first_cpu = h->cfg.first_cpu;
    info.rx_queues = h->cfg.rx_queues;
    h->ad = emu_adapter_create(&info, &host_ops, h, h);
    if (!h->ad) {
        snprintf(err, errlen, "adapter %u: emu_adapter_create failed", index);
        free(h);
        return NULL;
    }
    if (!host_mp_init(h, err, errlen) || !host_pr_init(h, err, errlen) ||
        !host_ctl_init(h, err, errlen)) {
        emu_host_destroy(h);
        return NULL;
    }
    return h;
}

struct emu_adapter *emu_host_adapter(struct emu_host *h)
{
    return h->ad;
}

void emu_host_start_traffic(struct emu_host *h)
{
    host_mp_start(h);
    host_pr_start(h);
}

void emu_host_stop_traffic(struct emu_host *h)
{
    /* Receive pacing first: while it keeps DPCs queued, the sender may wait
       long for a CPU to raise IRQL on. */
    host_mp_stop(h);
    host_pr_stop(h);
}

uint64_t host_total(const struct emu_host *h, enum emu_host_counter c)
{
    uint64_t sum = atomic_load_explicit(&h->slow[c], memory_order_relaxed);
    for (unsigned i = 0; i < HOST_MAX_CPUS; i++)
        sum += __atomic_load_n(&h->cpu[i].v[c], __ATOMIC_RELAXED);
    return sum;
}

void emu_host_figures(const struct emu_host *h, struct emu_host_figures *out)
{
    for (unsigned c = 0; c < EMU_HOST_COUNTER_COUNT; c++)
        out->v[c] = host_total(h, (enum emu_host_counter)c);
    for (unsigned c = 0; c < EMU_FC_COUNT; c++)
        out->v[EMU_FILTER_OID_REQUESTS + c] = emu_adapter_filter_calls(h->ad, c);
}

void emu_host_oid_burst(struct emu_host *h)
{
    host_oid_burst(h);
}

void emu_host_link(struct emu_host *h, bool up)
{
    host_indicate_link(h, up);
}

void emu_host_reset(struct emu_host *h)
{
    host_reset(h);
}

void emu_host_power_cycle(struct emu_host *h)
{
    NDIS_POWER_PROFILE profile = NdisPowerProfileAcOnLine;
    emu_adapter_device_pnp(h->ad, NdisDevicePnPEventPowerProfileChanged, &profile,
                           sizeof(profile));
    emu_adapter_power_cycle(h->ad);
}

void emu_host_cancel_sends(struct emu_host *h)
{
    atomic_fetch_add(&h->ctl.cancel_sends, 1);
}

void emu_host_set_rx_resources(struct emu_host *h, bool all)
{
    atomic_store(&h->mp.rx_resources_all, all);
}

void emu_host_destroy(struct emu_host *h)
{
    if (!h)
        return;
    emu_host_stop_traffic(h);
    if (h->ad) {
        /* Pause first, with the late returner still running: a paused stack
           has every NBL back at its source. Then stop the returner, so that
           no host thread is inside the adapter (not even unwinding a return
           call) when emu_adapter_destroy frees it. */
        emu_adapter_pause(h->ad);
        host_pr_stop_returner(h);
        emu_adapter_destroy(h->ad);
    }
    host_ctl_fini(h); /* after the adapter: a detach waits for the OIDs it completes */
    host_pr_fini(h);
    host_mp_fini(h);
    free(h);
}
