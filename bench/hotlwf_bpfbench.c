/*
 * hotlwf-bpfbench: hl_bpf_exec beside libpcap's bpf_filter (bpf_compare.h),
 * timed and interleaved, or one side once for callgrind to count.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpf_compare.h"

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
            "  --once SIDE   one untimed pass of hl-whole, hl-split14, hl-split3 or pcap,\n"
            "                for callgrind (bench/bpf_instructions.sh); prints the runs\n");
    exit(status);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"exprs", 1, 0, 'e'},
                                         {"seconds", 1, 0, 's'},
                                         {"once", 1, 0, 'o'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    static const char *const default_pcaps[] = {HL_BENCH_CAPTURES};
    const char *exprs = HL_BENCH_EXPRESSIONS, *once = NULL;
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
