/*
 * A readable listing of a classic BPF program for `lwfctl show -v`. The
 * pcap text is not in the blob, so this is the only way to see what a rule
 * really does. Written as C-like statements with absolute jump targets,
 * because that is what one checks a program against by hand.
 */
#include <stdio.h>

#include "blob_decode.h"

static const char *size_name(uint16_t code)
{
    switch (code & 0x18) {
    case 0x00:
        return "word";
    case 0x08:
        return "half";
    case 0x10:
        return "byte";
    default:
        return "?";
    }
}

static void print_ld(FILE *f, uint16_t code, uint32_t k, const char *reg)
{
    switch (code & 0xe0) {
    case 0x00:
        fprintf(f, "%s = %#x", reg, k);
        break;
    case 0x20:
        fprintf(f, "%s = %s[%u]", reg, size_name(code), k);
        break;
    case 0x40:
        fprintf(f, "%s = %s[X + %u]", reg, size_name(code), k);
        break;
    case 0x60:
        fprintf(f, "%s = M[%u]", reg, k);
        break;
    case 0x80:
        fprintf(f, "%s = packet length", reg);
        break;
    case 0xa0:
        fprintf(f, "%s = 4 * (byte[%u] & 0xf)", reg, k);
        break;
    default:
        fprintf(f, "%s = ? (mode 0x%02x)", reg, code & 0xe0);
        break;
    }
}

static void print_alu(FILE *f, uint16_t code, uint32_t k)
{
    static const char *const ops[16] = {"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=",
                                        NULL, "%=", "^=", NULL, NULL, NULL, NULL,  NULL};
    const char *op = ops[(code >> 4) & 0xf];

    if ((code & 0xf0) == 0x80)
        fprintf(f, "A = -A");
    else if (op == NULL)
        fprintf(f, "A ?= (op 0x%02x)", code & 0xf0);
    else if (code & 0x08)
        fprintf(f, "A %s X", op);
    else
        fprintf(f, "A %s %#x", op, k);
}

static void print_jmp(FILE *f, const struct hl_bpf_insn *in, uint32_t pc)
{
    static const char *const ops[8] = {NULL, "==", ">", ">=", "&", NULL, NULL, NULL};
    const char *op = ops[(in->code >> 4) & 0x7];
    uint32_t next = pc + 1;

    if ((in->code & 0xf0) == 0x00) {
        fprintf(f, "goto %u", next + in->k);
        return;
    }
    if (op == NULL || (in->code & 0xf0) > 0x40) {
        fprintf(f, "jump ? (op 0x%02x)", in->code & 0xf0);
        return;
    }
    if (in->code & 0x08)
        fprintf(f, "if (A %s X)", op);
    else
        fprintf(f, "if (A %s %#x)", op, in->k);
    fprintf(f, " goto %u else %u", next + in->jt, next + in->jf);
}

void lwf_bpf_print(FILE *f, const struct hl_bpf_insn *insns, uint32_t count, const char *indent)
{
    for (uint32_t pc = 0; pc < count; pc++) {
        const struct hl_bpf_insn *in = &insns[pc];
        uint16_t code = in->code;

        fprintf(f, "%s%4u: ", indent, pc);
        switch (code & 0x07) {
        case 0x00:
            print_ld(f, code, in->k, "A");
            break;
        case 0x01:
            print_ld(f, code, in->k, "X");
            break;
        case 0x02:
            fprintf(f, "M[%u] = A", in->k);
            break;
        case 0x03:
            fprintf(f, "M[%u] = X", in->k);
            break;
        case 0x04:
            print_alu(f, code, in->k);
            break;
        case 0x05:
            print_jmp(f, in, pc);
            break;
        case 0x06:
            if ((code & 0x18) == 0x10)
                fprintf(f, "return A");
            else if ((code & 0x18) == 0x08)
                fprintf(f, "return X");
            else
                fprintf(f, "return %u", in->k);
            break;
        default:
            fprintf(f, "%s", (code & 0xf8) == 0x80 ? "A = X" : (code & 0xf8) == 0 ? "X = A" : "?");
            break;
        }
        fprintf(f, "\n");
    }
}
