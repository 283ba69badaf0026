/*
 * The compiled snapshot seen from the datapath: accessors, the per-module
 * view and classification. Nothing here allocates or takes a lock; it runs
 * at DISPATCH_LEVEL on a snapshot the grace period keeps alive.
 */
#include <string.h>
#include "config_internal.h"

void hl_snapshot_free(struct hl_snapshot *s)
{
    struct hl_alloc a;

    if (s == NULL)
        return;
    a = s->alloc; /* s lives inside the block being freed */
    hl_index_free(s->index, &a);
    a.free(a.ctx, s->base);
}

uint32_t hl_snapshot_rule_count(const struct hl_snapshot *s)
{
    return s != NULL ? s->nrules : 0;
}

uint8_t hl_snapshot_default_action(const struct hl_snapshot *s)
{
    return s != NULL ? s->default_action : (uint8_t)HL_ACTION_PASS;
}

uint32_t hl_snapshot_cpu_count(const struct hl_snapshot *s)
{
    return s != NULL ? s->ncpus : 0;
}

void hl_snapshot_get_info(const struct hl_snapshot *s, struct hl_snapshot_info *info)
{
    memset(info, 0, sizeof(*info));
    if (s == NULL)
        return;
    info->rules = s->nrules;
    info->snapshot_bytes = s->bytes;
    if (s->index != NULL) {
        info->indexed = s->index->nindexed;
        info->fields = s->index->nfields;
        info->index_bytes = s->index->bytes;
    }
}

const void *hl_snapshot_blob(const struct hl_snapshot *s, size_t *len)
{
    if (s == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = s->blob_len;
    return s->blob;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Only ASCII letters fold: UTF-8 multi-byte sequences compare byte for byte,
 * which is what a kernel without locale tables can promise.
 */
static int name_equal(const char *a, const char *b)
{
    size_t i;

    for (i = 0; i < HL_SEL_NAME_MAX; i++) {
        unsigned char x = ascii_lower((unsigned char)a[i]);
        unsigned char y = ascii_lower((unsigned char)b[i]);
        if (x != y)
            return 0;
        if (x == '\0')
            return 1;
    }
    return 1; /* neither terminated within the bound: equal over the whole bound */
}

int hl_selector_match(const struct hl_selector *sel, const struct hl_adapter_id *adapter)
{
    switch (sel->kind) {
    case HL_SEL_ALL:
        return 1;
    case HL_SEL_NAME:
        if (adapter == NULL || sel->name[0] == '\0')
            return 0;
        return name_equal(sel->name, adapter->name) || name_equal(sel->name, adapter->alias);
    case HL_SEL_MAC:
        return adapter != NULL && memcmp(sel->mac, adapter->mac, 6) == 0;
    case HL_SEL_IFINDEX:
        return adapter != NULL && sel->ifindex == adapter->ifindex;
    default:
        return 0;
    }
}

void hl_view_refresh(struct hl_view *v, const struct hl_snapshot *s,
                     const struct hl_adapter_id *adapter)
{
    uint32_t i, nwords;

    v->snap = s;
    v->nrules = hl_snapshot_rule_count(s);
    /* Only the words classify will read are cleared: O(rules), not O(HL_MAX_RULES). */
    nwords = (v->nrules + 63u) / 64u;
    v->nwords = nwords;
    memset(v->in, 0, nwords * sizeof(v->in[0]));
    memset(v->out, 0, nwords * sizeof(v->out[0]));
    for (i = 0; i < v->nrules; i++) {
        const struct hl_rule *r = &s->rules[i];
        uint64_t bit = 1ull << (i % 64u);

        if (!hl_selector_match(&r->sel, adapter))
            continue;
        if (r->direction & HL_DIR_IN)
            v->in[i / 64u] |= bit;
        if (r->direction & HL_DIR_OUT)
            v->out[i / 64u] |= bit;
    }
}

/* Rule i applies to this module's adapter and the direction bits describe. */
static int applies(const uint64_t *bits, uint32_t i)
{
    return (int)((bits[i / 64u] >> (i % 64u)) & 1u);
}

uint8_t hl_classify(const struct hl_view *v, enum hl_direction dir, const struct hl_seg *segs,
                    size_t nsegs, uint32_t wire_len, uint32_t *rule_out)
{
    const uint64_t *bits = dir == HL_DIR_OUT ? v->out : v->in;
    struct hl_idx_list lists[HL_IDX_MAX_LISTS];
    uint32_t n, k;

    if (rule_out != NULL)
        *rule_out = 0;
    if (v->snap == NULL)
        return HL_ACTION_PASS;
    if (v->snap->index == NULL)
        return v->snap->default_action; /* no rules */
    /*
     * The rules this packet can match (rule_index.c), merged in ascending
     * rule order: the smallest head of the lists is run next, and every list
     * holding it moves past it, so a rule in several lists runs once and the
     * first rule whose program accepts is the linear classifier's first match.
     */
    n = hl_index_lookup(v->snap->index, dir == HL_DIR_OUT ? 1u : 0u, segs, nsegs, lists);
    for (;;) {
        uint32_t i = UINT32_MAX;
        const struct hl_rule *r;

        for (k = 0; k < n; k++)
            if (lists[k].next < lists[k].end && *lists[k].next < i)
                i = *lists[k].next;
        if (i == UINT32_MAX)
            break;
        for (k = 0; k < n; k++)
            if (lists[k].next < lists[k].end && *lists[k].next == i)
                lists[k].next++;
        r = &v->snap->rules[i];
        if (i < v->nrules && applies(bits, i) && hl_bpf_exec(r->ops, segs, nsegs, wire_len) != 0) {
            if (rule_out != NULL)
                *rule_out = i + 1;
            return r->action;
        }
    }
    return v->snap->default_action;
}
