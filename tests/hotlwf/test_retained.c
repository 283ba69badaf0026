/*
 * GET_STATS's adapter counters are cumulative across detach/attach: a
 * detached module's per-CPU counters are folded into a per-adapter total the
 * driver keeps (driver/bind.c, HlFilterDetach), and GET_STATS adds that total
 * to the live module's counts and still lists an adapter whose module is
 * detached right now. The probe host counts exactly, so every figure is an
 * equality: without the retained total each churn would reset the counts
 * and every check after the first detach fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "harness.h"
#include "kernel.h"

#define HLT_DROP_TYPE 0x88b5 /* IEEE local experimental EtherType: dropped on receive */
#define HLT_PASS_TYPE 0x88b6

static uint8_t frames[2][60];

static void make_frame(uint8_t *f, uint16_t type)
{
    memset(f, 0, 60);
    memcpy(f, "\x02\x00\x00\x00\x00\x01", 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
}

struct totals {
    uint32_t adapters;
    uint64_t rx_seen, rx_dropped, tx_seen, tx_dropped;
};

static struct totals stats(void)
{
    size_t len;
    uint8_t *buf = hlt_get_stats(&len);
    struct hl_stats_header *h = (void *)buf;
    struct totals t = {0};
    struct hl_stats_adapter *a;
    uint32_t i;

    t.adapters = h->adapter_count;
    a = (void *)(buf + sizeof(*h) + (size_t)h->rule_count * sizeof(struct hl_stats_rule));
    for (i = 0; i < h->adapter_count; i++) {
        HLT_CHECK(a[i].ifindex != 0 && a[i].name[0] != '\0', "adapter %u unnamed", i);
        t.rx_seen += a[i].rx_seen;
        t.rx_dropped += a[i].rx_dropped;
        t.tx_seen += a[i].tx_seen;
        t.tx_dropped += a[i].tx_dropped;
    }
    free(buf);
    return t;
}

static void expect(const char *when, uint64_t rounds)
{
    struct totals t = stats();

    /* Per round: 10 receives (5 dropped by the rule), 7 sends (none dropped). */
    HLT_CHECK(t.adapters == 1, "%s: %u adapters listed", when, t.adapters);
    HLT_CHECK(t.rx_seen == 10 * rounds && t.rx_dropped == 5 * rounds && t.tx_seen == 7 * rounds &&
                  t.tx_dropped == 0,
              "%s: rx %llu/%llu tx %llu/%llu, want %llu rounds", when,
              (unsigned long long)t.rx_seen, (unsigned long long)t.rx_dropped,
              (unsigned long long)t.tx_seen, (unsigned long long)t.tx_dropped,
              (unsigned long long)rounds);
}

static void traffic(struct hlt_probe *p)
{
    struct hlt_packet rx[10], tx[7];
    unsigned i;

    for (i = 0; i < 10; i++)
        rx[i] = (struct hlt_packet){frames[i % 2], 60};
    for (i = 0; i < 7; i++)
        tx[i] = (struct hlt_packet){frames[1], 60};
    HLT_CHECK(hlt_probe_receive(p, rx, 10, 3, HLT_DISPATCH, 0) == 5, "receive: 5 should pass");
    HLT_CHECK(hlt_probe_send(p, tx, 7, 2, HLT_PASSIVE, 0) == 7, "send: 7 should pass");
}

int main(int argc, char **argv)
{
    struct hlt_rule rule = {HL_ACTION_DROP, HL_DIR_IN, "ether proto 0x88b5", {0}};
    struct hl_set_config_result r;
    uint8_t *blob;
    size_t len;
    unsigned round;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOTLWF.so STRATEGY\n", argv[0]);
        return 2;
    }
    make_frame(frames[0], HLT_DROP_TYPE);
    make_frame(frames[1], HLT_PASS_TYPE);
    struct emu_driver *drv = hlt_boot(2, argv[1], "hotlwf", argv[2]);
    struct hlt_probe *p = hlt_probe_create(0);
    struct emu_adapter *ad = hlt_probe_adapter(p);

    blob = hlt_blob(&rule, 1, HL_ACTION_PASS, &len);
    HLT_CHECK(hlt_set_config(blob, len, &r) == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK,
              "SET_CONFIG: %d", r.status);
    /* rereg re-registers the filter; NDIS attaches it from a work item. */
    emu_work_drain();
    HLT_CHECK(emu_adapter_running(ad), "stack not running after SET_CONFIG");

    traffic(p);
    expect("before any churn", 1);
    for (round = 2; round <= 4; round++) {
        char when[64];

        HLT_CHECK(emu_adapter_detach_module(ad, 0) == NDIS_STATUS_SUCCESS, "detach %u", round);
        snprintf(when, sizeof(when), "detached, before round %u", round);
        expect(when, round - 1);
        HLT_CHECK(emu_adapter_attach_module(ad, 0) == NDIS_STATUS_SUCCESS, "attach %u", round);
        traffic(p);
        snprintf(when, sizeof(when), "after round %u", round);
        expect(when, round);
    }

    free(blob);
    hlt_probe_destroy(p);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
