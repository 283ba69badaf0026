/*
 * One benchmark run, inside a forked child: an ndisemu session with
 * hotlwf.so loaded under one Strategy, a reconfiguration storm from a
 * second thread (the same SET_CONFIG IOCTL lwfctl sends, through ndisemu's
 * in-process DeviceIoControl), and this thread sampling the delivered-packet
 * counters every half millisecond for stalls and the timeline.
 *
 * The storm thread only issues IOCTLs (PASSIVE_LEVEL, any host thread, as
 * device.h allows); every emu_session_* call stays on this thread, as
 * session.h asks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "bench.h"
#include "bench_rules.h"
#include "device.h"
#include "hotlwf/config.h"
#include "hotlwf/ioctl.h"
#include "kernel.h"
#include "session.h"
#include "verifier.h"

struct storm {
    const struct bench_params *p;
    uint8_t *blob[2];
    size_t blob_len[2];
    atomic_int stop;
    uint64_t *lat_ns, *grace_ns, *start_ns; /* start_ns: when each SET_CONFIG was sent */
    size_t n, cap;
    uint64_t failed;
    struct emu_driver *reload; /* the driver to reload after each SET_CONFIG; NULL: none */
};

static const struct bench_variant variants[] = {
    /* A monitoring filter's two modules on one stack: the rendezvous can never complete. */
    {"fence", "fence", "hotlwf,hotlwf", 2000, true, false, false},
    /* While unregistered, an optional filter is bypassed and a mandatory one blackholes. */
    {"rereg-optional", "rereg", "hotlwf:optional", 0, false, false, false},
    {"rereg-mandatory", "rereg", "hotlwf:mandatory", 0, false, false, false},
    /*
     * Restart the driver, persisting its state: SET_CONFIG persists, then
     * the storm reloads hotlwf (ndisemu's stand-in for sc stop / sc start);
     * the outage is the whole detach, unload, load, attach cycle.
     */
    {"reload", "reload", NULL, 0, false, false, true},
    /* epoch again with the verifier on: what ndisemu's bookkeeping costs, beside the rows without
       it. */
    {"epoch+verifier", "epoch", NULL, 0, false, true, false},
};

struct bench_variant bench_variant(const char *name)
{
    struct bench_variant v = {name, name, NULL, 0, false, false, false};
    size_t i;

    for (i = 0; i < sizeof(variants) / sizeof(*variants); i++)
        if (strcmp(variants[i].name, name) == 0)
            v = variants[i];
    return v;
}

static int report_fd = -1;

void bench_child_set_report_fd(int fd)
{
    report_fd = fd;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void push(struct storm *st, uint64_t t0, uint64_t lat, uint64_t grace)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 4096;
        st->lat_ns = realloc(st->lat_ns, st->cap * sizeof(*st->lat_ns));
        st->grace_ns = realloc(st->grace_ns, st->cap * sizeof(*st->grace_ns));
        st->start_ns = realloc(st->start_ns, st->cap * sizeof(*st->start_ns));
        if (!st->lat_ns || !st->grace_ns || !st->start_ns)
            abort();
    }
    st->start_ns[st->n] = t0;
    st->lat_ns[st->n] = lat;
    st->grace_ns[st->n++] = grace;
}

static void *storm_thread(void *arg)
{
    struct storm *st = arg;
    unsigned rate = st->p->reconfig_rate;
    uint64_t period, next = now_ns();
    unsigned k = 0;

    if (st->reload != NULL && rate > BENCH_RELOAD_MAX_HZ)
        rate = BENCH_RELOAD_MAX_HZ;
    period = 1000000000ull / rate;

    while (!atomic_load(&st->stop)) {
        struct hl_set_config_result res;
        ULONG info = 0;
        uint64_t t0 = now_ns();
        NTSTATUS status = emu_device_ioctl(NULL, HL_IOCTL_SET_CONFIG, st->blob[k],
                                           (ULONG)st->blob_len[k], &res, sizeof(res), &info);

        if (status != STATUS_SUCCESS || info < sizeof(res) || res.status != HL_OK) {
            st->failed++;
        } else if (st->reload != NULL) {
            /*
             * The reconfiguration is over when the restarted driver is
             * attached again: NDIS attaches a registered filter from a work
             * item, hence the drain. This thread also sends every IOCTL, so
             * none can reach the device while it is gone.
             */
            if (!NT_SUCCESS(emu_driver_reload(st->reload))) {
                st->failed++;
            } else {
                emu_work_drain();
                push(st, t0, now_ns() - t0, res.grace_ns);
            }
        } else {
            push(st, t0, now_ns() - t0, res.grace_ns);
        }
        k ^= 1;
        /* Fixed schedule; a strategy slower than the rate just runs back to back. */
        next += period;
        if (next > now_ns()) {
            struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};

            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        } else {
            next = now_ns();
        }
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double q)
{
    return n ? (double)v[(size_t)(q * (double)(n - 1))] / 1000.0 : 0;
}

static uint64_t delivered(struct emu_session *s, uint64_t *pool_count, struct emu_driver *d)
{
    uint64_t sum = 0;
    unsigned i;

    for (i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;

        emu_session_figures(s, i, &f);
        sum += f.v[EMU_RX_DELIVERED] + f.v[EMU_TX_REACHED_MINIPORT];
    }
    if (pool_count && d) {
        size_t c = 0;

        emu_pool_outstanding(d, &c, NULL);
        *pool_count = c;
    }
    return sum;
}

/* Sum over the driver's adapters of what it saw and passed; false if GET_STATS failed. */
static bool driver_passed(uint64_t *passed)
{
    struct hl_stats_header h;
    uint8_t *buf;
    ULONG info = 0;
    NTSTATUS st = emu_device_ioctl(NULL, HL_IOCTL_GET_STATS, NULL, 0, &h, sizeof(h), &info);
    const struct hl_stats_adapter *a;
    uint32_t i;

    if (st != (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW && st != (NTSTATUS)HL_STATUS_SUCCESS)
        return false;
    buf = malloc(h.size_needed);
    if (buf == NULL)
        return false;
    /* The stacks are paused: nothing attaches or detaches, so the size cannot change. */
    if (emu_device_ioctl(NULL, HL_IOCTL_GET_STATS, NULL, 0, buf, h.size_needed, &info) !=
        (NTSTATUS)HL_STATUS_SUCCESS) {
        free(buf);
        return false;
    }
    memcpy(&h, buf, sizeof(h));
    a = (const void *)(buf + sizeof(h) + (size_t)h.rule_count * sizeof(struct hl_stats_rule));
    *passed = 0;
    for (i = 0; i < h.adapter_count; i++)
        *passed += a[i].rx_seen - a[i].rx_dropped + a[i].tx_seen - a[i].tx_dropped;
    free(buf);
    return true;
}

/*
 * bypassed and refused_paused (bench.h). Traffic stops first: pausing a
 * stack under traffic makes each filter hand back what the miniport still
 * indicates while it is Pausing (the contract), which is the bench's doing,
 * not the strategy's, and would be counted as lost. Pausing every stack brings every
 * NBL back to its source, so the hosts' moved counts and the driver's
 * passed counts are final and compared at one instant; the stacks are then
 * restarted for emu_session_stop's documented order. The sends the hosts
 * had refused while this held the stacks paused are the bench's doing, not
 * the strategy's: *bench_refused (set to 0 by the caller) returns them.
 */
static void measure_bypass(struct emu_session *s, struct bench_run *out, uint64_t *bench_refused)
{
    uint64_t moved = 0, passed = 0;
    unsigned i, n = emu_adapter_count();

    emu_session_stop_traffic(s);
    for (i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;

        emu_session_figures(s, i, &f);
        out->refused_paused += f.v[EMU_RX_NOT_ORIGINATED] + f.v[EMU_TX_REFUSED_PAUSED];
        *bench_refused -= f.v[EMU_TX_REFUSED_PAUSED];
    }
    for (i = 0; i < n; i++)
        emu_adapter_pause(emu_adapter_get(i));
    for (i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;

        emu_session_figures(s, i, &f);
        moved += f.v[EMU_RX_DELIVERED] + f.v[EMU_TX_REACHED_MINIPORT];
    }
    if (driver_passed(&passed))
        out->bypassed = (int64_t)(moved - passed);
    for (i = 0; i < n; i++)
        emu_adapter_restart(emu_adapter_get(i));
    for (i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;

        emu_session_figures(s, i, &f);
        *bench_refused += f.v[EMU_TX_REFUSED_PAUSED];
    }
}

/* Copies the JSON string value that follows key in obj (escapes kept as they are). */
static void json_field(const char *obj, const char *key, char *out, size_t outlen)
{
    const char *v = strstr(obj, key);
    size_t n = 0;

    out[0] = '\0';
    if (v == NULL || outlen == 0)
        return;
    v += strlen(key);
    while (*v && *v != '"' && n + 1 < outlen) {
        if (*v == '\\' && v[1])
            v++;
        out[n++] = *v++;
    }
    out[n] = '\0';
}

struct deadlock_ctx {
    struct bench_run *out;
    uint64_t start_ns;
    unsigned calls;
};

/*
 * The watchdog's handler, on the watchdog thread. The IOCTL that started
 * the rendezvous and the Pause it blocks begin within microseconds of each
 * other but may be reported on two passes of the watchdog: the finding that
 * names a filter callback is the one that says why, so the first pass that
 * has none is let go once (the next pass is 100 ms later).
 */
static void on_deadlock(void *arg)
{
    struct deadlock_ctx *dc = arg;
    struct bench_run *out = dc->out;
    char *text = NULL, *obj, *pick = NULL, *first = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        _exit(3);
    emu_violations_print(f, true);
    fclose(f);
    for (obj = strstr(text, "{\"rule\": \"deadlock\""); obj;
         obj = strstr(obj + 1, "{\"rule\": \"deadlock\"")) {
        char cb[48];

        if (first == NULL)
            first = obj;
        json_field(obj, "\"callback\": \"", cb, sizeof(cb));
        if (pick == NULL && strncmp(cb, "Filter", 6) == 0)
            pick = obj;
    }
    if (pick == NULL && dc->calls++ == 0) {
        free(text);
        return;
    }
    if (pick == NULL)
        pick = first;
    out->deadlock = true;
    out->deadlock_after_ms = (double)(now_ns() - dc->start_ns) / 1e6;
    if (pick) {
        json_field(pick, "\"module\": \"", out->deadlock_module, sizeof(out->deadlock_module));
        json_field(pick, "\"callback\": \"", out->deadlock_callback,
                   sizeof(out->deadlock_callback));
        json_field(pick, "\"message\": \"", out->deadlock_message, sizeof(out->deadlock_message));
    }
    out->violations = emu_violation_count();
    fprintf(stderr, "\nhotlwf-bench: deadlock detected after %.0f ms: %s in %s (%s)\n",
            out->deadlock_after_ms, out->deadlock_module, out->deadlock_callback,
            out->deadlock_message);
    if (report_fd >= 0 && write(report_fd, out, sizeof(*out)) != (ssize_t)sizeof(*out))
        _exit(5);
    _exit(EMU_EXIT_DEADLOCK);
}

/* The loaded driver, for its pool accounting: ndisemu dlopen()ed it from this path. */
static struct emu_driver *find_driver(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    struct emu_driver *d = NULL;

    if (h) {
        void *entry = dlsym(h, "DriverEntry");

        if (entry)
            d = emu_driver_for_address(entry);
        dlclose(h);
    }
    return d;
}

int bench_child_run(const struct bench_params *p, const char *strategy, struct bench_run *out,
                    char *err, size_t errlen)
{
    struct emu_session_config c;
    struct emu_session *s;
    struct storm st = {.p = p};
    pthread_t storm_tid;
    char param[128];
    struct emu_driver *d;
    uint64_t start, end, last_progress, last_count, base_pool = 0, pool = 0, bench_refused = 0;
    unsigned i;
    struct bench_variant v = bench_variant(strategy);
    static struct deadlock_ctx dc;

    memset(out, 0, sizeof(*out));
    dc.out = out;
    dc.start_ns = now_ns();
    dc.calls = 0;
    emu_set_deadlock_handler(on_deadlock, &dc);
    emu_session_config_init(&c);
    c.cpus = p->cpus;
    c.adapters = p->adapters;
    c.drivers[0] = p->driver;
    c.ndrivers = 1;
    c.traffic = p->traffic;
    c.batch = p->batch;
    c.seconds = p->seconds;
    c.verifier = p->verifier || v.verifier;
    c.recycle = true;
    c.watchdog_ms = p->watchdog_ms;
    if (v.watchdog_ms && (c.watchdog_ms == 0 || c.watchdog_ms > v.watchdog_ms))
        c.watchdog_ms = v.watchdog_ms;
    c.stack = v.stack;
    snprintf(param, sizeof(param), "Strategy=%s", v.strategy);
    c.params[0] = param;
    c.nparams = 1;

    st.blob[0] = bench_rules_blob(p->rule_shape, p->rules, 0, &st.blob_len[0], err, errlen);
    st.blob[1] = st.blob[0] ? bench_rules_blob(p->rule_shape, p->rules, 1, &st.blob_len[1], err,
                                               errlen)
                            : NULL;
    if (!st.blob[0] || !st.blob[1])
        return -1;
    s = emu_session_create(&c, err, errlen);
    if (s == NULL)
        return -1;
    if (!emu_session_start(s, err, errlen)) {
        emu_session_destroy(s);
        return -1;
    }
    d = find_driver(p->driver);

    /* The first configuration is not part of the storm: it sets the rule count for every run. */
    {
        struct hl_set_config_result res;
        ULONG info = 0;

        if (emu_device_ioctl(NULL, HL_IOCTL_SET_CONFIG, st.blob[1], (ULONG)st.blob_len[1], &res,
                             sizeof(res), &info) != STATUS_SUCCESS ||
            res.status != HL_OK) {
            snprintf(err, errlen, "initial SET_CONFIG failed");
            emu_session_stop(s);
            emu_session_destroy(s);
            return -1;
        }
    }
    last_count = delivered(s, &base_pool, d);
    atomic_init(&st.stop, 0);
    st.reload = v.reload ? d : NULL;
    if (v.reload && d == NULL) {
        snprintf(err, errlen, "reload: cannot find the loaded driver");
        emu_session_stop(s);
        emu_session_destroy(s);
        return -1;
    }
    dc.start_ns = now_ns(); /* deadlock_after_ms counts from the first SET_CONFIG */
    if (p->reconfig_rate)
        pthread_create(&storm_tid, NULL, storm_thread, &st);

    start = last_progress = now_ns();
    end = start + (uint64_t)(p->seconds * 1e9);
    {
        uint64_t bin_ns = (end - start) / BENCH_TIMELINE_BINS, bin_start = start,
                 bin_count = last_count;
        unsigned bin = 0;

        for (;;) {
            uint64_t now, count;

            emu_session_run_for(s, BENCH_SAMPLE_US / 1e6, NULL, NULL, NULL);
            now = now_ns();
            count = delivered(s, &pool, d);
            if (pool > base_pool && pool - base_pool > out->peak_pending)
                out->peak_pending = pool - base_pool;
            if (count != last_count) {
                last_count = count;
                last_progress = now;
            } else if ((double)(now - last_progress) / 1000.0 > out->max_stall_us) {
                out->max_stall_us = (double)(now - last_progress) / 1000.0;
            }
            while (bin < BENCH_TIMELINE_BINS && now >= bin_start + bin_ns) {
                out->timeline_pps[bin++] = (double)(count - bin_count) / ((double)bin_ns / 1e9);
                bin_start += bin_ns;
                bin_count = count;
            }
            if (now >= end)
                break;
        }
    }
    if (p->reconfig_rate) {
        atomic_store(&st.stop, 1);
        pthread_join(storm_tid, NULL);
    }
    out->seconds = (double)(now_ns() - start) / 1e9;
    measure_bypass(s, out, &bench_refused);
    emu_session_stop(s);

    for (i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;

        emu_session_figures(s, i, &f);
        out->rx_originated += f.v[EMU_RX_ORIGINATED];
        out->rx_delivered += f.v[EMU_RX_DELIVERED];
        out->rx_dropped_by_filter += f.v[EMU_RX_DROPPED_BY_FILTER];
        out->rx_not_originated += f.v[EMU_RX_NOT_ORIGINATED];
        out->tx_sent += f.v[EMU_TX_SENT];
        out->tx_reached += f.v[EMU_TX_REACHED_MINIPORT];
        out->tx_dropped_by_filter += f.v[EMU_TX_DROPPED_BY_FILTER];
        out->tx_refused_paused += f.v[EMU_TX_REFUSED_PAUSED];
    }
    /* A refused send counts as sent and not reached: neither is the strategy's loss. */
    out->tx_sent -= bench_refused;
    out->tx_refused_paused -= bench_refused;
    /* The timeline's reconfiguration marks: SET_CONFIGs sent in each bin (before the sort). */
    for (i = 0; i < st.n; i++) {
        uint64_t bin_ns = (end - start) / BENCH_TIMELINE_BINS;
        if (st.start_ns[i] >= start && bin_ns > 0 &&
            (st.start_ns[i] - start) / bin_ns < BENCH_TIMELINE_BINS &&
            out->timeline_reconfigs[(st.start_ns[i] - start) / bin_ns] < UINT16_MAX)
            out->timeline_reconfigs[(st.start_ns[i] - start) / bin_ns]++;
    }
    qsort(st.lat_ns, st.n, sizeof(*st.lat_ns), cmp_u64);
    for (i = 0; i < BENCH_CDF_POINTS; i++)
        out->reconfig_cdf_us[i] = (float)pct_us(st.lat_ns, st.n, (double)i / (BENCH_CDF_POINTS - 1));
    qsort(st.grace_ns, st.n, sizeof(*st.grace_ns), cmp_u64);
    out->reconfigs = st.n;
    out->reconfig_failed = st.failed;
    out->reconfig_p50_us = pct_us(st.lat_ns, st.n, 0.5);
    out->reconfig_p99_us = pct_us(st.lat_ns, st.n, 0.99);
    out->grace_p50_us = pct_us(st.grace_ns, st.n, 0.5);
    out->violations = emu_violation_count();
    out->deadlock = emu_violation_count_rule(EMU_RULE_DEADLOCK) != 0;
    emu_session_destroy(s);
    free(st.lat_ns);
    free(st.grace_ns);
    free(st.start_ns);
    free(st.blob[0]);
    free(st.blob[1]);
    return 0;
}
