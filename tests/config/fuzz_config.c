/*
 * libFuzzer target: any bytes through the compiler. Whatever is accepted
 * must round-trip byte for byte and be safe to classify with and count in;
 * whatever is refused must leak nothing and say why. Also linked with
 * fuzz_replay.c into an ordinary test that replays tests/config/corpus.
 */
#include <stdint.h>
#include "cfg_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hl_view v;
    struct hl_adapter_id ad;
    struct counting_alloc c;
    struct hl_alloc a = counting_hl_alloc(&c, 16u << 20);
    struct hl_snapshot *s = NULL;
    char reason[256];
    uint8_t pkt[60];
    struct hl_seg seg = {pkt, 34};
    uint32_t rule, n;
    int rc;

    rc = hl_config_compile(data, size, &a, 2, &s, reason, sizeof(reason));
    if (rc != HL_OK) {
        if (c.live != 0 || reason[0] == '\0' || s != NULL) {
            fprintf(stderr, "refused with %s but leaked %ld / reason '%s'\n", hl_status_name(rc),
                    c.live, reason);
            abort();
        }
        return 0;
    }
    {
        size_t blen;
        const void *b = hl_snapshot_blob(s, &blen);
        if (blen != size || memcmp(b, data, size) != 0) {
            fprintf(stderr, "accepted blob does not round-trip\n");
            abort();
        }
    }
    memset(&ad, 0, sizeof(ad));
    strcpy(ad.name, "eth0");
    ad.ifindex = 7;
    ad.mac[0] = 2;
    ad.mac[5] = 1;
    make_packet(pkt, 6);
    hl_view_refresh(&v, s, &ad);
    n = hl_snapshot_rule_count(s);
    hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule);
    if (rule > n)
        abort();
    hl_stats_hit(s, 1, rule, HL_DIR_IN);
    hl_classify(&v, HL_DIR_OUT, &seg, 1, 60, &rule);
    if (rule > n)
        abort();
    hl_stats_hit(s, 0, rule, HL_DIR_OUT);
    hl_snapshot_free(s);
    if (c.live != 0)
        abort();
    return 0;
}
