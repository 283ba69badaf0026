/*
 * Classic BPF validator: reject by default.
 *
 * Every program that reaches hl_bpf_run has passed here, so the interpreter
 * can trust opcodes, jump targets and scratch indices and spend its checks
 * on the only thing that varies per packet: load offsets. The allow-list is
 * exactly what pcap_compile() can emit; anything else, however harmless it
 * looks, is refused so that the kernel's attack surface is the compiler's
 * output and nothing more.
 *
 * No allocation and a small stack (about 1 KiB): this runs in the IOCTL
 * path of the driver, where kernel stacks are a few pages.
 */
#include <hotlwf/bpf.h>

#include <stdarg.h>
#include <stdbool.h>
#include "hl_fmt.h"

/* Classic BPF encoding, spelled out here so core/ does not need pcap headers. */
enum {
    C_LD = 0x00,
    C_LDX = 0x01,
    C_ST = 0x02,
    C_STX = 0x03,
    C_ALU = 0x04,
    C_JMP = 0x05,
    C_RET = 0x06,
    C_MISC = 0x07,
};

enum {
    OP_ADD = 0x00,
    OP_SUB = 0x10,
    OP_MUL = 0x20,
    OP_DIV = 0x30,
    OP_OR = 0x40,
    OP_AND = 0x50,
    OP_LSH = 0x60,
    OP_RSH = 0x70,
    OP_NEG = 0x80,
    OP_MOD = 0x90,
    OP_XOR = 0xa0,
};

enum {
    J_JA = 0x00,
    J_JEQ = 0x10,
    J_JGT = 0x20,
    J_JGE = 0x30,
    J_JSET = 0x40,
};

#define SRC_X 0x08u

/* How an allowed opcode touches scratch memory, for the dataflow pass. */
enum mem_use { MEM_NONE, MEM_READ, MEM_WRITE };

/*
 * Returns true when code is one of the opcodes pcap_compile() can produce.
 * A switch over the full 16-bit value, so any stray bit (including the upper
 * byte, which classic BPF never uses) falls through to the refusal.
 */
static bool opcode_allowed(uint16_t code)
{
    switch (code) {
    /* LD: A <- packet word/half/byte (absolute, indexed), M[k], k, len */
    case 0x20:
    case 0x28:
    case 0x30: /* ABS W/H/B */
    case 0x40:
    case 0x48:
    case 0x50: /* IND W/H/B */
    case 0x60: /* MEM */
    case 0x00: /* IMM */
    case 0x80: /* LEN */
    /* LDX: X <- k, M[k], len, 4*(P[k]&0xf) */
    case 0x01:
    case 0x61:
    case 0x81:
    case 0xb1:
    case C_ST:
    case C_STX:
    case C_RET | 0x00:  /* RET K */
    case C_RET | 0x10:  /* RET A */
    case C_MISC | 0x00: /* TAX */
    case C_MISC | 0x80: /* TXA */
    case C_ALU | OP_NEG:
    case C_JMP | J_JA:
        return true;
    default:
        break;
    }
    if ((code & 0x07u) == C_ALU && (code & ~0xffu) == 0) {
        switch (code & 0xf0u) {
        case OP_ADD:
        case OP_SUB:
        case OP_MUL:
        case OP_DIV:
        case OP_OR:
        case OP_AND:
        case OP_LSH:
        case OP_RSH:
        case OP_MOD:
        case OP_XOR:
            /* op, source and class fill the low byte: no spare bit to check. */
            return true;
        default:
            return false;
        }
    }
    if ((code & 0x07u) == C_JMP && (code & ~0xffu) == 0) {
        switch (code & 0xf0u) {
        case J_JEQ:
        case J_JGT:
        case J_JGE:
        case J_JSET:
            return true;
        default:
            return false;
        }
    }
    return false;
}

static enum mem_use mem_use_of(uint16_t code)
{
    switch (code) {
    case 0x60: /* LD MEM */
    case 0x61: /* LDX MEM */
        return MEM_READ;
    case C_ST:
    case C_STX:
        return MEM_WRITE;
    default:
        return MEM_NONE;
    }
}

static int fail(char *reason, size_t reason_len, int status, const char *fmt, ...)
{
    if (reason != NULL && reason_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        /* hl_vfmt, not vsnprintf: this file also runs in the kernel. */
        (void)hl_vfmt(reason, reason_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Bit i of a 4096-bit set, one per instruction: 512 bytes on the stack. */
#define BITSET_WORDS (HL_BPF_MAXINSNS / 32u)
static bool bit_get(const uint32_t *set, size_t i)
{
    return (set[i / 32u] >> (i % 32u)) & 1u;
}
static void bit_set(uint32_t *set, size_t i)
{
    set[i / 32u] |= 1u << (i % 32u);
}

/*
 * Is scratch slot `slot` read on some path before it is written? Jumps only
 * go forward, so instruction order is a topological order of the flow graph
 * and one forward pass settles every instruction before it is visited.
 * Instead of a 16-bit "written" mask per instruction (8 KiB), one pass per
 * slot keeps two bits per instruction: reached, and reached along some path
 * that has not written the slot. Unreachable code is never executed, so it
 * is not held against the program (unoptimised pcap output contains some).
 * Returns the first offending instruction, or count when there is none.
 */
static size_t first_uninit_read(const struct hl_bpf_insn *insns, size_t count, uint32_t slot)
{
    uint32_t reached[BITSET_WORDS] = {0};
    uint32_t unwritten[BITSET_WORDS] = {0};

    bit_set(reached, 0);
    bit_set(unwritten, 0);
    for (size_t i = 0; i < count; i++) {
        if (!bit_get(reached, i))
            continue;
        const struct hl_bpf_insn *in = &insns[i];
        bool open = bit_get(unwritten, i);
        enum mem_use use = mem_use_of(in->code);
        if (use == MEM_READ && in->k == slot && open)
            return i;
        if (use == MEM_WRITE && in->k == slot)
            open = false;

        size_t next[2];
        size_t n = 0;
        if ((in->code & 0x07u) == C_RET)
            continue;
        if ((in->code & 0x07u) == C_JMP) {
            if ((in->code & 0xf0u) == J_JA) {
                next[n++] = i + 1 + in->k;
            } else {
                next[n++] = i + 1 + in->jt;
                next[n++] = i + 1 + in->jf;
            }
        } else {
            next[n++] = i + 1;
        }
        /* Targets were range-checked by the caller before this pass. */
        for (size_t j = 0; j < n; j++) {
            bit_set(reached, next[j]);
            if (open)
                bit_set(unwritten, next[j]);
        }
    }
    return count;
}

int hl_bpf_validate(const struct hl_bpf_insn *insns, size_t count, char *reason, size_t reason_len)
{
    if (reason != NULL && reason_len > 0)
        reason[0] = '\0';
    if (insns == NULL)
        return fail(reason, reason_len, HL_BPF_E_ARGS, "no program");
    if (count == 0 || count > HL_BPF_MAXINSNS)
        return fail(reason, reason_len, HL_BPF_E_LENGTH,
                    "program has %zu instructions, must be 1..%u", count, HL_BPF_MAXINSNS);

    uint32_t mem_read = 0; /* slots read anywhere: only those need the dataflow pass */
    for (size_t i = 0; i < count; i++) {
        const struct hl_bpf_insn *in = &insns[i];
        uint16_t code = in->code;
        /* Instructions left after this one: every jump must land in [i+1, count). */
        size_t left = count - i - 1;

        if (code == (C_RET | SRC_X))
            return fail(reason, reason_len, HL_BPF_E_RET_X,
                        "insn %zu: return of X (0x%04x) is not allowed", i, code);
        if (!opcode_allowed(code))
            return fail(reason, reason_len, HL_BPF_E_OPCODE,
                        "insn %zu: opcode 0x%04x is not allowed", i, code);

        switch (code & 0x07u) {
        case C_ALU:
            if ((code & SRC_X) == 0) {
                uint32_t op = code & 0xf0u;
                if ((op == OP_DIV || op == OP_MOD) && in->k == 0)
                    return fail(reason, reason_len, HL_BPF_E_DIV_ZERO,
                                "insn %zu: %s by constant zero", i,
                                op == OP_DIV ? "division" : "modulo");
                if ((op == OP_LSH || op == OP_RSH) && in->k >= 32)
                    return fail(reason, reason_len, HL_BPF_E_SHIFT,
                                "insn %zu: constant shift by %u (must be < 32)", i, in->k);
            }
            break;
        case C_JMP:
            if ((code & 0xf0u) == J_JA) {
                /* Compared as size_t against what is left: i + 1 + k never computed. */
                if ((uint64_t)in->k >= (uint64_t)left)
                    return fail(
                        reason, reason_len, HL_BPF_E_JUMP_RANGE,
                        "insn %zu: jump offset %u goes past the end (jumps only go forward)", i,
                        in->k);
            } else if ((size_t)in->jt >= left || (size_t)in->jf >= left) {
                return fail(reason, reason_len, HL_BPF_E_JUMP_RANGE,
                            "insn %zu: jump offsets %u/%u go past the end", i, in->jt, in->jf);
            }
            break;
        default:
            break;
        }

        enum mem_use use = mem_use_of(code);
        if (use != MEM_NONE) {
            if (in->k >= HL_BPF_MEMWORDS)
                return fail(reason, reason_len, HL_BPF_E_MEM_INDEX,
                            "insn %zu: scratch slot %u out of range (0..%u)", i, in->k,
                            HL_BPF_MEMWORDS - 1);
            if (use == MEM_READ)
                mem_read |= 1u << in->k;
        }
    }

    if ((insns[count - 1].code & 0x07u) != C_RET)
        return fail(reason, reason_len, HL_BPF_E_NO_RET,
                    "insn %zu: last instruction is not a return", count - 1);

    /* Report the earliest offending instruction across all slots. */
    size_t worst = count;
    uint32_t worst_slot = 0;
    for (uint32_t slot = 0; slot < HL_BPF_MEMWORDS; slot++) {
        if ((mem_read & (1u << slot)) == 0)
            continue;
        size_t at = first_uninit_read(insns, count, slot);
        if (at < worst) {
            worst = at;
            worst_slot = slot;
        }
    }
    if (worst < count)
        return fail(reason, reason_len, HL_BPF_E_MEM_UNINIT,
                    "insn %zu: scratch slot %u may be read before it is written", worst,
                    worst_slot);
    return HL_BPF_OK;
}
