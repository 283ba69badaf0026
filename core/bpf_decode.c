/*
 * The decoder of the datapath's classic BPF interpreter: a validated
 * program is decoded when a configuration is compiled (hl_bpf_decode) into
 * the form bpf_exec.c runs per packet (bpf_ops.h).
 *
 * What the decoding buys over interpreting struct hl_bpf_insn directly
 * (bpf_run.c, the reference, kept op for op beside libpcap's bpf_filter):
 *   - a dense op space, so the switch is one bounds-free jump table;
 *   - jump targets resolved to byte offsets when decoding;
 *   - each load's width in its op, no decoding of size bits per packet;
 *   - tests: a packet load followed by a conditional jump on a constant
 *     (the shape of nearly every pcap-filter test: "ldh [12]; jeq #0x800")
 *     fused into one op. The jump stays in place at its own index for the
 *     paths that jump to it directly; the test carries the jump's targets;
 *   - a jump on a constant reached only from tests that loaded the same
 *     bytes ("ldh [12]; jeq #0x86dd; ...; jeq #0x800": the second jump
 *     tests the same halfword) becomes a test itself, reloading them: the
 *     load gives the same A (same packet, X unchanged, since tests do not
 *     write X) and cannot fail where the first one did not;
 *   - fast tests: a JEQ, or a JSET whose A nobody reads afterwards, on a
 *     load ending 4 bytes or more into the packet, reads the 4 bytes that
 *     end where the load ends, keeps "& mask" of them, and compares for
 *     equality (JSET with its targets swapped). Other tests are exact.
 *
 * It runs when a configuration is compiled, never on the datapath.
 */
#include <stdbool.h>

#include "bpf_ops.h"

static uint8_t op_of(uint16_t code)
{
    switch (code) {
    case 0x20:
        return O_LDW_ABS;
    case 0x28:
        return O_LDH_ABS;
    case 0x30:
        return O_LDB_ABS;
    case 0x40:
        return O_LDW_IND;
    case 0x48:
        return O_LDH_IND;
    case 0x50:
        return O_LDB_IND;
    case 0xb1:
        return O_LDX_MSH;
    case 0x60:
        return O_LD_MEM;
    case 0x61:
        return O_LDX_MEM;
    case 0x00:
        return O_LD_IMM;
    case 0x01:
        return O_LDX_IMM;
    case 0x80:
        return O_LD_LEN;
    case 0x81:
        return O_LDX_LEN;
    case 0x02:
        return O_ST;
    case 0x03:
        return O_STX;
    case 0x06:
        return O_RET_K;
    case 0x16:
        return O_RET_A;
    case 0x07:
        return O_TAX;
    case 0x87:
        return O_TXA;
    case 0x05:
        return O_JA;
    case 0x15:
        return O_JEQ_K;
    case 0x25:
        return O_JGT_K;
    case 0x35:
        return O_JGE_K;
    case 0x45:
        return O_JSET_K;
    case 0x1d:
        return O_JEQ_X;
    case 0x2d:
        return O_JGT_X;
    case 0x3d:
        return O_JGE_X;
    case 0x4d:
        return O_JSET_X;
    case 0x04:
        return O_ADD_K;
    case 0x14:
        return O_SUB_K;
    case 0x24:
        return O_MUL_K;
    case 0x34:
        return O_DIV_K;
    case 0x94:
        return O_MOD_K;
    case 0x44:
        return O_OR_K;
    case 0x54:
        return O_AND_K;
    case 0xa4:
        return O_XOR_K;
    case 0x64:
        return O_LSH_K;
    case 0x74:
        return O_RSH_K;
    case 0x0c:
        return O_ADD_X;
    case 0x1c:
        return O_SUB_X;
    case 0x2c:
        return O_MUL_X;
    case 0x3c:
        return O_DIV_X;
    case 0x9c:
        return O_MOD_X;
    case 0x4c:
        return O_OR_X;
    case 0x5c:
        return O_AND_X;
    case 0xac:
        return O_XOR_X;
    case 0x6c:
        return O_LSH_X;
    case 0x7c:
        return O_RSH_X;
    case 0x84:
        return O_NEG;
    default:
        return O_INVALID;
    }
}


static bool is_jump_k(uint8_t op)
{
    return op >= O_JEQ_K && op <= O_JSET_K;
}

static bool is_test(uint8_t op)
{
    return op <= O_TEST_EXACT_IND;
}

/*
 * Makes o the exact test "A <- the load (ind, width, off); the jump j", j
 * a jump on a constant (o may be j itself: j is read first).
 */
static void decode_test(struct hl_bpf_op *o, unsigned ind, unsigned width, uint16_t off,
                        const struct hl_bpf_op *j)
{
    static const uint8_t cond_of[] = {COND_EQ, COND_GT, COND_GE, COND_SET}; /* by jump */
    const struct hl_bpf_op jump = *j;

    o->op = (uint8_t)(O_TEST_EXACT_ABS + ind);
    o->n = TEST_N(width, cond_of[jump.op - O_JEQ_K]);
    o->off = off;
    o->next[JT] = jump.next[JT];
    o->next[JF] = jump.next[JF];
    o->k = 0;
    o->k2 = jump.k;
}

/* Whether the op at byte offset to sets A before it reads it (or never reads it). */
static bool writes_a_first(const struct hl_bpf_op *ops, uint16_t to)
{
    uint8_t op = ops[to / sizeof(*ops)].op;

    return is_test(op) || (op >= O_LDW_ABS && op <= O_LDB_IND) || op == O_LD_MEM ||
           op == O_LD_IMM || op == O_LD_LEN || op == O_RET_K;
}

/*
 * An exact test made fast where it can be: an equality, or a JSET whose
 * A nobody reads after it (the fast test keeps only A & k), on a load
 * ending 4 bytes or more into the packet.
 */
static void make_fast(struct hl_bpf_op *ops, struct hl_bpf_op *o)
{
    unsigned width = TEST_WIDTH(o->n), cond = TEST_COND(o->n);
    uint32_t wmask = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1u;

    if (o->off + width < 4)
        return;
    if (cond == COND_EQ) {
        o->k = wmask;
    } else if (cond == COND_SET && writes_a_first(ops, o->next[JT]) &&
               writes_a_first(ops, o->next[JF])) {
        uint16_t t = o->next[JT];

        o->k = o->k2 & wmask; /* (A & k) != 0: "(A & k) == 0" with the targets swapped */
        o->k2 = 0;
        o->next[JT] = o->next[JF];
        o->next[JF] = t;
    } else {
        return;
    }
    o->op = (uint8_t)(o->op - O_TEST_EXACT_ABS + O_TEST_ABS);
    o->off = (uint16_t)(o->off + width);
}

/*
 * What A holds on entry to a jump on a constant, kept in the jump's k2
 * (unused until it becomes a test) while hl_bpf_decode walks forward:
 * nothing yet (no path reaches it), the bytes the test at index s - 1
 * loaded, or anything (A_ANY).
 */
#define A_NONE 0u
#define A_ANY 0xffffffffu

static bool same_load(const struct hl_bpf_op *a, const struct hl_bpf_op *b)
{
    return a->op == b->op && TEST_WIDTH(a->n) == TEST_WIDTH(b->n) && a->off == b->off;
}

/* Meets what A holds along one more path into the op at byte offset to. */
static void flow(struct hl_bpf_op *ops, uint16_t to, uint32_t a)
{
    struct hl_bpf_op *t = &ops[to / sizeof(*ops)];

    if (!is_jump_k(t->op) || t->k2 == A_ANY)
        return;
    if (t->k2 == A_NONE)
        t->k2 = a;
    else if (a == A_ANY || !same_load(&ops[t->k2 - 1], &ops[a - 1]))
        t->k2 = A_ANY;
}

void hl_bpf_decode(const struct hl_bpf_insn *insns, size_t count, struct hl_bpf_op *ops)
{
    size_t i;

    for (i = 0; i < count; i++) {
        const struct hl_bpf_insn *in = &insns[i];
        struct hl_bpf_op *o = &ops[i];

        o->op = op_of(in->code);
        o->n = 0;
        o->off = 0;
        o->k = in->k;
        o->k2 = A_NONE;
        /*
         * Targets as byte offsets from ops[0], saving a multiplication per
         * jump: the validator kept them below count <= HL_BPF_MAXINSNS, and
         * 4095 * 16 fits in 16 bits.
         */
        if (o->op == O_JA) {
            o->next[JT] = (uint16_t)((i + 1 + in->k) * sizeof(*o));
            o->next[JF] = o->next[JT];
        } else if (o->op >= O_JEQ_K && o->op <= O_JSET_X) {
            o->next[JT] = (uint16_t)((i + 1 + in->jt) * sizeof(*o));
            o->next[JF] = (uint16_t)((i + 1 + in->jf) * sizeof(*o));
        } else {
            o->next[JT] = (uint16_t)((i + 1) * sizeof(*o));
            o->next[JF] = o->next[JT];
        }
    }
    /* Fusion: a packet load whose next instruction jumps on a constant. */
    for (i = 0; i + 1 < count; i++) {
        static const uint8_t width_of[] = {4, 2, 1}; /* by load kind: W, H, B */
        struct hl_bpf_op *o = &ops[i];

        /* A test's offset, and where its load ends, have 16 bits: else a load and a jump. */
        if (o->op >= O_LDW_ABS && o->op <= O_LDB_IND && is_jump_k(ops[i + 1].op) &&
            o->k <= 0xffffu - 4u) {
            unsigned kind = (unsigned)(o->op - O_LDW_ABS);
            decode_test(o, kind / 3, width_of[kind % 3], (uint16_t)o->k, &ops[i + 1]);
        }
    }
    /*
     * Jumps that test what tests before them loaded: walk forward (every
     * path into op i comes from a lower index), meeting in each jump on a
     * constant what A holds along each path into it. A jump no path
     * reaches (one fused into the test before it, say) carries none.
     */
    if (count > 0 && is_jump_k(ops[0].op))
        ops[0].k2 = A_ANY; /* A is 0 on entry, no load */
    for (i = 0; i < count; i++) {
        struct hl_bpf_op *o = &ops[i];
        uint32_t a = A_ANY;

        if (is_jump_k(o->op)) {
            if (o->k2 == A_NONE)
                continue;
            if (o->k2 != A_ANY) {
                const struct hl_bpf_op *load = &ops[o->k2 - 1];
                decode_test(o, load->op & 1u, TEST_WIDTH(load->n), load->off, o);
                a = (uint32_t)i + 1;
            }
        } else if (is_test(o->op)) {
            a = (uint32_t)i + 1;
        } else if (o->op == O_RET_K || o->op == O_RET_A) {
            continue;
        }
        flow(ops, o->next[JT], a);
        flow(ops, o->next[JF], a);
    }
    for (i = 0; i < count; i++)
        if (ops[i].op == O_TEST_EXACT_ABS || ops[i].op == O_TEST_EXACT_IND)
            make_fast(ops, &ops[i]);
}
