/*
 * hotlwf configuration: blob encoder, blob compiler, the immutable snapshot,
 * the per-module cached view and per-CPU counters.
 *
 * Life cycle (DESIGN.md, "The swap"): the IOCTL handler compiles a blob into
 * a snapshot off to the side (PASSIVE_LEVEL, may allocate), publishes it, and
 * frees the old one after a grace period. Datapath code (DISPATCH_LEVEL)
 * never allocates: it refreshes its module's hl_view when the generation
 * changes, classifies through the view and counts hits in its CPU's slot.
 * A snapshot is immutable once compiled, except for the counters.
 *
 * Portable C11, no OS calls; allocation only through struct hl_alloc.
 */
#ifndef HOTLWF_CONFIG_H
#define HOTLWF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "hotlwf/bpf.h"
#include "hotlwf/rules.h"
#include "hotlwf/ioctl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caller-supplied allocator: ExAllocatePool2/ExFreePool in the driver, malloc in user mode. */
struct hl_alloc {
    void *(*alloc)(void *ctx, size_t size); /* NULL on failure; no alignment beyond 8 assumed */
    void (*free)(void *ctx, void *p);
    void *ctx;
};

/* Every way a blob or a call can be wrong. Values are ABI (hl_set_config_result.status). */
enum hl_status {
    HL_OK = 0,
    HL_E_TRUNCATED = -1, /* the buffer ends before a declared size does */
    HL_E_BAD_MAGIC = -2,
    HL_E_BAD_VERSION = -3,
    HL_E_BAD_HEADER_SIZE = -4,
    HL_E_SIZE_MISMATCH = -5,  /* a declared size disagrees with what it contains */
    HL_E_TOO_LARGE = -6,      /* over HL_BLOB_MAX */
    HL_E_TOO_MANY_RULES = -7, /* over HL_MAX_RULES */
    HL_E_BAD_ACTION = -8,     /* a rule's or the default action */
    HL_E_BAD_DIRECTION = -9,
    HL_E_BAD_SELECTOR = -10,   /* unknown kind or data of the wrong size/content */
    HL_E_RESERVED = -11,       /* a reserved field or padding byte is not zero */
    HL_E_BAD_FLAGS = -12,      /* a flag this version does not define */
    HL_E_TOO_MANY_INSNS = -13, /* over HL_BPF_MAXINSNS */
    HL_E_PROGRAM = -14,        /* empty, or refused by hl_bpf_validate */
    HL_E_TRAILING = -15,       /* bytes after the last rule or after total_size */
    HL_E_NO_MEMORY = -16,
    HL_E_BUFFER_TOO_SMALL = -17, /* hl_blob_encode: *len_out says how much is needed */
    HL_E_INVALID_ARG = -18,      /* a caller error, not a blob error */
    HL_E_SNAPSHOT_TOO_LARGE = -19, /* the compiled snapshot and index over HL_SNAPSHOT_MAX */
};
#define HL_STATUS_MIN HL_E_SNAPSHOT_TOO_LARGE

/*
 * The memory one configuration may take once compiled: the snapshot's block
 * (rules, programs twice: as validated and decoded, the blob, counters for
 * every CPU) plus its rule index. Checked before either is allocated; over
 * it, HL_E_SNAPSHOT_TOO_LARGE and nothing changes (docs/rules.md, "Limits").
 */
#define HL_SNAPSHOT_MAX (256u * 1024u * 1024u)

/* "HL_E_TRUNCATED", ...; "HL_E_UNKNOWN" for anything else. Never NULL. */
const char *hl_status_name(int status);

/*
 * Encodes rules into the blob format (ioctl.h). Action, direction and
 * selector kind bytes are written as given, unchecked, so tests can craft
 * wrong blobs; only what cannot be represented is refused (HL_E_INVALID_ARG:
 * a name without NUL in HL_SEL_NAME_MAX bytes, insns NULL with ninsns > 0;
 * HL_E_TOO_MANY_RULES, HL_E_TOO_MANY_INSNS, HL_E_TOO_LARGE).
 * If out is NULL or cap is too small: HL_E_BUFFER_TOO_SMALL and *len_out is
 * the size needed. On success *len_out is the size written.
 */
int hl_blob_encode(const struct hl_rule_spec *rules, uint32_t nrules, uint8_t default_action,
                   uint8_t *out, size_t cap, size_t *len_out);

struct hl_snapshot;

#define HL_MAX_CPUS 2048u /* Windows' processor limit; bounds the counter area */

/*
 * Validates every byte of blob and compiles it into a snapshot with counters
 * for ncpus CPUs (1..HL_MAX_CPUS). PASSIVE_LEVEL in the driver: it allocates.
 * On success *out is the snapshot and reason (if given) is "". On failure it
 * returns a negative enum hl_status, *out is untouched, nothing is leaked and
 * reason says exactly why ("rule 3: program: insn 5: jump out of range";
 * rules are numbered from 1). Two allocations, the snapshot's and its rule
 * index's (core/rule_index.c), both sized from counts the walk has already
 * bounded by len.
 */
int hl_config_compile(const void *blob, size_t len, const struct hl_alloc *a, uint32_t ncpus,
                      struct hl_snapshot **out, char *reason, size_t reason_len);

void hl_snapshot_free(struct hl_snapshot *s); /* NULL is fine */
uint32_t hl_snapshot_rule_count(const struct hl_snapshot *s);
uint8_t hl_snapshot_default_action(const struct hl_snapshot *s);
uint32_t hl_snapshot_cpu_count(const struct hl_snapshot *s);
/*
 * What a snapshot costs and what the rule index made of it
 * (core/rule_index.c): rules it keys on header values (the others every
 * packet of their direction tries), the header fields it hashes, and the
 * bytes of the snapshot's block (counters for every CPU included) and of
 * the index's.
 */
struct hl_snapshot_info {
    uint32_t rules;
    uint32_t indexed;
    uint32_t fields;
    uint64_t snapshot_bytes;
    uint64_t index_bytes;
};
void hl_snapshot_get_info(const struct hl_snapshot *s, struct hl_snapshot_info *info);
/* The validated blob, byte for byte as accepted: GET_CONFIG's answer. */
const void *hl_snapshot_blob(const struct hl_snapshot *s, size_t *len);

#define HL_VIEW_WORDS ((HL_MAX_RULES + 63u) / 64u)

/*
 * A filter module's cached view of the snapshot: which rules apply to its
 * adapter, per direction. Fixed size (about 4 KiB), owned by the caller (it
 * lives in the module context), so refreshing it at DISPATCH_LEVEL needs no
 * allocation. Treat the fields as private.
 */
struct hl_view {
    const struct hl_snapshot *snap; /* NULL: nothing loaded, everything passes */
    uint32_t nrules;
    uint32_t nwords;             /* words of the bitmaps that are meaningful */
    uint64_t in[HL_VIEW_WORDS];  /* bit i: rule i+1 applies to received packets */
    uint64_t out[HL_VIEW_WORDS]; /* bit i: rule i+1 applies to sent packets */
};

/*
 * Recomputes v for snapshot s (may be NULL) and this adapter, in O(rules),
 * without allocating. The caller must keep s alive (the grace period does)
 * for as long as it classifies through v.
 */
void hl_view_refresh(struct hl_view *v, const struct hl_snapshot *s,
                     const struct hl_adapter_id *adapter);

/* Does selector sel pick this adapter? ALL always; NAME: name or alias, ASCII case-insensitive. */
int hl_selector_match(const struct hl_selector *sel, const struct hl_adapter_id *adapter);

/*
 * First match wins over the rules of v that apply to dir (HL_DIR_IN or
 * HL_DIR_OUT). Returns the enum hl_action to take; *rule_out (may be NULL)
 * is the 1-based rule that matched, 0 for the default action.
 */
uint8_t hl_classify(const struct hl_view *v, enum hl_direction dir, const struct hl_seg *segs,
                    size_t nsegs, uint32_t wire_len, uint32_t *rule_out);

/*
 * Per-CPU counters. hl_stats_hit may only be called by the context that owns
 * slot cpu (at DISPATCH_LEVEL one context runs per CPU, so pass the current
 * processor number): each slot is written by one CPU only and padded to 64
 * bytes, so counting is a plain load and store, no interlocked instruction
 * and no cache line bouncing. hl_stats_read sums the slots with relaxed
 * atomic loads while writers run; the sum is a snapshot of each counter at
 * some moment, never a torn value. Out-of-range cpu, rule or dir are ignored.
 * rule 0 is the default action.
 */
void hl_stats_hit(struct hl_snapshot *s, uint32_t cpu, uint32_t rule, enum hl_direction dir);
void hl_stats_read(const struct hl_snapshot *s, uint32_t rule, uint64_t *in, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
