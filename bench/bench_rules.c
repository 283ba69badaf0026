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

/* Rule i of a block-list shape, as a pcap-filter expression. */
static void expression(const char *shape, unsigned i, unsigned variant, char *out, size_t len)
{
    unsigned kind = strcmp(shape, "hosts") == 0      ? 0
                    : strcmp(shape, "ports") == 0    ? 1
                    : strcmp(shape, "prefixes") == 0 ? 2
                                                     : i % 3;

    switch (kind) {
    case 0:
        /* i < HL_MAX_RULES = 2^17: every host distinct, and distinct between the variants. */
        snprintf(out, len, "host 172.%u.%u.%u", 16 + 2 * variant + (i >> 16), (i >> 8) & 0xff,
                 i & 0xff);
        break;
    case 1:
        /* Past 32,767 rules the ports repeat: there are no more to list. */
        snprintf(out, len, "tcp dst port %u", 1 + (i * 2 + variant) % 65535);
        break;
    default:
        /* i >> 14 < 8: the two variants' prefixes never meet. */
        snprintf(out, len, "src net %u.%u.%u.0/24", 100 + 8 * variant + (i >> 14),
                 64 + ((i >> 8) & 63), i & 0xff);
        break;
    }
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
    struct bpf_program *progs = calloc(rules ? rules : 1, sizeof(*progs));
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    int blocklist = shape != NULL && strcmp(shape, "never") != 0;
    uint8_t *blob = NULL;
    unsigned i, compiled = 0;

    if (spec == NULL || progs == NULL || dead == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < rules; i++) {
        spec[i].direction = HL_DIR_BOTH;
        spec[i].selector.kind = HL_SEL_ALL;
        if (!blocklist) {
            spec[i].action = HL_ACTION_DROP;
            spec[i].insns = never;
            spec[i].ninsns = 4;
            continue;
        }
        char expr[64];
        expression(shape, i, variant, expr, sizeof(expr));
        if (pcap_compile(dead, &progs[i], expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "\"%s\": %s", expr, pcap_geterr(dead));
            goto out;
        }
        compiled++;
        spec[i].action = HL_ACTION_PASS;
        spec[i].insns = (const struct hl_bpf_insn *)progs[i].bf_insns;
        spec[i].ninsns = progs[i].bf_len;
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
    for (i = 0; i < compiled; i++)
        pcap_freecode(&progs[i]);
    if (dead != NULL)
        pcap_close(dead);
    free(progs);
    free(spec);
    return blob;
}
