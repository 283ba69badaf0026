/*
 * ndisemu's hosts: the miniport at the bottom and the protocol at the top of
 * every emulated adapter (emu/src/ndis/adapter.h), and the traffic they originate.
 * The session (session.c) creates one host per adapter, starts and stops its
 * traffic and reads its figures.
 */
#ifndef NDISEMU_HOST_H
#define NDISEMU_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "host_traffic.h"

struct emu_adapter;
struct emu_host;

struct emu_host_config {
    const struct emu_traffic *traffic; /* shared, read-only */
    struct emu_split split;
    uint64_t rx_pps; /* receive packets per second for this adapter; 0 = as fast as possible */
    uint64_t tx_pps; /* protocol sends per second; 0 = as fast as possible */
    bool tx;         /* the protocol sends at all */
    unsigned batch;  /* NBLs per indication / send */
    unsigned cpus;   /* emulated CPU count */
    unsigned first_cpu, rx_queues;
    uint64_t seed;
    /* Off: each returned receive NBL is freed and a fresh one allocated, so a
       filter touching an NBL after giving it back hits freed memory (ASan). */
    bool recycle;
};

/* The figures of one adapter, in the order of enum emu_host_counter. */
enum emu_host_counter {
    EMU_RX_ORIGINATED,        /* indicated by the miniport */
    EMU_RX_DELIVERED,         /* reached the protocol */
    EMU_RX_DROPPED_BY_FILTER, /* back at the miniport without reaching the protocol */
    EMU_RX_RETURNED,          /* back at the miniport */
    EMU_RX_NOT_ORIGINATED,    /* due while the miniport was paused (stack paused or blackholed) */
    EMU_RX_CORRUPTED,         /* reached the protocol with bytes that differ from the source */
    EMU_TX_SENT,              /* sent by the protocol */
    EMU_TX_REACHED_MINIPORT,
    EMU_TX_COMPLETED,         /* back at the protocol */
    EMU_TX_DROPPED_BY_FILTER, /* completed without reaching the miniport */
    EMU_TX_REFUSED_PAUSED,    /* completed with NDIS_STATUS_PAUSED */
    EMU_TX_CORRUPTED,
    EMU_TX_ABORTED, /* completed NDIS_STATUS_SEND_ABORTED by a send cancel */
    /* The control path (host_control.c); filter_* are NDIS's calls into the
       adapter's filters (adapter.h, enum emu_filter_call). */
    EMU_OID_ISSUED,             /* by the protocol */
    EMU_OID_PENDED,             /* of those, NDIS_STATUS_PENDING at first */
    EMU_OID_COMPLETED,          /* back at the protocol */
    EMU_OID_CANCELLED,          /* completed NDIS_STATUS_REQUEST_ABORTED after a cancel */
    EMU_OID_UNEXPECTED_ANSWERS, /* answered other than a pass-through stack answers */
    EMU_STATUS_INDICATED,       /* by the miniport: link state, reset start/end */
    EMU_STATUS_DELIVERED,       /* reached the protocol */
    EMU_NET_PNP_DELIVERED,      /* Net PnP events that reached the protocol */
    EMU_DEVICE_PNP_AT_MINIPORT, /* device PnP events that reached the miniport */
    EMU_RESETS,
    EMU_SEND_CANCELS,             /* NdisCancelSendNetBufferLists by the protocol */
    EMU_SEND_CANCELS_AT_MINIPORT, /* ... that reached the miniport */
    EMU_FILTER_OID_REQUESTS,
    EMU_FILTER_OID_CANCELS,
    EMU_FILTER_STATUS_INDICATIONS,
    EMU_FILTER_NET_PNP_EVENTS,
    EMU_FILTER_DEVICE_PNP_EVENTS,
    EMU_FILTER_SEND_CANCELS,
    EMU_FILTER_RESTARTS_WITH_ATTRIBUTES,
    EMU_HOST_COUNTER_COUNT
};
const char *emu_host_counter_name(enum emu_host_counter c); /* "rx_originated", ... */

struct emu_host_figures {
    uint64_t v[EMU_HOST_COUNTER_COUNT];
};

/*
 * Creates adapter `index` (Paused, no module: see adapter.h) with this host
 * at both ends and preallocates every NBL it will use. PASSIVE_LEVEL.
 */
struct emu_host *emu_host_create(unsigned index, const struct emu_host_config *cfg, char *err,
                                 size_t errlen);
struct emu_adapter *emu_host_adapter(struct emu_host *h);
/* Starts the pacing and sender threads; they originate only while the
   adapter's stack is running (the miniport/protocol are restarted). */
void emu_host_start_traffic(struct emu_host *h);
/* Stops and joins them: nothing new is originated afterwards. Outstanding
   NBLs still come back through the stack (pause the adapter to wait). */
void emu_host_stop_traffic(struct emu_host *h);
/* Sums the per-CPU counters; exact once traffic is stopped and the stack paused. */
void emu_host_figures(const struct emu_host *h, struct emu_host_figures *out);
/*
 * The control path, from any PASSIVE_LEVEL thread while the adapter exists
 * (churn, conformance). oid_burst issues every OID of the protocol's set one
 * at a time (some pended by the miniport, one cancelled) and waits for each;
 * link indicates NDIS_STATUS_LINK_STATE; reset indicates RESET_START and
 * RESET_END; power_cycle runs a Net PnP power cycle and a device PnP event;
 * cancel_sends has the protocol's sender call NdisCancelSendNetBufferLists
 * once (it runs only while the protocol sends).
 */
void emu_host_oid_burst(struct emu_host *h);
void emu_host_link(struct emu_host *h, bool up);
void emu_host_reset(struct emu_host *h);
void emu_host_power_cycle(struct emu_host *h);
void emu_host_cancel_sends(struct emu_host *h);
/* Every receive indication with NDIS_RECEIVE_FLAGS_RESOURCES (on), or the
   usual one in 16 (off). */
void emu_host_set_rx_resources(struct emu_host *h, bool all);

/* Destroys the adapter (detaching every module) and frees the pools. */
void emu_host_destroy(struct emu_host *h);

#endif
