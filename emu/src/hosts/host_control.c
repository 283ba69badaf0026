/*
 * The control path of one adapter's host: the miniport answers OIDs (and
 * pends some, completing them later from its own thread, at PASSIVE_LEVEL
 * or DISPATCH_LEVEL in turn), indicates link state and resets, and sees
 * device PnP events and send cancels; the protocol issues OIDs (some
 * cancelled) and checks each answer, and sees status indications and Net
 * PnP events. The session's churn and the conformance run drive it through
 * host.h.
 *
 * Locking: ctl.mu guards the miniport's OID state and pended list and the
 * protocol's completion flag; it is never held across a call into NDIS (a
 * completion runs the protocol's handler, which takes it). ctl.issue_mu
 * makes the protocol issue one OID at a time per adapter, as NDIS
 * serializes OIDs to a miniport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"
#include "verifier.h"

#define HOST_OID_VENDOR 0xFF4E4501u   /* ndisemu's vendor OID: a 16-byte signature */
#define HOST_OID_UNKNOWN 0x00FFFF01u  /* an OID nobody supports */
#define HOST_VENDOR_HOLD_NS 20000000u /* the vendor OID stays pended this long, for cancels */
#define HOST_MCAST_MAX 32
#define HOST_MTU 1500

static const uint8_t vendor_sig[16] = "ndisemu-vendor!";

/* ---- miniport ---------------------------------------------------------- */

static NDIS_STATUS put_bytes(PNDIS_OID_REQUEST r, const void *data, ULONG len)
{
    if (r->DATA.QUERY_INFORMATION.InformationBufferLength < len) {
        r->DATA.QUERY_INFORMATION.BytesNeeded = len;
        r->DATA.QUERY_INFORMATION.BytesWritten = 0;
        return NDIS_STATUS_BUFFER_TOO_SHORT;
    }
    memcpy(r->DATA.QUERY_INFORMATION.InformationBuffer, data, len);
    r->DATA.QUERY_INFORMATION.BytesWritten = len;
    r->DATA.QUERY_INFORMATION.BytesNeeded = 0;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS put_ulong(PNDIS_OID_REQUEST r, ULONG v)
{
    return put_bytes(r, &v, sizeof(v));
}

static void fill_statistics(struct emu_host *h, NDIS_STATISTICS_INFO *s)
{
    memset(s, 0, sizeof(*s));
    s->Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    s->Header.Revision = NDIS_STATISTICS_INFO_REVISION_1;
    s->Header.Size = NDIS_SIZEOF_STATISTICS_INFO_REVISION_1;
    s->ifHCInUcastPkts = host_total(h, EMU_RX_ORIGINATED);
    s->ifHCOutUcastPkts = host_total(h, EMU_TX_REACHED_MINIPORT);
}

static NDIS_STATUS query(struct emu_host *h, PNDIS_OID_REQUEST r, bool *pend)
{
    struct host_control *c = &h->ctl;
    const struct emu_adapter_info *info = emu_adapter_info(h->ad);
    switch (r->DATA.QUERY_INFORMATION.Oid) {
    case OID_GEN_CURRENT_PACKET_FILTER: {
        pthread_mutex_lock(&c->mu);
        ULONG f = c->packet_filter;
        pthread_mutex_unlock(&c->mu);
        return put_ulong(r, f);
    }
    case OID_802_3_CURRENT_ADDRESS:
    case OID_802_3_PERMANENT_ADDRESS:
        return put_bytes(r, info->mac, 6);
    case OID_802_3_MAXIMUM_LIST_SIZE:
        return put_ulong(r, HOST_MCAST_MAX);
    case OID_GEN_MAXIMUM_FRAME_SIZE:
        return put_ulong(r, HOST_MTU);
    case OID_GEN_MAXIMUM_TOTAL_SIZE:
        return put_ulong(r, HOST_MTU + 14);
    case OID_GEN_LINK_SPEED:
        return put_ulong(r, 100000000u); /* 10 Gbit/s in units of 100 bit/s */
    case OID_GEN_MEDIA_CONNECT_STATUS:
        return put_ulong(r, atomic_load(&c->link_down) ? 1u : 0u); /* NdisMediaState* */
    case OID_GEN_STATISTICS: {
        NDIS_STATISTICS_INFO s;
        fill_statistics(h, &s);
        NDIS_STATUS st = put_bytes(r, &s, NDIS_SIZEOF_STATISTICS_INFO_REVISION_1);
        *pend = st == NDIS_STATUS_SUCCESS;
        return st;
    }
    case HOST_OID_VENDOR: {
        NDIS_STATUS st = put_bytes(r, vendor_sig, sizeof(vendor_sig));
        *pend = st == NDIS_STATUS_SUCCESS;
        return st;
    }
    default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }
}

static NDIS_STATUS set_length(PNDIS_OID_REQUEST r, ULONG need)
{
    if (r->DATA.SET_INFORMATION.InformationBufferLength < need) {
        r->DATA.SET_INFORMATION.BytesNeeded = need;
        r->DATA.SET_INFORMATION.BytesRead = 0;
        return NDIS_STATUS_INVALID_LENGTH;
    }
    r->DATA.SET_INFORMATION.BytesRead = need;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS set(struct emu_host *h, PNDIS_OID_REQUEST r, bool *pend)
{
    struct host_control *c = &h->ctl;
    ULONG len = r->DATA.SET_INFORMATION.InformationBufferLength;
    const void *buf = r->DATA.SET_INFORMATION.InformationBuffer;
    NDIS_STATUS st;
    switch (r->DATA.SET_INFORMATION.Oid) {
    case OID_GEN_CURRENT_PACKET_FILTER: {
        if ((st = set_length(r, sizeof(ULONG))) != NDIS_STATUS_SUCCESS)
            return st;
        ULONG f;
        memcpy(&f, buf, sizeof(f));
        pthread_mutex_lock(&c->mu);
        c->packet_filter = f;
        pthread_mutex_unlock(&c->mu);
        return NDIS_STATUS_SUCCESS;
    }
    case OID_802_3_MULTICAST_LIST:
        if (len % 6 != 0 || len / 6 > HOST_MCAST_MAX) {
            r->DATA.SET_INFORMATION.BytesRead = 0;
            r->DATA.SET_INFORMATION.BytesNeeded = (len / 6 + 1) * 6;
            return NDIS_STATUS_INVALID_LENGTH;
        }
        pthread_mutex_lock(&c->mu);
        c->mcast_count = len / 6;
        pthread_mutex_unlock(&c->mu);
        r->DATA.SET_INFORMATION.BytesRead = len;
        return NDIS_STATUS_SUCCESS;
    case OID_TCP_OFFLOAD_PARAMETERS: {
        if ((st = set_length(r, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1)) != NDIS_STATUS_SUCCESS)
            return st;
        const NDIS_OFFLOAD_PARAMETERS *p = buf;
        if (p->Header.Type != NDIS_OBJECT_TYPE_DEFAULT ||
            p->Header.Revision < NDIS_OFFLOAD_PARAMETERS_REVISION_1)
            return NDIS_STATUS_INVALID_PARAMETER;
        *pend = true;
        return NDIS_STATUS_SUCCESS;
    }
    case OID_OFFLOAD_ENCAPSULATION: {
        if ((st = set_length(r, NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1)) !=
            NDIS_STATUS_SUCCESS)
            return st;
        const NDIS_OFFLOAD_ENCAPSULATION *e = buf;
        if (e->Header.Type != NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION)
            return NDIS_STATUS_INVALID_PARAMETER;
        return NDIS_STATUS_SUCCESS;
    }
    default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }
}

NDIS_STATUS host_mp_oid(void *ctx, PNDIS_OID_REQUEST req)
{
    struct emu_host *h = ctx;
    struct host_control *c = &h->ctl;
    bool pend = false;
    NDIS_STATUS st;
    switch (req->RequestType) {
    case NdisRequestQueryInformation:
    case NdisRequestQueryStatistics:
        st = query(h, req, &pend);
        break;
    case NdisRequestSetInformation:
        st = set(h, req, &pend);
        break;
    default:
        st = NDIS_STATUS_NOT_SUPPORTED;
        break;
    }
    if (!pend)
        return st;
    /* Answered, but completed later by the completer thread. */
    pthread_mutex_lock(&c->mu);
    if (c->npend == HOST_PEND_MAX) {
        pthread_mutex_unlock(&c->mu);
        return st;
    }
    uint64_t hold = req->DATA.QUERY_INFORMATION.Oid == HOST_OID_VENDOR ? HOST_VENDOR_HOLD_NS : 0;
    c->pend[c->npend++] = (struct host_pended){req, emu_now_ns() + hold, st};
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NDIS_STATUS_PENDING;
}

void host_mp_cancel_oid(void *ctx, PVOID request_id)
{
    struct host_control *c = &((struct emu_host *)ctx)->ctl;
    pthread_mutex_lock(&c->mu);
    for (unsigned i = 0; i < c->npend; i++)
        if (c->pend[i].req->RequestId == request_id) {
            c->pend[i].status = NDIS_STATUS_REQUEST_ABORTED;
            c->pend[i].due_ns = 0;
            pthread_cond_signal(&c->cv);
        }
    pthread_mutex_unlock(&c->mu);
}

void host_mp_device_pnp(void *ctx, PNET_DEVICE_PNP_EVENT ev)
{
    (void)ev;
    host_count(ctx, EMU_DEVICE_PNP_AT_MINIPORT, 1);
}

static void *host_mp_completer(void *arg)
{
    struct emu_host *h = arg;
    struct host_control *c = &h->ctl;
    unsigned turn = 0;
    pthread_mutex_lock(&c->mu);
    while (!c->stop || c->npend) {
        struct host_pended due[HOST_PEND_MAX];
        unsigned n = 0;
        uint64_t now = emu_now_ns();
        for (unsigned i = 0; i < c->npend;) {
            if (c->pend[i].due_ns <= now) {
                due[n++] = c->pend[i];
                c->pend[i] = c->pend[--c->npend];
            } else {
                i++;
            }
        }
        if (n == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&c->mu);
        for (unsigned i = 0; i < n; i++) {
            /* Every other completion from DISPATCH_LEVEL, as from a DPC. */
            KIRQL old = PASSIVE_LEVEL;
            bool raise = turn++ % 2;
            if (raise)
                KeRaiseIrql(DISPATCH_LEVEL, &old);
            emu_miniport_oid_complete(h->ad, due[i].req, due[i].status);
            if (raise)
                KeLowerIrql(old);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

void host_indicate_link(struct emu_host *h, bool up)
{
    NDIS_LINK_STATE ls;
    memset(&ls, 0, sizeof(ls));
    ls.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    ls.Header.Revision = NDIS_LINK_STATE_REVISION_1;
    ls.Header.Size = NDIS_SIZEOF_LINK_STATE_REVISION_1;
    ls.MediaConnectState = up ? MediaConnectStateConnected : MediaConnectStateDisconnected;
    ls.MediaDuplexState = up ? MediaDuplexStateFull : MediaDuplexStateUnknown;
    ls.XmitLinkSpeed = ls.RcvLinkSpeed = up ? 10000000000ull : NDIS_LINK_SPEED_UNKNOWN;
    ls.PauseFunctions = NdisPauseFunctionsUnsupported;
    atomic_store(&h->ctl.link_down, !up);
    host_count(h, EMU_STATUS_INDICATED, 1);
    emu_miniport_indicate_status(h->ad, NDIS_STATUS_LINK_STATE, &ls, sizeof(ls));
}

void host_reset(struct emu_host *h)
{
    /* MiniportResetEx has nothing to reset here: NDIS's RESET_START and
       RESET_END indications around it are what a filter sees. */
    host_count(h, EMU_STATUS_INDICATED, 2);
    emu_miniport_indicate_status(h->ad, NDIS_STATUS_RESET_START, NULL, 0);
    emu_miniport_indicate_status(h->ad, NDIS_STATUS_RESET_END, NULL, 0);
    host_count(h, EMU_RESETS, 1);
}

/* ---- protocol ---------------------------------------------------------- */

void host_pr_oid_complete(void *ctx, PNDIS_OID_REQUEST req, NDIS_STATUS status)
{
    struct host_control *c = &((struct emu_host *)ctx)->ctl;
    (void)req;
    pthread_mutex_lock(&c->mu);
    c->done_status = status;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void host_pr_status(void *ctx, PNDIS_STATUS_INDICATION ind)
{
    (void)ind;
    host_count(ctx, EMU_STATUS_DELIVERED, 1);
}

NDIS_STATUS host_pr_net_pnp(void *ctx, PNET_PNP_EVENT_NOTIFICATION ev)
{
    (void)ev;
    host_count(ctx, EMU_NET_PNP_DELIVERED, 1);
    return NDIS_STATUS_SUCCESS;
}

/* One OID the protocol issues, and what a pass-through stack answers. */
struct oid_case {
    NDIS_REQUEST_TYPE type;
    NDIS_OID oid;
    ULONG len;        /* information buffer length */
    bool cancel;      /* cancelled right after it pends */
    NDIS_STATUS want; /* SUCCESS, or the failure the miniport answers */
    ULONG count;      /* BytesWritten/BytesRead on success, BytesNeeded on a length error */
};

static const struct oid_case g_cases[] = {
    {NdisRequestQueryInformation, OID_GEN_CURRENT_PACKET_FILTER, 4, false, NDIS_STATUS_SUCCESS, 4},
    {NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, 4, false, NDIS_STATUS_SUCCESS, 4},
    {NdisRequestSetInformation, OID_802_3_MULTICAST_LIST, 12, false, NDIS_STATUS_SUCCESS, 12},
    {NdisRequestSetInformation, OID_802_3_MULTICAST_LIST, 7, false, NDIS_STATUS_INVALID_LENGTH, 12},
    {NdisRequestQueryInformation, OID_GEN_STATISTICS, NDIS_SIZEOF_STATISTICS_INFO_REVISION_1, false,
     NDIS_STATUS_SUCCESS, NDIS_SIZEOF_STATISTICS_INFO_REVISION_1},
    {NdisRequestQueryInformation, OID_GEN_STATISTICS, 8, false, NDIS_STATUS_BUFFER_TOO_SHORT,
     NDIS_SIZEOF_STATISTICS_INFO_REVISION_1},
    {NdisRequestQueryInformation, OID_802_3_CURRENT_ADDRESS, 6, false, NDIS_STATUS_SUCCESS, 6},
    {NdisRequestSetInformation, OID_TCP_OFFLOAD_PARAMETERS,
     NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1, false, NDIS_STATUS_SUCCESS,
     NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1},
    {NdisRequestSetInformation, OID_OFFLOAD_ENCAPSULATION,
     NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1, false, NDIS_STATUS_SUCCESS,
     NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1},
    {NdisRequestQueryInformation, HOST_OID_VENDOR, 16, false, NDIS_STATUS_SUCCESS, 16},
    /* A cancel is a request: a filter may let the OID complete normally (16
       bytes written), so count is the success answer's, as for the row above. */
    {NdisRequestQueryInformation, HOST_OID_VENDOR, 16, true, NDIS_STATUS_REQUEST_ABORTED, 16},
    {NdisRequestQueryInformation, HOST_OID_UNKNOWN, 4, false, NDIS_STATUS_NOT_SUPPORTED, 0},
};

static void fill_set_payload(const struct host_control *c, const struct oid_case *k, uint8_t *buf)
{
    (void)c;
    memset(buf, 0, HOST_OID_BUF);
    if (k->oid == OID_GEN_CURRENT_PACKET_FILTER) {
        ULONG f =
            NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_BROADCAST;
        memcpy(buf, &f, sizeof(f));
    } else if (k->oid == OID_802_3_MULTICAST_LIST) {
        static const uint8_t groups[12] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01,
                                           0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
        memcpy(buf, groups, sizeof(groups));
    } else if (k->oid == OID_TCP_OFFLOAD_PARAMETERS) {
        NDIS_OFFLOAD_PARAMETERS p;
        memset(&p, 0, sizeof(p));
        p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        p.Header.Revision = NDIS_OFFLOAD_PARAMETERS_REVISION_1;
        p.Header.Size = NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1;
        p.TCPIPv4Checksum = NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED;
        memcpy(buf, &p, sizeof(p));
    } else if (k->oid == OID_OFFLOAD_ENCAPSULATION) {
        NDIS_OFFLOAD_ENCAPSULATION e;
        memset(&e, 0, sizeof(e));
        e.Header.Type = NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION;
        e.Header.Revision = NDIS_OFFLOAD_ENCAPSULATION_REVISION_1;
        e.Header.Size = NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1;
        e.IPv4.Enabled = NDIS_OFFLOAD_SET_ON;
        e.IPv4.EncapsulationType = NDIS_ENCAPSULATION_IEEE_802_3;
        e.IPv4.HeaderSize = 14;
        memcpy(buf, &e, sizeof(e));
    }
}

/* What a pass-through stack must answer; a filter that owns the OID may
   answer otherwise, so this is a figure, not a finding. */
static bool answer_expected(struct emu_host *h, const struct oid_case *k, PNDIS_OID_REQUEST r,
                            NDIS_STATUS st)
{
    bool query = k->type == NdisRequestQueryInformation;
    UINT done = query ? r->DATA.QUERY_INFORMATION.BytesWritten : r->DATA.SET_INFORMATION.BytesRead;
    UINT need = query ? r->DATA.QUERY_INFORMATION.BytesNeeded : r->DATA.SET_INFORMATION.BytesNeeded;
    if (k->cancel) /* the cancel may come after the completion */
        return st == NDIS_STATUS_REQUEST_ABORTED || (st == NDIS_STATUS_SUCCESS && done == k->count);
    if (k->want == NDIS_STATUS_NOT_SUPPORTED)
        return st == NDIS_STATUS_NOT_SUPPORTED || st == NDIS_STATUS_INVALID_OID;
    if (st != k->want)
        return false;
    if (st != NDIS_STATUS_SUCCESS)
        return need == k->count;
    if (done != k->count)
        return false;
    if (k->oid == OID_802_3_CURRENT_ADDRESS)
        return memcmp(h->ctl.buf, emu_adapter_info(h->ad)->mac, 6) == 0;
    if (k->oid == HOST_OID_VENDOR)
        return memcmp(h->ctl.buf, vendor_sig, sizeof(vendor_sig)) == 0;
    return true;
}

static void issue_one(struct emu_host *h, const struct oid_case *k)
{
    struct host_control *c = &h->ctl;
    PNDIS_OID_REQUEST r = &c->req;
    memset(r, 0, sizeof(*r));
    r->Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
    r->Header.Revision = NDIS_OID_REQUEST_REVISION_1;
    r->Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
    r->RequestType = k->type;
    r->RequestId = (PVOID)(uintptr_t)(++c->seq);
    r->DATA.QUERY_INFORMATION.Oid = k->oid;
    r->DATA.QUERY_INFORMATION.InformationBuffer = c->buf;
    r->DATA.QUERY_INFORMATION.InformationBufferLength = k->len;
    if (k->type == NdisRequestSetInformation)
        fill_set_payload(c, k, c->buf);
    else
        memset(c->buf, 0, HOST_OID_BUF);
    pthread_mutex_lock(&c->mu);
    c->done = false;
    pthread_mutex_unlock(&c->mu);

    host_count(h, EMU_OID_ISSUED, 1);
    NDIS_STATUS st = emu_protocol_oid_request(h->ad, r);
    if (st == NDIS_STATUS_PENDING) {
        host_count(h, EMU_OID_PENDED, 1);
        if (k->cancel)
            emu_protocol_cancel_oid(h->ad, r->RequestId);
        /* The protocol cannot unbind before its OID completes; a filter
           that never completes it hangs it here, and the watchdog names
           the OID's holder as an oid-leak (ndis_oid.c). */
        struct emu_watch w;
        emu_watch_begin(&w, "OID", c->name, "ProtocolOidRequestComplete");
        pthread_mutex_lock(&c->mu);
        while (!c->done)
            pthread_cond_wait(&c->cv, &c->mu);
        st = c->done_status;
        pthread_mutex_unlock(&c->mu);
        emu_watch_end(&w);
    }
    host_count(h, EMU_OID_COMPLETED, 1);
    if (st == NDIS_STATUS_REQUEST_ABORTED)
        host_count(h, EMU_OID_CANCELLED, 1);
    if (!answer_expected(h, k, r, st))
        host_count(h, EMU_OID_UNEXPECTED_ANSWERS, 1);
}

void host_oid_burst(struct emu_host *h)
{
    pthread_mutex_lock(&h->ctl.issue_mu);
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]); i++)
        issue_one(h, &g_cases[i]);
    pthread_mutex_unlock(&h->ctl.issue_mu);
}

bool host_ctl_init(struct emu_host *h, char *err, size_t errlen)
{
    struct host_control *c = &h->ctl;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->issue_mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->inited = true;
    c->packet_filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;
    snprintf(c->name, sizeof(c->name), "protocol@%s", emu_adapter_info(h->ad)->alias);
    if (pthread_create(&c->completer, NULL, host_mp_completer, h) != 0) {
        snprintf(err, errlen, "adapter %u: cannot start the OID completer", h->index);
        return false;
    }
    c->completer_running = true;
    return true;
}

void host_ctl_fini(struct emu_host *h)
{
    struct host_control *c = &h->ctl;
    if (!c->inited)
        return;
    if (c->completer_running) {
        /* It completes whatever is still pended before it leaves. */
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        for (unsigned i = 0; i < c->npend; i++)
            c->pend[i].due_ns = 0;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->completer, NULL);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->issue_mu);
    pthread_mutex_destroy(&c->mu);
}
