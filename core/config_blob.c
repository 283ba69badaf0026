/* Blob encoding (lwfctl, tests) and status names. */
#include "config_internal.h"

const char *hl_status_name(int status)
{
    switch (status) {
    case HL_OK:
        return "HL_OK";
    case HL_E_TRUNCATED:
        return "HL_E_TRUNCATED";
    case HL_E_BAD_MAGIC:
        return "HL_E_BAD_MAGIC";
    case HL_E_BAD_VERSION:
        return "HL_E_BAD_VERSION";
    case HL_E_BAD_HEADER_SIZE:
        return "HL_E_BAD_HEADER_SIZE";
    case HL_E_SIZE_MISMATCH:
        return "HL_E_SIZE_MISMATCH";
    case HL_E_TOO_LARGE:
        return "HL_E_TOO_LARGE";
    case HL_E_TOO_MANY_RULES:
        return "HL_E_TOO_MANY_RULES";
    case HL_E_BAD_ACTION:
        return "HL_E_BAD_ACTION";
    case HL_E_BAD_DIRECTION:
        return "HL_E_BAD_DIRECTION";
    case HL_E_BAD_SELECTOR:
        return "HL_E_BAD_SELECTOR";
    case HL_E_RESERVED:
        return "HL_E_RESERVED";
    case HL_E_BAD_FLAGS:
        return "HL_E_BAD_FLAGS";
    case HL_E_TOO_MANY_INSNS:
        return "HL_E_TOO_MANY_INSNS";
    case HL_E_PROGRAM:
        return "HL_E_PROGRAM";
    case HL_E_TRAILING:
        return "HL_E_TRAILING";
    case HL_E_NO_MEMORY:
        return "HL_E_NO_MEMORY";
    case HL_E_BUFFER_TOO_SMALL:
        return "HL_E_BUFFER_TOO_SMALL";
    case HL_E_INVALID_ARG:
        return "HL_E_INVALID_ARG";
    case HL_E_SNAPSHOT_TOO_LARGE:
        return "HL_E_SNAPSHOT_TOO_LARGE";
    default:
        return "HL_E_UNKNOWN";
    }
}

/* Bytes of a NUL-terminated name within max, or -1 when there is no NUL. */
static int bounded_len(const char *s, size_t max)
{
    size_t i;

    for (i = 0; i < max; i++) {
        if (s[i] == '\0')
            return (int)i;
    }
    return -1;
}

static int selector_len(const struct hl_selector *sel, uint32_t *len)
{
    int n;

    if (sel->kind == HL_SEL_NAME) {
        n = bounded_len(sel->name, HL_SEL_NAME_MAX);
        if (n < 0)
            return HL_E_INVALID_ARG;
    } else {
        n = hl_sel_fixed_len(sel->kind);
        if (n < 0)
            n = 0; /* unknown kinds are encoded with no data, for tests to craft */
    }
    *len = (uint32_t)n;
    return HL_OK;
}

static void encode_selector(const struct hl_selector *sel, uint8_t *p)
{
    uint32_t i;

    switch (sel->kind) {
    case HL_SEL_NAME:
        for (i = 0; sel->name[i] != '\0'; i++)
            p[i] = (uint8_t)sel->name[i];
        break;
    case HL_SEL_MAC:
        for (i = 0; i < 6; i++)
            p[i] = sel->mac[i];
        break;
    case HL_SEL_IFINDEX:
        hl_put32(p, sel->ifindex);
        break;
    default:
        break;
    }
}

int hl_blob_encode(const struct hl_rule_spec *rules, uint32_t nrules, uint8_t default_action,
                   uint8_t *out, size_t cap, size_t *len_out)
{
    /* Sizes are summed in 64 bits from bounded parts, so the sum cannot wrap. */
    uint64_t total = HL_BLOB_HEADER_SIZE;
    uint32_t i, j, sl;
    uint8_t *p;
    int rc;

    if (len_out == NULL || (rules == NULL && nrules > 0))
        return HL_E_INVALID_ARG;
    if (nrules > HL_MAX_RULES)
        return HL_E_TOO_MANY_RULES;
    for (i = 0; i < nrules; i++) {
        if (rules[i].ninsns > HL_BPF_MAXINSNS)
            return HL_E_TOO_MANY_INSNS;
        if (rules[i].insns == NULL && rules[i].ninsns > 0)
            return HL_E_INVALID_ARG;
        rc = selector_len(&rules[i].selector, &sl);
        if (rc != HL_OK)
            return rc;
        total +=
            HL_BLOB_RULE_HEADER_SIZE + hl_pad8(sl) + (uint64_t)rules[i].ninsns * HL_BLOB_INSN_SIZE;
        if (total > HL_BLOB_MAX)
            return HL_E_TOO_LARGE;
    }
    *len_out = (size_t)total;
    if (out == NULL || cap < total)
        return HL_E_BUFFER_TOO_SMALL;

    for (p = out; p < out + total; p++)
        *p = 0; /* reserved fields and padding */
    hl_put32(out, HL_BLOB_MAGIC);
    hl_put16(out + 4, HL_BLOB_VERSION);
    hl_put16(out + 6, HL_BLOB_HEADER_SIZE);
    hl_put32(out + 8, (uint32_t)total);
    hl_put32(out + 12, nrules);
    out[16] = default_action;
    p = out + HL_BLOB_HEADER_SIZE;
    for (i = 0; i < nrules; i++) {
        const struct hl_rule_spec *r = &rules[i];
        uint32_t size;

        (void)selector_len(&r->selector, &sl); /* checked above */
        size = HL_BLOB_RULE_HEADER_SIZE + hl_pad8(sl) + r->ninsns * HL_BLOB_INSN_SIZE;
        hl_put32(p, size);
        p[4] = r->action;
        p[5] = r->direction;
        p[6] = r->selector.kind;
        p[7] = (uint8_t)sl;
        hl_put32(p + 8, r->ninsns);
        encode_selector(&r->selector, p + HL_BLOB_RULE_HEADER_SIZE);
        p += HL_BLOB_RULE_HEADER_SIZE + hl_pad8(sl);
        for (j = 0; j < r->ninsns; j++, p += HL_BLOB_INSN_SIZE) {
            hl_put16(p, r->insns[j].code);
            p[2] = r->insns[j].jt;
            p[3] = r->insns[j].jf;
            hl_put32(p + 4, r->insns[j].k);
        }
    }
    return HL_OK;
}
