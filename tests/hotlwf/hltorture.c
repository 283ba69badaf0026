/*
 * hltorture: an rcutorture-style stress of the real driver on ndisemu
 * (docs/rcu.md, "hltorture"). It loads the torture build of hotlwf
 * (driver/torture.h: every snapshot carries its generation and is poisoned
 * when freed; every classify call counts how many generations old its
 * snapshot is) and, for a chosen time, runs at once:
 *
 *   - traffic both ways on several adapters and CPUs (ndisemu's hosts);
 *   - a SET_CONFIG storm through the IOCTL path, alternating two
 *     configurations, checking each answer's generation;
 *   - stack and control-path churn (ndisemu's --churn / --churn-mix:
 *     pause/restart, detach/attach, OIDs, status, PnP, reset, cancel);
 *   - optionally low resources (ndisemu's --fault-injection): a SET_CONFIG
 *     refused for it must leave the old configuration in force (same
 *     generation, GET_CONFIG byte for byte the old blob).
 *
 * It prints a progress line every --progress-every seconds and the age
 * histogram at the end (rcutorture's "pipe" counts). It fails, and stops
 * at once, when a read used a snapshot two or more grace periods old or a
 * poisoned one (the bound is argued in driver/torture.c), and at the end
 * on any verifier finding or wrong SET_CONFIG answer. Exit 0 only if clean.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "harness.h"
#include "session.h"
#include "verifier.h"

#define HL_TORTURE
#include "torture.h"

#ifndef HLT_TORTURE_DRIVER
#define HLT_TORTURE_DRIVER "lib/torture/hotlwf.so"
#endif

struct options {
    const char *driver, *strategy, *traffic, *churn_mix, *faults;
    double seconds, churn, progress_every;
    unsigned cpus, adapters, reader_delay_us;
    uint64_t rate, seed;
};

/* What the writer thread did; read by the main thread. */
struct writer {
    pthread_t thread;
    atomic_int stop;
    atomic_ullong swaps, refused;
    uint8_t *blob[2];
    size_t len[2];
    unsigned current;    /* index of the blob in force */
    uint64_t generation; /* the generation in force */
};

static volatile sig_atomic_t interrupted;
static HL_TORTURE_STATE *torture; /* HlTorture in the loaded driver */
static unsigned ncpus;

struct totals {
    uint64_t age[HL_TORTURE_AGES], poisoned, no_snapshot;
};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hltorture [options]\n"
            "\n"
            "Stresses hotlwf's configuration swap on ndisemu, rcutorture-style: traffic on\n"
            "every adapter and CPU, a SET_CONFIG storm through the IOCTL path, stack and\n"
            "OID churn, optional fault injection. The torture build of the driver checks\n"
            "every classify call: a snapshot two or more grace periods old, or a freed\n"
            "(poisoned) one, fails the run at once. Exit 0 only if clean.\n"
            "\n"
            "  --driver PATH         torture build of hotlwf (default %s)\n"
            "  --seconds S           run time (default 60)\n"
            "  --minutes M           run time in minutes\n"
            "  --strategy NAME       the driver's Strategy parameter (default epoch; unsafe\n"
            "                        and flushdpc are broken on purpose and must fail)\n"
            "  --cpus N              emulated CPUs (default 4)\n"
            "  --adapters N          adapters, each with its own traffic (default 3)\n"
            "  --traffic SRC         gen or FILE.pcap (default gen)\n"
            "  --rate PPS            receives/s per adapter, sends at half (default 20000)\n"
            "  --churn PER_SECOND    stack/control-path churn events per second (default 20)\n"
            "  --churn-mix LIST      ndisemu's churn kinds (default all: restart,detach,oid,\n"
            "                        status,pnp,reset,cancel)\n"
            "  --fault-injection SPEC  fail the driver's allocations once running: RATE\n"
            "                        (0..1] or every=N[,seed=S] (default none)\n"
            "  --reader-delay-us N   every 256th read on a CPU spins this long inside its\n"
            "                        read section (default 20)\n"
            "  --progress-every S    seconds between progress lines (default 10)\n"
            "  --seed N              traffic and churn seed (default 1)\n"
            "  --help                this text\n"
            "\n"
            "Exit status: 0 clean, 1 failure, 2 usage error.\n",
            HLT_TORTURE_DRIVER);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "hltorture: %s '%s'\n\n", what, arg);
    usage(stderr);
    return 2;
}

static bool parse_number(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= 0) || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum {
        O_DRIVER = 256,
        O_SECONDS,
        O_MINUTES,
        O_STRATEGY,
        O_CPUS,
        O_ADAPTERS,
        O_TRAFFIC,
        O_RATE,
        O_CHURN,
        O_CHURN_MIX,
        O_FAULTS,
        O_DELAY,
        O_PROGRESS,
        O_SEED,
        O_HELP
    };
    static const struct option longopts[] = {
        {"driver", required_argument, 0, O_DRIVER},
        {"seconds", required_argument, 0, O_SECONDS},
        {"minutes", required_argument, 0, O_MINUTES},
        {"strategy", required_argument, 0, O_STRATEGY},
        {"cpus", required_argument, 0, O_CPUS},
        {"adapters", required_argument, 0, O_ADAPTERS},
        {"traffic", required_argument, 0, O_TRAFFIC},
        {"rate", required_argument, 0, O_RATE},
        {"churn", required_argument, 0, O_CHURN},
        {"churn-mix", required_argument, 0, O_CHURN_MIX},
        {"fault-injection", required_argument, 0, O_FAULTS},
        {"reader-delay-us", required_argument, 0, O_DELAY},
        {"progress-every", required_argument, 0, O_PROGRESS},
        {"seed", required_argument, 0, O_SEED},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    unsigned mix;
    double v;
    int c;

    *o = (struct options){.driver = HLT_TORTURE_DRIVER,
                          .strategy = "epoch",
                          .traffic = "gen",
                          .churn_mix = "all",
                          .seconds = 60,
                          .churn = 20,
                          .progress_every = 10,
                          .cpus = 4,
                          .adapters = 3,
                          .reader_delay_us = 20,
                          .rate = 20000,
                          .seed = 1};
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_DRIVER:
            o->driver = optarg;
            break;
        case O_SECONDS:
        case O_MINUTES:
            if (!parse_number(optarg, 1e7, &v) || v == 0)
                return usage_error(c == O_SECONDS ? "--seconds needs a positive number, not"
                                                  : "--minutes needs a positive number, not",
                                   optarg);
            o->seconds = c == O_MINUTES ? v * 60 : v;
            break;
        case O_STRATEGY:
            o->strategy = optarg;
            break;
        case O_CPUS:
            if (!parse_number(optarg, HL_TORTURE_CPUS, &v) || v < 1 || v != (unsigned)v)
                return usage_error("--cpus needs 1..64, not", optarg);
            o->cpus = (unsigned)v;
            break;
        case O_ADAPTERS:
            if (!parse_number(optarg, 64, &v) || v < 1 || v != (unsigned)v)
                return usage_error("--adapters needs 1..64, not", optarg);
            o->adapters = (unsigned)v;
            break;
        case O_TRAFFIC:
            o->traffic = optarg;
            break;
        case O_RATE:
            if (!parse_number(optarg, 1e9, &v) || v < 1)
                return usage_error("--rate needs packets per second (>= 1), not", optarg);
            o->rate = (uint64_t)v;
            break;
        case O_CHURN:
            if (!parse_number(optarg, 1e6, &o->churn))
                return usage_error("--churn needs events per second, not", optarg);
            break;
        case O_CHURN_MIX:
            if (!emu_churn_parse(optarg, &mix))
                return usage_error("--churn-mix needs a list of restart,detach,oid,status,pnp,"
                                   "reset,cancel or all, not",
                                   optarg);
            o->churn_mix = optarg;
            break;
        case O_FAULTS:
            o->faults = optarg;
            break;
        case O_DELAY:
            if (!parse_number(optarg, 100000, &v) || v != (unsigned)v)
                return usage_error("--reader-delay-us needs 0..100000, not", optarg);
            o->reader_delay_us = (unsigned)v;
            break;
        case O_PROGRESS:
            if (!parse_number(optarg, 1e7, &o->progress_every) || o->progress_every == 0)
                return usage_error("--progress-every needs a positive number, not", optarg);
            break;
        case O_SEED:
            if (!parse_number(optarg, 1e18, &v) || v != (uint64_t)v)
                return usage_error("--seed needs a whole number, not", optarg);
            o->seed = (uint64_t)v;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    return 0;
}

static void read_totals(struct totals *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned c = 0; c < ncpus; c++) {
        HL_TORTURE_CPU *cpu = &torture->Cpu[c];
        for (unsigned a = 0; a < HL_TORTURE_AGES; a++)
            t->age[a] += (uint64_t)ReadNoFence64(&cpu->Reads[a]);
        t->poisoned += (uint64_t)ReadNoFence64(&cpu->Poisoned);
        t->no_snapshot += (uint64_t)ReadNoFence64(&cpu->NoSnapshot);
    }
}

static uint64_t reads_of(const struct totals *t)
{
    uint64_t n = t->poisoned;
    for (unsigned a = 0; a < HL_TORTURE_AGES; a++)
        n += t->age[a];
    return n;
}

static bool torture_failed(const struct totals *t)
{
    return t->age[HL_TORTURE_AGES - 1] != 0 || t->poisoned != 0;
}

/* rcutorture's "Reader Pipe" line. */
static void print_histogram(FILE *f, const struct totals *t)
{
    fprintf(f, "reads %llu by age (grace periods): 0: %llu  1: %llu  >=2: %llu  poisoned: %llu",
            (unsigned long long)reads_of(t), (unsigned long long)t->age[0],
            (unsigned long long)t->age[1], (unsigned long long)t->age[2],
            (unsigned long long)t->poisoned);
}

/* The SET_CONFIG storm. A refusal is legitimate only under fault injection,
   and must leave the configuration in force untouched. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct hl_set_config_result r;

    while (!atomic_load(&w->stop) && hlt_failures == 0) {
        unsigned next = w->current ^ 1u;
        NTSTATUS st = hlt_set_config(w->blob[next], w->len[next], &r);

        HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS, "SET_CONFIG: IRP status 0x%08x", (unsigned)st);
        if (st != (NTSTATUS)HL_STATUS_SUCCESS)
            break;
        if (r.status == HL_OK) {
            HLT_CHECK(r.generation == w->generation + 1,
                      "SET_CONFIG applied as generation %llu after %llu",
                      (unsigned long long)r.generation, (unsigned long long)w->generation);
            w->generation = r.generation;
            w->current = next;
            atomic_fetch_add(&w->swaps, 1);
        } else {
            size_t len;
            uint8_t *now;

            HLT_CHECK(emu_fault_configured() && r.status == HL_E_NO_MEMORY,
                      "SET_CONFIG refused (%d: %s) without fault injection to explain it", r.status,
                      r.reason);
            HLT_CHECK(r.generation == w->generation,
                      "refused SET_CONFIG moved the generation from %llu to %llu",
                      (unsigned long long)w->generation, (unsigned long long)r.generation);
            now = hlt_get_config(&len);
            HLT_CHECK(len == w->len[w->current] && memcmp(now, w->blob[w->current], len) == 0,
                      "refused SET_CONFIG: GET_CONFIG is no longer the configuration in force");
            free(now);
            atomic_fetch_add(&w->refused, 1);
        }
    }
    return NULL;
}

struct progress {
    const struct options *o;
    struct writer *w;
    double next;
};

static void progress(struct emu_session *s, double elapsed, void *ctx)
{
    struct progress *p = ctx;
    struct totals t;

    read_totals(&t);
    if (torture_failed(&t) || hlt_failures != 0)
        interrupted = 1; /* the report says why */
    if (elapsed < p->next && !interrupted)
        return;
    p->next += p->o->progress_every;
    printf("[%7.1fs] swaps %llu refused %llu churn %llu findings %zu | ", elapsed,
           (unsigned long long)atomic_load(&p->w->swaps),
           (unsigned long long)atomic_load(&p->w->refused),
           (unsigned long long)emu_session_churn_events(s), emu_violation_count());
    print_histogram(stdout, &t);
    printf("\n");
    fflush(stdout);
}

/* The first failing read of each CPU, in words. */
static void print_failures(void)
{
    for (unsigned c = 0; c < ncpus; c++) {
        HL_TORTURE_CPU *cpu = &torture->Cpu[c];
        uint64_t magic = (uint64_t)ReadNoFence64(&cpu->FirstMagic);
        int64_t gen = ReadNoFence64(&cpu->FirstSnapshotGeneration);
        int64_t cur = ReadNoFence64(&cpu->FirstCurrentGeneration);

        if (magic == 0)
            continue;
        if (magic != HL_TORTURE_MAGIC)
            printf("hltorture: FAIL: CPU %u classified with a freed snapshot (header 0x%016llx, "
                   "poison): it was freed while a read section still used it\n",
                   c, (unsigned long long)magic);
        else
            printf("hltorture: FAIL: CPU %u classified with generation %lld while %lld was "
                   "published: %lld grace periods old (the grace period that retired it ended "
                   "while a read section still held it)\n",
                   c, (long long)gen, (long long)cur, (long long)(cur - gen));
    }
}

int main(int argc, char **argv)
{
    struct emu_session_config cfg;
    struct writer w;
    struct options o;
    struct hl_set_config_result r;
    struct progress p;
    struct totals t;
    char param[128], err[256];
    struct emu_session *s;
    void *dl;
    int rc = parse_options(argc, argv, &o);

    if (rc != 0)
        return rc;
    /* Checked now, switched on only once the stacks are up (the session switches it off). */
    if (o.faults != NULL && !emu_fault_configure(o.faults, err, sizeof(err))) {
        fprintf(stderr, "hltorture: %s\n", err);
        return 2;
    }

    emu_session_config_init(&cfg);
    cfg.cpus = o.cpus;
    cfg.adapters = o.adapters;
    cfg.drivers[cfg.ndrivers++] = o.driver;
    cfg.traffic = o.traffic;
    cfg.rate = o.rate;
    cfg.tx_rate = o.rate / 2;
    cfg.batch = 16;
    cfg.split = "random";
    cfg.churn = o.churn;
    emu_churn_parse(o.churn_mix, &cfg.churn_mix);
    snprintf(param, sizeof(param), "hotlwf:Strategy=%s", o.strategy);
    cfg.params[cfg.nparams++] = param;
    cfg.recycle = false; /* a use-after-return is a use-after-free: ASan sees it */
    cfg.seed = o.seed;
    s = emu_session_create(&cfg, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "hltorture: %s\n", err);
        return 2;
    }
    ncpus = emu_session_cpus(s);
    /* Our own reference: HlTorture stays readable after the session unloads the driver. */
    dl = dlopen(o.driver, RTLD_NOW | RTLD_NOLOAD);
    torture = dl != NULL ? dlsym(dl, "HlTorture") : NULL;
    if (torture == NULL) {
        fprintf(stderr, "hltorture: %s is not the torture build of hotlwf (no HlTorture)\n",
                o.driver);
        return 2;
    }
    WriteNoFence64(&torture->ReaderDelayNs, (LONG64)o.reader_delay_us * 1000);

    memset(&w, 0, sizeof(w));
    hlt_storm_blobs(&w.blob[0], &w.len[0], &w.blob[1], &w.len[1]);
    if (!emu_session_start(s, err, sizeof(err))) {
        fprintf(stderr, "hltorture: %s\n", err);
        return 2;
    }
    HLT_CHECK(hlt_set_config(w.blob[0], w.len[0], &r) == (NTSTATUS)HL_STATUS_SUCCESS &&
                  r.status == HL_OK,
              "first SET_CONFIG: %d %s", r.status, r.reason);
    w.generation = r.generation;
    if (o.faults != NULL)
        emu_fault_configure(o.faults, err, sizeof(err));

    printf("hltorture: %s, strategy %s, %u CPUs, %u adapters, %s traffic at %llu/s, churn %g/s "
           "(%s), faults %s, reader delay %u us, %.0f s\n",
           o.driver, o.strategy, ncpus, o.adapters, o.traffic, (unsigned long long)o.rate, o.churn,
           o.churn_mix, o.faults ? o.faults : "none", o.reader_delay_us, o.seconds);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pthread_create(&w.thread, NULL, writer_main, &w);
    p = (struct progress){&o, &w, o.progress_every};
    emu_session_run_for(s, o.seconds, &interrupted, progress, &p);
    double elapsed = emu_session_elapsed(s);

    atomic_store(&w.stop, 1);
    pthread_join(w.thread, NULL);
    emu_fault_set_active(false); /* the unload below runs with every allocation granted */
    emu_session_stop(s);         /* unload: pool, NBL and OID leak checks */

    read_totals(&t);
    printf("hltorture: %.1f s, %llu swaps, %llu refused under fault injection, %llu churn "
           "events, %llu allocations failed, %zu verifier findings\n",
           elapsed, (unsigned long long)atomic_load(&w.swaps),
           (unsigned long long)atomic_load(&w.refused),
           (unsigned long long)emu_session_churn_events(s),
           (unsigned long long)emu_fault_failed(NULL), emu_violation_count());
    printf("hltorture: ");
    print_histogram(stdout, &t);
    printf("\n");
    for (unsigned c = 0; c < ncpus; c++)
        printf("  CPU %u: age 0: %llu  1: %llu  >=2: %llu  poisoned: %llu\n", c,
               (unsigned long long)ReadNoFence64(&torture->Cpu[c].Reads[0]),
               (unsigned long long)ReadNoFence64(&torture->Cpu[c].Reads[1]),
               (unsigned long long)ReadNoFence64(&torture->Cpu[c].Reads[2]),
               (unsigned long long)ReadNoFence64(&torture->Cpu[c].Poisoned));
    if (t.no_snapshot != 0)
        printf("hltorture: %llu reads found no snapshot in their view\n",
               (unsigned long long)t.no_snapshot);

    print_failures();
    if (emu_violation_count() != 0)
        emu_violations_print(stdout, false);
    HLT_CHECK(!torture_failed(&t), "a read used a snapshot after its grace period");
    HLT_CHECK(emu_violation_count() == 0, "%zu verifier findings", emu_violation_count());
    HLT_CHECK(reads_of(&t) > 0 && atomic_load(&w.swaps) > 0,
              "nothing tortured: %llu reads, %llu swaps", (unsigned long long)reads_of(&t),
              (unsigned long long)atomic_load(&w.swaps));

    emu_session_destroy(s);
    dlclose(dl);
    free(w.blob[0]);
    free(w.blob[1]);
    printf("hltorture: %s\n", hlt_failures ? "FAIL" : "PASS");
    return hlt_failures ? 1 : 0;
}
