/*
 * OID requests down the stack (protocol -> filters -> miniport), their
 * completion back up, status indications and PnP events up.
 *
 * A request handed to a module remembers in NdisReserved who handed it over,
 * so that NdisFOidRequestComplete knows whom to complete it to. A filter
 * that forwards a request must clone it (NdisAllocateCloneOidRequest), so
 * one request object makes exactly one hop and one slot is enough.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kernel.h"

struct oid_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    NDIS_STATUS status;
};

struct oid_hop {
    struct emu_party *sender;
    struct oid_waiter *waiter; /* the protocol's synchronous wait, if the sender is it */
};

_Static_assert(sizeof(struct oid_hop) <= sizeof(((NDIS_OID_REQUEST *)0)->NdisReserved),
               "NdisReserved holds the hop record");

static struct oid_hop *hop_of(PNDIS_OID_REQUEST r)
{
    return (struct oid_hop *)(void *)r->NdisReserved;
}

/* OIDs reach modules in Paused, Restarting, Running and Pausing. */
static bool takes_oids(struct emu_module *m)
{
    int st = atomic_load(&m->state);
    return st == EMU_MS_PAUSED || st == EMU_MS_RESTARTING || st == EMU_MS_RUNNING ||
           st == EMU_MS_PAUSING;
}

static NDIS_STATUS oid_down(struct emu_adapter *ad, int pos, struct emu_party *from,
                            PNDIS_OID_REQUEST req, struct oid_waiter *waiter)
{
    for (int p = pos - 1; p >= 0; p--) {
        struct emu_module *m = atomic_load(&ad->slots[p]);
        if (m == NULL || m->drv->chars.OidRequestHandler == NULL || !takes_oids(m))
            continue;
        hop_of(req)->sender = from;
        hop_of(req)->waiter = waiter;
        struct emu_callctx c;
        emu_callctx_push(&c, m->name, "FilterOidRequest", m);
        NDIS_STATUS st = m->drv->chars.OidRequestHandler(m->ctx, req);
        emu_callctx_pop(&c);
        return st;
    }
    return ad->ops->miniport_oid(ad->mp, req);
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
    return oid_down(m->party.ad, m->party.pos, &m->party, OidRequest, NULL);
}

VOID NdisFOidRequestComplete(NDIS_HANDLE NdisFilterHandle, PNDIS_OID_REQUEST OidRequest,
                             NDIS_STATUS Status)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFOidRequestComplete");
    if (m == NULL)
        return;
    struct oid_hop h = *hop_of(OidRequest);
    if (h.sender == NULL) {
        emu_violation(EMU_RULE_STATE, m->name, "NdisFOidRequestComplete",
                      "OID request %p was not handed to this module by NDIS", (void *)OidRequest);
        return;
    }
    if (h.sender->kind == EMU_PARTY_MODULE) {
        struct emu_module *up = (struct emu_module *)h.sender;
        if (up->drv->chars.OidRequestCompleteHandler != NULL) {
            struct emu_callctx c;
            emu_callctx_push(&c, up->name, "FilterOidRequestComplete", up);
            up->drv->chars.OidRequestCompleteHandler(up->ctx, OidRequest, Status);
            emu_callctx_pop(&c);
        }
    } else if (h.waiter != NULL) {
        pthread_mutex_lock(&h.waiter->mu);
        h.waiter->status = Status;
        h.waiter->done = true;
        pthread_cond_broadcast(&h.waiter->cv);
        pthread_mutex_unlock(&h.waiter->mu);
    }
}

NDIS_STATUS emu_protocol_oid_request(struct emu_adapter *ad, PNDIS_OID_REQUEST req)
{
    struct oid_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};
    NDIS_STATUS st = oid_down(ad, (int)ad->nslots, &ad->pr_party, req, &w);
    if (st == NDIS_STATUS_PENDING) {
        /* Only the driver can end this wait: watched, as a control operation. */
        struct emu_watch watch;
        emu_watch_begin(&watch, "OID request", "ndisemu", "(pended OID request)");
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        emu_watch_end(&watch);
        st = w.status;
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}

NDIS_STATUS NdisAllocateCloneOidRequest(NDIS_HANDLE SourceHandle, PNDIS_OID_REQUEST OidRequest,
                                        UINT PoolTag, PNDIS_OID_REQUEST *ClonedOidRequest)
{
    if (emu_fault_should_fail("NdisAllocateCloneOidRequest", __builtin_return_address(0)))
        return NDIS_STATUS_RESOURCES;
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
    (void)SourceHandle;
    free(Request);
}

VOID NdisFCancelOidRequest(NDIS_HANDLE NdisFilterHandle, PVOID RequestId)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFCancelOidRequest");
    if (m == NULL)
        return;
    for (int p = m->party.pos - 1; p >= 0; p--) {
        struct emu_module *b = atomic_load(&m->party.ad->slots[p]);
        if (b != NULL && b->drv->chars.CancelOidRequestHandler != NULL) {
            struct emu_callctx c;
            emu_callctx_push(&c, b->name, "FilterCancelOidRequest", b);
            b->drv->chars.CancelOidRequestHandler(b->ctx, RequestId);
            emu_callctx_pop(&c);
            return;
        }
    }
}

VOID NdisFIndicateStatus(NDIS_HANDLE NdisFilterHandle, PNDIS_STATUS_INDICATION StatusIndication)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFIndicateStatus");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFIndicateStatus", DISPATCH_LEVEL);
    struct emu_adapter *ad = m->party.ad;
    for (unsigned p = (unsigned)m->party.pos + 1; p < ad->nslots; p++) {
        struct emu_module *u = atomic_load(&ad->slots[p]);
        if (u != NULL && u->drv->chars.StatusHandler != NULL) {
            struct emu_callctx c;
            emu_callctx_push(&c, u->name, "FilterStatus", u);
            u->drv->chars.StatusHandler(u->ctx, StatusIndication);
            emu_callctx_pop(&c);
            return;
        }
    }
}

NDIS_STATUS NdisFNetPnPEvent(NDIS_HANDLE NdisFilterHandle,
                             PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFNetPnPEvent");
    if (m == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    struct emu_adapter *ad = m->party.ad;
    for (unsigned p = (unsigned)m->party.pos + 1; p < ad->nslots; p++) {
        struct emu_module *u = atomic_load(&ad->slots[p]);
        if (u != NULL && u->drv->chars.NetPnPEventHandler != NULL) {
            struct emu_callctx c;
            emu_callctx_push(&c, u->name, "FilterNetPnPEvent", u);
            NDIS_STATUS st = u->drv->chars.NetPnPEventHandler(u->ctx, NetPnPEventNotification);
            emu_callctx_pop(&c);
            return st;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFDevicePnPEventNotify(NDIS_HANDLE NdisFilterHandle,
                               PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    (void)NdisFilterHandle;
    (void)NetDevicePnPEvent;
}
