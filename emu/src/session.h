/*
 * One emulation run, programmatically: what the ndisemu CLI, the tests and
 * the benchmark drive. create (kernel, drivers, adapters with their hosts)
 * -> start (stacks up, traffic, churn, device socket) -> run_for -> stop
 * (traffic, stacks paused, drivers unloaded, leak checks) -> destroy.
 * All calls from one controlling thread, at PASSIVE_LEVEL.
 */
#ifndef NDISEMU_SESSION_H
#define NDISEMU_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

#define EMU_SESSION_MAX_DRIVERS 16
#define EMU_SESSION_MAX_PARAMS 64

struct emu_session_config {
    unsigned cpus;      /* 0: host cores, at most 64 */
    unsigned adapters;  /* default 1 */
    unsigned rx_queues; /* receive queues (CPUs) per adapter; 0: min(cpus, 4) */
    const char *drivers[EMU_SESSION_MAX_DRIVERS];
    unsigned ndrivers;
    const char *stack;   /* adapter.h spec; NULL: every driver once, in order; "": none */
    const char *traffic; /* "gen" (default), "mtu" (frames up to and beyond the
                            Ethernet MTU, jumbo included) or a pcap file */
    uint64_t rate;       /* receive packets/s per adapter; 0 = as fast as possible */
    uint64_t tx_rate;    /* protocol sends/s per adapter; 0 = as fast as possible */
    bool tx;             /* the protocol sends (default on) */
    unsigned batch;      /* default 32 */
    const char *split;   /* none | half | random | every:N (default none) */
    double seconds;      /* run_for default; 5 */
    double churn;        /* churn events per second; 0 = none */
    unsigned churn_mix;  /* EMU_CHURN_* bits; 0: EMU_CHURN_DEFAULT */
    const char *params[EMU_SESSION_MAX_PARAMS]; /* "Name=Value" or "driver:Name=Value" */
    unsigned nparams;
    const char *device_socket; /* NULL: none */
    unsigned watchdog_ms;      /* 0: default 10000 */
    unsigned dpc_watchdog_ms;  /* DISPATCH_LEVEL stretch, CPU-time ms; 0: default 5000 */
    const char *fault_injection; /* NULL: none; else "RATE|every=N[,seed=S]" (fault.h) */
    bool verifier;             /* default on */
    bool recycle;              /* default on: receive NBLs reused, not reallocated */
    uint64_t seed;             /* default 1 */
};

/* What a churn event may be, picked uniformly among the chosen ones. */
enum {
    EMU_CHURN_RESTART = 1u << 0, /* pause the stack, restart it */
    EMU_CHURN_DETACH = 1u << 1,  /* pause, detach a module, attach it again, restart */
    EMU_CHURN_OID = 1u << 2,     /* the protocol's OID set, one pended OID cancelled */
    EMU_CHURN_STATUS = 1u << 3,  /* link down, then up (NDIS_STATUS_LINK_STATE) */
    EMU_CHURN_PNP = 1u << 4,     /* device PnP event, then a Net PnP power cycle */
    EMU_CHURN_RESET = 1u << 5,   /* NDIS_STATUS_RESET_START, RESET_END */
    EMU_CHURN_CANCEL = 1u << 6,  /* NdisCancelSendNetBufferLists from the protocol */
    EMU_CHURN_ALL = (1u << 7) - 1,
    EMU_CHURN_DEFAULT = EMU_CHURN_ALL,
};
/* "restart,oid,..." or "all" -> bits; false on an unknown name. */
bool emu_churn_parse(const char *list, unsigned *out);

/* One second of the run, for a throughput timeline. */
struct emu_session_sample {
    double t;              /* seconds since start, end of the interval */
    uint64_t rx_delivered; /* during the interval, all adapters */
    uint64_t rx_originated;
    uint64_t tx_completed;
    size_t findings; /* total so far */
};

struct emu_session;

void emu_session_config_init(struct emu_session_config *c);
/* NULL with a message in err; usage-type problems (bad split, missing
   file) are reported here, before anything runs. */
struct emu_session *emu_session_create(const struct emu_session_config *c, char *err,
                                       size_t errlen);
bool emu_session_start(struct emu_session *s, char *err, size_t errlen);
/* Runs until `seconds` elapse or *interrupt becomes non-zero (a signal
   handler's flag; may be NULL). progress, if set, is called about once a
   second from this thread. */
void emu_session_run_for(struct emu_session *s, double seconds, volatile sig_atomic_t *interrupt,
                         void (*progress)(struct emu_session *s, double elapsed, void *ctx),
                         void *ctx);
/* The hosts stop originating packets; stacks, drivers and devices stay up.
   For a caller that must pause stacks without the pause itself turning
   in-flight indications into drops (a Pausing filter returns them). */
void emu_session_stop_traffic(struct emu_session *s);
/* Stop traffic, pause stacks, unload drivers (leak checks), destroy adapters. */
void emu_session_stop(struct emu_session *s);
void emu_session_destroy(struct emu_session *s);

unsigned emu_session_cpus(const struct emu_session *s);
double emu_session_elapsed(const struct emu_session *s);
unsigned emu_session_adapter_count(const struct emu_session *s);
const char *emu_session_adapter_name(const struct emu_session *s, unsigned i);
/* Figures so far (exact after stop: taken before the adapters went away). */
void emu_session_figures(const struct emu_session *s, unsigned i, struct emu_host_figures *out);
size_t emu_session_samples(const struct emu_session *s, const struct emu_session_sample **out);
/* Churn events done so far. */
uint64_t emu_session_churn_events(const struct emu_session *s);
/* The adapter's host, for a driver of its control path (conformance.c). */
struct emu_host *emu_session_host(const struct emu_session *s, unsigned i);

/* Packets/s delivered to protocols over the last complete second. */
double emu_session_rate(const struct emu_session *s);

#endif
