/*
 * One emulated network adapter and its driver stack, bottom to top:
 *   miniport (ndisemu's host) | filter modules, in --stack order | protocol (host)
 *
 * This is the seam between ndisemu's NDIS layer (filter framework, stack
 * state machine, datapath routing, NBL verifier: ndis_*.c) and its hosts
 * (miniport and protocol ends that originate and consume traffic: host_*.c).
 * The NDIS layer calls the hosts through struct emu_edge_ops, with exactly
 * the semantics of the corresponding MiniportXxx / ProtocolXxx handlers; the
 * hosts call the NDIS layer through the emu_miniport_* / emu_protocol_*
 * functions, which stand for NdisMIndicateReceiveNetBufferLists,
 * NdisMSendNetBufferListsComplete, NdisSendNetBufferLists and
 * NdisReturnNetBufferLists.
 */
#ifndef NDISEMU_ADAPTER_H
#define NDISEMU_ADAPTER_H

#include <ndis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct emu_adapter;

struct emu_adapter_info {
    unsigned index;       /* 0-based, also the adapter's number in reports */
    char name[64];        /* BaseMiniportName, e.g. "\\DEVICE\\{...}" as UTF-8 */
    char alias[64];       /* BaseMiniportInstanceName, the adapter's friendly name
                             (e.g. "ndisemu0"); also names it in reports */
    uint8_t mac[6];
    uint32_t ifindex;     /* BaseMiniportIfIndex */
    unsigned first_cpu;   /* receive queues run on CPUs first_cpu .. first_cpu+rx_queues-1 (mod N) */
    unsigned rx_queues;
};

struct emu_edge_ops {
    /* MiniportSendNetBufferLists: the miniport owns the NBLs until it
       completes them with emu_miniport_send_complete(). */
    void (*miniport_send)(void *mp, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags);
    /* MiniportReturnNetBufferLists: receive NBLs coming back to their source. */
    void (*miniport_return)(void *mp, PNET_BUFFER_LIST nbls, ULONG flags);
    /* MiniportPause / MiniportRestart, at PASSIVE_LEVEL. Pause returns only
       once the miniport originates nothing and every receive NBL it
       indicated has come back (it waits, as a real miniport must). */
    void (*miniport_pause)(void *mp);
    void (*miniport_restart)(void *mp);
    /* MiniportOidRequest: SUCCESS/failure now, or PENDING and later
       emu_miniport_oid_complete(). MiniportCancelOidRequest (below): a pended
       request with that RequestId completes (NDIS_STATUS_REQUEST_ABORTED). */
    NDIS_STATUS (*miniport_oid)(void *mp, PNDIS_OID_REQUEST req);

    /* ProtocolReceiveNetBufferLists. */
    void (*protocol_receive)(void *pr, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                             ULONG flags);
    /* ProtocolSendNetBufferListsComplete. */
    void (*protocol_send_complete)(void *pr, PNET_BUFFER_LIST nbls, ULONG flags);
    /* Protocol pause (NetEventPause) / restart (NetEventRestart): pause
       returns once the protocol sends nothing and all its sends completed. */
    void (*protocol_pause)(void *pr);
    void (*protocol_restart)(void *pr);
    /* ProtocolOidRequestComplete, ProtocolStatusEx, ProtocolNetPnPEvent. */
    void (*protocol_oid_complete)(void *pr, PNDIS_OID_REQUEST req, NDIS_STATUS status);
    void (*protocol_status)(void *pr, PNDIS_STATUS_INDICATION ind);
    NDIS_STATUS (*protocol_net_pnp)(void *pr, PNET_PNP_EVENT_NOTIFICATION ev);

    /* The miniport's control path: MiniportCancelOidRequest (see
       miniport_oid); MiniportCancelSend (sends it still queues with that
       cancel id complete with NDIS_STATUS_SEND_ABORTED);
       MiniportDevicePnPEventNotify. Any of the control handlers may be NULL. */
    void (*miniport_cancel_oid)(void *mp, PVOID request_id);
    void (*miniport_cancel_send)(void *mp, PVOID cancel_id);
    void (*miniport_device_pnp)(void *mp, PNET_DEVICE_PNP_EVENT event);
};

/* Created Paused, with no filter module attached. */
struct emu_adapter *emu_adapter_create(const struct emu_adapter_info *info,
                                       const struct emu_edge_ops *ops, void *mp, void *pr);
/* Detaches every module (pausing the stack first) and frees the adapter. */
void emu_adapter_destroy(struct emu_adapter *ad);
const struct emu_adapter_info *emu_adapter_info(const struct emu_adapter *ad);
/* The handle a host passes to NdisAllocateNetBufferListPool and friends. */
NDIS_HANDLE emu_adapter_miniport_handle(struct emu_adapter *ad);
NDIS_HANDLE emu_adapter_protocol_handle(struct emu_adapter *ad);

/*
 * The filter modules every adapter's stack gets, bottom to top, as --stack
 * gives them: "NAME[:monitoring|:modifying][:mandatory|:optional],..." where
 * NAME is a filter driver's service name (the driver .so's base name). A
 * name listed twice gets two modules. Set before adapters start.
 * Returns false with a message in err on a malformed spec.
 */
bool emu_stack_set_spec(const char *spec, char *err, size_t errlen);

/*
 * Bring the stack up: attach a module for every spec entry whose driver is
 * registered, then restart bottom-up (miniport, filters, protocol). A stack
 * whose mandatory filter is missing stays Paused (traffic blackholed).
 * PASSIVE_LEVEL; control operations on one adapter are serialized.
 */
NDIS_STATUS emu_adapter_start(struct emu_adapter *ad);
/* Pause the whole stack top-down (protocol, filters, miniport) / restart it bottom-up. */
NDIS_STATUS emu_adapter_pause(struct emu_adapter *ad);
NDIS_STATUS emu_adapter_restart(struct emu_adapter *ad);
/* Churn: pause the stack, detach module `slot` (spec order) / attach it again, restart. */
NDIS_STATUS emu_adapter_detach_module(struct emu_adapter *ad, unsigned slot);
NDIS_STATUS emu_adapter_attach_module(struct emu_adapter *ad, unsigned slot);
unsigned emu_adapter_slot_count(const struct emu_adapter *ad);
bool emu_adapter_running(const struct emu_adapter *ad); /* every layer Running */

/* Host -> NDIS datapath entry points (see the top of this file). */
void emu_miniport_indicate_receive(struct emu_adapter *ad, PNET_BUFFER_LIST nbls,
                                   NDIS_PORT_NUMBER port, ULONG count, ULONG flags);
void emu_miniport_send_complete(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, ULONG flags);
void emu_protocol_send(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port,
                       ULONG flags);
void emu_protocol_return(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, ULONG flags);
/*
 * The control path (ndis_oid.c). An OID from the protocol goes down through
 * the filters to the miniport (NdisOidRequest); PENDING means
 * protocol_oid_complete follows. A cancel (NdisCancelOidRequest) reaches the
 * top filter's FilterCancelOidRequest, or the miniport. Status indications
 * (NdisMIndicateStatusEx) and Net PnP events go up from the miniport through
 * every filter's FilterStatus / FilterNetPnPEvent to the protocol; device
 * PnP events go down from NDIS through FilterDevicePnPEventNotify to the
 * miniport; a send cancel (NdisCancelSendNetBufferLists) goes down through
 * FilterCancelSendNetBufferLists to the miniport. Any thread, at most
 * DISPATCH_LEVEL, except where said.
 */
NDIS_STATUS emu_protocol_oid_request(struct emu_adapter *ad, PNDIS_OID_REQUEST req);
void emu_protocol_cancel_oid(struct emu_adapter *ad, PVOID request_id);
void emu_protocol_cancel_send(struct emu_adapter *ad, PVOID cancel_id);
void emu_miniport_oid_complete(struct emu_adapter *ad, PNDIS_OID_REQUEST req, NDIS_STATUS status);
void emu_miniport_indicate_status(struct emu_adapter *ad, NDIS_STATUS code, PVOID buf, ULONG len);
/* A Net PnP event from NDIS at the bottom of the stack, up to the protocol. */
NDIS_STATUS emu_adapter_net_pnp(struct emu_adapter *ad, NET_PNP_EVENT_CODE code, PVOID buf,
                                ULONG len);
void emu_adapter_device_pnp(struct emu_adapter *ad, NDIS_DEVICE_PNP_EVENT event, PVOID buf,
                            ULONG len);
/* A power cycle as NDIS runs it: NetEventQueryPower(D3), pause (low power),
   NetEventSetPower(D3), NetEventSetPower(D0), restart. PASSIVE_LEVEL. */
NDIS_STATUS emu_adapter_power_cycle(struct emu_adapter *ad);

/* How often NDIS called into the adapter's filters on the control path. */
enum emu_filter_call {
    EMU_FC_OID,        /* FilterOidRequest */
    EMU_FC_OID_CANCEL, /* FilterCancelOidRequest */
    EMU_FC_STATUS,     /* FilterStatus */
    EMU_FC_NET_PNP,    /* FilterNetPnPEvent */
    EMU_FC_DEVICE_PNP, /* FilterDevicePnPEventNotify */
    EMU_FC_SEND_CANCEL, /* FilterCancelSendNetBufferLists */
    EMU_FC_RESTART_ATTRIBUTES, /* FilterRestart given NDIS_RESTART_ATTRIBUTES */
    EMU_FC_COUNT
};
const char *emu_filter_call_name(enum emu_filter_call c); /* "filter_oid_requests", ... */
uint64_t emu_adapter_filter_calls(const struct emu_adapter *ad, enum emu_filter_call c);

/* One line describing the stack, bottom to top: each slot's
   monitoring/modifying and mandatory/optional role and module state. */
size_t emu_adapter_describe(struct emu_adapter *ad, char *buf, size_t len);

/*
 * nbl-leak findings for every Paused module still owning NBLs: called from
 * the deadlock handlers (a miniport pause that hangs on NBLs a filter lost is
 * reported as the leak it is, not only as the hang).
 */
void emu_ndis_report_leaks(void);

/*
 * For the JSON report: a JSON array with the names of every filter module
 * ever attached ({"module": its name in findings, "driver", "friendly_name",
 * "unique_name", "filter_module_guid_name", "miniport_instance_name",
 * "if_index"}). Safe to call at any time, also from the deadlock handler.
 */
void emu_ndis_modules_json(FILE *f);

/* Every adapter created so far, for registration/deregistration to walk. */
unsigned emu_adapter_count(void);
struct emu_adapter *emu_adapter_get(unsigned index);

#endif
