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
#define BENCH_CDF_POINTS 101    /* reconfiguration latency at quantiles 0, 1/100, ..., 1 */
/* The parent samples delivered packets this often: a stall shorter reads 0. */
#define BENCH_SAMPLE_US 500.0

struct bench_params {
    const char *driver;  /* build/lib/hotlwf.so */
    const char *traffic; /* a pcap, or "gen" */
    unsigned cpus, adapters, batch, rules;
    /*
     * What the rules look like (bench_rules.c): "never" (the default: one
     * byte compare that never matches), or pcap-filter block lists of
     * "hosts", "ports", "prefixes", or "mixed" (the three in turn).
     */
    const char *rule_shape;
    double seconds;
    unsigned reconfig_rate; /* SET_CONFIGs per second during the run; 0: none */
    unsigned watchdog_ms;
    /*
     * Off for timing (DESIGN.md, "Measuring"): the NBL-ownership bookkeeping
     * costs more than the difference between strategies. The correctness
     * checks that remain do not need it: loss is read from the hosts'
     * counters, deadlocks from the watchdog, which runs either way.
     */
    bool verifier;
};

/*
 * A row of the table is a variant: the Strategy parameter plus the stack it
 * needs (fence only deadlocks with two modules on a stack; rereg behaves
 * differently for a mandatory and an optional filter). Names that are not
 * variants are Strategy values run on the default stack.
 */
struct bench_variant {
    const char *name;     /* the row */
    const char *strategy; /* the Strategy driver parameter */
    const char *stack;    /* adapter.h spec; NULL: hotlwf once */
    unsigned watchdog_ms; /* 0: the run's; otherwise at most this */
    bool expect_deadlock; /* the run exists to show ndisemu detecting it */
    bool verifier;        /* forced on: the row prices the emulator's own bookkeeping */
    bool reload;          /* each SET_CONFIG is followed by a driver reload (BENCH_RELOAD_MAX_HZ) */
};
/* A reload takes milliseconds: the reload row's storm runs at most this many a second. */
#define BENCH_RELOAD_MAX_HZ 20u
/* The variant named name (a plain strategy if none is listed). */
struct bench_variant bench_variant(const char *name);

/* What one child run sends back through its pipe (same binary, so raw bytes). */
struct bench_run {
    int exit_status; /* filled by the parent: 0 ok, 3 deadlock, other: crash */
    double seconds;
    uint64_t rx_originated, rx_delivered, rx_dropped_by_filter, rx_not_originated;
    uint64_t tx_sent, tx_reached, tx_dropped_by_filter, tx_refused_paused;
    uint64_t reconfigs, reconfig_failed;
    /*
     * Packets the hosts moved end to end (rx_delivered + tx_reached) minus
     * packets the driver saw and passed (GET_STATS, cumulative across
     * detach/attach), both read with every stack paused so neither moves:
     * what crossed the stack without the filter (rereg on an optional filter).
     */
    int64_t bypassed;
    /* rx_not_originated + tx_refused_paused when the storm ended: traffic a paused stack refused.
     */
    uint64_t refused_paused;
    double reconfig_p50_us, reconfig_p99_us, grace_p50_us;
    double max_stall_us;   /* longest gap with no packet delivered while traffic ran */
    uint64_t peak_pending; /* snapshots alive at once, from the driver's pool, peak */
    uint64_t violations;   /* verifier findings */
    bool deadlock;
    /* The watchdog's finding, when deadlock: what ndisemu names as blocked. */
    double deadlock_after_ms; /* from the start of the run to the finding */
    char deadlock_module[64], deadlock_callback[48], deadlock_message[160];
    double timeline_pps[BENCH_TIMELINE_BINS];
    uint16_t timeline_reconfigs[BENCH_TIMELINE_BINS]; /* SET_CONFIGs started in each bin */
    float reconfig_cdf_us[BENCH_CDF_POINTS];          /* latency at quantile i / 100 */
};

/*
 * Where the child writes its bench_run. On a deadlock the watchdog's
 * handler writes it there (with the finding) and exits 3: a deadlocked
 * emulated kernel cannot be unwound, so the run never returns normally.
 */
void bench_child_set_report_fd(int fd);
/* Runs one strategy in this (child) process; never returns to the caller's loop state. */
int bench_child_run(const struct bench_params *p, const char *strategy, struct bench_run *out,
                    char *err, size_t errlen);

#endif
