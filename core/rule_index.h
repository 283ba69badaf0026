/*
 * The rule index of a snapshot (rule_index.c): which rules a packet can
 * possibly match, found by hashing a few header fields instead of running
 * every rule's program. Built when a configuration is compiled, read-only
 * afterwards; shared by config_parse.c (build), config_snapshot.c (use).
 */
#ifndef HOTLWF_CORE_RULE_INDEX_H
#define HOTLWF_CORE_RULE_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "hotlwf/config.h"

#define HL_IDX_MAX_FIELDS 32u /* distinct header fields the index hashes */

/*
 * A header field as a program reads it: size bytes at off (ind == 0), or at
 * 4 * (P[msh] & 0xf) + off (ind == 1: behind an IPv4 header, as pcap's
 * "ldxb 4*([14]&0xf); ldh [x+14]" reads ports), then ANDed with mask.
 */
struct hl_field {
    uint8_t ind;
    uint8_t size; /* 1, 2 or 4 */
    uint16_t reserved;
    uint32_t msh;
    uint32_t off;
    uint32_t mask;
};

/* One (direction, field, value) key: its rules are lists[first .. first + count), ascending. */
struct hl_idx_slot {
    uint32_t value;
    uint8_t used;
    uint8_t dir; /* 0 in, 1 out */
    uint8_t field;
    uint8_t reserved;
    uint32_t first;
    uint32_t count;
};

struct hl_index {
    uint32_t nfields;
    struct hl_field fields[HL_IDX_MAX_FIELDS];
    uint32_t dir_fields[2]; /* bit f: some rule of this direction is keyed on field f */
    uint32_t slot_mask;     /* slots has slot_mask + 1 entries, a power of two */
    struct hl_idx_slot *slots;
    uint32_t *lists;
    uint32_t *unindexed[2]; /* rules (0-based, ascending) that every packet must try */
    uint32_t nunindexed[2];
    uint32_t nindexed; /* rules with keys */
    size_t bytes;      /* the allocation, for the record */
};

struct hl_rule;

/*
 * Builds the index of rules[0..nrules) (validated programs) into one
 * allocation from a. Returns HL_OK and *out (NULL when nrules is 0),
 * HL_E_SNAPSHOT_TOO_LARGE when that allocation would exceed max_bytes
 * (*bytes says how large it would have been), or HL_E_NO_MEMORY.
 */
int hl_index_build(const struct hl_rule *rules, uint32_t nrules, const struct hl_alloc *a,
                   uint64_t max_bytes, struct hl_index **out, uint64_t *bytes);
void hl_index_free(struct hl_index *idx, const struct hl_alloc *a);

/* The largest number of candidate lists a packet can gather: every field, plus the unindexed. */
#define HL_IDX_MAX_LISTS (HL_IDX_MAX_FIELDS + 1u)

struct hl_idx_list {
    const uint32_t *next, *end;
};

/* The candidate lists for this packet and direction (0 in, 1 out); returns how many. */
uint32_t hl_index_lookup(const struct hl_index *idx, uint32_t dir, const struct hl_seg *segs,
                         size_t nsegs, struct hl_idx_list *lists);

#endif
