/*
 * Reconfiguration storm on deterministic probe adapters: several threads
 * receive and send the capture through two adapters on every emulated CPU
 * (passive, dispatch and RESOURCES indications, split MDLs) while the main
 * thread issues hundreds of SET_CONFIGs alternating two configurations and
 * a churn thread pauses and restarts the stacks. Pass = zero verifier
 * findings, every SET_CONFIG applied, and exact accounting: every NBL
 * originated came back, and hotlwf's per-adapter counters agree with what
 * the probes saw reach the other end.
 *
 * usage: test_race HOTLWF.so CAPTURE.pcap [SETS]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "harness.h"

#define NADAPTERS 2
#define NWORKERS 4

static struct hlt_probe *probes[NADAPTERS];
static struct hlt_capture cap;
static atomic_int stop;
static atomic_size_t offered_rx[NADAPTERS], offered_tx[NADAPTERS];

static void sleep_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, round = 0;
    struct hlt_probe *p = probes[id % NADAPTERS];

    while (!atomic_load(&stop)) {
        enum hlt_mode mode = (enum hlt_mode)((round + id) % 3);
        unsigned split = (round % 4) * 9; /* 0 (one MDL), 9, 18, 27 bytes per MDL */

        struct hlt_probe_counts before, after;
        hlt_probe_counts(p, &before);
        hlt_probe_receive(p, cap.pkts, cap.count, 8, mode, split);
        atomic_fetch_add(&offered_rx[id % NADAPTERS], cap.count);
        if (round % 2 == 0) {
            hlt_probe_send(p, cap.pkts, cap.count, 8, mode == HLT_RESOURCES ? HLT_DISPATCH : mode,
                           split);
            atomic_fetch_add(&offered_tx[id % NADAPTERS], cap.count);
        }
        hlt_probe_counts(p, &after);
        if (after.rx_skipped - before.rx_skipped >= cap.count)
            sleep_us(100); /* the adapter is paused: do not spin */
        round++;
    }
    return NULL;
}

static void *churn(void *arg)
{
    unsigned i = 0;
    (void)arg;
    while (!atomic_load(&stop)) {
        struct emu_adapter *ad = hlt_probe_adapter(probes[i % NADAPTERS]);
        HLT_CHECK(emu_adapter_pause(ad) == NDIS_STATUS_SUCCESS, "pause");
        sleep_us(300);
        HLT_CHECK(emu_adapter_restart(ad) == NDIS_STATUS_SUCCESS, "restart");
        sleep_us(2000);
        i++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned sets = argc > 3 ? (unsigned)atoi(argv[3]) : 300;
    pthread_t workers[NWORKERS], churner;
    struct hl_set_config_result r;
    size_t alen, blen;
    uint8_t *ablob, *bblob;
    uint64_t gen0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s HOTLWF.so CAPTURE [SETS]\n", argv[0]);
        return 2;
    }
    if (!hlt_capture_load(argv[2], &cap) || cap.count == 0)
        return 2;
    struct emu_driver *drv = hlt_boot(4, argv[1], "hotlwf", NULL);
    for (unsigned i = 0; i < NADAPTERS; i++) {
        probes[i] = hlt_probe_create(i);
        hlt_probe_set_shared(probes[i]);
    }
    hlt_storm_blobs(&ablob, &alen, &bblob, &blen);
    HLT_CHECK(hlt_set_config(ablob, alen, &r) == 0 && r.status == HL_OK, "first SET_CONFIG");
    gen0 = r.generation;

    for (unsigned i = 0; i < NWORKERS; i++)
        pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)i);
    pthread_create(&churner, NULL, churn, NULL);

    for (unsigned i = 1; i <= sets && hlt_failures < 20; i++) {
        NTSTATUS st = i % 2 ? hlt_set_config(bblob, blen, &r) : hlt_set_config(ablob, alen, &r);
        HLT_CHECK(st == 0 && r.status == HL_OK && r.generation == gen0 + i,
                  "SET_CONFIG %u: 0x%08x %d gen %llu", i, (unsigned)st, r.status,
                  (unsigned long long)r.generation);
        sleep_us(500); /* let traffic run between swaps */
    }
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < NWORKERS; i++)
        pthread_join(workers[i], NULL);
    pthread_join(churner, NULL);

    size_t slen;
    uint8_t *stats = hlt_get_stats(&slen);
    struct hl_stats_header *h = (void *)stats;
    struct hl_stats_adapter *ad =
        (void *)(stats + sizeof(*h) + h->rule_count * sizeof(struct hl_stats_rule));
    HLT_CHECK(h->reconfig_count == (uint64_t)sets + 1, "reconfig_count %llu",
              (unsigned long long)h->reconfig_count);
    for (unsigned i = 0; i < NADAPTERS; i++) {
        struct hlt_probe_counts c;
        struct hl_stats_adapter *s = NULL;
        size_t rx = atomic_load(&offered_rx[i]), tx = atomic_load(&offered_tx[i]);

        hlt_probe_counts(probes[i], &c);
        for (uint32_t k = 0; k < h->adapter_count; k++)
            if (ad[k].ifindex == 100 + i)
                s = &ad[k];
        printf("adapter %u: rx offered %zu skipped %zu delivered %zu | tx offered %zu skipped %zu "
               "reached %zu\n",
               i, rx, c.rx_skipped, c.delivered, tx, c.tx_skipped, c.reached);
        HLT_CHECK(c.delivered > 0 && c.reached > 0, "adapter %u: no traffic went through", i);
        HLT_CHECK(c.returned == rx - c.rx_skipped, "adapter %u: %zu of %zu receives came back", i,
                  c.returned, rx - c.rx_skipped);
        HLT_CHECK(c.completed == tx - c.tx_skipped, "adapter %u: %zu of %zu sends completed", i,
                  c.completed, tx - c.tx_skipped);
        HLT_CHECK(s != NULL, "adapter %u missing from GET_STATS", i);
        if (s == NULL)
            continue;
        /*
         * Nothing lost: what hotlwf let through is exactly what reached the
         * other end, and every other NBL came back either dropped by hotlwf
         * (a rule, or the module Pausing/Restarting) or bounced by NDIS
         * without calling hotlwf because the module was Paused (churn).
         */
        HLT_CHECK(s->rx_seen - s->rx_dropped == c.delivered && s->rx_seen <= c.returned,
                  "adapter %u: hotlwf rx %llu seen %llu dropped, probe %zu back %zu delivered", i,
                  (unsigned long long)s->rx_seen, (unsigned long long)s->rx_dropped, c.returned,
                  c.delivered);
        HLT_CHECK(s->tx_seen - s->tx_dropped == c.reached && s->tx_seen <= c.completed,
                  "adapter %u: hotlwf tx %llu seen %llu dropped, probe %zu completed %zu reached",
                  i, (unsigned long long)s->tx_seen, (unsigned long long)s->tx_dropped, c.completed,
                  c.reached);
        printf("adapter %u: hotlwf dropped rx %llu tx %llu; NDIS bounced rx %llu tx %llu\n", i,
               (unsigned long long)s->rx_dropped, (unsigned long long)s->tx_dropped,
               (unsigned long long)(c.returned - s->rx_seen),
               (unsigned long long)(c.completed - s->tx_seen));
    }
    free(stats);

    for (unsigned i = 0; i < NADAPTERS; i++)
        hlt_probe_destroy(probes[i]);
    free(ablob);
    free(bblob);
    hlt_shutdown(drv);
    hlt_capture_free(&cap);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
