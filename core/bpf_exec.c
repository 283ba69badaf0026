/*
 * The datapath's classic BPF interpreter: runs per packet (hl_bpf_exec)
 * the programs bpf_decode.c decoded when the configuration was compiled.
 *
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
#include "bpf_ops.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define HL_ALWAYS_INLINE __forceinline
#define HL_NOINLINE __declspec(noinline)
#define HL_UNREACHABLE() __assume(0)
#define HL_COLD
#define HL_LIKELY(c) (c)
#else
#define HL_ALWAYS_INLINE inline __attribute__((always_inline))
#define HL_NOINLINE __attribute__((noinline))
#define HL_UNREACHABLE() __builtin_unreachable()
#define HL_COLD __attribute__((cold)) /* rarely called: its callers keep no registers for it */
#define HL_LIKELY(c) __builtin_expect(!!(c), 1)
#endif

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

/*
 * COND (0 or 1) indexes the targets: no branch on the packet's data, which
 * a predictor guesses wrong when the packets vary, and no extra instruction.
 */
#define JUMP(COND) o = (const struct hl_bpf_op *)((const char *)ops + o->next[(COND)])


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
        while (HL_LIKELY(o->op == O_TEST_ABS)) {
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
