/*
 * What a compiled snapshot holds; shared by the config_*.c and stats.c files
 * only. Everything hangs off one allocation so that a failed compile has one
 * thing to free and a snapshot is reclaimed with one call after its grace
 * period.
 */
#ifndef HOTLWF_CORE_CONFIG_INTERNAL_H
#define HOTLWF_CORE_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "hotlwf/config.h"
#include "rule_index.h"

#define HL_CACHE_LINE 64u

struct hl_rule {
    uint8_t action;
    uint8_t direction;
    struct hl_selector sel; /* name NUL-terminated by the compiler */
    const struct hl_bpf_insn *insns;
    const struct hl_bpf_op *ops; /* insns decoded for hl_bpf_exec: what classification runs */
    uint32_t ninsns;
};

struct hl_snapshot {
    struct hl_alloc alloc; /* a copy: the caller's struct may be gone when we free */
    void *base;            /* the snapshot's allocation, == this struct */
    size_t bytes;          /* its size */
    uint32_t nrules;
    uint32_t ncpus;
    uint8_t default_action;
    struct hl_rule *rules;     /* [nrules] */
    struct hl_bpf_insn *insns; /* all programs, back to back */
    struct hl_bpf_op *ops;     /* the same, decoded, back to back */
    struct hl_index *index;    /* its own allocation; NULL when there are no rules */
    const uint8_t *blob;       /* copy of the accepted blob */
    size_t blob_len;
    /*
     * Counters: for CPU c, uint64_t[(nrules + 1) * 2] at stats + c * stride,
     * index rule * 2 + (dir == OUT). stats is 64-aligned and stride a multiple
     * of 64, so no cache line is written by two CPUs.
     */
    uint8_t *stats;
    size_t stats_stride;
};

static inline uint16_t hl_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t hl_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void hl_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void hl_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Selector data bytes in the blob for a kind; -1 for a kind this version does not know. */
static inline int hl_sel_fixed_len(uint8_t kind)
{
    switch (kind) {
    case HL_SEL_ALL:
        return 0;
    case HL_SEL_MAC:
        return 6;
    case HL_SEL_IFINDEX:
        return 4;
    default:
        return -1;
    }
}

static inline uint32_t hl_pad8(uint32_t n)
{
    return (n + 7u) & ~7u;
}

#endif
