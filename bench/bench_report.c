/*
 * Ratios, not absolute times: every figure that depends on the machine is
 * divided by `unsafe`'s figure from the same repetition before the median
 * over repetitions is taken, so a repetition slowed by a neighbour on this
 * shared machine slows the baseline with it.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool run_ok(const struct bench_run *r)
{
    return r->exit_status == 0 && r->seconds > 0;
}

static double run_pps(const struct bench_run *r)
{
    return (double)(r->rx_delivered + r->tx_reached) / r->seconds;
}

void bench_summarize(struct bench_point *pt)
{
    unsigned s, rep;

    for (s = 0; s < pt->nstrat; s++) {
        struct bench_summary *m = &pt->sum[s];
        double pps[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS], over[BENCH_MAX_REPS];
        double p50[BENCH_MAX_REPS], p99[BENCH_MAX_REPS], grace[BENCH_MAX_REPS];
        double dl_ms[BENCH_MAX_REPS];
        unsigned n = 0, nr = 0, nd = 0;
        double stall_base = 0;

        memset(m, 0, sizeof(*m));
        for (rep = 0; rep < pt->reps; rep++) {
            const struct bench_run *r = &pt->run[s][rep], *u = &pt->run[0][rep];

            if (r->deadlock) {
                m->deadlock = true;
                m->deadlock_runs++;
                if (r->deadlock_callback[0]) {
                    memcpy(m->deadlock_callback, r->deadlock_callback,
                           sizeof(m->deadlock_callback));
                    memcpy(m->deadlock_module, r->deadlock_module, sizeof(m->deadlock_module));
                    dl_ms[nd++] = r->deadlock_after_ms;
                }
            }
            if (!run_ok(r)) {
                m->failed_runs++;
                m->last_failure = r->exit_status;
                continue;
            }
            m->ok_runs++;
            pps[n] = run_pps(r);
            p50[n] = r->reconfig_p50_us;
            p99[n] = r->reconfig_p99_us;
            grace[n] = r->grace_p50_us;
            n++;
            if (run_ok(u) && run_pps(u) > 0 && run_pps(r) > 0) {
                ratio[nr] = run_pps(r) / run_pps(u);
                over[nr] = (double)pt->params.batch * 1e9 * (1.0 / run_pps(r) - 1.0 / run_pps(u));
                nr++;
            }
            if (run_ok(u) && u->max_stall_us > stall_base)
                stall_base = u->max_stall_us;
            m->lost += (r->rx_originated - r->rx_delivered) + (r->tx_sent - r->tx_reached);
            m->dropped_dummy +=
                r->rx_dropped_by_filter + r->tx_dropped_by_filter + r->tx_refused_paused;
            /*
             * Blackholed: what a paused stack refused beyond what unsafe's
             * stack refused in the same repetition (start-up and the
             * traffic hosts' own back-pressure, not the strategy).
             */
            if (run_ok(u) && u->refused_paused < r->refused_paused)
                m->blackholed += r->refused_paused - u->refused_paused;
            else if (!run_ok(u))
                m->blackholed += r->refused_paused;
            m->bypassed += r->bypassed;
            m->reconfigs += r->reconfigs;
            if (r->max_stall_us > m->max_stall_us)
                m->max_stall_us = r->max_stall_us;
            if (r->peak_pending > m->peak_pending)
                m->peak_pending = r->peak_pending;
            m->violations += r->violations;
        }
        {
            /* Every run's quantiles weigh the same: pooled, then read at the same quantiles. */
            static double pool[BENCH_MAX_REPS * BENCH_CDF_POINTS];
            unsigned np = 0, i;

            for (rep = 0; rep < pt->reps; rep++) {
                const struct bench_run *r = &pt->run[s][rep];
                if (run_ok(r) && r->reconfigs > 0)
                    for (i = 0; i < BENCH_CDF_POINTS; i++)
                        pool[np++] = r->reconfig_cdf_us[i];
            }
            qsort(pool, np, sizeof(pool[0]), cmp_dbl);
            for (i = 0; i < BENCH_CDF_POINTS && np > 0; i++)
                m->cdf_us[i] = pool[(size_t)((double)i / (BENCH_CDF_POINTS - 1) * (np - 1))];
        }
        m->deadlock_after_ms = median(dl_ms, nd);
        m->pps = median(pps, n);
        m->pps_ratio = median(ratio, nr);
        m->overhead_ns_per_batch = median(over, nr);
        m->reconfig_p50_us = median(p50, n);
        m->reconfig_p99_us = median(p99, n);
        m->grace_p50_us = median(grace, n);
        /* Below the sampling period a stall reads 0: the ratio's base is at least that. */
        m->stall_ratio =
            m->max_stall_us / (stall_base > BENCH_SAMPLE_US ? stall_base : BENCH_SAMPLE_US);
        if (m->reconfigs) {
            m->lost_per_reconfig = (double)m->lost / (double)m->reconfigs;
            m->dropped_per_reconfig = (double)m->dropped_dummy / (double)m->reconfigs;
            m->blackholed_per_reconfig = (double)m->blackholed / (double)m->reconfigs;
            m->bypassed_per_reconfig = (double)m->bypassed / (double)m->reconfigs;
        }
    }
}

static int find_row(const struct bench_point *pt, const char *name)
{
    unsigned s;

    for (s = 0; s < pt->nstrat; s++)
        if (strcmp(pt->name[s], name) == 0)
            return (int)s;
    return -1;
}

/*
 * The emulator's own cost, reported apart from the strategies' as DESIGN.md
 * asks: the same epoch driver with and without ndisemu's bookkeeping.
 */
static void verifier_cost_line(FILE *f, const struct bench_point *pt)
{
    int off = find_row(pt, "epoch"), on = find_row(pt, "epoch+verifier");

    if (off < 0 || on < 0 || pt->params.verifier || pt->sum[off].ok_runs == 0 ||
        pt->sum[on].ok_runs == 0)
        return;
    fprintf(f,
            "\nverifier on: %.3g pps vs off: %.3g pps for epoch (bookkeeping: %.0f%% of the "
            "throughput)\n",
            pt->sum[on].pps, pt->sum[off].pps,
            pt->sum[off].pps > 0 ? 100.0 * (1.0 - pt->sum[on].pps / pt->sum[off].pps) : 0);
}

void bench_print_markdown(FILE *f, const struct bench_point *pts, unsigned n)
{
    unsigned i, s;

    for (i = 0; i < n; i++) {
        const struct bench_point *pt = &pts[i];
        const struct bench_params *p = &pt->params;

        fprintf(f,
                "\n### cpus=%u adapters=%u batch=%u rules=%u (%s) reconfig rate=%u/s, %.1f s x %u "
                "reps, verifier %s\n\n",
                p->cpus, p->adapters, p->batch, p->rules, p->rule_shape, p->reconfig_rate,
                p->seconds, pt->reps, p->verifier ? "on" : "off");
        fprintf(f, "| strategy | pps | pps / unsafe | overhead ns/batch | reconfig p50 us | "
                   "reconfig p99 us | grace p50 us | lost / reconfig | dummy-dropped / reconfig | "
                   "blackholed / reconfig | bypassed / reconfig | max stall us | stall / unsafe | "
                   "peak pending | "
                   "violations | deadlock | runs ok |\n");
        fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
                   "---|\n");
        for (s = 0; s < pt->nstrat; s++) {
            const struct bench_summary *m = &pt->sum[s];

            if (m->ok_runs == 0) {
                char dl[128] = "no";

                if (m->deadlock && m->deadlock_callback[0])
                    snprintf(dl, sizeof(dl), "**yes**: %s after %.0f ms (%u/%u runs)",
                             m->deadlock_callback, m->deadlock_after_ms, m->deadlock_runs,
                             pt->reps);
                else if (m->deadlock)
                    snprintf(dl, sizeof(dl), "**yes** (hung, killed)");
                fprintf(f, "| %s | failed (exit %d) |%s %s | %u/%u |\n", pt->name[s],
                        m->last_failure, " | | | | | | | | | | | | |", dl, m->ok_runs, pt->reps);
                continue;
            }
            fprintf(f,
                    "| %s | %.3g | %.3f | %.0f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | "
                    "%.0f | "
                    "%.2f | %llu | %llu | %s | %u/%u |\n",
                    pt->name[s], m->pps, m->pps_ratio, m->overhead_ns_per_batch, m->reconfig_p50_us,
                    m->reconfig_p99_us, m->grace_p50_us, m->lost_per_reconfig,
                    m->dropped_per_reconfig, m->blackholed_per_reconfig, m->bypassed_per_reconfig,
                    m->max_stall_us, m->stall_ratio, (unsigned long long)m->peak_pending,
                    (unsigned long long)m->violations, m->deadlock ? "**yes**" : "no", m->ok_runs,
                    pt->reps);
        }
        verifier_cost_line(f, pt);
    }
}

/*
 * What the plots draw (bench/plot.sh): the first repetition's timeline (one
 * storm, not an average that would smear its dips) with the SET_CONFIGs sent
 * in each bin, and the pooled latency quantiles.
 */
static void json_series(FILE *f, const struct bench_point *pt, unsigned s)
{
    const struct bench_run *r = &pt->run[s][0];
    unsigned b;

    fprintf(f, ",\"timeline_bin_s\":%.5f,\"timeline_pps\":[",
            pt->params.seconds / BENCH_TIMELINE_BINS);
    for (b = 0; b < BENCH_TIMELINE_BINS; b++)
        fprintf(f, "%s%.0f", b ? "," : "", run_ok(r) ? r->timeline_pps[b] : 0.0);
    fprintf(f, "],\"timeline_reconfigs\":[");
    for (b = 0; b < BENCH_TIMELINE_BINS; b++)
        fprintf(f, "%s%u", b ? "," : "", run_ok(r) ? (unsigned)r->timeline_reconfigs[b] : 0u);
    fprintf(f, "],\"reconfig_cdf_us\":[");
    for (b = 0; b < BENCH_CDF_POINTS; b++)
        fprintf(f, "%s%.2f", b ? "," : "", pt->sum[s].cdf_us[b]);
    fprintf(f, "]");
}

static void json_strategies(FILE *f, const struct bench_point *pt)
{
    unsigned s;

    fprintf(f, "[");
    for (s = 0; s < pt->nstrat; s++) {
        const struct bench_summary *m = &pt->sum[s];

        fprintf(f,
                "%s{\"name\":\"%s\",\"verifier\":%s,\"runs_ok\":%u,\"runs_failed\":%u,\"pps\":%.1f,"
                "\"pps_ratio\":%.4f,\"overhead_ns_per_batch\":%.1f,\"lost\":%llu,"
                "\"lost_per_reconfig\":%.4f,\"dropped_by_dummy\":%llu,\"blackholed\":%llu,"
                "\"bypassed\":%lld,\"reconfigs\":%llu,\"max_stall_us\":%.1f,\"stall_ratio\":%.3f,"
                "\"reconfig_p50_us\":%.2f,\"reconfig_p99_us\":%.2f,\"grace_p50_us\":%.2f,"
                "\"peak_pending\":%llu,\"violations\":%llu,\"deadlock_detected\":%s,"
                "\"deadlock_runs\":%u,\"deadlock_callback\":\"%s\",\"deadlock_module\":\"%s\","
                "\"deadlock_after_ms\":%.1f",
                s ? "," : "", pt->name[s],
                pt->params.verifier || bench_variant(pt->name[s]).verifier ? "true" : "false",
                m->ok_runs, m->failed_runs, m->pps, m->pps_ratio, m->overhead_ns_per_batch,
                (unsigned long long)m->lost, m->lost_per_reconfig,
                (unsigned long long)m->dropped_dummy, (unsigned long long)m->blackholed,
                (long long)m->bypassed, (unsigned long long)m->reconfigs, m->max_stall_us,
                m->stall_ratio, m->reconfig_p50_us, m->reconfig_p99_us, m->grace_p50_us,
                (unsigned long long)m->peak_pending, (unsigned long long)m->violations,
                m->deadlock ? "true" : "false", m->deadlock_runs, m->deadlock_callback,
                m->deadlock_module, m->deadlock_after_ms);
        json_series(f, pt, s);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

int bench_write_json(const char *path, const struct bench_point *pts, unsigned n)
{
    FILE *f = fopen(path, "w");
    const struct bench_params *p = &pts[0].params;
    unsigned i;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    fprintf(f,
            "{\"cpus\":%u,\"adapters\":%u,\"batch\":%u,\"rules\":%u,\"rule_shape\":\"%s\","
            "\"reconfig_rate\":%u,\"seconds\":%.2f,\"reps\":%u,\"traffic\":\"%s\","
            "\"verifier\":%s,\"strategies\":",
            p->cpus, p->adapters, p->batch, p->rules, p->rule_shape, p->reconfig_rate, p->seconds,
            pts[0].reps, p->traffic, p->verifier ? "true" : "false");
    json_strategies(f, &pts[0]);
    fprintf(f, ",\"scale\":%s%s%s,\"points\":[", pts[0].scale ? "\"" : "",
            pts[0].scale ? pts[0].scale : "null", pts[0].scale ? "\"" : "");
    for (i = 0; i < n; i++) {
        fprintf(f, "%s{\"value\":%u,\"strategies\":", i ? "," : "", pts[i].value);
        json_strategies(f, &pts[i]);
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

int bench_plot_script(const char *kind, const char *json, const char *prefix)
{
    char cmd[8192];

    if (snprintf(cmd, sizeof(cmd), "sh '%s' %s '%s' '%s'", HL_BENCH_PLOT_SCRIPT, kind, json,
                 prefix) >= (int)sizeof(cmd) ||
        strchr(json, '\'') != NULL || strchr(prefix, '\'') != NULL) {
        fprintf(stderr, "hotlwf-bench: --plot: path too long or quoted\n");
        return -1;
    }
    return system(cmd) == 0 ? 0 : -1;
}

int bench_check(const struct bench_point *pts, unsigned n)
{
    unsigned i, s;
    int bad = 0;

    for (i = 0; i < n; i++) {
        const struct bench_point *pt = &pts[i];
        bool seen = false;

        if (pt->sum[0].ok_runs != pt->reps) {
            fprintf(stderr, "CHECK: unsafe: %u of %u runs failed\n", pt->sum[0].failed_runs,
                    pt->reps);
            bad = 1;
        }
        for (s = 0; s < pt->nstrat; s++) {
            const struct bench_summary *m = &pt->sum[s];

            /* A deadlock that is not detected, or detected in the wrong place, is a failure. */
            if (bench_variant(pt->name[s]).expect_deadlock &&
                (m->deadlock_runs != pt->reps ||
                 strcmp(m->deadlock_callback, "FilterPause") != 0)) {
                fprintf(stderr, "CHECK: %s: deadlock detected in %u/%u runs, callback '%s'\n",
                        pt->name[s], m->deadlock_runs, pt->reps, m->deadlock_callback);
                bad = 1;
            }
            /* With the verifier on, epoch must still be clean: the bookkeeping is exercised. */
            if (strcmp(pt->name[s], "epoch+verifier") == 0 &&
                (m->ok_runs != pt->reps || m->violations || m->lost)) {
                fprintf(stderr,
                        "CHECK: epoch+verifier: %u/%u runs ok, %llu violations, %llu lost\n",
                        m->ok_runs, pt->reps, (unsigned long long)m->violations,
                        (unsigned long long)m->lost);
                bad = 1;
            }
            if (strcmp(pt->name[s], "epoch") != 0)
                continue;
            seen = true;
            if (m->ok_runs != pt->reps || m->deadlock || m->violations) {
                fprintf(stderr, "CHECK: epoch: %u/%u runs ok, %llu violations, deadlock %d\n",
                        m->ok_runs, pt->reps, (unsigned long long)m->violations, m->deadlock);
                bad = 1;
            }
            if (m->lost != 0) {
                fprintf(stderr, "CHECK: epoch lost %llu packets\n", (unsigned long long)m->lost);
                bad = 1;
            }
            /* The hosts' and the driver's counts must agree exactly where nothing detaches. */
            if (m->bypassed != 0) {
                fprintf(stderr, "CHECK: epoch bypassed by %lld packets\n", (long long)m->bypassed);
                bad = 1;
            }
            /*
             * The target is 0.99 and is reported, not asserted: the check
             * leaves room for the emulator's DPC hand-off cost and for the noise
             * of 1-second runs on 2 shared cores (docs/results.md).
             */
            if (m->pps_ratio < 0.85) {
                fprintf(stderr, "CHECK: epoch at %.3f of unsafe's pps (< 0.85)\n", m->pps_ratio);
                bad = 1;
            }
            if (pt->params.reconfig_rate && m->reconfigs == 0) {
                fprintf(stderr, "CHECK: epoch completed no reconfiguration\n");
                bad = 1;
            }
        }
        if (!seen) {
            fprintf(stderr, "CHECK: epoch was not run\n");
            bad = 1;
        }
    }
    return bad;
}
