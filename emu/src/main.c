/*
 * ndisemu: run NDIS 6 filter drivers (.so built with ndisemu-cc or
 * ndisemu_add_driver) in user mode under the verifier, with traffic.
 * Exit status: 0 clean, 1 findings, 2 usage error, 3 deadlock; with
 * --conformance 1 means a phase failed (conformance.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

#include "adapter.h"
#include "conformance.h"
#include "fault.h"
#include "session.h"
#include "verifier.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ndisemu --driver PATH.so [--driver PATH2.so ...] [options]\n"
               "\n"
               "Loads NDIS 6 filter drivers into an emulated kernel, builds an adapter stack\n"
               "(miniport | filters | protocol) per adapter, runs traffic through it under the\n"
               "verifier, and reports per-adapter figures and every finding.\n"
               "\n"
               "  --driver PATH.so      a driver to load (repeatable; order is load order)\n"
               "  --stack SPEC          filters bottom to top: NAME[:monitoring|:modifying]\n"
               "                        [:mandatory|:optional],...  (default: every driver once,\n"
               "                        in --driver order; \"\" = no filter)\n"
               "  --cpus N              emulated CPUs (default: host cores, at most 64)\n"
               "  --adapters N          adapters (default 1)\n"
               "  --queues N            receive queues (CPUs) per adapter (default min(cpus,4))\n"
               "  --traffic SRC         FILE.pcap, gen, or mtu (frames up to and beyond the\n"
               "                        Ethernet MTU, jumbo frames to 9014 bytes) (default gen)\n"
               "  --rate PPS            receive packets/s per adapter, 0 = as fast as possible\n"
               "                        (default 0)\n"
               "  --tx-rate PPS         protocol sends/s per adapter, 0 = as fast as possible\n"
               "                        (default 0)\n"
               "  --no-tx               the protocol sends nothing\n"
               "  --batch N             NBLs per indication/send, 1..256 (default 32)\n"
               "  --split PATTERN       MDL layout: none|half|random|every:N (default none)\n"
               "  --seconds S           run time (default 5)\n"
               "  --churn PER_SECOND    churn events per second (default 0), each one picked\n"
               "                        from the --churn-mix\n"
               "  --churn-mix LIST      what churn does, comma-separated (default all):\n"
               "                        restart (pause + restart a stack), detach (detach +\n"
               "                        re-attach a module), oid (the protocol's OID set, one\n"
               "                        cancelled), status (link down + up), pnp (device PnP\n"
               "                        event + power cycle), reset (RESET_START/END), cancel\n"
               "                        (NdisCancelSendNetBufferLists)\n"
               "  --param Name=Value    driver parameter (repeatable); driver:Name=Value for one\n"
               "  --device-socket PATH  serve the first control device on a Unix socket (mode\n"
               "                        0600, owner only); runs until --seconds or SIGINT/SIGTERM;\n"
               "                        PATH 'default' is lwfctl's default: ndisemu-hotlwf.sock\n"
               "                        in $XDG_RUNTIME_DIR, else /run/user/UID, else\n"
               "                        /tmp/ndisemu-UID (created 0700); the directory must be\n"
               "                        yours and not writable by others\n"
               "  --watchdog-ms MS      deadlock limit: a control operation, a callback that has\n"
               "                        not returned, a CPU held by a blocked context\n"
               "                        (default 10000)\n"
               "  --dpc-watchdog-ms MS  longest DISPATCH_LEVEL stretch on one CPU, in its\n"
               "                        holder's CPU time: one DPC, a DPC queue that never\n"
               "                        drains, a thread that never lowers (default 5000)\n"
               "  --fault-injection SPEC  fail the driver's allocations: RATE (0..1] or\n"
               "                        every=N, then optionally ,seed=S (default seed 1)\n"
               "  --no-verifier         verifier bookkeeping off (benchmarks)\n"
               "  --no-recycle          a fresh NBL for every received packet\n"
               "  --seed N              traffic/churn seed (default 1)\n"
               "  --conformance         run the conformance phases instead of a timed run: the\n"
               "                        driver on 2 adapters, traffic both ways with frames up to\n"
               "                        and beyond the MTU, NDIS_RECEIVE_FLAGS_RESOURCES,\n"
               "                        pause/restart, media disconnect/connect, resets, OIDs,\n"
               "                        power cycle, send cancel, detach/re-attach, then a\n"
               "                        connectivity check and unload; a pass/fail line per phase\n"
               "                        (--adapters, --traffic, --rate, --churn do not apply)\n"
               "  --json                print one JSON object on stdout instead of the report\n"
               "  --progress            progress line on stderr even when it is not a tty\n"
               "  --quiet               no progress line, findings only\n"
               "  --help                this text\n"
               "\n"
               "Exit status: 0 clean, 1 on any finding (with --conformance: a failed phase),\n"
               "2 usage error, 3 deadlock.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ndisemu: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return EMU_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0) || v > 1e9)
        return false;
    *out = v;
    return true;
}

static void progress(struct emu_session *s, double elapsed, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r[%6.1fs] %12.0f pkt/s  %zu finding(s)   ", elapsed, emu_session_rate(s),
            emu_violation_count());
    fflush(stderr);
}

static void report_text(struct emu_session *s)
{
    printf("%u CPU(s), %.2f s, %llu churn event(s)\n", emu_session_cpus(s), emu_session_elapsed(s),
           (unsigned long long)emu_session_churn_events(s));
    printf("%-10s", "adapter");
    for (unsigned c = 0; c < EMU_HOST_COUNTER_COUNT; c++)
        printf(" %s", emu_host_counter_name(c));
    printf("\n");
    for (unsigned i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;
        emu_session_figures(s, i, &f);
        printf("%-10s", emu_session_adapter_name(s, i));
        for (unsigned c = 0; c < EMU_HOST_COUNTER_COUNT; c++)
            printf(" %*llu", (int)strlen(emu_host_counter_name(c)), (unsigned long long)f.v[c]);
        printf("\n");
    }
    emu_fault_print(stdout, false);
    size_t n = emu_violation_count();
    printf("%zu finding(s)\n", n);
    if (n)
        emu_violations_print(stdout, false);
}

/*
 * live: called from the watchdog thread while the controlling thread may be
 * anywhere (hung, or still sampling): only what is safe to read concurrently
 * goes out then (configuration fixed at create, the hosts' atomic counters,
 * the findings); run time, churn count and timeline belong to the
 * controlling thread and are left out, with "deadlock":true said instead.
 */
static void report_json(struct emu_session *s, bool live)
{
    printf("{\"cpus\":%u,", emu_session_cpus(s));
    if (live)
        printf("\"deadlock\":true,");
    else
        printf("\"seconds\":%.3f,", emu_session_elapsed(s));
    printf("\"adapters\":[");
    for (unsigned i = 0; i < emu_session_adapter_count(s); i++) {
        struct emu_host_figures f;
        emu_session_figures(s, i, &f);
        printf("%s{\"index\":%u,\"name\":\"%s\"", i ? "," : "", i, emu_session_adapter_name(s, i));
        for (unsigned c = 0; c < EMU_HOST_COUNTER_COUNT; c++)
            printf(",\"%s\":%llu", emu_host_counter_name(c), (unsigned long long)f.v[c]);
        printf("}");
    }
    printf("],\"modules\":");
    emu_ndis_modules_json(stdout);
    if (!live) {
        printf(",\"churn_events\":%llu,\"timeline\":[",
               (unsigned long long)emu_session_churn_events(s));
        const struct emu_session_sample *t;
        size_t n = emu_session_samples(s, &t);
        for (size_t i = 0; i < n; i++)
            printf("%s{\"t\":%.3f,\"rx_originated\":%llu,\"rx_delivered\":%llu,"
                   "\"tx_completed\":%llu,\"findings\":%zu}",
                   i ? "," : "", t[i].t, (unsigned long long)t[i].rx_originated,
                   (unsigned long long)t[i].rx_delivered, (unsigned long long)t[i].tx_completed,
                   t[i].findings);
        printf("]");
    }
    if (emu_fault_configured()) {
        printf(",\"fault_injection\":");
        emu_fault_print(stdout, true);
    }
    printf(",\"violations\":");
    fflush(stdout);
    emu_violations_print(stdout, true);
    printf(",\"rule_totals\":");
    fflush(stdout);
    emu_violations_print_totals(stdout);
    printf("}\n");
}

struct deadlock_report {
    struct emu_session *s;
    bool json;
};

/*
 * Runs on the watchdog thread once a control operation has hung: the
 * emulated kernel cannot be unwound, so report and leave. NBLs a filter kept
 * are the usual reason a miniport's pause never ends (it waits for every
 * receive it indicated, as on Windows): name them as the leak they are
 * before the hang they caused.
 */
static void on_deadlock(void *ctx)
{
    const struct deadlock_report *dr = ctx;

    emu_ndis_report_leaks();
    if (dr->json)
        report_json(dr->s, true);
    else
        emu_violations_print(stderr, false);
    fflush(stdout);
    fprintf(stderr, "ndisemu: deadlock: exiting with status %d\n", EMU_EXIT_DEADLOCK);
    _exit(EMU_EXIT_DEADLOCK);
}

int main(int argc, char **argv)
{
    enum {
        O_DRIVER = 256,
        O_STACK,
        O_CPUS,
        O_ADAPTERS,
        O_QUEUES,
        O_TRAFFIC,
        O_RATE,
        O_TXRATE,
        O_NOTX,
        O_BATCH,
        O_SPLIT,
        O_SECONDS,
        O_CHURN,
        O_CHURN_MIX,
        O_PARAM,
        O_SOCKET,
        O_WATCHDOG,
        O_DPC_WATCHDOG,
        O_FAULTS,
        O_NOVERIFIER,
        O_NORECYCLE,
        O_SEED,
        O_JSON,
        O_CONFORMANCE,
        O_PROGRESS,
        O_QUIET,
        O_HELP
    };
    static const struct option opts[] = {
        {"driver", required_argument, 0, O_DRIVER},
        {"stack", required_argument, 0, O_STACK},
        {"cpus", required_argument, 0, O_CPUS},
        {"adapters", required_argument, 0, O_ADAPTERS},
        {"queues", required_argument, 0, O_QUEUES},
        {"traffic", required_argument, 0, O_TRAFFIC},
        {"rate", required_argument, 0, O_RATE},
        {"tx-rate", required_argument, 0, O_TXRATE},
        {"no-tx", no_argument, 0, O_NOTX},
        {"batch", required_argument, 0, O_BATCH},
        {"split", required_argument, 0, O_SPLIT},
        {"seconds", required_argument, 0, O_SECONDS},
        {"churn", required_argument, 0, O_CHURN},
        {"churn-mix", required_argument, 0, O_CHURN_MIX},
        {"param", required_argument, 0, O_PARAM},
        {"device-socket", required_argument, 0, O_SOCKET},
        {"watchdog-ms", required_argument, 0, O_WATCHDOG},
        {"dpc-watchdog-ms", required_argument, 0, O_DPC_WATCHDOG},
        {"fault-injection", required_argument, 0, O_FAULTS},
        {"no-verifier", no_argument, 0, O_NOVERIFIER},
        {"no-recycle", no_argument, 0, O_NORECYCLE},
        {"seed", required_argument, 0, O_SEED},
        {"json", no_argument, 0, O_JSON},
        {"conformance", no_argument, 0, O_CONFORMANCE},
        {"progress", no_argument, 0, O_PROGRESS},
        {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    struct emu_session_config cfg;
    bool json = false, quiet = false, force_progress = false, conformance = false;
    uint64_t v;
    int o;

    emu_session_config_init(&cfg);
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_DRIVER:
            if (cfg.ndrivers == EMU_SESSION_MAX_DRIVERS)
                return usage_error("too many --driver (at most 16)%s", "");
            cfg.drivers[cfg.ndrivers++] = optarg;
            break;
        case O_STACK:
            cfg.stack = optarg;
            break;
        case O_CPUS:
            if (!parse_u64(optarg, &v) || v < 1 || v > 64)
                return usage_error("--cpus needs a number 1..64, not '%s'", optarg);
            cfg.cpus = (unsigned)v;
            break;
        case O_ADAPTERS:
            if (!parse_u64(optarg, &v) || v < 1 || v > 64)
                return usage_error("--adapters needs a number 1..64, not '%s'", optarg);
            cfg.adapters = (unsigned)v;
            break;
        case O_QUEUES:
            if (!parse_u64(optarg, &v) || v < 1 || v > 16)
                return usage_error("--queues needs a number 1..16, not '%s'", optarg);
            cfg.rx_queues = (unsigned)v;
            break;
        case O_TRAFFIC:
            cfg.traffic = optarg;
            break;
        case O_RATE:
            if (!parse_u64(optarg, &cfg.rate))
                return usage_error("--rate needs packets per second, not '%s'", optarg);
            break;
        case O_TXRATE:
            if (!parse_u64(optarg, &cfg.tx_rate))
                return usage_error("--tx-rate needs packets per second, not '%s'", optarg);
            break;
        case O_NOTX:
            cfg.tx = false;
            break;
        case O_BATCH:
            if (!parse_u64(optarg, &v) || v < 1 || v > 256)
                return usage_error("--batch needs a number 1..256, not '%s'", optarg);
            cfg.batch = (unsigned)v;
            break;
        case O_SPLIT: {
            struct emu_split sp;
            if (!emu_split_parse(optarg, &sp))
                return usage_error("--split needs none|half|random|every:N, not '%s'", optarg);
            cfg.split = optarg;
            break;
        }
        case O_SECONDS:
            if (!parse_double(optarg, &cfg.seconds))
                return usage_error("--seconds needs a non-negative number, not '%s'", optarg);
            break;
        case O_CHURN:
            if (!parse_double(optarg, &cfg.churn))
                return usage_error("--churn needs events per second, not '%s'", optarg);
            break;
        case O_CHURN_MIX:
            if (!emu_churn_parse(optarg, &cfg.churn_mix))
                return usage_error("--churn-mix needs a list of restart,detach,oid,status,pnp,"
                                   "reset,cancel (or all), not '%s'",
                                   optarg);
            break;
        case O_PARAM:
            if (!strchr(optarg, '=') || *optarg == '=')
                return usage_error("--param needs Name=Value, not '%s'", optarg);
            if (cfg.nparams == EMU_SESSION_MAX_PARAMS)
                return usage_error("too many --param (at most 64)%s", "");
            cfg.params[cfg.nparams++] = optarg;
            break;
        case O_SOCKET:
            if (strcmp(optarg, "default") == 0) {
                /* lwfctl's default: a directory private to this uid (devsock.h). */
                static char path[108];
                char err[256];
                if (!emu_devsock_default_path(true, path, sizeof(path), err, sizeof(err))) {
                    fprintf(stderr, "ndisemu: --device-socket default: %s\n", err);
                    return EMU_EXIT_USAGE;
                }
                fprintf(stderr, "ndisemu: device socket %s\n", path);
                cfg.device_socket = path;
            } else {
                cfg.device_socket = optarg;
            }
            break;
        case O_WATCHDOG:
            if (!parse_u64(optarg, &v) || v < 1 || v > 3600000)
                return usage_error("--watchdog-ms needs milliseconds, not '%s'", optarg);
            cfg.watchdog_ms = (unsigned)v;
            break;
        case O_DPC_WATCHDOG:
            if (!parse_u64(optarg, &v) || v < 1 || v > 3600000)
                return usage_error("--dpc-watchdog-ms needs milliseconds, not '%s'", optarg);
            cfg.dpc_watchdog_ms = (unsigned)v;
            break;
        case O_FAULTS: {
            char ferr[256];
            if (!emu_fault_configure(optarg, ferr, sizeof(ferr)) ||
                !emu_fault_configure(NULL, ferr, sizeof(ferr)))
                return usage_error("%s", ferr);
            cfg.fault_injection = optarg;
            break;
        }
        case O_NOVERIFIER:
            cfg.verifier = false;
            break;
        case O_NORECYCLE:
            cfg.recycle = false;
            break;
        case O_SEED:
            if (!parse_u64(optarg, &cfg.seed))
                return usage_error("--seed needs a number, not '%s'", optarg);
            break;
        case O_JSON:
            json = true;
            break;
        case O_CONFORMANCE:
            conformance = true;
            break;
        case O_PROGRESS:
            force_progress = true;
            break;
        case O_QUIET:
            quiet = true;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (cfg.ndrivers == 0 && !(cfg.stack && !*cfg.stack))
        return usage_error("need at least one --driver (or --stack \"\" to run without "
                           "filters)%s",
                           "");

    if (conformance) {
        if (cfg.ndrivers == 0)
            return usage_error("--conformance needs a --driver%s", "");
        return emu_conformance_run(&cfg, json, quiet);
    }

    char err[512];
    struct emu_session *s = emu_session_create(&cfg, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ndisemu: %s\n", err);
        return EMU_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!emu_session_start(s, err, sizeof(err))) {
        fprintf(stderr, "ndisemu: %s\n", err);
        emu_session_destroy(s);
        return EMU_EXIT_USAGE;
    }
    struct deadlock_report dr = {s, json};
    emu_set_deadlock_handler(on_deadlock, &dr);
    bool show = !quiet && (force_progress || isatty(STDERR_FILENO));
    emu_session_run_for(s, cfg.seconds, &interrupted, show ? progress : NULL, NULL);
    if (show)
        fprintf(stderr, "\n");
    emu_session_stop(s);
    if (json)
        report_json(s, false);
    else if (!quiet)
        report_text(s);
    else if (emu_violation_count())
        emu_violations_print(stdout, false);
    int rc = emu_violation_count_rule(EMU_RULE_DEADLOCK) ? EMU_EXIT_DEADLOCK
             : emu_violation_count()                     ? EMU_EXIT_VIOLATION
                                                         : 0;
    emu_session_destroy(s);
    return rc;
}
