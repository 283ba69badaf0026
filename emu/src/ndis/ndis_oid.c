/*
 * The control path: OID requests down the stack (protocol -> filters ->
 * miniport) and their completion back up, OID and send cancellation down,
 * status indications and Net PnP events up, device PnP events down.
 *
 * Every OID hop (one request handed by a sender to the module or miniport
 * that must complete it) is a record in one list under g_mu: ndisemu needs
 * no room in the request, and NdisFOidRequestComplete can tell a request it
 * handed to the caller from one it did not (oid-illegal-completion) or one
 * the caller already completed (oid-complete-twice). OIDs are rare, so one
 * lock for all adapters costs nothing measurable.
 *
 * Lifetime: a module is freed by its detach (ndis_stack.c), which first
 * calls emu_oid_quiesce(): from then on no control call picks the module
 * (ctl_closing, set under g_mu, is checked under g_mu by every walk that
 * takes a reference), and it waits until no call runs in it (ctl_refs) and
 * no OID hop names it as sender or receiver. So a module pointer taken from
 * a slot under g_mu with a reference, or named by a live hop, stays valid
 * until the reference or hop is dropped, also under g_mu.
 *
 * What NDIS waits for: pause does not wait for OIDs (a Paused module still
 * gets them), but a protocol cannot unbind and a filter cannot be detached
 * while an OID it got is outstanding; NDIS waits, and its OID watchdog
 * (bugcheck 0x7C, 0x25) ends a wait that never ends. ndisemu waits the same
 * way under the Detach watch; when the watchdog fires, every OID still
 * handed to a module is an oid-leak naming that module.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kernel.h"

struct oid_hop {
    uint64_t id; /* unique: a freed hop's address may come back for another */
    PNDIS_OID_REQUEST req;
    NDIS_OID oid;
    struct emu_party *sender;   /* whom the completion goes to */
    struct emu_party *receiver; /* who must complete it: a module or the miniport */
    bool completing;            /* completed; the sender's completion is running */
    struct oid_hop *next;
};

/* Requests completed lately, by whom: a second completion is told from one
   of a request never handed over. */
#define OID_DONE_RING 64
struct oid_done {
    PNDIS_OID_REQUEST req;
    struct emu_party *by;
    NDIS_OID oid;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static struct oid_hop *g_hops;
static struct oid_done g_done[OID_DONE_RING];
static unsigned g_done_next;
static uint64_t g_next_id;

static const char *const g_fc_names[EMU_FC_COUNT] = {
    [EMU_FC_OID] = "filter_oid_requests",
    [EMU_FC_OID_CANCEL] = "filter_oid_cancels",
    [EMU_FC_STATUS] = "filter_status_indications",
    [EMU_FC_NET_PNP] = "filter_net_pnp_events",
    [EMU_FC_DEVICE_PNP] = "filter_device_pnp_events",
    [EMU_FC_SEND_CANCEL] = "filter_send_cancels",
    [EMU_FC_RESTART_ATTRIBUTES] = "filter_restarts_with_attributes",
};

const char *emu_filter_call_name(enum emu_filter_call c)
{
    return (unsigned)c < EMU_FC_COUNT ? g_fc_names[c] : "?";
}

uint64_t emu_adapter_filter_calls(const struct emu_adapter *ad, enum emu_filter_call c)
{
    return (unsigned)c < EMU_FC_COUNT ? atomic_load(&ad->filter_calls[c]) : 0;
}

/* Control calls reach modules in Paused, Restarting, Running and Pausing. */
static bool takes_control(struct emu_module *m)
{
    int st = atomic_load(&m->state);
    return !m->ctl_closing && (st == EMU_MS_PAUSED || st == EMU_MS_RESTARTING ||
                               st == EMU_MS_RUNNING || st == EMU_MS_PAUSING);
}

/* Which handler a walk looks for. */
enum ctl_kind { CTL_OID, CTL_OID_CANCEL, CTL_STATUS, CTL_NET_PNP, CTL_DEVICE_PNP };

static bool has_handler(struct emu_module *m, enum ctl_kind k)
{
    const NDIS_FILTER_DRIVER_CHARACTERISTICS *c = &m->drv->chars;
    switch (k) {
    case CTL_OID:
        return c->OidRequestHandler != NULL;
    case CTL_OID_CANCEL:
        return c->CancelOidRequestHandler != NULL;
    case CTL_STATUS:
        return c->StatusHandler != NULL;
    case CTL_NET_PNP:
        return c->NetPnPEventHandler != NULL;
    default:
        return c->DevicePnPEventNotifyHandler != NULL;
    }
}

/*
 * The next module from position `pos` in direction `step` (-1 down, +1 up)
 * that has the handler and takes control calls, with a reference; NULL when
 * the walk reaches the miniport or the protocol. Under g_mu.
 */
static struct emu_module *next_locked(struct emu_adapter *ad, int pos, int step, enum ctl_kind k)
{
    for (int p = pos + step; p >= 0 && p < (int)ad->nslots; p += step) {
        struct emu_module *m = atomic_load(&ad->slots[p]);
        if (m != NULL && takes_control(m) && has_handler(m, k)) {
            m->ctl_refs++;
            return m;
        }
    }
    return NULL;
}

static struct emu_module *next_module(struct emu_adapter *ad, int pos, int step, enum ctl_kind k)
{
    pthread_mutex_lock(&g_mu);
    struct emu_module *m = next_locked(ad, pos, step, k);
    pthread_mutex_unlock(&g_mu);
    return m;
}

static void put_module(struct emu_module *m)
{
    pthread_mutex_lock(&g_mu);
    if (--m->ctl_refs == 0 && m->ctl_closing)
        pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void count_call(struct emu_adapter *ad, enum emu_filter_call c)
{
    atomic_fetch_add_explicit(&ad->filter_calls[c], 1, memory_order_relaxed);
}

/* The hop handing `req` to `receiver`: a live one before one being completed
   (the sender may reuse a request as soon as its completion arrived). */
static struct oid_hop **find_hop_locked(PNDIS_OID_REQUEST req, struct emu_party *receiver)
{
    struct oid_hop **completing = NULL;
    for (struct oid_hop **pp = &g_hops; *pp; pp = &(*pp)->next)
        if ((*pp)->req == req && (*pp)->receiver == receiver) {
            if (!(*pp)->completing)
                return pp;
            if (completing == NULL)
                completing = pp;
        }
    return completing;
}

static struct oid_hop **find_id_locked(uint64_t id)
{
    for (struct oid_hop **pp = &g_hops; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id)
            return pp;
    return NULL;
}

static void drop_hop_locked(struct oid_hop **pp)
{
    struct oid_hop *h = *pp;
    *pp = h->next;
    free(h);
    pthread_cond_broadcast(&g_cv);
}

static NDIS_OID oid_of(PNDIS_OID_REQUEST r)
{
    /* Oid is the first member of each DATA variant. */
    return r->DATA.QUERY_INFORMATION.Oid;
}

/*
 * Hands `req` from `from` (at position `pos`) to the next module below that
 * filters OIDs, or to the miniport. A synchronous status (not PENDING) is
 * the completion: the hop ends here, and a module that also called
 * NdisFOidRequestComplete for it completed it twice.
 */
static NDIS_STATUS oid_down(struct emu_adapter *ad, int pos, struct emu_party *from,
                            PNDIS_OID_REQUEST req)
{
    struct oid_hop *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NDIS_STATUS_RESOURCES;
    /* After a completion the request may be freed: read it only before. */
    NDIS_OID oid = oid_of(req);
    h->req = req;
    h->oid = oid;
    h->sender = from;
    pthread_mutex_lock(&g_mu);
    struct emu_module *m = next_locked(ad, pos, -1, CTL_OID);
    uint64_t id = h->id = ++g_next_id;
    h->receiver = m ? &m->party : &ad->mp_party;
    h->next = g_hops;
    g_hops = h;
    pthread_mutex_unlock(&g_mu);

    NDIS_STATUS st;
    if (m != NULL) {
        struct emu_callctx c;
        count_call(ad, EMU_FC_OID);
        emu_callctx_push(&c, m->name, "FilterOidRequest", m);
        st = m->drv->chars.OidRequestHandler(m->ctx, req);
        emu_callctx_pop(&c);
    } else {
        st = ad->ops->miniport_oid ? ad->ops->miniport_oid(ad->mp, req) : NDIS_STATUS_NOT_SUPPORTED;
    }
    if (st != NDIS_STATUS_PENDING) {
        /* The hop is gone, or being completed, if the callee also completed it. */
        pthread_mutex_lock(&g_mu);
        struct oid_hop **pp = find_id_locked(id);
        bool completed = pp == NULL || (*pp)->completing;
        if (!completed)
            drop_hop_locked(pp);
        pthread_mutex_unlock(&g_mu);
        if (completed && m != NULL)
            emu_violation(EMU_RULE_OID_COMPLETE_TWICE, m->name, "FilterOidRequest",
                          "FilterOidRequest returned 0x%08x for OID 0x%08x after completing it "
                          "with NdisFOidRequestComplete (only PENDING may follow a completion)",
                          (unsigned)st, (unsigned)oid);
    }
    if (m != NULL)
        put_module(m);
    return st;
}

/*
 * `by` completes `req`. The hop stays in the list, marked, while the
 * sender's completion handler runs: the sender cannot be detached under it,
 * and a second completion meanwhile is found as such.
 */
static void oid_complete(struct emu_adapter *ad, struct emu_party *by, const char *name,
                         const char *api, PNDIS_OID_REQUEST req, NDIS_STATUS status)
{
    pthread_mutex_lock(&g_mu);
    struct oid_hop **pp = find_hop_locked(req, by);
    struct oid_hop *h = pp ? *pp : NULL;
    bool twice = h != NULL && h->completing;
    NDIS_OID oid = h ? h->oid : 0;
    for (unsigned i = 0; h == NULL && i < OID_DONE_RING; i++)
        if (g_done[i].req == req && g_done[i].by == by) {
            twice = true;
            oid = g_done[i].oid;
        }
    uint64_t id = h ? h->id : 0;
    if (h != NULL && !h->completing) {
        h->completing = true;
        g_done[g_done_next++ % OID_DONE_RING] = (struct oid_done){req, by, h->oid};
    } else {
        h = NULL;
    }
    pthread_mutex_unlock(&g_mu);
    if (h == NULL) {
        if (twice)
            emu_violation(EMU_RULE_OID_COMPLETE_TWICE, name, api,
                          "OID request %p (OID 0x%08x) completed twice", (void *)req,
                          (unsigned)oid);
        else
            emu_violation(EMU_RULE_OID_ILLEGAL_COMPLETION, name, api,
                          "completes OID request %p, which NDIS never handed to it "
                          "(bugcheck 0x7C, 0x1D: illegal OID completion)",
                          (void *)req);
        return;
    }
    if (h->sender->kind == EMU_PARTY_MODULE) {
        struct emu_module *up = (struct emu_module *)h->sender;
        if (up->drv->chars.OidRequestCompleteHandler != NULL) {
            struct emu_callctx c;
            emu_callctx_push(&c, up->name, "FilterOidRequestComplete", up);
            up->drv->chars.OidRequestCompleteHandler(up->ctx, req, status);
            emu_callctx_pop(&c);
        }
    } else if (ad->ops->protocol_oid_complete != NULL) {
        ad->ops->protocol_oid_complete(ad->pr, req, status);
    }
    pthread_mutex_lock(&g_mu);
    pp = find_id_locked(id);
    if (pp != NULL)
        drop_hop_locked(pp);
    pthread_mutex_unlock(&g_mu);
}

NDIS_STATUS NdisFOidRequest(NDIS_HANDLE NdisFilterHandle, PNDIS_OID_REQUEST OidRequest)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFOidRequest");
    if (m == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    emu_irql_require_max("NdisFOidRequest", DISPATCH_LEVEL);
    int st = atomic_load(&m->state);
    if (st == EMU_MS_DETACHED || st == EMU_MS_ATTACHING)
        emu_violation(EMU_RULE_STATE, m->name, "NdisFOidRequest",
                      "NdisFOidRequest while the module is %s", emu_module_state_name(st));
    return oid_down(m->party.ad, m->party.pos, &m->party, OidRequest);
}

VOID NdisFOidRequestComplete(NDIS_HANDLE NdisFilterHandle, PNDIS_OID_REQUEST OidRequest,
                             NDIS_STATUS Status)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFOidRequestComplete");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFOidRequestComplete", DISPATCH_LEVEL);
    oid_complete(m->party.ad, &m->party, m->name, "NdisFOidRequestComplete", OidRequest, Status);
}

NDIS_STATUS emu_protocol_oid_request(struct emu_adapter *ad, PNDIS_OID_REQUEST req)
{
    return oid_down(ad, (int)ad->nslots, &ad->pr_party, req);
}

void emu_miniport_oid_complete(struct emu_adapter *ad, PNDIS_OID_REQUEST req, NDIS_STATUS status)
{
    oid_complete(ad, &ad->mp_party, ad->mp_name, "NdisMOidRequestComplete", req, status);
}

NDIS_STATUS NdisAllocateCloneOidRequest(NDIS_HANDLE SourceHandle, PNDIS_OID_REQUEST OidRequest,
                                        UINT PoolTag, PNDIS_OID_REQUEST *ClonedOidRequest)
{
    if (emu_fault_should_fail("NdisAllocateCloneOidRequest", __builtin_return_address(0)))
        return NDIS_STATUS_RESOURCES;
    emu_irql_require_max("NdisAllocateCloneOidRequest", DISPATCH_LEVEL);
    (void)SourceHandle;
    (void)PoolTag;
    PNDIS_OID_REQUEST c = malloc(sizeof(*c));
    if (c == NULL)
        return NDIS_STATUS_RESOURCES;
    memcpy(c, OidRequest, sizeof(*c));
    memset(c->NdisReserved, 0, sizeof(c->NdisReserved));
    memset(c->SourceReserved, 0, sizeof(c->SourceReserved));
    *ClonedOidRequest = c;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFreeCloneOidRequest(NDIS_HANDLE SourceHandle, PNDIS_OID_REQUEST Request)
{
    emu_irql_require_max("NdisFreeCloneOidRequest", DISPATCH_LEVEL);
    (void)SourceHandle;
    free(Request);
}

/* A cancel from position `pos` goes to the next module below that has
   FilterCancelOidRequest, else to the miniport. */
static void cancel_oid_down(struct emu_adapter *ad, int pos, PVOID request_id)
{
    struct emu_module *b = next_module(ad, pos, -1, CTL_OID_CANCEL);
    if (b == NULL) {
        if (ad->ops->miniport_cancel_oid != NULL)
            ad->ops->miniport_cancel_oid(ad->mp, request_id);
        return;
    }
    struct emu_callctx c;
    count_call(ad, EMU_FC_OID_CANCEL);
    emu_callctx_push(&c, b->name, "FilterCancelOidRequest", b);
    b->drv->chars.CancelOidRequestHandler(b->ctx, request_id);
    emu_callctx_pop(&c);
    put_module(b);
}

VOID NdisFCancelOidRequest(NDIS_HANDLE NdisFilterHandle, PVOID RequestId)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFCancelOidRequest");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFCancelOidRequest", DISPATCH_LEVEL);
    cancel_oid_down(m->party.ad, m->party.pos, RequestId);
}

void emu_protocol_cancel_oid(struct emu_adapter *ad, PVOID request_id)
{
    cancel_oid_down(ad, (int)ad->nslots, request_id);
}

void emu_protocol_cancel_send(struct emu_adapter *ad, PVOID cancel_id)
{
    emu_cancel_send_below(ad, (int)ad->nslots, cancel_id);
}

void emu_ndis_count_send_cancel(struct emu_adapter *ad)
{
    count_call(ad, EMU_FC_SEND_CANCEL);
}

/* A status indication from position `pos` up: the next FilterStatus, or the protocol. */
static void status_up(struct emu_adapter *ad, int pos, PNDIS_STATUS_INDICATION ind)
{
    struct emu_module *u = next_module(ad, pos, +1, CTL_STATUS);
    if (u == NULL) {
        if (ad->ops->protocol_status != NULL)
            ad->ops->protocol_status(ad->pr, ind);
        return;
    }
    struct emu_callctx c;
    count_call(ad, EMU_FC_STATUS);
    emu_callctx_push(&c, u->name, "FilterStatus", u);
    u->drv->chars.StatusHandler(u->ctx, ind);
    emu_callctx_pop(&c);
    put_module(u);
}

/*
 * status-indication-invalid (0x7C, 0x20): what a filter hands to
 * NdisFIndicateStatus is its own structure, so the rule is decided by the
 * call alone. The header must be the WDK's (type, revision 1 or later, at
 * least revision 1's size), and SourceHandle must name the filter module
 * itself (an indication it originates) or a party below it on its own
 * adapter (one it passes on from FilterStatus unchanged, as the WDK's
 * sample does): NULL, a freed handle, another adapter's or a driver above
 * it is no source the filter could have been given. A malformed indication
 * is reported and not passed up: the drivers above would read past it.
 */
static bool status_indication_ok(const struct emu_module *m, PNDIS_STATUS_INDICATION ind)
{
    const char *why = NULL;
    if (ind == NULL)
        why = "StatusIndication is NULL";
    else if (ind->Header.Type != NDIS_OBJECT_TYPE_STATUS_INDICATION)
        why = "Header.Type is not NDIS_OBJECT_TYPE_STATUS_INDICATION";
    else if (ind->Header.Revision < NDIS_STATUS_INDICATION_REVISION_1)
        why = "Header.Revision is 0";
    else if (ind->Header.Size < NDIS_SIZEOF_STATUS_INDICATION_REVISION_1)
        why = "Header.Size is below NDIS_SIZEOF_STATUS_INDICATION_REVISION_1";
    else {
        struct emu_party *src = emu_party_from_handle(ind->SourceHandle);
        if (src == NULL || src->ad != m->party.ad || src->pos > m->party.pos)
            why = "SourceHandle is neither the module's own handle nor that of a driver below "
                  "it on its adapter";
    }
    if (why != NULL)
        emu_violation(EMU_RULE_STATUS_INDICATION_INVALID, m->name, NULL,
                      "NdisFIndicateStatus: %s (0x7C, 0x20); ndisemu did not pass it up", why);
    return why == NULL;
}

VOID NdisFIndicateStatus(NDIS_HANDLE NdisFilterHandle, PNDIS_STATUS_INDICATION StatusIndication)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFIndicateStatus");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFIndicateStatus", DISPATCH_LEVEL);
    if (!status_indication_ok(m, StatusIndication))
        return;
    status_up(m->party.ad, m->party.pos, StatusIndication);
}

void emu_miniport_indicate_status(struct emu_adapter *ad, NDIS_STATUS code, PVOID buf, ULONG len)
{
    NDIS_STATUS_INDICATION ind;
    memset(&ind, 0, sizeof(ind));
    ind.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
    ind.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
    ind.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
    ind.SourceHandle = &ad->mp_party;
    ind.StatusCode = code;
    ind.StatusBuffer = buf;
    ind.StatusBufferSize = len;
    status_up(ad, -1, &ind);
}

static NDIS_STATUS net_pnp_up(struct emu_adapter *ad, int pos, PNET_PNP_EVENT_NOTIFICATION ev)
{
    struct emu_module *u = next_module(ad, pos, +1, CTL_NET_PNP);
    if (u == NULL)
        return ad->ops->protocol_net_pnp ? ad->ops->protocol_net_pnp(ad->pr, ev)
                                         : NDIS_STATUS_SUCCESS;
    struct emu_callctx c;
    count_call(ad, EMU_FC_NET_PNP);
    emu_callctx_push(&c, u->name, "FilterNetPnPEvent", u);
    NDIS_STATUS st = u->drv->chars.NetPnPEventHandler(u->ctx, ev);
    emu_callctx_pop(&c);
    put_module(u);
    return st;
}

NDIS_STATUS NdisFNetPnPEvent(NDIS_HANDLE NdisFilterHandle,
                             PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFNetPnPEvent");
    if (m == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    emu_irql_require_max("NdisFNetPnPEvent", PASSIVE_LEVEL);
    /* pnp-event-invalid (0x7C, 0x22): the header of the notification the
       filter passes is the WDK's (NDIS_OBJECT_TYPE_DEFAULT, revision 1 or
       later, at least revision 1's size), decided by the call alone. A
       malformed one is reported and not passed up. */
    PNET_PNP_EVENT_NOTIFICATION ev = NetPnPEventNotification;
    if (ev == NULL || ev->Header.Type != NDIS_OBJECT_TYPE_DEFAULT ||
        ev->Header.Revision < NET_PNP_EVENT_NOTIFICATION_REVISION_1 ||
        ev->Header.Size < NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1) {
        emu_violation(EMU_RULE_PNP_EVENT_INVALID, m->name, NULL,
                      "NdisFNetPnPEvent: %s (0x7C, 0x22); ndisemu did not pass it up",
                      ev == NULL ? "NetPnPEventNotification is NULL"
                                 : "its Header is not a NET_PNP_EVENT_NOTIFICATION's "
                                   "(NDIS_OBJECT_TYPE_DEFAULT, revision 1, its size)");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    return net_pnp_up(m->party.ad, m->party.pos, ev);
}

NDIS_STATUS emu_adapter_net_pnp(struct emu_adapter *ad, NET_PNP_EVENT_CODE code, PVOID buf,
                                ULONG len)
{
    NET_PNP_EVENT_NOTIFICATION ev;
    memset(&ev, 0, sizeof(ev));
    ev.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    ev.Header.Revision = NET_PNP_EVENT_NOTIFICATION_REVISION_1;
    ev.Header.Size = sizeof(ev);
    ev.NetPnPEvent.NetEvent = code;
    ev.NetPnPEvent.Buffer = buf;
    ev.NetPnPEvent.BufferLength = len;
    return net_pnp_up(ad, -1, &ev);
}

static void device_pnp_down(struct emu_adapter *ad, int pos, PNET_DEVICE_PNP_EVENT ev)
{
    struct emu_module *b = next_module(ad, pos, -1, CTL_DEVICE_PNP);
    if (b == NULL) {
        if (ad->ops->miniport_device_pnp != NULL)
            ad->ops->miniport_device_pnp(ad->mp, ev);
        return;
    }
    struct emu_callctx c;
    count_call(ad, EMU_FC_DEVICE_PNP);
    emu_callctx_push(&c, b->name, "FilterDevicePnPEventNotify", b);
    b->drv->chars.DevicePnPEventNotifyHandler(b->ctx, ev);
    emu_callctx_pop(&c);
    put_module(b);
}

VOID NdisFDevicePnPEventNotify(NDIS_HANDLE NdisFilterHandle,
                               PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFDevicePnPEventNotify");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFDevicePnPEventNotify", PASSIVE_LEVEL);
    device_pnp_down(m->party.ad, m->party.pos, NetDevicePnPEvent);
}

void emu_adapter_device_pnp(struct emu_adapter *ad, NDIS_DEVICE_PNP_EVENT event, PVOID buf,
                            ULONG len)
{
    NET_DEVICE_PNP_EVENT ev;
    memset(&ev, 0, sizeof(ev));
    ev.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    ev.Header.Revision = 1;
    ev.Header.Size = sizeof(ev);
    ev.DevicePnPEvent = event;
    ev.InformationBuffer = buf;
    ev.InformationBufferLength = len;
    device_pnp_down(ad, (int)ad->nslots, &ev);
}

NDIS_STATUS emu_adapter_power_cycle(struct emu_adapter *ad)
{
    NDIS_DEVICE_POWER_STATE d3 = NdisDeviceStateD3, d0 = NdisDeviceStateD0;
    pthread_mutex_lock(&ad->ctl);
    NDIS_STATUS st = emu_adapter_net_pnp(ad, NetEventQueryPower, &d3, sizeof(d3));
    if (st == NDIS_STATUS_SUCCESS) {
        emu_stack_pause_locked(ad, NDIS_PAUSE_LOW_POWER);
        emu_adapter_net_pnp(ad, NetEventSetPower, &d3, sizeof(d3));
        emu_adapter_net_pnp(ad, NetEventSetPower, &d0, sizeof(d0));
        st = emu_stack_restart_locked(ad);
    }
    pthread_mutex_unlock(&ad->ctl);
    return st;
}

void emu_oid_quiesce(struct emu_module *m, struct emu_watch *w)
{
    emu_watch_note(w, "NdisFOidRequestComplete");
    pthread_mutex_lock(&g_mu);
    m->ctl_closing = true;
    for (;;) {
        bool busy = m->ctl_refs != 0;
        for (struct oid_hop *h = g_hops; h && !busy; h = h->next)
            busy = h->sender == &m->party || h->receiver == &m->party;
        if (!busy)
            break;
        pthread_cond_wait(&g_cv, &g_mu);
    }
    pthread_mutex_unlock(&g_mu);
}

void emu_oid_forget(struct emu_module *m)
{
    /* Nothing refers to m any more (quiesced, and its slot is empty):
       only ring entries naming it must go, so a new module at the same
       address does not inherit its completions. */
    pthread_mutex_lock(&g_mu);
    for (unsigned i = 0; i < OID_DONE_RING; i++)
        if (g_done[i].by == &m->party)
            g_done[i] = (struct oid_done){NULL, NULL, 0};
    pthread_mutex_unlock(&g_mu);
}

void emu_oid_report_leaks(void)
{
    /* From the deadlock handler or at shutdown: a hop's receiver module is
       alive while the hop is (its detach waits for it). */
    pthread_mutex_lock(&g_mu);
    for (struct oid_hop *h = g_hops; h; h = h->next)
        if (h->receiver->kind == EMU_PARTY_MODULE && !h->completing)
            emu_violation(EMU_RULE_OID_LEAK, h->receiver->name, "FilterOidRequest",
                          "OID 0x%08x (request %p) from %s was never completed: NDIS cannot "
                          "detach the module or unbind the protocol (bugcheck 0x7C, 0x25: "
                          "OID watchdog)",
                          (unsigned)h->oid, (void *)h->req, h->sender->name);
    pthread_mutex_unlock(&g_mu);
}
