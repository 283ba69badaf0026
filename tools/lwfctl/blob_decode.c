/* Blob layout: include/hotlwf/ioctl.h (and docs/config-format.md). */
#include "blob_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotlwf/ioctl.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static int decode_selector(const uint8_t *d, uint8_t kind, uint8_t len, struct hl_selector *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->kind = kind;
    switch (kind) {
    case HL_SEL_ALL:
        return len == 0 ? 0 : -1;
    case HL_SEL_MAC:
        if (len != 6)
            return -1;
        memcpy(sel->mac, d, 6);
        return 0;
    case HL_SEL_IFINDEX:
        if (len != 4)
            return -1;
        sel->ifindex = le32(d);
        return 0;
    case HL_SEL_NAME:
        if (len == 0 || len >= HL_SEL_NAME_MAX || memchr(d, 0, len) != NULL)
            return -1;
        memcpy(sel->name, d, len);
        return 0;
    default:
        return -1;
    }
}

static int grow(struct lwf_rules *out, size_t n)
{
    out->specs = calloc(n ? n : 1, sizeof(*out->specs));
    out->lines = calloc(n ? n : 1, sizeof(*out->lines));
    out->cap = n;
    return out->specs != NULL && out->lines != NULL ? 0 : -1;
}

int lwf_blob_decode(const uint8_t *blob, size_t len, struct lwf_rules *out, char *err,
                    size_t err_len)
{
    memset(out, 0, sizeof(*out));
    if (len < HL_BLOB_HEADER_SIZE || le32(blob) != HL_BLOB_MAGIC) {
        snprintf(err, err_len, "not a configuration blob (%zu bytes)", len);
        return -1;
    }
    uint16_t hsize = le16(blob + 6);
    uint32_t total = le32(blob + 8);
    uint32_t nrules = le32(blob + 12);
    if (le16(blob + 4) != HL_BLOB_VERSION || hsize < HL_BLOB_HEADER_SIZE || hsize > len ||
        total != len || nrules > HL_MAX_RULES) {
        snprintf(err, err_len, "unsupported blob header (version %u, %u rules, %u of %zu bytes)",
                 le16(blob + 4), nrules, total, len);
        return -1;
    }
    out->default_action = blob[16];
    if (grow(out, nrules) != 0) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    size_t off = hsize;
    for (uint32_t i = 0; i < nrules; i++) {
        const uint8_t *r = blob + off;
        if (len - off < HL_BLOB_RULE_HEADER_SIZE)
            goto bad;
        uint32_t rsize = le32(r);
        uint8_t sel_len = r[7];
        uint32_t ninsns = le32(r + 8);
        size_t sel_pad =
            ((size_t)sel_len + HL_BLOB_SEL_ALIGN - 1) / HL_BLOB_SEL_ALIGN * HL_BLOB_SEL_ALIGN;
        if (rsize > len - off || ninsns > HL_BPF_MAXINSNS ||
            rsize != HL_BLOB_RULE_HEADER_SIZE + sel_pad + (size_t)ninsns * HL_BLOB_INSN_SIZE)
            goto bad;
        struct hl_rule_spec *spec = &out->specs[i];
        spec->action = r[4];
        spec->direction = r[5];
        if (decode_selector(r + HL_BLOB_RULE_HEADER_SIZE, r[6], sel_len, &spec->selector) != 0)
            goto bad;
        struct hl_bpf_insn *insns = calloc(ninsns ? ninsns : 1, sizeof(*insns));
        if (insns == NULL)
            goto bad;
        const uint8_t *p = r + HL_BLOB_RULE_HEADER_SIZE + sel_pad;
        for (uint32_t k = 0; k < ninsns; k++, p += HL_BLOB_INSN_SIZE) {
            insns[k].code = le16(p);
            insns[k].jt = p[2];
            insns[k].jf = p[3];
            insns[k].k = le32(p + 4);
        }
        spec->insns = insns;
        spec->ninsns = ninsns;
        out->count++;
        off += rsize;
    }
    if (off != len)
        goto bad;
    return 0;
bad:
    snprintf(err, err_len, "malformed blob at rule %zu (offset %zu)", out->count + 1, off);
    lwf_rules_free(out);
    return -1;
}
