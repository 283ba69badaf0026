/*
 * Reconfiguration storm: hundreds of SET_CONFIGs alternating two
 * configurations while ndisemu's hosts push traffic on every CPU and a churn
 * thread pauses, restarts, detaches and re-attaches modules. Pass = zero
 * verifier findings, every SET_CONFIG applied, and no packet lost: every
 * receive the miniport originated came back to it, and what hotlwf passed
 * is exactly what reached the protocol.
 *
 * usage: test_storm HOTLWF.so CAPTURE.pcap [SETS [RX_PPS]]   (sends at half the rate)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "harness.h"
#include "host.h"

#define NADAPTERS 3
#define NCPUS 4

static struct emu_host *hosts[NADAPTERS];

int main(int argc, char **argv)
{
    size_t alen, blen;
    uint8_t *ablob, *bblob;
    struct hlt_storm_setup setup;
    struct hlt_churn *churner;
    struct hl_set_config_result r;
    uint64_t gen0;

    hlt_storm_setup(argc, argv, NCPUS, "hotlwf", &setup);
    struct emu_driver *drv = setup.drv;
    struct emu_traffic *traffic = setup.traffic;
    unsigned sets = setup.sets;
    if (!hlt_storm_hosts_start(hosts, NADAPTERS, NCPUS, traffic, setup.rx_pps, 1000))
        return 2;

    hlt_storm_blobs(&ablob, &alen, &bblob, &blen);
    HLT_CHECK(hlt_set_config(ablob, alen, &r) == 0 && r.status == HL_OK, "first SET_CONFIG");
    gen0 = r.generation;

    churner = hlt_churn_start(hosts);
    for (unsigned i = 1; i <= sets; i++) {
        const uint8_t *blob = i % 2 ? bblob : ablob;
        size_t len = i % 2 ? blen : alen;
        NTSTATUS st = hlt_set_config(blob, len, &r);
        HLT_CHECK(st == 0 && r.status == HL_OK && r.generation == gen0 + i,
                  "SET_CONFIG %u: 0x%08x %d gen %llu", i, (unsigned)st, r.status,
                  (unsigned long long)r.generation);
        if (hlt_failures > 20)
            break;
        hlt_sleep_ms(1); /* let traffic and churn run between swaps */
    }
    hlt_churn_stop(churner);

    for (unsigned i = 0; i < NADAPTERS; i++)
        emu_host_stop_traffic(hosts[i]);
    for (unsigned i = 0; i < NADAPTERS; i++)
        HLT_CHECK(emu_adapter_pause(emu_host_adapter(hosts[i])) == NDIS_STATUS_SUCCESS,
                  "final pause %u", i);

    size_t slen;
    uint8_t *stats = hlt_get_stats(&slen);
    struct hl_stats_header *h = (void *)stats;
    struct hl_stats_adapter *ad =
        (void *)(stats + sizeof(*h) + h->rule_count * sizeof(struct hl_stats_rule));
    HLT_CHECK(h->reconfig_count == (uint64_t)sets + 1, "reconfig_count %llu",
              (unsigned long long)h->reconfig_count);

    for (unsigned i = 0; i < NADAPTERS; i++) {
        struct emu_host_figures f;
        hlt_storm_host_check(hosts[i], i, &f);
        if (i < 2) {
            /* Every drop the host saw is one hotlwf counted (a rule, or a module not Running). */
            struct hl_stats_adapter *s = NULL;
            for (uint32_t k = 0; k < h->adapter_count; k++)
                if (ad[k].ifindex == 100 + i)
                    s = &ad[k];
            HLT_CHECK(s != NULL, "adapter %u missing from GET_STATS", i);
            if (s != NULL) {
                /*
                 * What hotlwf let through reached the protocol; the rest of
                 * the drops are hotlwf's (counted) or NDIS bouncing receives
                 * for a Paused module without calling it.
                 */
                HLT_CHECK(s->rx_seen - s->rx_dropped == f.v[EMU_RX_DELIVERED] &&
                              s->rx_seen <= f.v[EMU_RX_ORIGINATED],
                          "adapter %u: hotlwf rx %llu/%llu, host %llu originated %llu delivered", i,
                          (unsigned long long)s->rx_seen, (unsigned long long)s->rx_dropped,
                          (unsigned long long)f.v[EMU_RX_ORIGINATED],
                          (unsigned long long)f.v[EMU_RX_DELIVERED]);
                HLT_CHECK(s->tx_seen - s->tx_dropped == f.v[EMU_TX_REACHED_MINIPORT],
                          "adapter %u: hotlwf passed %llu sends, miniport got %llu", i,
                          (unsigned long long)(s->tx_seen - s->tx_dropped),
                          (unsigned long long)f.v[EMU_TX_REACHED_MINIPORT]);
            }
        }
    }
    free(stats);

    for (unsigned i = 0; i < NADAPTERS; i++)
        emu_host_destroy(hosts[i]);
    emu_traffic_free(traffic);
    free(ablob);
    free(bblob);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
