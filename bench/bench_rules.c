/*
 * Rule sets for hotlwf-bench, by shape. "never": every rule is one byte
 * compare that never matches (the high byte of the EtherType is never
 * 0xff/0xfe), action drop: every rule is evaluated for every packet, and a
 * packet that does not reach the other end was lost by the strategy. The
 * block-list shapes are what users load, compiled by libpcap as lwfctl
 * does: "hosts" (host 172.16.x.y), "ports" (tcp dst port N), "prefixes"
 * (src net 100.x.y.0/24) and "mixed" (the three in turn). Their action is
 * pass, as is the default, so that a rule the bench's traffic happens to
 * match changes which rule decides but never drops a packet.
 */
#include "bench_rules.h"

#include <hotlwf/config.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const shapes[] = {"never", "hosts", "ports", "prefixes", "mixed"};

int bench_rules_shape_ok(const char *shape)
{
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (strcmp(shape, shapes[i]) == 0)
            return 1;
    return 0;
}

/* Rule i of a block-list shape: 0 a host, 1 a port, 2 a /24 prefix. */
static unsigned kind_of(const char *shape, unsigned i)
{
    return strcmp(shape, "hosts") == 0      ? 0
           : strcmp(shape, "ports") == 0    ? 1
           : strcmp(shape, "prefixes") == 0 ? 2
                                            : i % 3;
}

/* The address, port or network rule i lists. */
static uint32_t value_of(unsigned kind, unsigned i, unsigned variant)
{
    switch (kind) {
    case 0:
        /* i < HL_MAX_RULES = 2^17: every host distinct, and distinct between the variants. */
        return 172u << 24 | (16 + 2 * variant + (i >> 16)) << 16 | ((i >> 8) & 0xff) << 8 |
               (i & 0xff);
    case 1:
        /* Past 32,767 rules the ports repeat: there are no more to list. */
        return 1 + (i * 2 + variant) % 65535;
    default:
        /* i >> 14 < 8: the two variants' prefixes never meet. */
        return (100 + 8 * variant + (i >> 14)) << 24 | (64 + ((i >> 8) & 63)) << 16 | (i & 0xff)
                                                                                     << 8;
    }
}

static void expression(unsigned kind, uint32_t v, char *out, size_t len)
{
    if (kind == 0)
        snprintf(out, len, "host %u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
                 v & 0xff);
    else if (kind == 1)
        snprintf(out, len, "tcp dst port %u", v);
    else
        snprintf(out, len, "src net %u.%u.%u.0/24", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff);
}

/*
 * libpcap's program for every rule of a kind is one program with the value
 * in its comparisons: each kind is compiled once with a sentinel value that
 * no such program otherwise holds, and rule i is that program with the
 * sentinel's "jeq #k" replaced by its value. 100,000 pcap_compile calls
 * would take seconds (minutes under callgrind); every 4,096th rule and the
 * last are compiled for real and must come out identical.
 */
static const uint32_t sentinel[3] = {0x0a7b2d43u /* 10.123.45.67 */, 54321u,
                                     0x0a7b2d00u /* 10.123.45.0 */};

static void patch(const struct bpf_program *tmpl, unsigned kind, uint32_t v,
                  struct hl_bpf_insn *out)
{
    unsigned j;

    memcpy(out, tmpl->bf_insns, tmpl->bf_len * sizeof(*out));
    for (j = 0; j < tmpl->bf_len; j++)
        if (out[j].code == 0x15 /* jeq #k */ && out[j].k == sentinel[kind])
            out[j].k = v;
}

uint8_t *bench_rules_blob(const char *shape, unsigned rules, unsigned variant, size_t *len,
                          char *err, size_t errlen)
{
    const struct hl_bpf_insn never[] = {
        {0x30, 0, 0, 12},                             /* ldb [12] */
        {0x15, 0, 1, variant ? 0xfeu : 0xffu},         /* jeq #never, match, nomatch */
        {0x06, 0, 0, 1},                              /* ret #1 */
        {0x06, 0, 0, 0},                              /* ret #0 */
    };
    struct hl_rule_spec *spec = calloc(rules ? rules : 1, sizeof(*spec));
    struct bpf_program tmpl[3];
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    int blocklist = shape != NULL && strcmp(shape, "never") != 0;
    struct hl_bpf_insn *insns = NULL;
    uint8_t *blob = NULL;
    unsigned i, k, compiled = 0, longest = 0;
    char expr[64];

    if (spec == NULL || dead == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (k = 0; blocklist && k < 3; k++) {
        expression(k, sentinel[k], expr, sizeof(expr));
        if (pcap_compile(dead, &tmpl[k], expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "\"%s\": %s", expr, pcap_geterr(dead));
            goto out;
        }
        compiled++;
        if (tmpl[k].bf_len > longest)
            longest = tmpl[k].bf_len;
    }
    insns = calloc((size_t)(rules ? rules : 1) * (longest ? longest : 1), sizeof(*insns));
    if (insns == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < rules; i++) {
        struct hl_bpf_insn *prog = insns + (size_t)i * longest;

        spec[i].direction = HL_DIR_BOTH;
        spec[i].selector.kind = HL_SEL_ALL;
        if (!blocklist) {
            spec[i].action = HL_ACTION_DROP;
            spec[i].insns = never;
            spec[i].ninsns = 4;
            continue;
        }
        k = kind_of(shape, i);
        patch(&tmpl[k], k, value_of(k, i, variant), prog);
        if (i % 4096 == 0 || i + 1 == rules) {
            struct bpf_program real;

            expression(k, value_of(k, i, variant), expr, sizeof(expr));
            if (pcap_compile(dead, &real, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
                snprintf(err, errlen, "\"%s\": %s", expr, pcap_geterr(dead));
                goto out;
            }
            int same = real.bf_len == tmpl[k].bf_len &&
                       memcmp(real.bf_insns, prog, real.bf_len * sizeof(*prog)) == 0;
            pcap_freecode(&real);
            if (!same) {
                snprintf(err, errlen, "\"%s\": libpcap's program is not the template's", expr);
                goto out;
            }
        }
        spec[i].action = HL_ACTION_PASS;
        spec[i].insns = prog;
        spec[i].ninsns = tmpl[k].bf_len;
    }
    if (hl_blob_encode(spec, rules, HL_ACTION_PASS, NULL, 0, len) == HL_E_BUFFER_TOO_SMALL) {
        blob = malloc(*len);
        if (blob && hl_blob_encode(spec, rules, HL_ACTION_PASS, blob, *len, len) != HL_OK) {
            free(blob);
            blob = NULL;
        }
    }
    if (blob == NULL)
        snprintf(err, errlen, "cannot encode %u rules", rules);
out:
    for (k = 0; k < compiled; k++)
        pcap_freecode(&tmpl[k]);
    if (dead != NULL)
        pcap_close(dead);
    free(insns);
    free(spec);
    return blob;
}
