/*
 * hotlwf-bench: every reconfiguration strategy on ndisemu, same capture,
 * rules, CPUs, adapters and batch size, interleaved over repetitions, one
 * child process per run (a deadlocked or crashed strategy takes only its
 * own run down), figures reported as ratios to `unsafe` of the same
 * repetition (DESIGN.md, "Measuring").
 */
#ifndef HOTLWF_BENCH_H
#define HOTLWF_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_STRATEGIES 16
#define BENCH_MAX_REPS 32
#define BENCH_TIMELINE_BINS 200 /* throughput samples per run, for --plot */

struct bench_params {
    const char *driver;  /* build/lib/hotlwf.so */
    const char *traffic; /* a pcap, or "gen" */
    unsigned cpus, adapters, batch, rules;
    double seconds;
    unsigned reconfig_rate; /* SET_CONFIGs per second during the run; 0: none */
    unsigned watchdog_ms;
    bool verifier;
};

/* What one child run sends back through its pipe (same binary, so raw bytes). */
struct bench_run {
    int exit_status; /* filled by the parent: 0 ok, 3 deadlock, other: crash */
    double seconds;
    uint64_t rx_originated, rx_delivered, rx_dropped_by_filter, rx_not_originated;
    uint64_t tx_sent, tx_reached, tx_dropped_by_filter, tx_refused_paused;
    uint64_t reconfigs, reconfig_failed;
    double reconfig_p50_us, reconfig_p99_us, grace_p50_us;
    double max_stall_us;   /* longest gap with no packet delivered while traffic ran */
    uint64_t peak_pending; /* snapshots alive at once, from the driver's pool, peak */
    uint64_t violations;   /* verifier findings */
    bool deadlock;
    double timeline_pps[BENCH_TIMELINE_BINS];
};

/* Runs one strategy in this (child) process; never returns to the caller's loop state. */
int bench_child_run(const struct bench_params *p, const char *strategy, struct bench_run *out,
                    char *err, size_t errlen);

#endif
