/*
 * The datapath's classic BPF interpreter: programs pre-decoded when a
 * configuration is compiled (hl_bpf_decode), run per packet (hl_bpf_exec).
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
 * The fast absolute tests run in a loop of their own ahead of the switch,
 * so a chain of them (most of a pcap-filter program's path) costs no
 * indirect jump at all: on a modern CPU that jump, shared by every op, is
 * what an interpreter's time goes to when the next op is hard to predict,
 * far more than the instructions around it. A return is checked before the
 * switch for the same reason.
 * Loads are specialised twice, by instantiating the same loop for a packet
 * in one segment (the bounds check is one comparison against its length)
 * and for a split packet, where a window remembers the last segment a load
 * fitted in, so that the headers behind a separate Ethernet-header MDL are
 * read in place too; a load past the window that fits in the next segment
 * moves it there; a load straddling segments is gathered byte by byte.
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
#define HL_COLD
#else
#define HL_ALWAYS_INLINE inline __attribute__((always_inline))
#define HL_NOINLINE __attribute__((noinline))
#define HL_UNREACHABLE() __builtin_unreachable()
#define HL_COLD __attribute__((cold)) /* rarely called: its callers keep no registers for it */
#endif

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

/* A test's n byte: its load's width, and an exact test's condition above it. */
enum { COND_EQ, COND_GT, COND_GE, COND_SET };
#define TEST_N(width, cond) ((uint8_t)((width) | (cond) << 3))
#define TEST_WIDTH(nbyte) ((nbyte) & 7u)
#define TEST_COND(nbyte) ((nbyte) >> 3)

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
    o->jt = jump.jt;
    o->jf = jump.jf;
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
    } else if (cond == COND_SET && writes_a_first(ops, o->jt) && writes_a_first(ops, o->jf)) {
        uint16_t t = o->jt;

        o->k = o->k2 & wmask; /* (A & k) != 0: "(A & k) == 0" with the targets swapped */
        o->k2 = 0;
        o->jt = o->jf;
        o->jf = t;
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
        flow(ops, o->jt, a);
        flow(ops, o->jf, a);
    }
    for (i = 0; i < count; i++)
        if (ops[i].op == O_TEST_EXACT_ABS || ops[i].op == O_TEST_EXACT_IND)
            make_fast(ops, &ops[i]);
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

static HL_ALWAYS_INLINE uint32_t rdn(const uint8_t *p, uint32_t n)
{
    return n == 4 ? rd32(p) : n == 2 ? rd16(p) : rd8(p);
}

/*
 * One segment of the packet, holding its bytes [start, end), read in place,
 * and the chain to look further in. Byte i of the packet is at base + i
 * (integer arithmetic: base need not point into the segment). In memory,
 * not registers: only split packets touch it, and the one-segment loop
 * never does.
 */
struct window {
    uint64_t start;
    size_t next; /* the index of the segment after it */
    uintptr_t base;
    size_t nsegs;
    uint64_t end;
    const struct hl_seg *segs;
};

/* Makes segment s, holding the packet's bytes from start on, the window. */
static HL_ALWAYS_INLINE void window_set(struct window *w, size_t s, uint64_t start)
{
    w->base = (uintptr_t)w->segs[s].data - (uintptr_t)start;
    w->start = start;
    w->end = start + w->segs[s].len;
    w->next = s + 1;
}

/* The packet's bytes from off on, in the window. */
#define WINDOW_AT(W, OFF) ((const uint8_t *)((W).base + (uintptr_t)(OFF)))

/*
 * A load outside the first segment and the window: find the segment holding
 * off; if the load fits in it, read it there and make it the window;
 * otherwise (it straddles segments, or the packet ends first) fall back on
 * the byte-wise gather.
 */
static HL_COLD HL_NOINLINE bool load_slow(struct window *w, uint64_t off, uint32_t n, uint32_t *val)
{
    uint64_t start = 0;
    size_t s = 0;

    if (off >= w->end) { /* further on: the walk starts after the window */
        start = w->end;
        s = w->next;
    }
    for (; s < w->nsegs; s++) {
        uint64_t end = start + w->segs[s].len;

        if (off < end) {
            const uint8_t *p;

            if (off + n > end)
                break;
            window_set(w, s, start);
            p = WINDOW_AT(*w, off);
            *val = n == 4 ? rd32(p) : n == 2 ? rd16(p) : rd8(p);
            return true;
        }
        start = end;
    }
    return hl_bpf_load(w->segs, w->nsegs, off, n, val);
}

/*
 * A load past the window that fits in the next segment (the headers behind
 * an IPv4 header in an MDL of its own, say): moved on in place, no call;
 * anything else goes to load_slow.
 */
static HL_ALWAYS_INLINE bool load_next(struct window *w, uint64_t off, uint32_t n, uint32_t *val)
{
    if (off >= w->end && w->next < w->nsegs && off + n <= w->end + w->segs[w->next].len) {
        window_set(w, w->next, w->end);
        *val = rdn(WINDOW_AT(*w, off), n);
        return true;
    }
    return load_slow(w, off, n, val);
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
        uint32_t slow_; /* not &DST: A's address taken would keep A out of registers */            \
        if (off_ + (N) <= len0)                                                                    \
            DST = RD(data0 + (size_t)off_);                                                        \
        else if (whole)                                                                            \
            return 0;                                                                              \
        else if (off_ >= w.start && off_ + (N) <= w.end)                                           \
            DST = RD(WINDOW_AT(w, off_));                                                          \
        else if (load_next(&w, off_, (N), &slow_))                                                 \
            DST = slow_;                                                                           \
        else                                                                                       \
            return 0;                                                                              \
    } while (0)

#define JUMP(COND)                                                                                 \
    o = (const struct hl_bpf_op *)((const char *)ops + ((COND) ? o->jt : o->jf))


/* A test's exact read, its width n in a variable. */
#define RDN(P) rdn((P), n)

/*
 * A fast test's A: "& k" of the 4 bytes ending at END (>= 4), read in the
 * first segment or the window when they are there, else the exact width,
 * wherever it is.
 */
#define FETCH_FAST(END)                                                                            \
    do {                                                                                           \
        const uint64_t end_ = (END);                                                               \
        if (end_ <= len0)                                                                          \
            A = rd32(data0 + (size_t)end_ - 4) & o->k;                                             \
        else if (!whole && end_ >= w.start + 4 && end_ <= w.end)                                   \
            A = rd32(WINDOW_AT(w, end_ - 4)) & o->k;                                               \
        else {                                                                                     \
            const uint32_t n = TEST_WIDTH(o->n);                                                   \
            FETCH(A, end_ - n, n, RDN);                                                            \
            A &= o->k;                                                                             \
        }                                                                                          \
    } while (0)

/* whole: segs[0] is the packet. Otherwise nsegs >= 2 and the window starts on segs[1]. */
#define X M[HL_BPF_MEMWORDS]

static HL_ALWAYS_INLINE uint32_t exec(const struct hl_bpf_op *ops, const struct hl_seg *segs,
                                      size_t nsegs, uint32_t wire_len, const bool whole)
{
    const struct hl_bpf_op *o = ops;
    uint32_t A = 0, v;
    /*
     * The scratch slots, then X and the wire length: in memory, as the
     * slots are, they cost the loop no register, and so no register
     * saved and restored per run (the tests, most of what runs, use
     * neither).
     */
    uint32_t M[HL_BPF_MEMWORDS + 2];
    const uint8_t *data0 = segs[0].data;
    const uint64_t len0 = segs[0].len;
    struct window w;

    X = 0;
    M[HL_BPF_MEMWORDS + 1] = wire_len;
    if (!whole) {
        w.segs = segs;
        w.nsegs = nsegs;
        window_set(&w, 1, len0);
    }
    for (;;) {
        /* The hot loop: fast tests, no indirect jump (see the top). */
        while (o->op == O_TEST_ABS) {
            FETCH_FAST(o->off);
            JUMP(A == o->k2);
        }
        if (o->op == O_RET_K)
            return o->k;
        switch (o->op) {
        case O_TEST_IND:
            FETCH_FAST((uint64_t)o->off + X);
            JUMP(A == o->k2);
            continue;
        case O_TEST_EXACT_ABS:
        case O_TEST_EXACT_IND: {
            const uint32_t n = TEST_WIDTH(o->n);
            FETCH(A, (uint64_t)o->off + (o->op == O_TEST_EXACT_IND ? X : 0), n, RDN);
            switch (TEST_COND(o->n)) {
            case COND_EQ:
                JUMP(A == o->k2);
                break;
            case COND_GT:
                JUMP(A > o->k2);
                break;
            case COND_GE:
                JUMP(A >= o->k2);
                break;
            default:
                JUMP((A & o->k2) != 0);
                break;
            }
            continue;
        }
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
            A = M[HL_BPF_MEMWORDS + 1];
            break;
        case O_LDX_LEN:
            X = M[HL_BPF_MEMWORDS + 1];
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
            /* Every other value hl_bpf_decode writes has its case above; tests ran above. */
            HL_UNREACHABLE();
        }
        o++;
    }
}

#undef X

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
