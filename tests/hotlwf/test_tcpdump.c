/*
 * Per-rule hits reported by GET_STATS equal what tcpdump's own filter says
 * of the same capture. The expectation is computed by running tcpdump, never
 * written down: rule i (first match wins) must count the packets matching
 * "not (e_1 or ... e_{i-1}) and (e_i)".
 *
 * usage: test_tcpdump HOTLWF.so CAPTURE.pcap
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *const exprs[] = {
    "udp port 53",
    "tcp[tcpflags] & tcp-syn != 0",
    "icmp",
    "ip6 and not icmp6",
    "arp",
    /*
     * Last, and last in every expression below: in a pcap filter "vlan"
     * shifts the offsets of everything that follows it in the same
     * expression, so it must not precede another rule's test.
     */
    "vlan",
};
#define NEXPR (sizeof(exprs) / sizeof(exprs[0]))

static long expected_rule(const char *cap, unsigned i)
{
    char expr[2048];
    size_t off = 0;

    if (i > 0) {
        off += (size_t)snprintf(expr + off, sizeof(expr) - off, "not (");
        for (unsigned j = 0; j < i; j++)
            off += (size_t)snprintf(expr + off, sizeof(expr) - off, "%s(%s)", j ? " or " : "",
                                    exprs[j]);
        off += (size_t)snprintf(expr + off, sizeof(expr) - off, ") and ");
    }
    snprintf(expr + off, sizeof(expr) - off, "(%s)", exprs[i]);
    return hlt_tcpdump_count(cap, expr);
}

static struct hl_stats_adapter *find_adapter(uint8_t *stats, const char *name_suffix_mac5,
                                             uint8_t mac5)
{
    struct hl_stats_header *h = (void *)stats;
    struct hl_stats_adapter *a =
        (void *)(stats + sizeof(*h) + h->rule_count * sizeof(struct hl_stats_rule));
    (void)name_suffix_mac5;
    for (uint32_t i = 0; i < h->adapter_count; i++)
        if (a[i].mac[5] == mac5)
            return &a[i];
    return NULL;
}

int main(int argc, char **argv)
{
    struct hlt_capture cap;
    struct hlt_rule rules[NEXPR];
    struct hl_set_config_result res;
    long expect[NEXPR], total = 0, all;
    size_t blob_len, stats_len;
    uint8_t *blob, *stats;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOTLWF.so CAPTURE\n", argv[0]);
        return 2;
    }
    if (!hlt_capture_load(argv[2], &cap) || cap.count == 0)
        return 2;
    all = hlt_tcpdump_count(argv[2], "");
    HLT_CHECK(all == (long)cap.count, "tcpdump sees %ld packets, libpcap %zu", all, cap.count);
    for (unsigned i = 0; i < NEXPR; i++) {
        expect[i] = expected_rule(argv[2], i);
        HLT_CHECK(expect[i] >= 0, "tcpdump failed on rule %u", i + 1);
        total += expect[i];
    }
    /* A test whose rules match nothing cannot fail: insist on some hits and some passes. */
    HLT_CHECK(total > 0 && total < (long)cap.count, "rules drop %ld of %zu", total, cap.count);

    struct emu_driver *drv = hlt_boot(4, argv[1], "hotlwf", NULL);
    struct hlt_probe *p0 = hlt_probe_create(0);
    struct hlt_probe *p1 = hlt_probe_create(1);

    memset(rules, 0, sizeof(rules));
    for (unsigned i = 0; i < NEXPR; i++) {
        rules[i].action = HL_ACTION_DROP;
        rules[i].direction = HL_DIR_IN;
        rules[i].expr = exprs[i];
        rules[i].selector.kind = HL_SEL_ALL;
    }
    blob = hlt_blob(rules, NEXPR, HL_ACTION_PASS, &blob_len);
    HLT_CHECK(hlt_set_config(blob, blob_len, &res) == 0 && res.status == HL_OK,
              "SET_CONFIG: status %d (%s)", res.status, res.reason);

    /* Three passes over the capture, each through a different receive path. */
    size_t d;
    d = hlt_probe_receive(p0, cap.pkts, cap.count, 1, HLT_PASSIVE, 0);
    HLT_CHECK((long)d == (long)cap.count - total, "passive: delivered %zu, want %ld", d,
              (long)cap.count - total);
    d = hlt_probe_receive(p1, cap.pkts, cap.count, 7, HLT_DISPATCH, 13);
    HLT_CHECK((long)d == (long)cap.count - total, "dispatch/split 13: delivered %zu, want %ld", d,
              (long)cap.count - total);
    d = hlt_probe_receive(p0, cap.pkts, cap.count, 40, HLT_RESOURCES, 21);
    HLT_CHECK((long)d == (long)cap.count - total, "resources: delivered %zu, want %ld", d,
              (long)cap.count - total);
    /* "drop in" rules never touch sends. */
    d = hlt_probe_send(p1, cap.pkts, cap.count, 9, HLT_PASSIVE, 0);
    HLT_CHECK(d == cap.count, "send: %zu of %zu reached the miniport", d, cap.count);

    stats = hlt_get_stats(&stats_len);
    struct hl_stats_header *h = (void *)stats;
    struct hl_stats_rule *r = (void *)(stats + sizeof(*h));
    HLT_CHECK(h->rule_count == NEXPR, "rule_count %u", h->rule_count);
    HLT_CHECK(h->adapter_count == 2, "adapter_count %u", h->adapter_count);
    HLT_CHECK(h->reconfig_count == 1, "reconfig_count %llu", (unsigned long long)h->reconfig_count);
    for (unsigned i = 0; i < NEXPR && i < h->rule_count; i++) {
        HLT_CHECK((long)r[i].hits_in == 3 * expect[i], "rule %u (%s): %llu hits, tcpdump x3 = %ld",
                  i + 1, exprs[i], (unsigned long long)r[i].hits_in, 3 * expect[i]);
        HLT_CHECK(r[i].hits_out == 0, "rule %u: %llu out hits", i + 1,
                  (unsigned long long)r[i].hits_out);
    }
    HLT_CHECK((long)h->default_in == 3 * ((long)cap.count - total), "default_in %llu",
              (unsigned long long)h->default_in);
    HLT_CHECK(h->default_out == cap.count, "default_out %llu", (unsigned long long)h->default_out);

    struct hl_stats_adapter *a0 = find_adapter(stats, NULL, 0), *a1 = find_adapter(stats, NULL, 1);
    HLT_CHECK(a0 && a0->rx_seen == 2 * cap.count && (long)a0->rx_dropped == 2 * total,
              "adapter 0 rx %llu/%llu", a0 ? (unsigned long long)a0->rx_seen : 0,
              a0 ? (unsigned long long)a0->rx_dropped : 0);
    HLT_CHECK(a1 && a1->rx_seen == cap.count && (long)a1->rx_dropped == total &&
                  a1->tx_seen == cap.count && a1->tx_dropped == 0,
              "adapter 1 rx %llu/%llu tx %llu/%llu", a1 ? (unsigned long long)a1->rx_seen : 0,
              a1 ? (unsigned long long)a1->rx_dropped : 0, a1 ? (unsigned long long)a1->tx_seen : 0,
              a1 ? (unsigned long long)a1->tx_dropped : 0);
    HLT_CHECK(a1 && strcmp(a1->name, "\\DEVICE\\{00000000-0000-0000-0000-000000000001}") == 0,
              "adapter 1 name '%s'", a1 ? a1->name : "");
    free(stats);
    free(blob);

    /* Adapter selector and direction: drop out "tcp" on probe1 only (by alias). */
    {
        struct hlt_rule one = {HL_ACTION_DROP, HL_DIR_OUT, "tcp", {0}};
        long tcp = hlt_tcpdump_count(argv[2], "tcp");
        one.selector.kind = HL_SEL_NAME;
        strcpy(one.selector.name, "PROBE1");
        blob = hlt_blob(&one, 1, HL_ACTION_PASS, &blob_len);
        HLT_CHECK(hlt_set_config(blob, blob_len, &res) == 0 && res.status == HL_OK,
                  "SET_CONFIG 2: %d %s", res.status, res.reason);
        d = hlt_probe_send(p0, cap.pkts, cap.count, 16, HLT_DISPATCH, 0);
        HLT_CHECK(d == cap.count, "probe0 sends: %zu", d);
        d = hlt_probe_send(p1, cap.pkts, cap.count, 16, HLT_DISPATCH, 5);
        HLT_CHECK((long)d == (long)cap.count - tcp, "probe1 sends: %zu, want %ld", d,
                  (long)cap.count - tcp);
        d = hlt_probe_receive(p1, cap.pkts, cap.count, 16, HLT_DISPATCH, 0);
        HLT_CHECK(d == cap.count, "probe1 receives: %zu", d);
        stats = hlt_get_stats(&stats_len);
        h = (void *)stats;
        r = (void *)(stats + sizeof(*h));
        HLT_CHECK(h->rule_count == 1 && (long)r[0].hits_out == tcp && r[0].hits_in == 0,
                  "selector rule hits %llu/%llu want %ld", (unsigned long long)r[0].hits_in,
                  (unsigned long long)r[0].hits_out, tcp);
        free(stats);
        free(blob);
    }

    hlt_probe_destroy(p0);
    hlt_probe_destroy(p1);
    hlt_shutdown(drv);
    hlt_capture_free(&cap);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
