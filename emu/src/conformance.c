/*
 * ndisemu --conformance (conformance.h). One controlling thread runs the
 * phases in order; everything a phase does to a stack goes through the
 * serialized control operations (adapter.h) and the hosts' control path
 * (host.h), so a phase ends with every operation it started finished.
 *
 * Packet checks (enum traffic_check): while a stack pauses, a filter
 * rightly hands back what arrives (a stack pauses top-down), so phases that
 * pause check that traffic flows again and nothing was corrupted, and the
 * control-path phases (media, reset, OIDs) only that nothing was corrupted:
 * a filter that breaks traffic fails the traffic phases, not those. The
 * traffic phases and the connectivity phase run on stacks that stay
 * Running; connectivity ends with traffic stopped before the stacks pause,
 * so there every packet originated either way must have reached the other
 * end.
 */
#include "conformance.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "verifier.h"

#define CONF_ADAPTERS 2
#define CONF_RATE 20000 /* packets/s each way per adapter */
#define CONF_MAX_PHASES 16

struct conf_phase {
    const char *name;
    bool pass;
    double seconds;
    size_t findings;
    char detail[256];
};

struct conf {
    struct emu_session *s;
    struct conf_phase phases[CONF_MAX_PHASES];
    unsigned nphases;
    bool json, quiet;
    const char *driver;
    struct emu_host_figures before[CONF_ADAPTERS];
};

static const char *const g_phase_names[] = {
    "load", "traffic", "receive-resources", "pause-restart",   "media",        "reset",
    "oid",  "pnp",     "send-cancel",       "detach-reattach", "connectivity", "unload",
};
#define CONF_NPHASES (sizeof(g_phase_names) / sizeof(g_phase_names[0]))

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void snap(struct conf *c)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_session_figures(c->s, i, &c->before[i]);
}

static uint64_t delta(struct conf *c, unsigned i, enum emu_host_counter k)
{
    struct emu_host_figures f;
    emu_session_figures(c->s, i, &f);
    return f.v[k] - c->before[i].v[k];
}

static struct emu_adapter *adapter(struct conf *c, unsigned i)
{
    return emu_host_adapter(emu_session_host(c->s, i));
}

/* Appends the reason to the phase's detail; false, so a check can `return fail(...)`. */
static bool fail(struct conf_phase *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct conf_phase *p, const char *fmt, ...)
{
    size_t n = strlen(p->detail);
    if (n && n + 2 < sizeof(p->detail)) {
        strcpy(p->detail + n, "; ");
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail + n, sizeof(p->detail) - n, fmt, ap);
    va_end(ap);
    return false;
}

static bool all_running(struct conf *c, struct conf_phase *p)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        if (!emu_adapter_running(adapter(c, i)))
            return fail(p, "adapter %u: stack not Running", i);
    return true;
}

/* What a phase asks of the traffic that ran during it. */
enum traffic_check {
    INTACT,   /* nothing arrived different from what was sent */
    MOVED,    /* ... and packets reached the other end both ways */
    LOSSLESS, /* ... and a running stack lost none */
};

/* Waits (10 s at most: a loaded machine may starve the hosts' threads for a
   while) until both ends of every adapter have originated packets since the
   phase began, so that what arrived can be judged. */
static void await_traffic(struct conf *c)
{
    for (unsigned t = 0; t < 200; t++) {
        bool moved = true;
        for (unsigned i = 0; i < CONF_ADAPTERS; i++)
            moved = moved && delta(c, i, EMU_RX_ORIGINATED) > 64 && delta(c, i, EMU_TX_SENT) > 64;
        if (moved)
            return;
        sleep_s(0.05);
    }
}

static bool traffic_ok(struct conf *c, struct conf_phase *p, enum traffic_check want)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
        if (delta(c, i, EMU_RX_CORRUPTED) || delta(c, i, EMU_TX_CORRUPTED))
            return fail(p, "adapter %u: corrupted packets", i);
        if (want >= MOVED &&
            (!delta(c, i, EMU_RX_DELIVERED) || !delta(c, i, EMU_TX_REACHED_MINIPORT)))
            return fail(p, "adapter %u: no traffic reached the other end (rx %llu, tx %llu)", i,
                        (unsigned long long)delta(c, i, EMU_RX_DELIVERED),
                        (unsigned long long)delta(c, i, EMU_TX_REACHED_MINIPORT));
        if (want >= LOSSLESS &&
            (delta(c, i, EMU_RX_DROPPED_BY_FILTER) || delta(c, i, EMU_TX_DROPPED_BY_FILTER) ||
             delta(c, i, EMU_TX_REFUSED_PAUSED)))
            return fail(p, "adapter %u: a running stack lost packets (rx %llu, tx %llu dropped)", i,
                        (unsigned long long)delta(c, i, EMU_RX_DROPPED_BY_FILTER),
                        (unsigned long long)(delta(c, i, EMU_TX_DROPPED_BY_FILTER) +
                                             delta(c, i, EMU_TX_REFUSED_PAUSED)));
    }
    return true;
}

static bool phase_traffic(struct conf *c, struct conf_phase *p)
{
    sleep_s(0.5);
    await_traffic(c);
    snprintf(p->detail, sizeof(p->detail), "both ways, frames of 74..%u bytes",
             EMU_MTU_SET_MAX_FRAME);
    return traffic_ok(c, p, LOSSLESS);
}

static bool phase_resources(struct conf *c, struct conf_phase *p)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_host_set_rx_resources(emu_session_host(c->s, i), true);
    sleep_s(0.5);
    await_traffic(c);
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_host_set_rx_resources(emu_session_host(c->s, i), false);
    snprintf(p->detail, sizeof(p->detail), "every indication NDIS_RECEIVE_FLAGS_RESOURCES");
    return traffic_ok(c, p, LOSSLESS);
}

static bool phase_pause_restart(struct conf *c, struct conf_phase *p)
{
    for (unsigned round = 0; round < 5; round++)
        for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
            emu_adapter_pause(adapter(c, i));
            sleep_s(0.01);
            if (emu_adapter_restart(adapter(c, i)) != NDIS_STATUS_SUCCESS)
                return fail(p, "adapter %u: restart failed", i);
            sleep_s(0.03);
        }
    snprintf(p->detail, sizeof(p->detail), "5 pause/restart cycles per adapter");
    snap(c); /* traffic must flow again after the last restart */
    await_traffic(c);
    return all_running(c, p) && traffic_ok(c, p, MOVED);
}

/* Each of `n` indications per adapter must reach the protocol. */
static bool status_arrived(struct conf *c, struct conf_phase *p, uint64_t n)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        if (delta(c, i, EMU_STATUS_DELIVERED) != n)
            return fail(p, "adapter %u: %llu of %llu status indications reached the protocol", i,
                        (unsigned long long)delta(c, i, EMU_STATUS_DELIVERED),
                        (unsigned long long)n);
    return true;
}

static bool phase_media(struct conf *c, struct conf_phase *p)
{
    for (unsigned round = 0; round < 3; round++)
        for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
            emu_host_link(emu_session_host(c->s, i), false);
            sleep_s(0.02);
            emu_host_link(emu_session_host(c->s, i), true);
        }
    snprintf(p->detail, sizeof(p->detail), "3 media disconnect/connect per adapter");
    return status_arrived(c, p, 6) && traffic_ok(c, p, INTACT);
}

static bool phase_reset(struct conf *c, struct conf_phase *p)
{
    for (unsigned round = 0; round < 2; round++)
        for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
            emu_host_reset(emu_session_host(c->s, i));
            sleep_s(0.05);
        }
    snprintf(p->detail, sizeof(p->detail), "2 resets (RESET_START/END) per adapter");
    return status_arrived(c, p, 4) && traffic_ok(c, p, INTACT);
}

static bool phase_oid(struct conf *c, struct conf_phase *p)
{
    for (unsigned round = 0; round < 3; round++)
        for (unsigned i = 0; i < CONF_ADAPTERS; i++)
            emu_host_oid_burst(emu_session_host(c->s, i));
    snprintf(p->detail, sizeof(p->detail), "%llu OIDs per adapter, %llu pended",
             (unsigned long long)delta(c, 0, EMU_OID_ISSUED),
             (unsigned long long)delta(c, 0, EMU_OID_PENDED));
    for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
        if (delta(c, i, EMU_OID_COMPLETED) != delta(c, i, EMU_OID_ISSUED))
            return fail(p, "adapter %u: OIDs not completed", i);
        if (delta(c, i, EMU_OID_UNEXPECTED_ANSWERS))
            return fail(p, "adapter %u: %llu OID(s) answered otherwise than the miniport answers",
                        i, (unsigned long long)delta(c, i, EMU_OID_UNEXPECTED_ANSWERS));
    }
    return traffic_ok(c, p, INTACT);
}

static bool phase_pnp(struct conf *c, struct conf_phase *p)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
        emu_host_power_cycle(emu_session_host(c->s, i));
        sleep_s(0.05);
    }
    snprintf(p->detail, sizeof(p->detail),
             "device PnP event, then QueryPower, pause, SetPower D3, D0, restart");
    for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
        if (delta(c, i, EMU_DEVICE_PNP_AT_MINIPORT) != 1)
            return fail(p, "adapter %u: the device PnP event did not reach the miniport", i);
        if (delta(c, i, EMU_NET_PNP_DELIVERED) != 3)
            return fail(p, "adapter %u: %llu of 3 Net PnP events reached the protocol", i,
                        (unsigned long long)delta(c, i, EMU_NET_PNP_DELIVERED));
    }
    return all_running(c, p);
}

static bool phase_send_cancel(struct conf *c, struct conf_phase *p)
{
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_host_cancel_sends(emu_session_host(c->s, i));
    /* The protocol's sender makes the call; it sends every few microseconds. */
    for (unsigned t = 0;
         t < 200 && (delta(c, 0, EMU_SEND_CANCELS) == 0 || delta(c, 1, EMU_SEND_CANCELS) == 0); t++)
        sleep_s(0.005);
    snprintf(p->detail, sizeof(p->detail),
             "NdisCancelSendNetBufferLists from the protocol, %llu+%llu queued sends aborted",
             (unsigned long long)delta(c, 0, EMU_TX_ABORTED),
             (unsigned long long)delta(c, 1, EMU_TX_ABORTED));
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        if (delta(c, i, EMU_SEND_CANCELS_AT_MINIPORT) != 1)
            return fail(p, "adapter %u: the send cancel did not reach the miniport", i);
    return true;
}

static bool phase_detach(struct conf *c, struct conf_phase *p)
{
    unsigned slots = emu_adapter_slot_count(adapter(c, 0));
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        for (unsigned s = 0; s < slots; s++) {
            emu_adapter_detach_module(adapter(c, i), s);
            if (emu_adapter_attach_module(adapter(c, i), s) != NDIS_STATUS_SUCCESS)
                return fail(p, "adapter %u: module %u did not attach again", i, s);
        }
    snprintf(p->detail, sizeof(p->detail), "%u module(s) per adapter", slots);
    snap(c); /* traffic must flow again after the last attach */
    await_traffic(c);
    return all_running(c, p) && traffic_ok(c, p, MOVED);
}

/* Traffic stopped and every stack paused with nothing in flight: the
   stop_traffic joins the threads that originate; flushing DPCs twice runs
   what they had queued and what that queued in turn (a filter's own DPC),
   so no indication is still on its way when the stacks pause. */
static void quiesce(struct conf *c)
{
    emu_session_stop_traffic(c->s);
    KeFlushQueuedDpcs();
    KeFlushQueuedDpcs();
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_adapter_pause(adapter(c, i));
}

static bool phase_connectivity(struct conf *c, struct conf_phase *p)
{
    /* A window that starts and ends with nothing in flight: then every
       packet originated in it must have arrived. */
    quiesce(c);
    snap(c);
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        if (emu_adapter_restart(adapter(c, i)) != NDIS_STATUS_SUCCESS)
            return fail(p, "adapter %u: restart failed", i);
    for (unsigned i = 0; i < CONF_ADAPTERS; i++)
        emu_host_start_traffic(emu_session_host(c->s, i));
    sleep_s(1.0);
    await_traffic(c);
    quiesce(c);
    if (!traffic_ok(c, p, LOSSLESS))
        return false;
    for (unsigned i = 0; i < CONF_ADAPTERS; i++) {
        uint64_t orig = delta(c, i, EMU_RX_ORIGINATED), dlv = delta(c, i, EMU_RX_DELIVERED);
        uint64_t sent = delta(c, i, EMU_TX_SENT), wire = delta(c, i, EMU_TX_REACHED_MINIPORT);
        /* Loss is the failure: a filter may add frames of its own in either
           direction (they arrive on top of the hosts' own), never lose one. */
        if (dlv < orig || wire < sent || sent != delta(c, i, EMU_TX_COMPLETED))
            return fail(p,
                        "adapter %u: rx %llu originated, %llu delivered; tx %llu sent, %llu "
                        "reached the miniport",
                        i, (unsigned long long)orig, (unsigned long long)dlv,
                        (unsigned long long)sent, (unsigned long long)wire);
    }
    snprintf(p->detail, sizeof(p->detail), "1 s quiet: %llu+%llu rx, %llu+%llu tx, all arrived",
             (unsigned long long)delta(c, 0, EMU_RX_DELIVERED),
             (unsigned long long)delta(c, 1, EMU_RX_DELIVERED),
             (unsigned long long)delta(c, 0, EMU_TX_REACHED_MINIPORT),
             (unsigned long long)delta(c, 1, EMU_TX_REACHED_MINIPORT));
    return true;
}

static void print_phases(const struct conf *c, FILE *f)
{
    bool all = c->nphases == CONF_NPHASES;
    for (unsigned i = 0; i < c->nphases; i++) {
        const struct conf_phase *p = &c->phases[i];
        fprintf(f, "  %-18s %s  %6.2f s  %zu finding(s)  %s\n", p->name, p->pass ? "PASS" : "FAIL",
                p->seconds, p->findings, p->detail);
        all = all && p->pass;
    }
    for (unsigned i = c->nphases; i < CONF_NPHASES; i++)
        fprintf(f, "  %-18s not run\n", g_phase_names[i]);
    fprintf(f, "conformance: %s\n", all ? "PASS" : "FAIL");
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void print_json(const struct conf *c, bool deadlock)
{
    bool all = c->nphases == CONF_NPHASES;
    printf("{\"conformance\":{\"driver\":");
    json_string(stdout, c->driver);
    printf(",\"phases\":[");
    for (unsigned i = 0; i < c->nphases; i++) {
        const struct conf_phase *p = &c->phases[i];
        printf("%s{\"name\":\"%s\",\"pass\":%s,\"seconds\":%.3f,\"findings\":%zu,\"detail\":",
               i ? "," : "", p->name, p->pass ? "true" : "false", p->seconds, p->findings);
        json_string(stdout, p->detail);
        printf("}");
        all = all && p->pass;
    }
    printf("],\"pass\":%s%s},\"adapters\":[", all ? "true" : "false",
           deadlock ? ",\"deadlock\":true" : "");
    for (unsigned i = 0; i < CONF_ADAPTERS && c->s; i++) {
        struct emu_host_figures f;
        emu_session_figures(c->s, i, &f);
        printf("%s{\"index\":%u,\"name\":\"%s\"", i ? "," : "", i,
               emu_session_adapter_name(c->s, i));
        for (unsigned k = 0; k < EMU_HOST_COUNTER_COUNT; k++)
            printf(",\"%s\":%llu", emu_host_counter_name(k), (unsigned long long)f.v[k]);
        printf("}");
    }
    printf("],\"violations\":");
    fflush(stdout);
    emu_violations_print(stdout, true);
    printf("}\n");
}

/* On the watchdog thread: the hung phase is the one after the last finished. */
static void on_deadlock(void *ctx)
{
    struct conf *c = ctx;
    emu_ndis_report_leaks();
    if (c->json) {
        print_json(c, true);
    } else {
        emu_violations_print(stderr, false);
        print_phases(c, stdout);
    }
    fflush(stdout);
    fprintf(stderr, "ndisemu: deadlock in conformance phase %s: exiting with status %d\n",
            c->nphases < CONF_NPHASES ? g_phase_names[c->nphases] : "?", EMU_EXIT_DEADLOCK);
    _exit(EMU_EXIT_DEADLOCK);
}

typedef bool (*phase_fn)(struct conf *c, struct conf_phase *p);

/* Runs phase `name`: counters and findings are measured from its start. */
static void run_phase(struct conf *c, phase_fn fn)
{
    struct conf_phase *p = &c->phases[c->nphases];
    const char *name = g_phase_names[c->nphases];
    size_t f0 = emu_violation_count();
    uint64_t t0 = emu_now_ns();
    if (!c->quiet)
        fprintf(stderr, "[conformance %2u/%zu] %-18s ...\n", c->nphases + 1, CONF_NPHASES, name);
    snap(c);
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->pass = fn(c, p);
    p->findings = emu_violation_count() - f0;
    if (p->findings)
        p->pass = fail(p, "%zu verifier finding(s)", p->findings);
    p->seconds = (double)(emu_now_ns() - t0) / 1e9;
    c->nphases++;
    if (!c->quiet)
        fprintf(stderr, "[conformance %2u/%zu] %-18s %s\n", c->nphases, CONF_NPHASES, name,
                p->pass ? "pass" : "FAIL");
}

static bool phase_load(struct conf *c, struct conf_phase *p)
{
    snprintf(p->detail, sizeof(p->detail), "%u adapter(s)", CONF_ADAPTERS);
    return all_running(c, p);
}

int emu_conformance_run(const struct emu_session_config *base, bool json, bool quiet)
{
    static const phase_fn fns[CONF_NPHASES - 2] = {
        phase_traffic, phase_resources, phase_pause_restart, phase_media,  phase_reset,
        phase_oid,     phase_pnp,       phase_send_cancel,   phase_detach, phase_connectivity,
    };
    struct emu_session_config cfg = *base;
    struct conf *c = calloc(1, sizeof(*c));
    char err[512];
    if (c == NULL)
        return EMU_EXIT_USAGE;
    c->json = json;
    c->quiet = quiet;
    c->driver = cfg.ndrivers ? cfg.drivers[0] : "";
    cfg.adapters = CONF_ADAPTERS;
    cfg.traffic = "mtu";
    cfg.rate = CONF_RATE;
    cfg.tx_rate = CONF_RATE;
    cfg.tx = true;
    cfg.churn = 0;

    /* load: driver, adapters, stacks up, traffic on. */
    uint64_t t0 = emu_now_ns();
    if (!quiet)
        fprintf(stderr, "[conformance  1/%zu] %-18s ...\n", CONF_NPHASES, g_phase_names[0]);
    c->s = emu_session_create(&cfg, err, sizeof(err));
    if (c->s == NULL) {
        fprintf(stderr, "ndisemu: %s\n", err);
        free(c);
        return EMU_EXIT_USAGE;
    }
    emu_set_deadlock_handler(on_deadlock, c);
    if (!emu_session_start(c->s, err, sizeof(err))) {
        fprintf(stderr, "ndisemu: %s\n", err);
        emu_session_destroy(c->s);
        free(c);
        return EMU_EXIT_USAGE;
    }
    struct conf_phase *load = &c->phases[c->nphases++];
    load->name = g_phase_names[0];
    load->pass = phase_load(c, load);
    load->findings = emu_violation_count();
    if (load->findings)
        load->pass = fail(load, "%zu verifier finding(s)", load->findings);
    load->seconds = (double)(emu_now_ns() - t0) / 1e9;
    if (!quiet)
        fprintf(stderr, "[conformance  1/%zu] %-18s %s\n", CONF_NPHASES, load->name,
                load->pass ? "pass" : "FAIL");

    for (size_t i = 0; load->pass && i < sizeof(fns) / sizeof(fns[0]); i++)
        run_phase(c, fns[i]);

    /* unload: stacks down, drivers unloaded, leak checks (session stop). */
    if (c->nphases == CONF_NPHASES - 1) {
        struct conf_phase *p = &c->phases[c->nphases];
        size_t f0 = emu_violation_count();
        t0 = emu_now_ns();
        if (!quiet)
            fprintf(stderr, "[conformance %2zu/%zu] %-18s ...\n", CONF_NPHASES, CONF_NPHASES,
                    g_phase_names[c->nphases]);
        emu_session_stop(c->s);
        p->name = g_phase_names[c->nphases];
        p->findings = emu_violation_count() - f0;
        p->pass = true;
        snprintf(p->detail, sizeof(p->detail), "detach, FilterDriverUnload, leak checks");
        if (p->findings)
            p->pass = fail(p, "%zu verifier finding(s)", p->findings);
        p->seconds = (double)(emu_now_ns() - t0) / 1e9;
        c->nphases++;
        if (!quiet)
            fprintf(stderr, "[conformance %2zu/%zu] %-18s %s\n", CONF_NPHASES, CONF_NPHASES,
                    p->name, p->pass ? "pass" : "FAIL");
    } else {
        emu_session_stop(c->s);
    }

    bool all = c->nphases == CONF_NPHASES;
    for (unsigned i = 0; i < c->nphases; i++)
        all = all && c->phases[i].pass;
    if (json) {
        print_json(c, false);
    } else {
        printf("ndisemu conformance: %s on %u adapters\n", c->driver, CONF_ADAPTERS);
        print_phases(c, stdout);
        if (emu_violation_count())
            emu_violations_print(stdout, false);
    }
    int rc = emu_violation_count_rule(EMU_RULE_DEADLOCK) ? EMU_EXIT_DEADLOCK
             : all                                       ? 0
                                                         : EMU_EXIT_VIOLATION;
    emu_session_destroy(c->s);
    free(c);
    return rc;
}
