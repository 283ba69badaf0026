/*
 * The datapath's classic BPF interpreter: programs pre-decoded when a
 * configuration is compiled (hl_bpf_decode), run per packet (hl_bpf_exec).
 *
 * What the decoding buys over interpreting struct hl_bpf_insn directly
 * (bpf_run.c, the reference, kept op for op beside libpcap's bpf_filter):
 *   - a dense op space, so the switch is one bounds-free jump table;
 *   - jump targets resolved to absolute indices when decoding;
 *   - each load's width in its op, no decoding of size bits per packet;
 *   - a packet load followed by a conditional jump on a constant (the shape
 *     of nearly every pcap-filter test: "ldh [12]; jeq #0x800") fused into
 *     one op. The jump stays in place at its own index for the paths that
 *     jump to it directly; the fused op carries the jump's targets.
 * Loads are specialised twice, by instantiating the same loop for a packet
 * in one segment (the bounds check is one comparison against its length)
 * and for a split packet, where a window remembers the last segment a load
 * fitted in, so that the headers behind a separate Ethernet-header MDL are
 * read in place too; a load straddling segments is gathered byte by byte.
 *
 * Portable C11 that MSVC compiles: a switch (no computed goto), no VLA, no
 * recursion, no allocation. Jumps only go forward (the validator), so at
 * most one op per instruction runs.
 */
#include <hotlwf/bpf.h>

#include "bpf_internal.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define HL_ALWAYS_INLINE __forceinline
#define HL_NOINLINE __declspec(noinline)
#define HL_UNREACHABLE() __assume(0)
#else
#define HL_ALWAYS_INLINE inline __attribute__((always_inline))
#define HL_NOINLINE __attribute__((noinline))
#define HL_UNREACHABLE() __builtin_unreachable()
#endif

enum {
    /* Loads, in the order the fused ops below use: kind = op - O_LDW_ABS. */
    O_LDW_ABS,
    O_LDH_ABS,
    O_LDB_ABS,
    O_LDW_IND,
    O_LDH_IND,
    O_LDB_IND,
    /* Jumps on a constant, in the order the fused ops use: cond = op - O_JEQ_K. */
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
    /* Fused load + jump: O_FUSED + 4 * load kind + cond, 24 ops. */
    O_FUSED,
    O_INVALID = O_FUSED + 24 /* never produced for a validated program */
};

_Static_assert((HL_BPF_MAXINSNS - 1u) * sizeof(struct hl_bpf_op) <= 0xffffu,
               "jump targets are byte offsets in 16 bits");

#define FUSED(load, cond) (O_FUSED + 4 * ((load) - O_LDW_ABS) + ((cond) - O_JEQ_K))

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

void hl_bpf_decode(const struct hl_bpf_insn *insns, size_t count, struct hl_bpf_op *ops)
{
    size_t i;

    for (i = 0; i < count; i++) {
        const struct hl_bpf_insn *in = &insns[i];
        struct hl_bpf_op *o = &ops[i];

        o->op = op_of(in->code);
        o->reserved0 = 0;
        o->reserved1 = 0;
        o->k = in->k;
        o->k2 = 0;
        /*
         * Targets as byte offsets from ops[0], saving a multiplication per
         * jump: the validator kept them below count <= HL_BPF_MAXINSNS, and
         * 4095 * 16 fits in 16 bits.
         */
        if (o->op == O_JA) {
            o->jt = (uint16_t)((i + 1 + in->k) * sizeof(*o));
            o->jf = o->jt;
        } else if (o->op >= O_JEQ_K && o->op <= O_JSET_X) {
            o->jt = (uint16_t)((i + 1 + in->jt) * sizeof(*o));
            o->jf = (uint16_t)((i + 1 + in->jf) * sizeof(*o));
        } else {
            o->jt = (uint16_t)((i + 1) * sizeof(*o));
            o->jf = o->jt;
        }
    }
    /* Fusion: a load whose next instruction jumps on a constant. */
    for (i = 0; i + 1 < count; i++) {
        struct hl_bpf_op *o = &ops[i];
        const struct hl_bpf_op *j = &ops[i + 1];

        if (o->op <= O_LDB_IND && j->op >= O_JEQ_K && j->op <= O_JSET_K) {
            o->op = (uint8_t)FUSED(o->op, j->op);
            o->k2 = j->k;
            o->jt = j->jt;
            o->jf = j->jf;
        }
    }
}

static HL_ALWAYS_INLINE uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static HL_ALWAYS_INLINE uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static HL_ALWAYS_INLINE uint32_t rd8(const uint8_t *p)
{
    return p[0];
}

/*
 * The bytes [start, end) of the packet that one segment holds, in place,
 * and the chain to look further in. In memory, not registers: only split
 * packets touch it, and the one-segment loop never does.
 */
struct window {
    const uint8_t *data;
    uint64_t start, end;
    const struct hl_seg *segs;
    size_t nsegs;
};

/*
 * A load outside the first segment and the window: find the segment holding
 * off; if the load fits in it, read it there and make it the window;
 * otherwise (it straddles segments, or the packet ends first) fall back on
 * the byte-wise gather.
 */
static bool load_slow(struct window *w, uint64_t off, uint32_t n, uint32_t *val)
{
    uint64_t start = 0;
    size_t s;

    for (s = 0; s < w->nsegs; s++) {
        uint64_t end = start + w->segs[s].len;

        if (off < end) {
            if (off + n > end)
                break;
            w->data = w->segs[s].data;
            w->start = start;
            w->end = end;
            const uint8_t *p = w->data + (size_t)(off - start);
            *val = n == 4 ? rd32(p) : n == 2 ? rd16(p) : rd8(p);
            return true;
        }
        start = end;
    }
    return hl_bpf_load(w->segs, w->nsegs, off, n, val);
}

/*
 * DST <- the N bytes at OFF, big-endian, or the program ends with 0. The
 * first segment is checked first: one comparison. With `whole` it is the
 * packet and nothing else; otherwise the window (initially the second
 * segment, then wherever the last load outside the first one fitted) is
 * tried before the walk.
 */
#define FETCH(DST, OFF, N, RD)                                                                     \
    do {                                                                                           \
        uint64_t off_ = (OFF);                                                                     \
        if (off_ + (N) <= len0)                                                                    \
            DST = RD(data0 + (size_t)off_);                                                        \
        else if (whole)                                                                            \
            return 0;                                                                              \
        else if (off_ >= w.start && off_ + (N) <= w.end)                                           \
            DST = RD(w.data + (size_t)(off_ - w.start));                                           \
        else if (!load_slow(&w, off_, (N), &DST))                                     \
            return 0;                                                                              \
    } while (0)

#define JUMP(COND)                                                                                 \
    o = (const struct hl_bpf_op *)((const char *)ops + ((COND) ? o->jt : o->jf))

/* The four fused ops of one load: load, then the jump on k2. */
#define FUSED_CASES(LOAD, OFF, N, RD)                                                              \
    case FUSED(LOAD, O_JEQ_K):                                                                     \
        FETCH(A, OFF, N, RD);                                                                      \
        JUMP(A == o->k2);                                                                          \
        continue;                                                                                  \
    case FUSED(LOAD, O_JGT_K):                                                                     \
        FETCH(A, OFF, N, RD);                                                                      \
        JUMP(A > o->k2);                                                                           \
        continue;                                                                                  \
    case FUSED(LOAD, O_JGE_K):                                                                     \
        FETCH(A, OFF, N, RD);                                                                      \
        JUMP(A >= o->k2);                                                                          \
        continue;                                                                                  \
    case FUSED(LOAD, O_JSET_K):                                                                    \
        FETCH(A, OFF, N, RD);                                                                      \
        JUMP((A & o->k2) != 0);                                                                    \
        continue

/* whole: segs[0] is the packet. Otherwise nsegs >= 2 and the window starts on segs[1]. */
static HL_ALWAYS_INLINE uint32_t exec(const struct hl_bpf_op *ops, const struct hl_seg *segs,
                                      size_t nsegs, uint32_t wire_len, const bool whole)
{
    const struct hl_bpf_op *o = ops;
    uint32_t A = 0, X = 0, v;
    uint32_t M[HL_BPF_MEMWORDS];
    const uint8_t *data0 = segs[0].data;
    const uint64_t len0 = segs[0].len;
    struct window w;

    if (!whole) {
        w.segs = segs;
        w.nsegs = nsegs;
        w.data = segs[1].data;
        w.start = len0;
        w.end = len0 + segs[1].len;
    }
    for (;;) {
        switch (o->op) {
        case O_LDW_ABS:
            FETCH(A, o->k, 4, rd32);
            break;
        case O_LDH_ABS:
            FETCH(A, o->k, 2, rd16);
            break;
        case O_LDB_ABS:
            FETCH(A, o->k, 1, rd8);
            break;
        case O_LDW_IND:
            FETCH(A, (uint64_t)X + o->k, 4, rd32);
            break;
        case O_LDH_IND:
            FETCH(A, (uint64_t)X + o->k, 2, rd16);
            break;
        case O_LDB_IND:
            FETCH(A, (uint64_t)X + o->k, 1, rd8);
            break;
            FUSED_CASES(O_LDW_ABS, o->k, 4, rd32);
            FUSED_CASES(O_LDH_ABS, o->k, 2, rd16);
            FUSED_CASES(O_LDB_ABS, o->k, 1, rd8);
            FUSED_CASES(O_LDW_IND, (uint64_t)X + o->k, 4, rd32);
            FUSED_CASES(O_LDH_IND, (uint64_t)X + o->k, 2, rd16);
            FUSED_CASES(O_LDB_IND, (uint64_t)X + o->k, 1, rd8);
        case O_LDX_MSH: /* IPv4 header length */
            FETCH(v, o->k, 1, rd8);
            X = (v & 0xfu) << 2;
            break;
        case O_JEQ_K:
            JUMP(A == o->k);
            continue;
        case O_JGT_K:
            JUMP(A > o->k);
            continue;
        case O_JGE_K:
            JUMP(A >= o->k);
            continue;
        case O_JSET_K:
            JUMP((A & o->k) != 0);
            continue;
        case O_JEQ_X:
            JUMP(A == X);
            continue;
        case O_JGT_X:
            JUMP(A > X);
            continue;
        case O_JGE_X:
            JUMP(A >= X);
            continue;
        case O_JSET_X:
            JUMP((A & X) != 0);
            continue;
        case O_JA:
            JUMP(1);
            continue;
        case O_LD_MEM:
            A = M[o->k];
            break;
        case O_LDX_MEM:
            X = M[o->k];
            break;
        case O_LD_IMM:
            A = o->k;
            break;
        case O_LDX_IMM:
            X = o->k;
            break;
        case O_LD_LEN:
            A = wire_len;
            break;
        case O_LDX_LEN:
            X = wire_len;
            break;
        case O_ST:
            M[o->k] = A;
            break;
        case O_STX:
            M[o->k] = X;
            break;
        case O_RET_K:
            return o->k;
        case O_RET_A:
            return A;
        case O_TAX:
            X = A;
            break;
        case O_TXA:
            A = X;
            break;
        case O_ADD_K:
            A += o->k;
            break;
        case O_SUB_K:
            A -= o->k;
            break;
        case O_MUL_K:
            A *= o->k;
            break;
        case O_DIV_K: /* the validator refused k == 0 */
            A /= o->k;
            break;
        case O_MOD_K:
            A %= o->k;
            break;
        case O_OR_K:
            A |= o->k;
            break;
        case O_AND_K:
            A &= o->k;
            break;
        case O_XOR_K:
            A ^= o->k;
            break;
        case O_LSH_K: /* the validator refused k >= 32 */
            A <<= o->k;
            break;
        case O_RSH_K:
            A >>= o->k;
            break;
        case O_ADD_X:
            A += X;
            break;
        case O_SUB_X:
            A -= X;
            break;
        case O_MUL_X:
            A *= X;
            break;
        case O_DIV_X:
            if (X == 0)
                return 0;
            A /= X;
            break;
        case O_MOD_X:
            if (X == 0)
                return 0;
            A %= X;
            break;
        case O_OR_X:
            A |= X;
            break;
        case O_AND_X:
            A &= X;
            break;
        case O_XOR_X:
            A ^= X;
            break;
        /* Shifting a 32-bit value by 32 or more is undefined in C; libpcap yields 0. */
        case O_LSH_X:
            A = X < 32 ? A << X : 0;
            break;
        case O_RSH_X:
            A = X < 32 ? A >> X : 0;
            break;
        case O_NEG:
            A = 0u - A;
            break;
        case O_INVALID:
            /* Unreachable for validated programs; refuse the packet rather than guess. */
            return 0;
        default:
            /* Every value hl_bpf_decode writes has its case above. */
            HL_UNREACHABLE();
        }
        o++;
    }
}

/*
 * Two functions, not one: the one-segment loop calls nothing, so it keeps
 * its state in registers that need no saving, and a run pays no prologue
 * for the split case's needs.
 */
static HL_NOINLINE uint32_t exec_whole(const struct hl_bpf_op *ops, const struct hl_seg *segs,
                           uint32_t wire_len)
{
    return exec(ops, segs, 1, wire_len, true);
}

static HL_NOINLINE uint32_t exec_split(const struct hl_bpf_op *ops, const struct hl_seg *segs, size_t nsegs,
                           uint32_t wire_len)
{
    return exec(ops, segs, nsegs, wire_len, false);
}

uint32_t hl_bpf_exec(const struct hl_bpf_op *ops, const struct hl_seg *segs, size_t nsegs,
                     uint32_t wire_len)
{
    /* No bytes at all: every load fails, but LEN and constants still decide. */
    static const struct hl_seg none = {NULL, 0};

    if (nsegs == 1 && segs != NULL)
        return exec_whole(ops, segs, wire_len);
    if (nsegs == 0 || segs == NULL)
        return exec_whole(ops, &none, wire_len);
    return exec_split(ops, segs, nsegs, wire_len);
}
