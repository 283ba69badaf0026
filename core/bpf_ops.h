/*
 * The decoded form of a classic BPF program (struct hl_bpf_op), shared by
 * the decoder (bpf_decode.c), which writes it when a configuration is
 * compiled, and the interpreter (bpf_exec.c), which runs it per packet.
 */
#ifndef HOTLWF_CORE_BPF_OPS_H
#define HOTLWF_CORE_BPF_OPS_H

#include <hotlwf/bpf.h>

enum {
    /*
     * Tests: a packet load fused with a jump on a constant. The fast ones
     * first: off is where the load ends, they read the 4 bytes that end
     * there (end - 4 >= 0: hl_bpf_decode made sure), keep "& k" of them as
     * A, and jump on A == k2; O_TEST_ABS, the most common op by far, is
     * number 0, for the hot loop's test. Then the exact ones, run by the
     * switch: A <- the n bytes at off, and jump on its condition. _IND
     * adds X to the offset, and is the odd one of each pair.
     */
    O_TEST_ABS,
    O_TEST_IND,
    O_TEST_EXACT_ABS,
    O_TEST_EXACT_IND,
    /* Loads, in the order hl_bpf_decode uses: kind = op - O_LDW_ABS. */
    O_LDW_ABS,
    O_LDH_ABS,
    O_LDB_ABS,
    O_LDW_IND,
    O_LDH_IND,
    O_LDB_IND,
    /* Jumps on a constant, in the order decode_test uses: cond = op - O_JEQ_K. */
    O_JEQ_K,
    O_JGT_K,
    O_JGE_K,
    O_JSET_K,
    O_JEQ_X,
    O_JGT_X,
    O_JGE_X,
    O_JSET_X,
    O_JA,
    O_LDX_MSH,
    O_LD_MEM,
    O_LDX_MEM,
    O_LD_IMM,
    O_LDX_IMM,
    O_LD_LEN,
    O_LDX_LEN,
    O_ST,
    O_STX,
    O_RET_K,
    O_RET_A,
    O_TAX,
    O_TXA,
    O_ADD_K,
    O_SUB_K,
    O_MUL_K,
    O_DIV_K,
    O_MOD_K,
    O_OR_K,
    O_AND_K,
    O_XOR_K,
    O_LSH_K,
    O_RSH_K,
    O_ADD_X,
    O_SUB_X,
    O_MUL_X,
    O_DIV_X,
    O_MOD_X,
    O_OR_X,
    O_AND_X,
    O_XOR_X,
    O_LSH_X,
    O_RSH_X,
    O_NEG,
    O_INVALID /* never produced for a validated program */
};

_Static_assert((HL_BPF_MAXINSNS - 1u) * sizeof(struct hl_bpf_op) <= 0xffffu,
               "jump targets are byte offsets in 16 bits");

/* hl_bpf_op.next[cond]: where a jump or test goes when its condition is false, true. */
enum { JF, JT };

/* A test's n byte: its load's width, and an exact test's condition above it. */
enum { COND_EQ, COND_GT, COND_GE, COND_SET };
#define TEST_N(width, cond) ((uint8_t)((width) | (cond) << 3))
#define TEST_WIDTH(nbyte) ((nbyte) & 7u)
#define TEST_COND(nbyte) ((nbyte) >> 3)

#endif
