/*
 * The `reload` strategy persists what SET_CONFIG accepted (driver/
 * strategy_reload.c, NdisWriteConfiguration) and DriverEntry restores it
 * (driver/config.c): after emu_driver_reload, GET_CONFIG returns the same
 * blob byte for byte, the generation has not gone backwards, GET_STATS's
 * per-adapter totals are those from before the restart, the rules
 * classify again on the re-attached module, and the next SET_CONFIG gets a
 * generation above every one seen before the restart.
 *
 * The expected outcome is an argument, so the test shows it can fail:
 * `epoch` persists nothing, so `hotlwf_test_reload hotlwf.so epoch persists`
 * fails and `... epoch forgets` (the registered test) passes.
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

/* The generation, and the receive-path packets the driver saw over every adapter. */
static uint64_t generation(uint64_t *rx_seen)
{
    size_t len;
    uint8_t *buf = hlt_get_stats(&len);
    struct hl_stats_header *h = (void *)buf;
    struct hl_stats_adapter *a =
        (void *)(buf + sizeof(*h) + (size_t)h->rule_count * sizeof(struct hl_stats_rule));
    uint64_t g = h->generation;
    uint32_t i;

    *rx_seen = 0;
    for (i = 0; i < h->adapter_count; i++)
        *rx_seen += a[i].rx_seen;
    free(buf);
    return g;
}

/* Packets of 10 (half of them the dropped EtherType) that reach the protocol. */
static size_t received(struct hlt_probe *p)
{
    struct hlt_packet rx[10];
    unsigned i;

    for (i = 0; i < 10; i++)
        rx[i] = (struct hlt_packet){frames[i % 2], 60};
    return hlt_probe_receive(p, rx, 10, 3, HLT_DISPATCH, 0);
}

static bool same_blob(const uint8_t *blob, size_t len)
{
    size_t got_len;
    uint8_t *got = hlt_get_config(&got_len);
    bool same = got_len == len && memcmp(got, blob, len) == 0;

    free(got);
    return same;
}

int main(int argc, char **argv)
{
    struct hlt_rule rule = {HL_ACTION_DROP, HL_DIR_IN, "ether proto 0x88b5", {0}};
    struct hl_set_config_result r;
    uint64_t before, after, seen_before, seen_after;
    uint8_t *blob;
    size_t len;
    bool persists;
    int round;

    if (argc != 4 || (strcmp(argv[3], "persists") != 0 && strcmp(argv[3], "forgets") != 0)) {
        fprintf(stderr, "usage: %s HOTLWF.so STRATEGY persists|forgets\n", argv[0]);
        return 2;
    }
    persists = strcmp(argv[3], "persists") == 0;
    make_frame(frames[0], HLT_DROP_TYPE);
    make_frame(frames[1], HLT_PASS_TYPE);
    struct emu_driver *drv = hlt_boot(2, argv[1], "hotlwf", argv[2]);
    struct hlt_probe *p = hlt_probe_create(0);

    blob = hlt_blob(&rule, 1, HL_ACTION_PASS, &len);
    /* Twice, so the persisted generation is not the first one a fresh load would have. */
    for (round = 0; round < 2; round++)
        HLT_CHECK(hlt_set_config(blob, len, &r) == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK,
                  "SET_CONFIG: %d", r.status);
    before = generation(&seen_before);
    HLT_CHECK(before == r.generation, "GET_STATS generation %llu, SET_CONFIG said %llu",
              (unsigned long long)before, (unsigned long long)r.generation);
    HLT_CHECK(same_blob(blob, len), "GET_CONFIG before the reload differs from SET_CONFIG's");
    HLT_CHECK(received(p) == 5, "before the reload: the rule should drop 5 of 10");
    generation(&seen_before);
    HLT_CHECK(seen_before == 10, "GET_STATS: %llu received before the reload, want 10",
              (unsigned long long)seen_before);

    HLT_CHECK(NT_SUCCESS(emu_driver_reload(drv)), "emu_driver_reload failed");
    /* NDIS attaches a registered filter from a work item: wait for it before sending. */
    emu_work_drain();
    HLT_CHECK(emu_adapter_running(hlt_probe_adapter(p)), "stack not running after the reload");

    after = generation(&seen_after);
    if (persists) {
        HLT_CHECK(same_blob(blob, len), "GET_CONFIG after the reload differs from SET_CONFIG's");
        HLT_CHECK(seen_after == seen_before, "GET_STATS: %llu received after the reload, want %llu",
                  (unsigned long long)seen_after, (unsigned long long)seen_before);
        HLT_CHECK(after >= before, "generation went backwards: %llu before, %llu after",
                  (unsigned long long)before, (unsigned long long)after);
        {
            size_t n = received(p);
            HLT_CHECK(n == 5, "after the reload: %zu of 10 passed, the rule should drop 5", n);
        }
    } else {
        HLT_CHECK(!same_blob(blob, len), "GET_CONFIG after the reload kept the blob");
        HLT_CHECK(seen_after == 0, "GET_STATS: %llu received after the reload, want 0",
                  (unsigned long long)seen_after);
        HLT_CHECK(after < before, "generation %llu after the reload, %llu before",
                  (unsigned long long)after, (unsigned long long)before);
        HLT_CHECK(received(p) == 10, "after the reload: the default should pass all 10");
    }

    HLT_CHECK(hlt_set_config(blob, len, &r) == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK,
              "SET_CONFIG after the reload: %d", r.status);
    if (persists)
        HLT_CHECK(r.generation > before,
                  "generation %llu after the reload's SET_CONFIG, %llu before",
                  (unsigned long long)r.generation, (unsigned long long)before);

    free(blob);
    hlt_probe_destroy(p);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
