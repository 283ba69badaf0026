/*
 * The indexed classifier against the linear one, packet for packet: random
 * rule sets of pcap-filter expressions (host, net, port, protocol, EtherType
 * rules with values taken from the captures, so that rules do match, mixed
 * with rules the index cannot key on), random actions, directions and
 * adapter selectors; every packet of the shared captures, whole and cut
 * into segments, both directions, two adapters. hl_classify's verdict and
 * rule number must equal a first-match loop over the rules written here
 * with hl_bpf_run, the reference interpreter.
 */
#include "../bpf/bpf_testlib.h"

#include <hotlwf/config.h>
#include <hotlwf/heap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long failures;

#define MAX_VALUES 256
static uint32_t addrs[MAX_VALUES], ports[MAX_VALUES];
static size_t naddrs, nports;

/* IPv4 addresses and TCP/UDP ports seen in the captures. */
static void harvest(const struct tl_capture *cap)
{
    size_t i, j;

    for (i = 0; i < cap->count; i++) {
        const uint8_t *d = cap->pkts[i].data;
        uint32_t v;

        if (cap->pkts[i].caplen < 38 || d[12] != 0x08 || d[13] != 0x00)
            continue;
        v = (uint32_t)d[26] << 24 | (uint32_t)d[27] << 16 | (uint32_t)d[28] << 8 | d[29];
        for (j = 0; j < naddrs && addrs[j] != v; j++)
            ;
        if (j == naddrs && naddrs < MAX_VALUES)
            addrs[naddrs++] = v;
        if (d[23] == 6 || d[23] == 17) {
            uint32_t ihl = (uint32_t)(d[14] & 0xf) * 4;
            if (14 + ihl + 4 <= cap->pkts[i].caplen) {
                v = (uint32_t)d[14 + ihl + 2] << 8 | d[14 + ihl + 3];
                for (j = 0; j < nports && ports[j] != v; j++)
                    ;
                if (j == nports && nports < MAX_VALUES)
                    ports[nports++] = v;
            }
        }
    }
}

static uint32_t pick(uint64_t *rng, const uint32_t *v, size_t n, uint32_t other)
{
    /* Mostly values that occur, sometimes one that does not. */
    return n > 0 && tl_rand(rng) % 4 != 0 ? v[tl_rand(rng) % n] : other;
}

static void ip4(char *out, size_t len, uint32_t a)
{
    snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* A random expression; *keyable is 0 for shapes the index cannot key on. */
static void expression(uint64_t *rng, char *out, size_t len)
{
    char a[32], b[32];
    uint32_t addr = pick(rng, addrs, naddrs, (uint32_t)tl_rand(rng));
    uint32_t port = pick(rng, ports, nports, (uint32_t)(tl_rand(rng) % 65536));
    uint32_t plen = 8 + (uint32_t)(tl_rand(rng) % 25);

    ip4(a, sizeof(a), addr);
    ip4(b, sizeof(b), plen == 32 ? addr : addr & ~(0xffffffffu >> plen));
    switch (tl_rand(rng) % 18) {
    case 0:
        snprintf(out, len, "host %s", a);
        break;
    case 1:
        snprintf(out, len, "src host %s", a);
        break;
    case 2:
        snprintf(out, len, "dst host %s", a);
        break;
    case 3:
        snprintf(out, len, "net %s/%u", b, plen);
        break;
    case 4:
        snprintf(out, len, "tcp port %u", port);
        break;
    case 5:
        snprintf(out, len, "udp dst port %u", port);
        break;
    case 6:
        snprintf(out, len, "port %u", port);
        break;
    case 7:
        snprintf(out, len, "src host %s and tcp dst port %u", a, port);
        break;
    case 8:
        snprintf(out, len, "ip proto %u", (unsigned)(tl_rand(rng) % 3 == 0 ? 1 : 6 + 11 * (tl_rand(rng) % 2)));
        break;
    case 9:
        snprintf(out, len, "ether proto 0x%x", tl_rand(rng) % 2 ? 0x86dd : 0x806);
        break;
    case 10:
        snprintf(out, len, "not host %s", a); /* unindexable */
        break;
    case 11:
        snprintf(out, len, "len > %u", (unsigned)(tl_rand(rng) % 1500)); /* unindexable */
        break;
    case 12:
        snprintf(out, len, "tcp[13] & 0x12 == 0x12");
        break;
    case 13:
        snprintf(out, len, "vlan and udp port %u", port);
        break;
    case 14:
        snprintf(out, len, "host fd99::%x", (unsigned)(1 + tl_rand(rng) % 3));
        break;
    case 15:
        snprintf(out, len, "icmp or icmp6");
        break;
    case 16:
        snprintf(out, len, "portrange %u-%u", port, port + 10); /* unindexable */
        break;
    default:
        snprintf(out, len, "src net %s/%u or dst port %u", b, plen, port);
        break;
    }
}

struct ruleset {
    struct hl_rule_spec *spec;
    struct bpf_program *progs;
    uint32_t n;
};

static void ruleset_make(struct ruleset *rs, uint64_t *rng, uint32_t n)
{
    uint32_t i;

    rs->n = n;
    rs->spec = calloc(n ? n : 1, sizeof(*rs->spec));
    rs->progs = calloc(n ? n : 1, sizeof(*rs->progs));
    for (i = 0; i < n; i++) {
        char expr[128], err[PCAP_ERRBUF_SIZE + 64];
        struct hl_rule_spec *r = &rs->spec[i];

        expression(rng, expr, sizeof(expr));
        if (!tl_compile(expr, 1, &rs->progs[i], err, sizeof(err))) {
            fprintf(stderr, "FAIL: cannot compile \"%s\": %s\n", expr, err);
            exit(1);
        }
        r->action = tl_rand(rng) % 2 ? HL_ACTION_DROP : HL_ACTION_PASS;
        r->direction = (uint8_t)(1 + tl_rand(rng) % 3);
        /* Most rules for every adapter, some for one of the two adapters tested. */
        r->selector.kind = tl_rand(rng) % 5 == 0 ? HL_SEL_NAME : HL_SEL_ALL;
        if (r->selector.kind == HL_SEL_NAME)
            strcpy(r->selector.name, tl_rand(rng) % 2 ? "eth0" : "eth1");
        r->insns = (const struct hl_bpf_insn *)rs->progs[i].bf_insns;
        r->ninsns = rs->progs[i].bf_len;
    }
}

static void ruleset_free(struct ruleset *rs)
{
    uint32_t i;

    for (i = 0; i < rs->n; i++)
        pcap_freecode(&rs->progs[i]);
    free(rs->progs);
    free(rs->spec);
}

/* The linear classifier, from the rules as written. */
static uint8_t reference(const struct ruleset *rs, uint8_t dflt, const struct hl_adapter_id *ad,
                         enum hl_direction dir, const struct hl_seg *segs, size_t nsegs,
                         uint32_t wire, uint32_t *rule)
{
    uint32_t i;

    for (i = 0; i < rs->n; i++) {
        const struct hl_rule_spec *r = &rs->spec[i];
        if ((r->direction & dir) == 0 || !hl_selector_match(&r->selector, ad))
            continue;
        if (hl_bpf_run(r->insns, r->ninsns, segs, nsegs, wire) != 0) {
            *rule = i + 1;
            return r->action;
        }
    }
    *rule = 0;
    return dflt;
}

/* Returns how many packet classifications matched a rule (so the test can tell it bit). */
static unsigned long check_set(const struct ruleset *rs, uint8_t dflt, const struct tl_capture *cap,
                               uint64_t *rng, uint32_t *indexed)
{
    struct hl_snapshot *snap = NULL;
    struct hl_snapshot_info info;
    struct hl_adapter_id ad[2];
    struct hl_view *view = malloc(sizeof(*view));
    uint8_t *blob;
    size_t len = 0, i;
    char reason[256];
    unsigned long hits = 0;
    int k;

    if (hl_blob_encode(rs->spec, rs->n, dflt, NULL, 0, &len) != HL_E_BUFFER_TOO_SMALL)
        exit(1);
    blob = malloc(len);
    if (hl_blob_encode(rs->spec, rs->n, dflt, blob, len, &len) != HL_OK ||
        hl_config_compile(blob, len, &hl_heap, 1, &snap, reason, sizeof(reason)) != HL_OK) {
        fprintf(stderr, "FAIL: cannot compile the rule set: %s\n", reason);
        exit(1);
    }
    hl_snapshot_get_info(snap, &info);
    *indexed = info.indexed;
    memset(ad, 0, sizeof(ad));
    strcpy(ad[0].name, "eth0");
    strcpy(ad[1].name, "eth1");
    for (k = 0; k < 2; k++) {
        hl_view_refresh(view, snap, &ad[k]);
        for (i = 0; i < cap->count; i++) {
            const struct tl_packet *pk = &cap->pkts[i];
            size_t lens[4];
            int shape, d;

            for (shape = 0; shape < 3; shape++) {
                struct tl_segs segs;
                size_t nl = 0;

                if (shape == 1) {
                    lens[0] = 14;
                    nl = 1;
                } else if (shape == 2) {
                    for (nl = 0; nl < 3; nl++)
                        lens[nl] = tl_rand(rng) % 3 == 0 ? 0 : tl_rand(rng) % 40;
                }
                tl_segs_make(&segs, pk->data, pk->caplen, lens, nl);
                for (d = HL_DIR_IN; d <= HL_DIR_OUT; d++) {
                    uint32_t got_rule = 99, want_rule = 98;
                    uint8_t got = hl_classify(view, (enum hl_direction)d, segs.seg, segs.n,
                                              pk->wirelen, &got_rule);
                    uint8_t want = reference(rs, dflt, &ad[k], (enum hl_direction)d, segs.seg,
                                             segs.n, pk->wirelen, &want_rule);
                    hits += want_rule != 0;
                    if ((got != want || got_rule != want_rule) && failures++ < 20)
                        fprintf(stderr,
                                "FAIL: %u rules, packet %zu, shape %d, adapter %d, dir %d: "
                                "indexed rule %u action %u, linear rule %u action %u\n",
                                rs->n, i, shape, k, d, got_rule, got, want_rule, want);
                }
                tl_segs_free(&segs);
            }
        }
    }
    hl_snapshot_free(snap);
    free(blob);
    free(view);
    return hits;
}

int main(int argc, char **argv)
{
    static const uint32_t sizes[] = {1, 2, 5, 10, 30, 100, 300, 1000, 3000};
    struct tl_capture cap;
    uint64_t rng = 0x1dec0de5eedULL;
    unsigned long hits = 0, sets = 0;
    uint32_t indexed_total = 0, rules_total = 0;
    size_t s;
    int round;

    if (argc != 2) {
        fprintf(stderr, "usage: %s captures-dir\n", argv[0]);
        return 2;
    }
    tl_load_captures(argv[1], &cap);
    harvest(&cap);
    for (round = 0; round < 2; round++) {
        for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct ruleset rs;
            uint32_t indexed = 0;

            ruleset_make(&rs, &rng, sizes[s]);
            hits += check_set(&rs, (uint8_t)(round % 2), &cap, &rng, &indexed);
            indexed_total += indexed;
            rules_total += rs.n;
            sets++;
            ruleset_free(&rs);
        }
    }
    tl_free_capture(&cap);
    printf("%lu rule sets, %u rules (%u indexed), %lu rule matches, %lu failures\n", sets,
           rules_total, indexed_total, hits, failures);
    /* A comparison that never matched, or an index that keyed nothing, would prove nothing. */
    if (hits == 0 || indexed_total < rules_total / 2) {
        fprintf(stderr, "FAIL: too weak (%lu matches, %u of %u rules indexed)\n", hits,
                indexed_total, rules_total);
        failures++;
    }
    return failures ? 1 : 0;
}
