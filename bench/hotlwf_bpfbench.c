/*
 * hotlwf-bpfbench: hl_bpf_exec beside libpcap's bpf_filter (bpf_compare.h),
 * timed and interleaved, or one side once for callgrind to count.
 */
#include <getopt.h>
#include <hotlwf/config.h>
#include <hotlwf/heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rules.h"
#include "bpf_compare.h"
#include "classify_scale.h"

/* --compile SHAPE:N: hl_config_compile's time and memory for N rules of SHAPE (2 CPUs). */
static int compile_cost(const char *arg)
{
    char shape[32], err[256];
    unsigned n = 0, rep;
    struct hl_snapshot *s = NULL;
    struct hl_snapshot_info info;
    struct timespec t0, t1;
    double best = 1e30;
    uint8_t *blob;
    size_t len = 0;

    if (sscanf(arg, "%31[^:]:%u", shape, &n) != 2 || !bench_rules_shape_ok(shape)) {
        fprintf(stderr, "hotlwf-bpfbench: --compile SHAPE:N, e.g. hosts:10000\n");
        return 2;
    }
    blob = bench_rules_blob(shape, n, 0, &len, err, sizeof(err));
    if (blob == NULL) {
        fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
        return 1;
    }
    /* The best of 5: the compile's own cost, not the machine's other load. */
    for (rep = 0; rep < 5; rep++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (hl_config_compile(blob, len, &hl_heap, 2, &s, err, sizeof(err)) != HL_OK) {
            fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
            free(blob);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rep < 4)
            hl_snapshot_free(s);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms < best)
            best = ms;
    }
    hl_snapshot_get_info(s, &info);
    printf("| %s | %u | %zu | %.2f | %llu | %llu | %u | %u |\n", shape, n, len, best,
           (unsigned long long)info.snapshot_bytes, (unsigned long long)info.index_bytes,
           info.indexed, info.fields);
    hl_snapshot_free(s);
    free(blob);
    return 0;
}

static void usage(FILE *f, int status)
{
    fprintf(f,
            "usage: hotlwf-bpfbench [--exprs FILE] [--seconds S] [--once SIDE] [PCAP...]\n"
            "\n"
            "Runs every pcap-filter expression of FILE (compiled by libpcap, optimizer on)\n"
            "on every packet of the captures, through hl_bpf_exec (decoded programs, as the\n"
            "driver runs them) and libpcap's bpf_filter, interleaved for about S seconds\n"
            "(default 2), and prints ns per program run and the ratio: packets contiguous,\n"
            "and split after the Ethernet header (and after a 20-byte IPv4 header) for\n"
            "hl_bpf_exec; bpf_filter always reads the contiguous packet.\n"
            "Defaults: the expressions of tests/bpf and the captures of tests/data.\n"
            "  --compile SHAPE:N  instead: compile N rules of a hotlwf-bench --rule-shape\n"
            "                (hosts:10000) and print a Markdown row: blob bytes, best-of-5\n"
            "                compile ms, snapshot and index bytes, rules indexed, fields\n"
            "  --classify SHAPE:N1,N2,...  instead: hl_classify's ns per packet for rule sets\n"
            "                of each size, interleaved (hosts:10,100,10000)\n"
            "  --classify-once SHAPE:N  one untimed classification pass, for callgrind\n"
            "  --once SIDE   one untimed pass of hl-whole, hl-split14, hl-split3 or pcap,\n"
            "                for callgrind (bench/bpf_instructions.sh); prints the runs\n");
    exit(status);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"exprs", 1, 0, 'e'},
                                         {"seconds", 1, 0, 's'},
                                         {"once", 1, 0, 'o'},
                                         {"compile", 1, 0, 'c'},
                                         {"classify", 1, 0, 'k'},
                                         {"classify-once", 1, 0, 'K'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    static const char *const default_pcaps[] = {HL_BENCH_CAPTURES};
    const char *exprs = HL_BENCH_EXPRESSIONS, *once = NULL, *classify = NULL, *classify1 = NULL;
    const char *const *pcaps = default_pcaps;
    unsigned npcaps = sizeof(default_pcaps) / sizeof(default_pcaps[0]);
    double seconds = 2;
    struct bpfcmp_result r;
    char err[512];
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            exprs = optarg;
            break;
        case 's':
            seconds = atof(optarg);
            if (seconds <= 0)
                usage(stderr, 2);
            break;
        case 'o':
            once = optarg;
            break;
        case 'c':
            return compile_cost(optarg);
        case 'k':
            classify = optarg;
            break;
        case 'K':
            classify1 = optarg;
            break;
        case 'h':
            usage(stdout, 0);
            break;
        default:
            usage(stderr, 2);
        }
    }
    if (optind < argc) {
        pcaps = (const char *const *)&argv[optind];
        npcaps = (unsigned)(argc - optind);
    }
    if (classify != NULL)
        return classify_scale(classify, pcaps, npcaps, seconds, stdout);
    if (classify1 != NULL)
        return classify_once(classify1, pcaps, npcaps, stdout);
    if (once != NULL) {
        if (bpfcmp_once(exprs, pcaps, npcaps, once, stdout, err, sizeof(err)) != 0) {
            fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (bpfcmp_run(exprs, pcaps, npcaps, seconds, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
        return 1;
    }
    bpfcmp_print(stdout, &r);
    return 0;
}
