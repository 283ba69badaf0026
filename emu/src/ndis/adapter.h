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
    /* MiniportOidRequest, completed synchronously. */
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
/* An OID from the protocol, down through the filters to the miniport. */
NDIS_STATUS emu_protocol_oid_request(struct emu_adapter *ad, PNDIS_OID_REQUEST req);

/* One line describing the stack, bottom to top: each slot's
   monitoring/modifying and mandatory/optional role and module state. */
size_t emu_adapter_describe(struct emu_adapter *ad, char *buf, size_t len);

/*
 * nbl-leak findings for every attached module still owning NBLs: called at
 * shutdown and from the deadlock handler (a miniport pause that hangs on NBLs
 * a filter lost is reported as the leak it is, not only as the hang).
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
