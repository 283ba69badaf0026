/*
 * Classic BPF interpreter over a segmented packet.
 *
 * Runs only programs hl_bpf_validate accepted: opcodes, jump targets and
 * scratch indices are trusted here. What is not trusted is the packet, so
 * every load is bounds-checked against the captured bytes, with libpcap's
 * bpf_filter() semantics: a load that does not fit ends the program with 0.
 *
 * The packet is an MDL chain: headers are nearly always in the first
 * segment, so a load inside it is read in place; anything else walks the
 * chain byte by byte, which also handles empty segments and loads straddling
 * any number of boundaries. No allocation, no recursion, no OS call: this
 * runs at DISPATCH_LEVEL on every packet.
 */
#include <hotlwf/bpf.h>

#include <stdbool.h>
#include "bpf_internal.h"

bool hl_bpf_gather(const struct hl_seg *segs, size_t nsegs, uint64_t off, uint8_t *out, size_t n)
{
    size_t s = 0;
    while (s < nsegs && off >= segs[s].len) {
        off -= segs[s].len;
        s++;
    }
    size_t got = 0;
    while (got < n) {
        if (s >= nsegs)
            return false;
        /* off < segs[s].len here, except after moving to an empty segment. */
        if (off < segs[s].len) {
            out[got++] = segs[s].data[off++];
        } else {
            s++;
            off = 0;
        }
    }
    return true;
}

bool hl_bpf_load(const struct hl_seg *segs, size_t nsegs, uint64_t off, size_t n, uint32_t *val)
{
    uint8_t b[4];
    const uint8_t *p;

    if (nsegs > 0 && off + n <= segs[0].len) {
        p = segs[0].data + off;
    } else {
        if (!hl_bpf_gather(segs, nsegs, off, b, n))
            return false;
        p = b;
    }
    switch (n) {
    case 4:
        *val = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        break;
    case 2:
        *val = (uint32_t)p[0] << 8 | p[1];
        break;
    default:
        *val = p[0];
        break;
    }
    return true;
}

static size_t size_of(uint16_t code)
{
    switch (code & 0x18u) {
    case 0x00:
        return 4;
    case 0x08:
        return 2;
    default:
        return 1;
    }
}

uint32_t hl_bpf_run(const struct hl_bpf_insn *insns, size_t count, const struct hl_seg *segs,
                    size_t nsegs, uint32_t wire_len)
{
    uint32_t A = 0, X = 0, v;
    uint32_t M[HL_BPF_MEMWORDS];
    size_t pc = 0;

    if (segs == NULL)
        nsegs = 0;
    /* The validator guarantees every path ends in a return within count. */
    while (pc < count) {
        const struct hl_bpf_insn *in = &insns[pc++];
        uint32_t k = in->k;

        switch (in->code) {
        case 0x20:
        case 0x28:
        case 0x30: /* LD ABS */
            if (!hl_bpf_load(segs, nsegs, k, size_of(in->code), &A))
                return 0;
            break;
        case 0x40:
        case 0x48:
        case 0x50: /* LD IND */
            if (!hl_bpf_load(segs, nsegs, (uint64_t)X + k, size_of(in->code), &A))
                return 0;
            break;
        case 0xb1: /* LDX MSH: IPv4 header length */
            if (!hl_bpf_load(segs, nsegs, k, 1, &v))
                return 0;
            X = (v & 0xfu) << 2;
            break;
        case 0x60:
            A = M[k];
            break;
        case 0x61:
            X = M[k];
            break;
        case 0x00:
            A = k;
            break;
        case 0x01:
            X = k;
            break;
        case 0x80:
            A = wire_len;
            break;
        case 0x81:
            X = wire_len;
            break;
        case 0x02:
            M[k] = A;
            break;
        case 0x03:
            M[k] = X;
            break;
        case 0x06:
            return k;
        case 0x16:
            return A;
        case 0x07:
            X = A;
            break;
        case 0x87:
            A = X;
            break;

        case 0x05:
            pc += k;
            break;
        case 0x15:
            pc += (A == k) ? in->jt : in->jf;
            break;
        case 0x25:
            pc += (A > k) ? in->jt : in->jf;
            break;
        case 0x35:
            pc += (A >= k) ? in->jt : in->jf;
            break;
        case 0x45:
            pc += (A & k) ? in->jt : in->jf;
            break;
        case 0x1d:
            pc += (A == X) ? in->jt : in->jf;
            break;
        case 0x2d:
            pc += (A > X) ? in->jt : in->jf;
            break;
        case 0x3d:
            pc += (A >= X) ? in->jt : in->jf;
            break;
        case 0x4d:
            pc += (A & X) ? in->jt : in->jf;
            break;

        case 0x04:
            A += k;
            break;
        case 0x14:
            A -= k;
            break;
        case 0x24:
            A *= k;
            break;
        case 0x34:
            A /= k;
            break; /* validator refused k == 0 */
        case 0x94:
            A %= k;
            break;
        case 0x44:
            A |= k;
            break;
        case 0x54:
            A &= k;
            break;
        case 0xa4:
            A ^= k;
            break;
        case 0x64:
            A <<= k;
            break; /* validator refused k >= 32 */
        case 0x74:
            A >>= k;
            break;
        case 0x84:
            A = 0u - A;
            break;

        case 0x0c:
            A += X;
            break;
        case 0x1c:
            A -= X;
            break;
        case 0x2c:
            A *= X;
            break;
        case 0x3c:
            if (X == 0)
                return 0;
            A /= X;
            break;
        case 0x9c:
            if (X == 0)
                return 0;
            A %= X;
            break;
        case 0x4c:
            A |= X;
            break;
        case 0x5c:
            A &= X;
            break;
        case 0xac:
            A ^= X;
            break;
        /* Shifting a 32-bit value by 32 or more is undefined in C; libpcap yields 0. */
        case 0x6c:
            A = X < 32 ? A << X : 0;
            break;
        case 0x7c:
            A = X < 32 ? A >> X : 0;
            break;

        default:
            /* Unreachable for validated programs; refuse the packet rather than guess. */
            return 0;
        }
    }
    return 0;
}
