/*
 * The blob compiler: untrusted bytes in, immutable snapshot out.
 *
 * Two passes. The first walks the blob without allocating and checks every
 * byte: sizes against what remains (in 32/64-bit arithmetic that cannot
 * wrap, since each part is bounded before it is added), every field against
 * the values this version defines, every reserved byte against zero. Only
 * then are the counts trusted enough to size the one allocation; the second
 * pass decodes into it and runs every program through hl_bpf_validate, which
 * needs aligned instructions. Any failure frees that allocation, leaves *out
 * alone and writes one precise reason.
 */
#include <string.h>
#include "config_internal.h"
#include "hl_fmt.h"

struct parse {
    const uint8_t *b;
    uint32_t total; /* == len once the header is checked */
    uint32_t nrules;
    uint64_t ninsns; /* over all rules */
    char *reason;
    size_t reason_len;
};

static int fail(struct parse *p, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    hl_vfmt(p->reason, p->reason_len, fmt, ap);
    va_end(ap);
    return status;
}

static int check_zero(struct parse *p, uint32_t off, uint32_t n, const char *what, uint32_t rule)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (p->b[off + i] != 0) {
            if (rule == 0)
                return fail(p, HL_E_RESERVED, "header: %s: byte at offset %u is not zero", what,
                            off + i);
            return fail(p, HL_E_RESERVED, "rule %u: %s: byte at offset %u is not zero", rule, what,
                        off + i);
        }
    }
    return HL_OK;
}

static int parse_header(struct parse *p, size_t len)
{
    const uint8_t *b = p->b;
    uint32_t total;
    int rc;

    if (len < HL_BLOB_HEADER_SIZE)
        return fail(p, HL_E_TRUNCATED, "header: blob is %zu bytes, the header alone needs %u", len,
                    HL_BLOB_HEADER_SIZE);
    if (len > HL_BLOB_MAX)
        return fail(p, HL_E_TOO_LARGE, "header: blob is %zu bytes, at most %u allowed", len,
                    HL_BLOB_MAX);
    if (hl_le32(b) != HL_BLOB_MAGIC)
        return fail(p, HL_E_BAD_MAGIC, "header: magic is 0x%x, expected 0x%x", hl_le32(b),
                    HL_BLOB_MAGIC);
    if (hl_le16(b + 4) != HL_BLOB_VERSION)
        return fail(p, HL_E_BAD_VERSION, "header: version %u, this driver reads version %u",
                    hl_le16(b + 4), HL_BLOB_VERSION);
    if (hl_le16(b + 6) != HL_BLOB_HEADER_SIZE)
        return fail(p, HL_E_BAD_HEADER_SIZE, "header: header size %u, version %u has %u",
                    hl_le16(b + 6), HL_BLOB_VERSION, HL_BLOB_HEADER_SIZE);
    total = hl_le32(b + 8);
    if (total < HL_BLOB_HEADER_SIZE)
        return fail(p, HL_E_SIZE_MISMATCH, "header: total size %u is smaller than the header",
                    total);
    if (total > HL_BLOB_MAX)
        return fail(p, HL_E_TOO_LARGE, "header: total size %u, at most %u allowed", total,
                    HL_BLOB_MAX);
    if (total > len)
        return fail(p, HL_E_TRUNCATED, "header: total size %u but only %zu bytes received", total,
                    len);
    if (total < len)
        return fail(p, HL_E_TRAILING, "header: total size %u but %zu bytes received", total, len);
    p->total = total;
    p->nrules = hl_le32(b + 12);
    if (p->nrules > HL_MAX_RULES)
        return fail(p, HL_E_TOO_MANY_RULES, "header: %u rules, at most %u allowed", p->nrules,
                    HL_MAX_RULES);
    if (b[16] != HL_ACTION_PASS && b[16] != HL_ACTION_DROP)
        return fail(p, HL_E_BAD_ACTION,
                    "header: default action %u is neither pass (0) nor drop (1)", b[16]);
    rc = check_zero(p, 17, 1, "reserved", 0);
    if (rc != HL_OK)
        return rc;
    if (hl_le16(b + 18) != 0)
        return fail(p, HL_E_BAD_FLAGS, "header: flags 0x%x, version %u defines none",
                    hl_le16(b + 18), HL_BLOB_VERSION);
    return check_zero(p, 20, 12, "reserved", 0);
}

static int check_selector(struct parse *p, uint32_t rule, const uint8_t *r)
{
    uint8_t kind = r[6], sl = r[7];
    uint32_t i;
    int want;

    if (kind == HL_SEL_NAME) {
        if (sl == 0 || sl >= HL_SEL_NAME_MAX)
            return fail(p, HL_E_BAD_SELECTOR, "rule %u: selector: name of %u bytes, 1..%u allowed",
                        rule, sl, HL_SEL_NAME_MAX - 1);
        for (i = 0; i < sl; i++) {
            if (r[HL_BLOB_RULE_HEADER_SIZE + i] == 0)
                return fail(p, HL_E_BAD_SELECTOR, "rule %u: selector: name contains a NUL byte",
                            rule);
        }
        return HL_OK;
    }
    want = hl_sel_fixed_len(kind);
    if (want < 0)
        return fail(p, HL_E_BAD_SELECTOR, "rule %u: selector: unknown kind %u", rule, kind);
    if (sl != (uint32_t)want)
        return fail(p, HL_E_BAD_SELECTOR, "rule %u: selector: kind %u carries %d bytes, not %u",
                    rule, kind, want, sl);
    return HL_OK;
}

/* Pass one: structure and fields of every rule, no allocation. */
static int walk_rules(struct parse *p)
{
    uint32_t off = HL_BLOB_HEADER_SIZE, i, left, size, ninsns, want, sl;
    int rc;

    for (i = 0; i < p->nrules; i++) {
        const uint8_t *r = p->b + off;
        uint32_t n = i + 1;

        left = p->total - off;
        if (left < HL_BLOB_RULE_HEADER_SIZE)
            return fail(p, HL_E_TRUNCATED, "rule %u: header at offset %u needs %u bytes, %u left",
                        n, off, HL_BLOB_RULE_HEADER_SIZE, left);
        size = hl_le32(r);
        if (size > left)
            return fail(p, HL_E_TRUNCATED, "rule %u: size %u but only %u bytes left", n, size,
                        left);
        if (r[4] != HL_ACTION_PASS && r[4] != HL_ACTION_DROP)
            return fail(p, HL_E_BAD_ACTION, "rule %u: action %u is neither pass (0) nor drop (1)",
                        n, r[4]);
        if (r[5] != HL_DIR_IN && r[5] != HL_DIR_OUT && r[5] != HL_DIR_BOTH)
            return fail(p, HL_E_BAD_DIRECTION,
                        "rule %u: direction %u is not in (1), out (2) "
                        "or both (3)",
                        n, r[5]);
        rc = check_zero(p, off + 12, 4, "reserved", n);
        if (rc != HL_OK)
            return rc;
        ninsns = hl_le32(r + 8);
        if (ninsns > HL_BPF_MAXINSNS)
            return fail(p, HL_E_TOO_MANY_INSNS, "rule %u: %u instructions, at most %u allowed", n,
                        ninsns, HL_BPF_MAXINSNS);
        if (ninsns == 0)
            return fail(p, HL_E_PROGRAM, "rule %u: program: empty", n);
        /* Bounded above: 16 + 256 + 8 * 4096 fits easily in 32 bits. */
        sl = r[7];
        want = HL_BLOB_RULE_HEADER_SIZE + hl_pad8(sl) + ninsns * HL_BLOB_INSN_SIZE;
        if (size != want)
            return fail(p, HL_E_SIZE_MISMATCH,
                        "rule %u: size %u, but a %u-byte selector and %u instructions make %u", n,
                        size, sl, ninsns, want);
        /* size <= left, so the selector bytes below are inside the blob. */
        rc = check_selector(p, n, r);
        if (rc != HL_OK)
            return rc;
        rc = check_zero(p, off + HL_BLOB_RULE_HEADER_SIZE + sl, hl_pad8(sl) - sl,
                        "selector padding", n);
        if (rc != HL_OK)
            return rc;
        p->ninsns += ninsns;
        off += size;
    }
    if (off != p->total)
        return fail(p, HL_E_TRAILING, "blob: %u bytes after the last rule (offset %u)",
                    p->total - off, off);
    return HL_OK;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Pass two: decode rule by rule into s, validating each program. */
static int fill_rules(struct parse *p, struct hl_snapshot *s)
{
    uint32_t off = HL_BLOB_HEADER_SIZE, i, j;
    struct hl_bpf_insn *ins = s->insns;
    struct hl_bpf_op *ops = s->ops;

    for (i = 0; i < p->nrules; i++) {
        const uint8_t *r = p->b + off;
        struct hl_rule *d = &s->rules[i];
        uint8_t sl = r[7];
        const uint8_t *q;
        size_t pre;
        int rc;

        memset(d, 0, sizeof(*d));
        d->action = r[4];
        d->direction = r[5];
        d->sel.kind = r[6];
        q = r + HL_BLOB_RULE_HEADER_SIZE;
        if (d->sel.kind == HL_SEL_NAME)
            memcpy(d->sel.name, q, sl); /* the memset left the NUL */
        else if (d->sel.kind == HL_SEL_MAC)
            memcpy(d->sel.mac, q, 6);
        else if (d->sel.kind == HL_SEL_IFINDEX)
            d->sel.ifindex = hl_le32(q);
        d->ninsns = hl_le32(r + 8);
        d->insns = ins;
        q += hl_pad8(sl);
        for (j = 0; j < d->ninsns; j++, q += HL_BLOB_INSN_SIZE) {
            ins[j].code = hl_le16(q);
            ins[j].jt = q[2];
            ins[j].jf = q[3];
            ins[j].k = hl_le32(q + 4);
        }
        pre = hl_fmt(p->reason, p->reason_len, "rule %u: program: ", i + 1);
        rc =
            hl_bpf_validate(d->insns, d->ninsns,
                            p->reason != NULL && pre + 1 < p->reason_len ? p->reason + pre : NULL,
                            p->reason != NULL && pre + 1 < p->reason_len ? p->reason_len - pre : 0);
        if (rc != 0)
            return HL_E_PROGRAM;
        hl_bpf_decode(d->insns, d->ninsns, ops);
        d->ops = ops;
        ops += d->ninsns;
        ins += d->ninsns;
        off += hl_le32(r);
    }
    return HL_OK;
}

int hl_config_compile(const void *blob, size_t len, const struct hl_alloc *a, uint32_t ncpus,
                      struct hl_snapshot **out, char *reason, size_t reason_len)
{
    struct parse p;
    struct hl_snapshot *s;
    uint64_t off_rules, off_insns, off_ops, off_blob, off_stats, stride, size;
    uint8_t *base;
    int rc;

    memset(&p, 0, sizeof(p));
    p.b = blob;
    p.reason = reason_len > 0 ? reason : NULL;
    p.reason_len = reason != NULL ? reason_len : 0;
    if (p.reason != NULL)
        p.reason[0] = '\0';
    if (out == NULL || a == NULL || a->alloc == NULL || a->free == NULL || (blob == NULL && len))
        return fail(&p, HL_E_INVALID_ARG, "invalid argument");
    if (ncpus == 0 || ncpus > HL_MAX_CPUS)
        return fail(&p, HL_E_INVALID_ARG, "cpu count %u, 1..%u allowed", ncpus, HL_MAX_CPUS);
    rc = parse_header(&p, len);
    if (rc == HL_OK)
        rc = walk_rules(&p);
    if (rc != HL_OK)
        return rc;

    /*
     * Every term is bounded by now: nrules <= HL_MAX_RULES, ninsns <= total /
     * 8, total <= HL_BLOB_MAX, ncpus <= HL_MAX_CPUS, so the 64-bit sums cannot
     * wrap; HL_SNAPSHOT_MAX then bounds what is allocated (and the SIZE_MAX
     * check is for 32-bit builds).
     */
    off_rules = align_up(sizeof(struct hl_snapshot), 16);
    off_insns = off_rules + (uint64_t)p.nrules * sizeof(struct hl_rule);
    off_ops = align_up(off_insns + p.ninsns * sizeof(struct hl_bpf_insn), 16);
    off_blob = off_ops + p.ninsns * sizeof(struct hl_bpf_op);
    off_stats = off_blob + p.total + (HL_CACHE_LINE - 1); /* slack to align the counters */
    stride = align_up(((uint64_t)p.nrules + 1) * 2 * sizeof(uint64_t), HL_CACHE_LINE);
    size = off_stats + stride * ncpus;
    if (size > HL_SNAPSHOT_MAX)
        return fail(&p, HL_E_SNAPSHOT_TOO_LARGE,
                    "snapshot of %llu bytes (%u rules, %llu instructions, counters for %u CPUs), "
                    "at most %u allowed",
                    (unsigned long long)size, p.nrules, (unsigned long long)p.ninsns, ncpus,
                    HL_SNAPSHOT_MAX);
    if (size > (uint64_t)SIZE_MAX)
        return fail(&p, HL_E_NO_MEMORY, "snapshot of %llu bytes does not fit in memory",
                    (unsigned long long)size);
    base = a->alloc(a->ctx, (size_t)size);
    if (base == NULL)
        return fail(&p, HL_E_NO_MEMORY, "out of memory for a snapshot of %llu bytes",
                    (unsigned long long)size);
    s = (struct hl_snapshot *)base;
    memset(s, 0, sizeof(*s));
    s->alloc = *a;
    s->base = base;
    s->bytes = (size_t)size;
    s->nrules = p.nrules;
    s->ncpus = ncpus;
    s->default_action = p.b[16];
    s->rules = (struct hl_rule *)(base + off_rules);
    s->insns = (struct hl_bpf_insn *)(base + off_insns);
    s->ops = (struct hl_bpf_op *)(base + off_ops);
    memcpy(base + off_blob, blob, p.total);
    s->blob = base + off_blob;
    s->blob_len = p.total;
    s->stats = (uint8_t *)(((uintptr_t)(base + off_blob + p.total) + (HL_CACHE_LINE - 1)) &
                           ~(uintptr_t)(HL_CACHE_LINE - 1));
    s->stats_stride = (size_t)stride;
    memset(s->stats, 0, (size_t)(stride * ncpus));

    rc = fill_rules(&p, s);
    if (rc == HL_OK) {
        uint64_t index_bytes = 0;

        /* The index gets what the snapshot left of HL_SNAPSHOT_MAX. */
        rc = hl_index_build(s->rules, s->nrules, a, HL_SNAPSHOT_MAX - size, &s->index,
                            &index_bytes);
        if (rc == HL_E_SNAPSHOT_TOO_LARGE)
            fail(&p, rc,
                 "snapshot of %llu bytes and rule index of %llu bytes (%u rules), "
                 "at most %u allowed together",
                 (unsigned long long)size, (unsigned long long)index_bytes, p.nrules,
                 HL_SNAPSHOT_MAX);
        else if (rc != HL_OK)
            fail(&p, rc, "out of memory for the rule index");
    }
    if (rc != HL_OK) {
        a->free(a->ctx, base);
        return rc;
    }
    if (p.reason != NULL)
        p.reason[0] = '\0';
    *out = s;
    return HL_OK;
}
