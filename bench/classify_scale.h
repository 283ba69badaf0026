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

/* spec: "SHAPE:N": one untimed pass for callgrind; prints "runs <packets>". */
int classify_once(const char *spec, const char *const *pcaps, unsigned npcaps, FILE *out);

#endif
