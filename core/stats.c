/*
 * Per-CPU hit counters. The concurrency argument: slot c is written only by
 * the context running on CPU c at DISPATCH_LEVEL, and one such context runs
 * per CPU at a time, so a counter has exactly one writer and a plain
 * load/add/store cannot lose an increment. Readers (GET_STATS, any CPU) use
 * relaxed loads, which are enough to never see a torn 64-bit value; stale by
 * a few packets is fine. Slots are cache-line aligned, so writers on
 * different CPUs never share a line.
 */
#include "config_internal.h"
#include "hl_atomic.h"

static uint64_t *slot(const struct hl_snapshot *s, uint32_t cpu)
{
    return (uint64_t *)(void *)(s->stats + (size_t)cpu * s->stats_stride);
}

void hl_stats_hit(struct hl_snapshot *s, uint32_t cpu, uint32_t rule, enum hl_direction dir)
{
    uint64_t *c;

    if (s == NULL || cpu >= s->ncpus || rule > s->nrules || (dir != HL_DIR_IN && dir != HL_DIR_OUT))
        return;
    c = slot(s, cpu) + (size_t)rule * 2 + (dir == HL_DIR_OUT);
    hl_store_relaxed_u64(c, hl_load_relaxed_u64(c) + 1);
}

void hl_stats_read(const struct hl_snapshot *s, uint32_t rule, uint64_t *in, uint64_t *out)
{
    uint64_t sin = 0, sout = 0;
    uint32_t cpu;

    if (s != NULL && rule <= s->nrules) {
        for (cpu = 0; cpu < s->ncpus; cpu++) {
            const uint64_t *c = slot(s, cpu) + (size_t)rule * 2;
            sin += hl_load_relaxed_u64(&c[0]);
            sout += hl_load_relaxed_u64(&c[1]);
        }
    }
    if (in != NULL)
        *in = sin;
    if (out != NULL)
        *out = sout;
}
