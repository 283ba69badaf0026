/*
 * hotlwf classic BPF: validator and interpreter.
 *
 * These two functions are the contract external test suites run against.
 * struct hl_bpf_insn has the layout of struct bpf_insn (code, jt, jf, k), so
 * a program produced by libpcap's pcap_compile() can be passed as is.
 * Portable C11, no OS calls, no allocation: it runs in the kernel as well.
 */
#ifndef HOTLWF_BPF_H
#define HOTLWF_BPF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HL_BPF_MAXINSNS 4096u /* longest program the validator accepts */
#define HL_BPF_MEMWORDS 16u   /* scratch memory slots M[0..15] */

struct hl_bpf_insn {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};

/* One contiguous piece of a packet: an MDL's bytes, for instance. */
struct hl_seg {
    const uint8_t *data;
    size_t len;
};

/*
 * Statuses of hl_bpf_validate: one per kind of refusal, so callers (lwfctl,
 * the IOCTL path) can map them to their own errors without parsing reason.
 */
enum hl_bpf_status {
    HL_BPF_OK = 0,
    HL_BPF_E_ARGS = -1,       /* insns is NULL */
    HL_BPF_E_LENGTH = -2,     /* 0 or more than HL_BPF_MAXINSNS instructions */
    HL_BPF_E_OPCODE = -3,     /* opcode not in the allow-list, or unused bits set */
    HL_BPF_E_RET_X = -4,      /* BPF_RET|BPF_X: libpcap never emits it */
    HL_BPF_E_JUMP_RANGE = -5, /* jump target past the last instruction */
    HL_BPF_E_NO_RET = -6,     /* last instruction is not a return */
    HL_BPF_E_DIV_ZERO = -7,   /* constant division or modulo by zero */
    HL_BPF_E_SHIFT = -8,      /* constant shift by 32 or more */
    HL_BPF_E_MEM_INDEX = -9,  /* scratch slot k >= HL_BPF_MEMWORDS */
    HL_BPF_E_MEM_UNINIT = -10 /* scratch slot read before written on some path */
};

/*
 * Accepts exactly the opcodes pcap_compile() emits, with forward jumps only
 * (so every program terminates): libpcap's "protochain", whose code loops
 * with a backward jump, is refused with HL_BPF_E_JUMP_RANGE, as on Linux.
 * Scratch slots must be written before they are read on every path.
 *
 * Returns 0 when the program is safe to run; otherwise a negative status and,
 * when reason is not NULL, a NUL-terminated explanation that names the
 * offending instruction ("insn 3: jump out of range").
 */
int hl_bpf_validate(const struct hl_bpf_insn *insns, size_t count, char *reason,
                    size_t reason_len);

/*
 * Runs a validated program over the packet formed by the segments, in order.
 * wire_len is the packet's length on the wire (BPF_LEN). Returns the
 * program's verdict with libpcap's run-time semantics: 0 when a load falls
 * past the captured bytes or X is 0 in a division.
 */
uint32_t hl_bpf_run(const struct hl_bpf_insn *insns, size_t count, const struct hl_seg *segs,
                    size_t nsegs, uint32_t wire_len);

/*
 * A validated program pre-decoded for speed (core/bpf_decode.c; run by
 * core/bpf_exec.c): one op per instruction, jump targets resolved, a dense
 * opcode space, and a packet load followed by a conditional jump on a
 * constant fused into one test. Built once, when a configuration is
 * compiled; the datapath only reads it. Treat the fields as private.
 */
struct hl_bpf_op {
    uint8_t op;
    uint8_t n;      /* a test's load width (and condition) */
    uint16_t next[2]; /* byte offsets of the next op: [1] if the condition holds, [0] if not */
    uint16_t off;  /* a test's load offset (where it ends, for the fast ones) */
    uint32_t k;    /* the operand; a fast test's mask */
    uint32_t k2;   /* a test's constant */
};

/*
 * Decodes a program hl_bpf_validate accepted into ops[0..count). Same
 * count, so the caller sizes ops as count * sizeof(struct hl_bpf_op).
 */
void hl_bpf_decode(const struct hl_bpf_insn *insns, size_t count, struct hl_bpf_op *ops);

/*
 * hl_bpf_run's contract and libpcap's semantics, over a decoded program:
 * the same verdict as hl_bpf_run(insns, ...) for every packet and every way
 * of cutting it into segments. No allocation, no recursion, at most one op
 * per instruction executed (jumps only go forward).
 */
uint32_t hl_bpf_exec(const struct hl_bpf_op *ops, const struct hl_seg *segs, size_t nsegs,
                     uint32_t wire_len);

#ifdef __cplusplus
}
#endif
#endif
