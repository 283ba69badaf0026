/*
 * The control path's routing (emu/src/ndis/ndis_oid.c) on a two-module
 * stack, ca below cb: OIDs and their cancels go down through each filter to
 * the miniport, a pended OID completes back up through FilterOidRequestComplete;
 * status indications and Net PnP events go up, device PnP events down; the
 * OID completion rules tell a double and an illegal completion; the
 * per-adapter counts of filter calls add up.
 */
#include "ndis_test_filter.h"

static struct tf_driver ca, cb;

/* Knobs of the control handlers. */
static bool ca_pends;                 /* ca keeps the request (in ca_pended) and returns PENDING */
static bool cb_completes_and_returns; /* cb's bug: completes the request AND returns its status */
static PNDIS_OID_REQUEST ca_pended;
static struct tf_module *ca_module;

#define ORIGINAL(clone) (*(PNDIS_OID_REQUEST *)(clone)->SourceReserved)

static NDIS_STATUS c_oid(NDIS_HANDLE ctx, PNDIS_OID_REQUEST req)
{
    struct tf_module *m = ctx;
    PNDIS_OID_REQUEST clone;
    tf_log("oid", m->d);
    if (m->d == &ca && ca_pends) {
        ca_module = m;
        ca_pended = req;
        return NDIS_STATUS_PENDING;
    }
    if (m->d == &cb && cb_completes_and_returns) {
        NdisFOidRequestComplete(m->h, req, NDIS_STATUS_SUCCESS);
        return NDIS_STATUS_SUCCESS;
    }
    CHECK(NdisAllocateCloneOidRequest(m->h, req, 'tsET', &clone) == NDIS_STATUS_SUCCESS);
    ORIGINAL(clone) = req;
    NDIS_STATUS st = NdisFOidRequest(m->h, clone);
    if (st != NDIS_STATUS_PENDING)
        NdisFreeCloneOidRequest(m->h, clone);
    return st;
}

static void c_oid_complete(NDIS_HANDLE ctx, PNDIS_OID_REQUEST clone, NDIS_STATUS st)
{
    struct tf_module *m = ctx;
    PNDIS_OID_REQUEST req = ORIGINAL(clone);
    tf_log("oid_complete", m->d);
    NdisFreeCloneOidRequest(m->h, clone);
    NdisFOidRequestComplete(m->h, req, st);
}

static void c_cancel(NDIS_HANDLE ctx, PVOID id)
{
    struct tf_module *m = ctx;
    tf_log("cancel", m->d);
    NdisFCancelOidRequest(m->h, id);
}

static void c_status(NDIS_HANDLE ctx, PNDIS_STATUS_INDICATION ind)
{
    struct tf_module *m = ctx;
    tf_log("status", m->d);
    NdisFIndicateStatus(m->h, ind);
}

static NDIS_STATUS c_net_pnp(NDIS_HANDLE ctx, PNET_PNP_EVENT_NOTIFICATION ev)
{
    struct tf_module *m = ctx;
    tf_log("net_pnp", m->d);
    return NdisFNetPnPEvent(m->h, ev);
}

static void c_device_pnp(NDIS_HANDLE ctx, PNET_DEVICE_PNP_EVENT ev)
{
    struct tf_module *m = ctx;
    tf_log("device_pnp", m->d);
    NdisFDevicePnPEventNotify(m->h, ev);
}

static void c_customize(PNDIS_FILTER_DRIVER_CHARACTERISTICS ch)
{
    ch->OidRequestHandler = c_oid;
    ch->OidRequestCompleteHandler = c_oid_complete;
    ch->CancelOidRequestHandler = c_cancel;
    ch->StatusHandler = c_status;
    ch->NetPnPEventHandler = c_net_pnp;
    ch->DevicePnPEventNotifyHandler = c_device_pnp;
}

static void query(PNDIS_OID_REQUEST r, NDIS_OID oid, void *buf, ULONG len)
{
    memset(r, 0, sizeof(*r));
    r->Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
    r->Header.Revision = NDIS_OID_REQUEST_REVISION_1;
    r->Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
    r->RequestType = NdisRequestQueryInformation;
    r->RequestId = (PVOID)(uintptr_t)oid;
    r->DATA.QUERY_INFORMATION.Oid = oid;
    r->DATA.QUERY_INFORMATION.InformationBuffer = buf;
    r->DATA.QUERY_INFORMATION.InformationBufferLength = len;
}

static void test_routing(struct t_host *h)
{
    NDIS_OID_REQUEST r;
    ULONG speed = 0;
    NDIS_LINK_STATE ls;
    NDIS_DEVICE_POWER_STATE d3 = NdisDeviceStateD3;

    t_log_reset();
    query(&r, OID_GEN_LINK_SPEED, &speed, sizeof(speed));
    CHECK(emu_protocol_oid_request(h->ad, &r) == NDIS_STATUS_SUCCESS);
    query(&r, OID_GEN_VENDOR_DESCRIPTION, &speed, sizeof(speed));
    CHECK(emu_protocol_oid_request(h->ad, &r) == NDIS_STATUS_NOT_SUPPORTED);
    emu_protocol_cancel_oid(h->ad, (PVOID)1);
    memset(&ls, 0, sizeof(ls));
    emu_miniport_indicate_status(h->ad, NDIS_STATUS_LINK_STATE, &ls, sizeof(ls));
    CHECK(emu_adapter_net_pnp(h->ad, NetEventQueryPower, &d3, sizeof(d3)) == NDIS_STATUS_SUCCESS);
    emu_adapter_device_pnp(h->ad, NdisDevicePnPEventPowerProfileChanged, NULL, 0);
    CHECK(strcmp(t_log, "oid:cb oid:ca oid:cb oid:ca cancel:cb cancel:ca status:ca status:cb "
                        "net_pnp:ca net_pnp:cb device_pnp:cb device_pnp:ca ") == 0);
    CHECK(emu_adapter_filter_calls(h->ad, EMU_FC_OID) == 4);
    CHECK(emu_adapter_filter_calls(h->ad, EMU_FC_OID_CANCEL) == 2);
    CHECK(emu_adapter_filter_calls(h->ad, EMU_FC_STATUS) == 2);
    CHECK(emu_adapter_filter_calls(h->ad, EMU_FC_NET_PNP) == 2);
    CHECK(emu_adapter_filter_calls(h->ad, EMU_FC_DEVICE_PNP) == 2);
    CHECK(emu_violation_count() == 0);
}

/* ca pends; its completion runs cb's FilterOidRequestComplete; a second
   completion by ca, and one of a request ca never got, are findings. */
static void test_pended_and_rules(struct t_host *h)
{
    NDIS_OID_REQUEST r, stranger;
    ULONG v = 0;

    t_log_reset();
    ca_pends = true;
    query(&r, OID_GEN_LINK_SPEED, &v, sizeof(v));
    CHECK(emu_protocol_oid_request(h->ad, &r) == NDIS_STATUS_PENDING);
    CHECK(ca_pended != NULL && ca_pended != &r); /* cb's clone */
    PNDIS_OID_REQUEST clone = ca_pended;
    NdisFOidRequestComplete(ca_module->h, clone, NDIS_STATUS_SUCCESS);
    CHECK(strcmp(t_log, "oid:cb oid:ca oid_complete:cb ") == 0);
    CHECK(emu_violation_count() == 0);
    NdisFOidRequestComplete(ca_module->h, clone, NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_OID_COMPLETE_TWICE, 1);
    query(&stranger, OID_GEN_LINK_SPEED, &v, sizeof(v));
    NdisFOidRequestComplete(ca_module->h, &stranger, NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_OID_ILLEGAL_COMPLETION, 1);
    ca_pends = false;

    emu_violations_reset();
    cb_completes_and_returns = true;
    CHECK(emu_protocol_oid_request(h->ad, &r) == NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_OID_COMPLETE_TWICE, 1);
    CHECK(emu_violation_count() == 1);
    cb_completes_and_returns = false;
    emu_violations_reset();
}

int main(void)
{
    emu_kernel_init(2);
    char err[128];
    CHECK(emu_stack_set_spec("ca,cb", err, sizeof(err)));
    tf_customize = c_customize;
    CHECK(tf_register(&ca, "ca") == NDIS_STATUS_SUCCESS);
    CHECK(tf_register(&cb, "cb") == NDIS_STATUS_SUCCESS);
    struct t_host *h = t_host_new("ctl0");
    CHECK(emu_adapter_start(h->ad) == NDIS_STATUS_SUCCESS);
    test_routing(h);
    test_pended_and_rules(h);
    t_host_free(h);
    NdisFDeregisterFilterDriver(ca.handle);
    NdisFDeregisterFilterDriver(cb.handle);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_control_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
