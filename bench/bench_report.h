/* hotlwf-bench: summarizing runs into ratios, and the table, JSON and plot made from them. */
#ifndef HOTLWF_BENCH_REPORT_H
#define HOTLWF_BENCH_REPORT_H

#include <stdio.h>
#include "bench.h"

struct bench_summary {
    unsigned ok_runs, failed_runs;
    int last_failure; /* exit status of the last failed run */
    double pps, pps_ratio, overhead_ns_per_batch;
    uint64_t lost, dropped_dummy, blackholed, reconfigs;
    double lost_per_reconfig, dropped_per_reconfig, blackholed_per_reconfig;
    int64_t bypassed; /* bench_run.bypassed summed over the runs */
    double bypassed_per_reconfig;
    double max_stall_us, stall_ratio;
    double reconfig_p50_us, reconfig_p99_us, grace_p50_us;
    uint64_t peak_pending, violations;
    bool deadlock;
    unsigned deadlock_runs;     /* runs that ended in a watchdog finding */
    char deadlock_callback[48]; /* the callback the last finding named */
    char deadlock_module[64];
    double deadlock_after_ms; /* median over those runs */
    /* Reconfiguration latency at quantile i / 100, the runs' own quantiles pooled. */
    double cdf_us[BENCH_CDF_POINTS];
};

struct bench_point {
    struct bench_params params;
    const char *scale; /* NULL: a single point */
    unsigned value;
    unsigned nstrat, reps;
    const char *name[BENCH_MAX_STRATEGIES];
    struct bench_run run[BENCH_MAX_STRATEGIES][BENCH_MAX_REPS];
    struct bench_summary sum[BENCH_MAX_STRATEGIES];
};

void bench_summarize(struct bench_point *pt);
void bench_print_markdown(FILE *f, const struct bench_point *pts, unsigned n);
int bench_write_json(const char *path, const struct bench_point *pts, unsigned n);
/*
 * Runs bench/plot.sh on the JSON just written: kind "storm" draws
 * PREFIX-timeline.png and PREFIX-latency.png, "rules" PREFIX.png.
 */
int bench_plot_script(const char *kind, const char *json, const char *prefix);
/*
 * --check: epoch present, every run clean, >= 85% of unsafe's pps, nothing
 * lost; every run of a variant that must deadlock (fence) ended in a
 * watchdog finding naming FilterPause. 0 = pass.
 */
int bench_check(const struct bench_point *pts, unsigned n);

#endif
