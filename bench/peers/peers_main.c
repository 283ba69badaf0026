/*
 * hotlwf-peers: every flavour on the same reader loop, in one run,
 * interleaved over repetitions (rep r runs the flavours in an order rotated
 * by r), so that frequency scaling, a noisy neighbour or the page cache
 * cannot favour whichever flavour happened to run first. Throughput is
 * reported as a ratio to the unsynchronized baseline of the same
 * repetition; grace-period latencies are pooled over repetitions.
 *
 * --check makes it a test: every flavour except `unsync` must show zero
 * violations, every reader must have made progress, every grace period
 * must have ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "peers.h"

static const struct peer_flavour *const flavours[] = {
    &peer_none,    &peer_hlepoch, &peer_hlepoch_view,
#ifdef HL_PEERS_NDISEMU
    &peer_ndisemu,
#endif
/*
 * liburcu and ck order their accesses with inline-asm fences and volatile
 * loads ThreadSanitizer cannot see, so under TSan every one of their reads
 * is a false race report: only the flavours built from C11 atomics and
 * pthreads run there.
 */
#if !defined(__SANITIZE_THREAD__)
    &peer_qsbr,    &peer_memb,    &peer_ck,
#endif
    &peer_rwlock,
};
#define NFLAV (sizeof(flavours) / sizeof(flavours[0]))

struct flav_result {
    double rps[64];   /* reads/s per reader, one per repetition */
    double ratio[64]; /* to unsync in the same repetition */
    uint64_t *lat_ns; /* grace periods, pooled */
    size_t nlat, caplat;
    uint64_t violations, grace_count, reads;
};

void peer_pin(unsigned cpu, unsigned cpus)
{
    cpu_set_t set;

    if (cpus == 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu % cpus, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Retired configurations are poisoned, then kept for a while before being
 * freed: a reader of a flavour that got the grace period wrong then reads
 * the poison (a counted violation) instead of crashing the whole run.
 */
#define QUARANTINE 4096u
static struct peer_cfg *quarantine[QUARANTINE];
static unsigned quarantine_next;

void peer_retire(struct peer_cfg *c)
{
    if (c == NULL)
        return;
    __atomic_store_n(&c->magic, PEER_MAGIC_DEAD, __ATOMIC_RELAXED);
    free(quarantine[quarantine_next]);
    quarantine[quarantine_next] = c;
    quarantine_next = (quarantine_next + 1) % QUARANTINE;
}

static void quarantine_flush(void)
{
    unsigned i;

    for (i = 0; i < QUARANTINE; i++) {
        free(quarantine[i]);
        quarantine[i] = NULL;
    }
}

static struct peer_cfg *cfg_new(uint64_t gen)
{
    struct peer_cfg *c = malloc(sizeof(*c));
    unsigned i;

    if (c == NULL) {
        perror("malloc");
        exit(2);
    }
    c->magic = PEER_MAGIC_LIVE;
    c->gen = gen;
    for (i = 0; i < PEER_WORDS; i++)
        c->words[i] = gen * 31u + i;
    return c;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lat_push(struct flav_result *fr, uint64_t ns)
{
    if (fr->nlat == fr->caplat) {
        fr->caplat = fr->caplat ? fr->caplat * 2 : 1024;
        fr->lat_ns = realloc(fr->lat_ns, fr->caplat * sizeof(*fr->lat_ns));
        if (fr->lat_ns == NULL) {
            perror("realloc");
            exit(2);
        }
    }
    fr->lat_ns[fr->nlat++] = ns;
}

/* One flavour, one repetition: readers run while this thread is the writer. */
static double run_one(const struct peer_flavour *f, const struct peer_params *p,
                      unsigned duration_ms, unsigned rate, struct flav_result *fr)
{
    struct peer_run run = {.params = p};
    struct peer_reader *readers = aligned_alloc(64, sizeof(*readers) * p->readers);
    pthread_t *tids = calloc(p->readers, sizeof(*tids));
    uint64_t gen = 1, start, end, next, period, total = 0;
    unsigned i;

    if (readers == NULL || tids == NULL || f->init(p, cfg_new(gen)) != 0) {
        fprintf(stderr, "%s: init failed\n", f->name);
        exit(2);
    }
    atomic_init(&run.stop, 0);
    pthread_barrier_init(&run.start, NULL, p->readers + 1);
    memset(readers, 0, sizeof(*readers) * p->readers);
    for (i = 0; i < p->readers; i++) {
        readers[i].run = &run;
        readers[i].id = i;
        pthread_create(&tids[i], NULL, f->reader, &readers[i]);
    }
    pthread_barrier_wait(&run.start);

    start = now_ns();
    end = start + (uint64_t)duration_ms * 1000000ull;
    period = rate ? 1000000000ull / rate : 0;
    next = start;
    while (now_ns() < end) {
        if (rate == 0) {
            usleep(1000);
            continue;
        }
        uint64_t t0 = now_ns();
        struct peer_cfg *old = f->replace(cfg_new(++gen));

        lat_push(fr, now_ns() - t0);
        fr->grace_count++;
        peer_retire(old);
        /* A fixed schedule, not a fixed pause: a slow grace period eats into the next interval. */
        next += period;
        if (next > now_ns()) {
            struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};

            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
    atomic_store(&run.stop, 1);
    for (i = 0; i < p->readers; i++) {
        pthread_join(tids[i], NULL);
        total += readers[i].reads;
        fr->violations += readers[i].violations;
    }
    fr->reads += total;
    end = now_ns();
    f->fini();
    pthread_barrier_destroy(&run.start);
    free(tids);
    free(readers);
    return (double)total / p->readers / ((double)(end - start) / 1e9);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
    double tmp[64];

    memcpy(tmp, v, n * sizeof(*v));
    qsort(tmp, n, sizeof(*tmp), cmp_dbl);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static double pct_us(struct flav_result *fr, double q)
{
    if (fr->nlat == 0)
        return 0;
    return (double)fr->lat_ns[(size_t)(q * (double)(fr->nlat - 1))] / 1000.0;
}

static void usage(FILE *f, int status)
{
    fprintf(f, "usage: hotlwf-peers [--readers N] [--duration-ms MS] [--reps N] [--rate W/s]\n"
               "                    [--work WORDS] [--qs-every N] [--flavours a,b,...]\n"
               "                    [--json FILE] [--check]\n"
               "\n"
               "Readers loop \"enter; load the configuration; read WORDS words; leave\" under\n"
               "every flavour (hotlwf's epoch engine, liburcu QSBR and memb, ck_epoch, a pthread\n"
               "rwlock, and the unsynchronized baseline), while a writer replaces the\n"
               "configuration W times a second and reclaims it after a grace period.\n"
               "Defaults: --readers = online CPUs (reader i pinned to CPU i mod CPUs),\n"
               "--duration-ms 200, --reps 5, --rate 1000, --work 8, --qs-every 1 (read\n"
               "sections per quiescent state), every flavour.\n"
               "  --flavours L  only these (unsync, the baseline of the ratios, always runs)\n"
               "  --json FILE   results as JSON\n"
               "  --check       exit 1 if a synchronized flavour let a reader see reclaimed\n"
               "                memory, a reader made no progress or no grace period ended\n");
    exit(status);
}

/* The flavours this run measures, unsync (index 0, the baseline) first. */
static unsigned sel[NFLAV], nsel;

static void select_flavours(char *list)
{
    char *save = NULL;

    nsel = 1;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        unsigned k, i;

        for (k = 0; k < NFLAV && strcmp(flavours[k]->name, name) != 0; k++)
            ;
        if (k == NFLAV) {
            fprintf(stderr, "hotlwf-peers: no flavour '%s'; this build has:", name);
            for (k = 0; k < NFLAV; k++)
                fprintf(stderr, " %s", flavours[k]->name);
            fprintf(stderr, "\n");
            exit(2);
        }
        for (i = 0; i < nsel && sel[i] != k; i++)
            ;
        if (i == nsel)
            sel[nsel++] = k;
    }
}

static unsigned number(const char *opt, const char *v, unsigned lo, unsigned hi)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end != '\0' || v[0] == '-' || n < lo || n > hi) {
        fprintf(stderr, "hotlwf-peers: --%s needs a whole number from %u to %u, not '%s'\n", opt,
                lo, hi, v);
        exit(2);
    }
    return (unsigned)n;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"readers", 1, 0, 'r'}, {"duration-ms", 1, 0, 'd'},
        {"reps", 1, 0, 'n'},    {"rate", 1, 0, 'w'},
        {"work", 1, 0, 'k'},    {"qs-every", 1, 0, 'q'},
        {"json", 1, 0, 'j'},    {"check", 0, 0, 'c'},
        {"help", 0, 0, 'h'},    {"flavours", 1, 0, 'f'},
        {0, 0, 0, 0},
    };
    struct peer_params p = {.work = 8, .qs_every = 1};
    static struct flav_result res[NFLAV];
    unsigned duration_ms = 200, reps = 5, rate = 1000, rep, k;
    const char *json = NULL;
    int check = 0, c, failed = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    p.cpus = ncpu > 0 ? (unsigned)ncpu : 1;
    p.readers = p.cpus;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            p.readers = number("readers", optarg, 1, 256);
            break;
        case 'd':
            duration_ms = number("duration-ms", optarg, 1, 3600000);
            break;
        case 'n':
            reps = number("reps", optarg, 1, 64);
            break;
        case 'w':
            rate = number("rate", optarg, 0, 1000000);
            break;
        case 'k':
            p.work = number("work", optarg, 0, PEER_WORDS);
            break;
        case 'q':
            p.qs_every = number("qs-every", optarg, 1, 1u << 30);
            break;
        case 'j':
            json = optarg;
            break;
        case 'f':
            select_flavours(optarg);
            break;
        case 'c':
            check = 1;
            break;
        case 'h':
            usage(stdout, 0);
            break;
        default:
            usage(stderr, 2);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "hotlwf-peers: unexpected argument '%s'\n", argv[optind]);
        usage(stderr, 2);
    }
    if (nsel == 0)
        for (nsel = 0; nsel < NFLAV; nsel++)
            sel[nsel] = nsel;

    for (rep = 0; rep < reps; rep++) {
        double base = 0;

        for (k = 0; k < nsel; k++) {
            unsigned f = sel[(k + rep) % nsel];

            res[f].rps[rep] = run_one(flavours[f], &p, duration_ms, rate, &res[f]);
            fprintf(stderr, "\r[%3u%%] rep %u/%u %-16s",
                    (unsigned)((rep * nsel + k + 1) * 100 / (reps * nsel)), rep + 1, reps,
                    flavours[f]->name);
        }
        base = res[0].rps[rep];
        for (k = 0; k < nsel; k++)
            res[sel[k]].ratio[rep] = base > 0 ? res[sel[k]].rps[rep] / base : 0;
    }
    fprintf(stderr, "\n");

    printf("readers=%u cpus=%u work=%u qs-every=%u rate=%u/s duration=%ums reps=%u\n\n", p.readers,
           p.cpus, p.work, p.qs_every, rate, duration_ms, reps);
    printf(
        "| flavour | reads/s per reader (median) | ratio to unsync | grace p50 us | grace p99 us "
        "| grace periods | violations |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (unsigned i = 0; i < nsel; i++) {
        struct flav_result *fr = &res[k = sel[i]];

        qsort(fr->lat_ns, fr->nlat, sizeof(*fr->lat_ns), cmp_u64);
        printf("| %s | %.3g | %.3f | %.1f | %.1f | %llu | %llu |\n", flavours[k]->name,
               median(fr->rps, reps), median(fr->ratio, reps), pct_us(fr, 0.5), pct_us(fr, 0.99),
               (unsigned long long)fr->grace_count, (unsigned long long)fr->violations);
        if (k != 0 && fr->violations != 0) {
            fprintf(stderr, "FAIL: %s: %llu sections saw a reclaimed configuration\n",
                    flavours[k]->name, (unsigned long long)fr->violations);
            failed = 1;
        }
        if (median(fr->rps, reps) <= 0) {
            fprintf(stderr, "FAIL: %s: readers made no progress\n", flavours[k]->name);
            failed = 1;
        }
        if (rate && fr->grace_count == 0) {
            fprintf(stderr, "FAIL: %s: no grace period completed\n", flavours[k]->name);
            failed = 1;
        }
    }
    if (json) {
        FILE *fp = fopen(json, "w");

        if (fp == NULL) {
            perror(json);
            return 2;
        }
        fprintf(fp,
                "{\"readers\":%u,\"cpus\":%u,\"work\":%u,\"qs_every\":%u,\"rate\":%u,"
                "\"duration_ms\":%u,\"reps\":%u,\"flavours\":[",
                p.readers, p.cpus, p.work, p.qs_every, rate, duration_ms, reps);
        for (unsigned i = 0; i < nsel; i++) {
            struct flav_result *fr = &res[k = sel[i]];

            fprintf(fp,
                    "%s{\"name\":\"%s\",\"reads_per_s_per_reader\":%.0f,\"ratio\":%.4f,"
                    "\"grace_p50_us\":%.2f,\"grace_p99_us\":%.2f,\"grace_periods\":%llu,"
                    "\"violations\":%llu,\"reads\":%llu}",
                    i ? "," : "", flavours[k]->name, median(fr->rps, reps), median(fr->ratio, reps),
                    pct_us(fr, 0.5), pct_us(fr, 0.99), (unsigned long long)fr->grace_count,
                    (unsigned long long)fr->violations, (unsigned long long)fr->reads);
        }
        fprintf(fp, "]}\n");
        fclose(fp);
    }
    for (k = 0; k < NFLAV; k++)
        free(res[k].lat_ns);
    quarantine_flush();
    return check && failed ? 1 : 0;
}
