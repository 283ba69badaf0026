/*
 * hl_classify's cost against the number of rules: rule sets of one
 * hotlwf-bench --rule-shape at several sizes, compiled into snapshots, every
 * packet of the captures classified (received direction) through each,
 * interleaved in one run; ns per packet and the ratio to the first size.
 */
#ifndef HOTLWF_BENCH_CLASSIFY_SCALE_H
#define HOTLWF_BENCH_CLASSIFY_SCALE_H

#include <stdio.h>

/* spec: "SHAPE:N1,N2,..." (at most 8 sizes). Prints a Markdown table. Returns 0 or 1. */
int classify_scale(const char *spec, const char *const *pcaps, unsigned npcaps, double seconds,
                   FILE *out);

#define CLASSIFY_SCALE_MAX_SIZES 16

/*
 * hotlwf-bench --scale rules: for each shape, rule sets of every size
 * compiled (time and bytes) and classified interleaved for `seconds`; a
 * Markdown table to out, progress lines to stderr, and JSON to json_path
 * (NULL: none) for bench/plot.sh. Returns 0, 1 (failed) or 2 (bad sizes).
 */
int classify_scale_rules(const char *const *shapes, unsigned nshapes, const unsigned *sizes,
                         unsigned nsizes, const char *const *pcaps, unsigned npcaps, double seconds,
                         FILE *out, const char *json_path);

/* spec: "SHAPE:N": one untimed pass for callgrind; prints "runs <packets>". */
int classify_once(const char *spec, const char *const *pcaps, unsigned npcaps, FILE *out);

#endif
