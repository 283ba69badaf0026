/*
 * Packet access shared by the two interpreters (bpf_run.c, bpf_exec.c) and
 * the rule index (rule_index.c), so that all three read a segmented packet
 * with exactly the same semantics.
 */
#ifndef HOTLWF_CORE_BPF_INTERNAL_H
#define HOTLWF_CORE_BPF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hotlwf/bpf.h"

/*
 * Copies n (1, 2 or 4) bytes at offset off of the packet into out, big-endian
 * order preserved. Returns false when the packet's captured bytes end first.
 */
bool hl_bpf_gather(const struct hl_seg *segs, size_t nsegs, uint64_t off, uint8_t *out, size_t n);

/*
 * Loads n bytes at X + k (or k) as a big-endian value. The offset is computed
 * in 64 bits: X + k cannot wrap past the captured length and alias a header.
 */
bool hl_bpf_load(const struct hl_seg *segs, size_t nsegs, uint64_t off, size_t n, uint32_t *val);

#endif
