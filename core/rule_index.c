/*
 * The rule index: what a packet must contain for a rule to match, found by
 * symbolic execution of the rule's validated program, then hash tables from
 * those header values to the rules, so that classification runs only the
 * rules a packet can possibly match, still in rule order (first match is
 * exactly the linear classifier's).
 *
 * Analysis. Jumps only go forward, so the paths of a program are finite; a
 * depth-first walk (an explicit stack, no recursion) follows each with A, X
 * and the scratch slots as symbolic values: a constant, a header field
 * (struct hl_field: a load at a fixed offset or behind the IPv4 header
 * length, possibly ANDed with a constant) or unknown. A "jeq" of a field
 * against a constant records the fact field == value on its true branch
 * (field != value on the false one); a branch that contradicts a fact of
 * its path is not taken, since it cannot be. A path ending in a non-zero
 * return accepts. The rule can only match a packet for which every fact of
 * some accepting path holds; so if each accepting path has an equality,
 * picking one per path (the rarest across the rule set, counted in a first
 * walk) gives keys such that a packet that matches the rule has at least
 * one of them. That is the only property the index needs: it narrows, the
 * program still decides. A load that fails ends its path with 0, so a
 * packet too short to read a key's field cannot match through that path,
 * and lookups of fields that cannot be read are skipped. A rule with an
 * accepting path without equality ("not host X", "len > 100"), or whose
 * walk exceeds its budget, is unindexed: every packet of its direction
 * tries it.
 *
 * Work is bounded: the walk visits at most 16 * instructions + 1024
 * instructions per rule and HL_IDX_WALK_STEPS over the rule set, keeps at
 * most HL_IDX_STACK pending branches,
 * HL_IDX_PATHS accepting paths and HL_IDX_FACTS facts per path; exceeding a
 * bound makes the rule unindexed, never wrong. Facts beyond the limit are
 * dropped, which only loses precision.
 *
 * Build: two walks over the rules (count facts; choose keys, kept), then the
 * fill, with 70 to 580 KiB of scratch (the walk's stack, the accepting
 * paths and a count-min sketch of 2 x 1,024 to 65,536 counters), 8 bytes per key
 * chosen and a temporary (slot, rule) pair per entry; then one allocation
 * holds the hash table (open addressing, per direction and field), the
 * rule lists and the unindexed lists. The
 * adapter each rule applies to is left to the module's view (hl_view): it
 * is known only when a module attaches, where nothing may be allocated.
 */
#include "rule_index.h"

#include <string.h>
#include "bpf_internal.h"
#include "config_internal.h"

#define HL_IDX_STACK 64u  /* pending branches of one walk */
#define HL_IDX_PATHS 64u  /* accepting paths of one rule */
#define HL_IDX_FACTS 8u   /* facts kept per path */
#define HL_IDX_KEYS 64u   /* distinct keys of one rule */
/*
 * Steps of one walk over the whole rule set (256 per rule at HL_MAX_RULES;
 * a host rule takes about 60): bounds the analysis, and so the compile,
 * whatever the rules. Rules past it are unindexed.
 */
#define HL_IDX_WALK_STEPS (256u * HL_MAX_RULES)
/*
 * (direction, key, rule) entries of one index: HL_MAX_RULES host rules for
 * both directions (4 keys each) exactly. Bounds the index at 2 Mi slots of
 * 16 bytes plus 4 MiB of lists, whatever the rules.
 */
#define HL_IDX_MAX_ENTRIES (8u * HL_MAX_RULES)
/*
 * Fact counters per hash of the count-min sketch: 16 per rule, a power of
 * two between 1,024 and 65,536, so that a small rule set (reconfigured a
 * thousand times a second) does not clear half a megabyte each time.
 */
#define SKETCH_MIN 1024u
#define SKETCH_MAX 65536u

enum { S_UNKNOWN, S_CONST, S_FIELD, S_MSH };

struct sym {
    uint8_t kind;
    struct hl_field f; /* S_FIELD */
    uint32_t c;        /* S_CONST: the value; S_MSH: the offset of the byte */
};

struct fact {
    struct hl_field f;
    uint32_t value;
    uint8_t eq; /* 1: field == value; 0: field != value */
};

struct state {
    uint32_t pc;
    uint32_t nfacts;
    struct sym a, x, m[HL_BPF_MEMWORDS];
    struct fact facts[HL_IDX_FACTS];
};

struct path {
    uint32_t nfacts; /* equalities only */
    struct fact facts[HL_IDX_FACTS];
};

struct key {
    uint32_t field; /* index into the field table, or a candidate's position before registering */
    struct hl_field f;
    uint32_t value;
};

struct scratch {
    struct state stack[HL_IDX_STACK];
    struct path paths[HL_IDX_PATHS];
    uint32_t npaths;
    uint32_t *sketch[2]; /* [sketch_mask + 1] each, after the struct in its allocation */
    uint32_t sketch_mask;
    struct key keys[HL_IDX_KEYS];
    uint32_t nkeys;
    uint32_t steps_left; /* of HL_IDX_WALK_STEPS, for this walk over the rule set */
};

static bool field_eq(const struct hl_field *a, const struct hl_field *b)
{
    return a->ind == b->ind && a->size == b->size && a->msh == b->msh && a->off == b->off &&
           a->mask == b->mask;
}

static uint32_t mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static uint32_t fact_hash(const struct hl_field *f, uint32_t value, uint32_t seed)
{
    uint32_t h = mix(value ^ seed);
    h = mix(h ^ f->off ^ ((uint32_t)f->size << 24) ^ ((uint32_t)f->ind << 28));
    return mix(h ^ f->mask ^ (f->msh << 8));
}

/*
 * How many rules share the fact, from a count-min sketch: two counters
 * under independent hashes, the smaller one. An overestimate only when both
 * collide with commoner facts, and then only the choice of key suffers.
 */
static uint32_t *counter(struct scratch *sc, const struct fact *t, int which)
{
    return &sc->sketch[which][fact_hash(&t->f, t->value, which ? 0x85ebca6bu : 0x9e3779b9u) &
                              sc->sketch_mask];
}

static uint32_t fact_count(struct scratch *sc, const struct fact *t)
{
    uint32_t a = *counter(sc, t, 0), b = *counter(sc, t, 1);
    return a < b ? a : b;
}

static uint32_t size_mask(uint8_t size)
{
    return size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;
}

static uint8_t load_size(uint16_t code)
{
    return (code & 0x18u) == 0 ? 4 : (code & 0x18u) == 0x08 ? 2 : 1;
}

/* A <- A op k for constants, with the interpreter's semantics; false: the path returns 0. */
static bool fold(uint16_t op, uint32_t *a, uint32_t k)
{
    switch (op) {
    case 0x00:
        *a += k;
        return true;
    case 0x10:
        *a -= k;
        return true;
    case 0x20:
        *a *= k;
        return true;
    case 0x30:
        if (k == 0)
            return false;
        *a /= k;
        return true;
    case 0x90:
        if (k == 0)
            return false;
        *a %= k;
        return true;
    case 0x40:
        *a |= k;
        return true;
    case 0x50:
        *a &= k;
        return true;
    case 0xa0:
        *a ^= k;
        return true;
    case 0x60:
        *a = k < 32 ? *a << k : 0;
        return true;
    case 0x70:
        *a = k < 32 ? *a >> k : 0;
        return true;
    default: /* 0x80, NEG */
        *a = 0u - *a;
        return true;
    }
}

/* The fact this path already holds about field f and value v: 1 true, 0 false, -1 unknown. */
static int known(const struct state *st, const struct hl_field *f, uint32_t v)
{
    uint32_t i;

    for (i = 0; i < st->nfacts; i++) {
        const struct fact *t = &st->facts[i];
        if (!field_eq(&t->f, f))
            continue;
        if (t->eq)
            return t->value == v;
        if (t->value == v)
            return 0;
    }
    return -1;
}

static void add_fact(struct state *st, const struct hl_field *f, uint32_t v, uint8_t eq)
{
    if (st->nfacts < HL_IDX_FACTS) {
        st->facts[st->nfacts].f = *f;
        st->facts[st->nfacts].value = v;
        st->facts[st->nfacts].eq = eq;
        st->nfacts++;
    }
}

/*
 * Walks every path of the program; fills sc->paths with the equalities of
 * each accepting path. Returns false when the rule cannot be indexed.
 */
static bool walk(const struct hl_bpf_insn *insns, uint32_t count, struct scratch *sc)
{
    uint32_t sp = 0, budget = 16u * count + 1024u, i;

    sc->npaths = 0;
    memset(&sc->stack[0], 0, sizeof(sc->stack[0]));
    sp = 1;
    while (sp > 0) {
        struct state *st = &sc->stack[sp - 1];

        for (;;) {
            const struct hl_bpf_insn *in = &insns[st->pc];
            uint16_t code = in->code;
            uint32_t k = in->k;

            if (budget == 0 || sc->steps_left == 0)
                return false;
            budget--;
            sc->steps_left--;
            switch (code & 0x07u) {
            case 0x00: /* LD */
            case 0x01: /* LDX */
            {
                struct sym *dst = (code & 0x07u) == 0x00 ? &st->a : &st->x;
                struct sym v;

                memset(&v, 0, sizeof(v));
                switch (code & 0xe0u) {
                case 0x00: /* IMM */
                    v.kind = S_CONST;
                    v.c = k;
                    break;
                case 0x20: /* ABS */
                    v.kind = S_FIELD;
                    v.f.size = load_size(code);
                    v.f.off = k;
                    v.f.mask = size_mask(v.f.size);
                    break;
                case 0x40: /* IND */
                    if (st->x.kind == S_MSH) {
                        v.kind = S_FIELD;
                        v.f.ind = 1;
                        v.f.msh = st->x.c;
                        v.f.off = k;
                    } else if (st->x.kind == S_CONST && (uint64_t)st->x.c + k <= 0xffffffffu) {
                        v.kind = S_FIELD;
                        v.f.off = st->x.c + k;
                    } else {
                        v.kind = S_UNKNOWN;
                        break;
                    }
                    v.f.size = load_size(code);
                    v.f.mask = size_mask(v.f.size);
                    break;
                case 0x60: /* MEM */
                    v = st->m[k];
                    break;
                case 0xa0: /* MSH (LDX only) */
                    v.kind = S_MSH;
                    v.c = k;
                    break;
                default: /* LEN */
                    v.kind = S_UNKNOWN;
                    break;
                }
                *dst = v;
                st->pc++;
                continue;
            }
            case 0x02: /* ST */
                st->m[k] = st->a;
                st->pc++;
                continue;
            case 0x03: /* STX */
                st->m[k] = st->x;
                st->pc++;
                continue;
            case 0x04: /* ALU */
            {
                uint16_t op = code & 0xf0u;
                bool src_x = (code & 0x08u) != 0;

                if (!src_x && op == 0x50 && st->a.kind == S_FIELD) {
                    st->a.f.mask &= k;
                } else if (st->a.kind == S_CONST && (!src_x || st->x.kind == S_CONST)) {
                    if (!fold(op, &st->a.c, src_x ? st->x.c : k))
                        goto reject; /* division by an X of 0: the program returns 0 */
                } else {
                    st->a.kind = S_UNKNOWN;
                }
                st->pc++;
                continue;
            }
            case 0x05: /* JMP */
            {
                uint16_t op = code & 0xf0u;
                uint32_t t = st->pc + 1 + in->jt, f = st->pc + 1 + in->jf, v;
                bool have_v = (code & 0x08u) == 0 || st->x.kind == S_CONST;
                int take = -1; /* 1 true branch only, 0 false only, -1 both */
                bool facts = false;

                if (op == 0x00) {
                    st->pc += 1 + k;
                    continue;
                }
                v = (code & 0x08u) == 0 ? k : st->x.c;
                if (have_v && st->a.kind == S_CONST) {
                    uint32_t a = st->a.c;
                    take = op == 0x10 ? a == v : op == 0x20 ? a > v : op == 0x30 ? a >= v : (a & v) != 0;
                } else if (have_v && op == 0x10 && st->a.kind == S_FIELD) {
                    if ((v & ~st->a.f.mask) != 0)
                        take = 0; /* a masked field never equals a value outside the mask */
                    else
                        take = known(st, &st->a.f, v);
                    facts = take < 0;
                }
                if (take >= 0) {
                    st->pc = take ? t : f;
                    continue;
                }
                if (sp == HL_IDX_STACK)
                    return false;
                /* The true branch is copied on top and walked next; this state waits with the false one. */
                {
                    struct state *tr = &sc->stack[sp++];
                    struct hl_field fld = st->a.f;

                    *tr = *st;
                    st->pc = f;
                    tr->pc = t;
                    if (facts) {
                        add_fact(st, &fld, v, 0);
                        add_fact(tr, &fld, v, 1);
                    }
                    st = tr;
                }
                continue;
            }
            case 0x06: /* RET */
            {
                bool accept = (code & 0x10u) == 0 ? k != 0 : !(st->a.kind == S_CONST && st->a.c == 0);
                struct path *p;

                if (!accept)
                    goto reject;
                if (sc->npaths == HL_IDX_PATHS)
                    return false;
                p = &sc->paths[sc->npaths++];
                p->nfacts = 0;
                for (i = 0; i < st->nfacts; i++)
                    if (st->facts[i].eq)
                        p->facts[p->nfacts++] = st->facts[i];
                if (p->nfacts == 0)
                    return false; /* accepts with no equality to key on */
                goto reject;      /* done with this path */
            }
            default: /* MISC: TAX, TXA */
                if (code & 0x80u)
                    st->a = st->x;
                else
                    st->x = st->a;
                st->pc++;
                continue;
            }
        reject:
            sp--;
            break;
        }
    }
    return true;
}

/* Distinct equalities of the rule's accepting paths, each once into the sketch. */
static void count_facts(struct scratch *sc)
{
    uint32_t p, i, j, n = 0;
    static const uint32_t max = HL_IDX_KEYS;

    for (p = 0; p < sc->npaths; p++) {
        for (i = 0; i < sc->paths[p].nfacts; i++) {
            const struct fact *t = &sc->paths[p].facts[i];
            for (j = 0; j < n; j++)
                if (field_eq(&sc->keys[j].f, &t->f) && sc->keys[j].value == t->value)
                    break;
            if (j < n || n == max)
                continue;
            sc->keys[n].f = t->f;
            sc->keys[n].value = t->value;
            n++;
            (*counter(sc, t, 0))++;
            (*counter(sc, t, 1))++;
        }
    }
}

/* One key per accepting path, the rarest of its equalities; false if too many. */
static bool choose_keys(struct scratch *sc)
{
    uint32_t p, i, j;

    sc->nkeys = 0;
    for (p = 0; p < sc->npaths; p++) {
        const struct fact *best = NULL;
        uint32_t best_n = 0;

        for (i = 0; i < sc->paths[p].nfacts; i++) {
            const struct fact *t = &sc->paths[p].facts[i];
            uint32_t n = fact_count(sc, t);
            if (best == NULL || n < best_n) {
                best = t;
                best_n = n;
            }
        }
        for (j = 0; j < sc->nkeys; j++)
            if (field_eq(&sc->keys[j].f, &best->f) && sc->keys[j].value == best->value)
                break;
        if (j < sc->nkeys)
            continue;
        if (sc->nkeys == HL_IDX_KEYS)
            return false;
        sc->keys[sc->nkeys].f = best->f;
        sc->keys[sc->nkeys].value = best->value;
        sc->nkeys++;
    }
    return true;
}

/* Field numbers for the keys, registering new fields; false when the table would overflow. */
static bool assign_fields(struct scratch *sc, struct hl_field *fields, uint32_t *nfields)
{
    uint32_t i, j, n = *nfields;

    for (i = 0; i < sc->nkeys; i++) {
        for (j = 0; j < n; j++)
            if (field_eq(&fields[j], &sc->keys[i].f))
                break;
        if (j == n) {
            if (n == HL_IDX_MAX_FIELDS)
                return false; /* nothing registered: *nfields is untouched */
            fields[n++] = sc->keys[i].f;
        }
        sc->keys[i].field = j;
    }
    *nfields = n;
    return true;
}

static uint32_t slot_hash(uint32_t dir, uint32_t field, uint32_t value)
{
    return mix(value ^ mix((field << 1) | dir));
}

static struct hl_idx_slot *slot_find(const struct hl_index *idx, uint32_t dir, uint32_t field,
                                     uint32_t value, bool create)
{
    uint32_t h = slot_hash(dir, field, value) & idx->slot_mask;

    for (;;) {
        struct hl_idx_slot *s = &idx->slots[h];
        if (!s->used) {
            if (!create)
                return NULL;
            s->used = 1;
            s->dir = (uint8_t)dir;
            s->field = (uint8_t)field;
            s->value = value;
            return s;
        }
        if (s->value == value && s->field == field && s->dir == dir)
            return s;
        h = (h + 1) & idx->slot_mask; /* at most half full: an empty slot is always ahead */
    }
}

/* A rule's keys for this walk, or false when it is unindexed. */
static bool rule_keys(const struct hl_rule *r, struct scratch *sc)
{
    return walk(r->insns, r->ninsns, sc) && choose_keys(sc);
}

int hl_index_build(const struct hl_rule *rules, uint32_t nrules, const struct hl_alloc *a,
                   uint64_t max_bytes, struct hl_index **out, uint64_t *bytes)
{
    struct scratch *sc;
    uint8_t *indexed;
    struct hl_field fields[HL_IDX_MAX_FIELDS];
    uint32_t nfields = 0, i, j, d, nunidx[2] = {0, 0}, cap;
    uint64_t nentries = 0, size, off_slots, off_lists, off_unidx, off_nodes;
    struct hl_index *idx;
    uint8_t *base;
    uint32_t *node_slot, *node_rule, nnodes = 0;
    /* Walk 2's keys, rule by rule, for the fill: rule i's are stored[first[i] .. first[i + 1]). */
    struct stored_key {
        uint32_t field, value;
    } *stored;
    uint32_t *first, nstored = 0;
    uint64_t bound = 0;
    uint32_t sketch;

    *out = NULL;
    *bytes = 0;
    if (nrules == 0)
        return HL_OK;
    for (sketch = SKETCH_MIN; sketch < SKETCH_MAX && sketch < 16u * nrules; sketch *= 2)
        ;
    sc = a->alloc(a->ctx, sizeof(*sc) + 2 * sketch * sizeof(uint32_t) + nrules);
    if (sc == NULL)
        return HL_E_NO_MEMORY;
    memset(sc, 0, sizeof(*sc) + 2 * sketch * sizeof(uint32_t));
    sc->sketch[0] = (uint32_t *)(sc + 1);
    sc->sketch[1] = sc->sketch[0] + sketch;
    sc->sketch_mask = sketch - 1;
    indexed = (uint8_t *)(sc->sketch[1] + sketch);

    /*
     * Walk 1: how common each equality is across the rule set, and a bound
     * on the keys walk 2 will choose (one per accepting path at most, and
     * never more than the entries the index may hold). Both walks run the
     * same steps, so they run out of HL_IDX_WALK_STEPS at the same rule.
     */
    sc->steps_left = HL_IDX_WALK_STEPS;
    for (i = 0; i < nrules; i++) {
        if (walk(rules[i].insns, rules[i].ninsns, sc)) {
            count_facts(sc);
            bound += sc->npaths < HL_IDX_KEYS ? sc->npaths : HL_IDX_KEYS;
        }
    }
    if (bound > HL_IDX_MAX_ENTRIES)
        bound = HL_IDX_MAX_ENTRIES;
    stored = a->alloc(a->ctx, (size_t)(bound * sizeof(*stored) + ((uint64_t)nrules + 1) * 4));
    if (stored == NULL) {
        a->free(a->ctx, sc);
        return HL_E_NO_MEMORY;
    }
    first = (uint32_t *)(stored + bound);
    /* Walk 2: keys and fields, kept for the fill, and how many entries of each direction. */
    sc->steps_left = HL_IDX_WALK_STEPS;
    for (i = 0; i < nrules; i++) {
        uint32_t ndirs = (rules[i].direction & 1u) + ((rules[i].direction >> 1) & 1u);

        first[i] = nstored;
        indexed[i] = rule_keys(&rules[i], sc) && assign_fields(sc, fields, &nfields);
        /* The memory bound: rules past it are unindexed (their fields stay, unused). */
        if (indexed[i] && (nentries + (uint64_t)sc->nkeys * ndirs > HL_IDX_MAX_ENTRIES ||
                           nstored + (uint64_t)sc->nkeys > bound))
            indexed[i] = 0;
        for (j = 0; indexed[i] && j < sc->nkeys; j++) {
            stored[nstored].field = sc->keys[j].field;
            stored[nstored++].value = sc->keys[j].value;
        }
        for (d = 0; d < 2; d++) {
            if ((rules[i].direction & (d + 1u)) == 0)
                continue;
            if (indexed[i])
                nentries += sc->nkeys;
            else
                nunidx[d]++;
        }
    }
    first[nrules] = nstored;
    for (cap = 16; cap < 2 * nentries; cap *= 2)
        ;
    /* nentries <= HL_IDX_MAX_ENTRIES: every term below is small. */
    off_slots = (sizeof(*idx) + 15u) & ~(uint64_t)15u;
    off_lists = off_slots + (uint64_t)cap * sizeof(struct hl_idx_slot);
    off_unidx = off_lists + nentries * sizeof(uint32_t);
    off_nodes = off_unidx + ((uint64_t)nunidx[0] + nunidx[1]) * sizeof(uint32_t);
    size = off_nodes;
    *bytes = size;
    if (size > max_bytes) {
        a->free(a->ctx, stored);
        a->free(a->ctx, sc);
        return HL_E_SNAPSHOT_TOO_LARGE;
    }
    base = a->alloc(a->ctx, (size_t)size);
    /* The (slot, rule) pairs in rule order, before they are grouped: scratch, freed below. */
    node_slot = a->alloc(a->ctx, (size_t)(nentries * 2 * sizeof(uint32_t) + 4));
    if (base == NULL || node_slot == NULL) {
        if (base != NULL)
            a->free(a->ctx, base);
        if (node_slot != NULL)
            a->free(a->ctx, node_slot);
        a->free(a->ctx, stored);
        a->free(a->ctx, sc);
        return HL_E_NO_MEMORY;
    }
    node_rule = node_slot + nentries;
    memset(base, 0, (size_t)size);
    idx = (struct hl_index *)base;
    idx->nfields = nfields;
    memcpy(idx->fields, fields, sizeof(fields));
    idx->slot_mask = cap - 1;
    idx->slots = (struct hl_idx_slot *)(base + off_slots);
    idx->lists = (uint32_t *)(base + off_lists);
    idx->unindexed[0] = (uint32_t *)(base + off_unidx);
    idx->unindexed[1] = idx->unindexed[0] + nunidx[0];
    idx->bytes = (size_t)size;

    /* The fill: walk 2's keys, rule by rule, into the table. */
    for (i = 0; i < nrules; i++) {
        if (indexed[i])
            idx->nindexed++;
        for (d = 0; d < 2; d++) {
            if ((rules[i].direction & (d + 1u)) == 0)
                continue;
            if (!indexed[i]) {
                idx->unindexed[d][idx->nunindexed[d]++] = i;
                continue;
            }
            for (j = first[i]; j < first[i + 1]; j++) {
                struct hl_idx_slot *s = slot_find(idx, d, stored[j].field, stored[j].value, 1);
                s->count++;
                node_slot[nnodes] = (uint32_t)(s - idx->slots);
                node_rule[nnodes] = i;
                nnodes++;
                idx->dir_fields[d] |= 1u << stored[j].field;
            }
        }
    }
    /* Lists laid out slot by slot; filled in rule order, so each is ascending. */
    for (i = 0, j = 0; i < cap; i++) {
        if (idx->slots[i].used) {
            idx->slots[i].first = j;
            j += idx->slots[i].count;
            idx->slots[i].count = 0;
        }
    }
    for (i = 0; i < nnodes; i++) {
        struct hl_idx_slot *s = &idx->slots[node_slot[i]];
        idx->lists[s->first + s->count++] = node_rule[i];
    }
    a->free(a->ctx, node_slot);
    a->free(a->ctx, stored);
    a->free(a->ctx, sc);
    *out = idx;
    return HL_OK;
}

void hl_index_free(struct hl_index *idx, const struct hl_alloc *a)
{
    if (idx != NULL)
        a->free(a->ctx, idx);
}

uint32_t hl_index_lookup(const struct hl_index *idx, uint32_t dir, const struct hl_seg *segs,
                         size_t nsegs, struct hl_idx_list *lists)
{
    uint32_t n = 0, fields = idx->dir_fields[dir];

    while (fields != 0) {
        uint32_t f = 0, v, b;
        const struct hl_field *fd;
        const struct hl_idx_slot *s;
        uint64_t off;

        while ((fields & (1u << f)) == 0)
            f++;
        fields &= fields - 1;
        fd = &idx->fields[f];
        off = fd->off;
        if (fd->ind) {
            /* As the program computed X: a byte that cannot be read means no match either. */
            if (!hl_bpf_load(segs, nsegs, fd->msh, 1, &b))
                continue;
            off += (b & 0xfu) << 2;
        }
        if (!hl_bpf_load(segs, nsegs, off, fd->size, &v))
            continue;
        s = slot_find(idx, dir, f, v & fd->mask, 0);
        if (s != NULL) {
            lists[n].next = &idx->lists[s->first];
            lists[n].end = lists[n].next + s->count;
            n++;
        }
    }
    if (idx->nunindexed[dir] > 0) {
        lists[n].next = idx->unindexed[dir];
        lists[n].end = lists[n].next + idx->nunindexed[dir];
        n++;
    }
    return n;
}
