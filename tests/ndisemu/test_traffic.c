/* Traffic sets and MDL split layouts: the packets the hosts originate must
   be valid frames, and every layout must cover each byte exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_traffic.h"

#include "check.h"

static uint16_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void check_generated(void)
{
    struct emu_traffic *a = emu_traffic_generate(500, 7), *b = emu_traffic_generate(500, 7);
    CHECK(a && b && a->count == 500);
    unsigned v4 = 0, v6 = 0;
    for (size_t i = 0; a && b && i < a->count; i++) {
        const uint8_t *f = a->pkts[i].data;
        uint32_t len = a->pkts[i].len;
        CHECK(len == b->pkts[i].len && !memcmp(f, b->pkts[i].data, len)); /* deterministic */
        uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
        CHECK(et == 0x0800 || et == 0x86dd);
        if (et == 0x0800) {
            v4++;
            CHECK(sum16(f + 14, 20, 0) == 0xffff); /* header checksum verifies */
            CHECK((uint32_t)(f[16] << 8 | f[17]) == len - 14);
            uint8_t proto = f[23];
            uint32_t l4 = len - 34, pseudo = 0;
            if (proto != 1)
                pseudo = (uint32_t)sum16(f + 26, 8, 0) + l4 + proto;
            CHECK(sum16(f + 34, l4, pseudo) == 0xffff);
        } else {
            v6++;
            CHECK((uint32_t)(f[18] << 8 | f[19]) == len - 54);
            uint32_t l4 = len - 54;
            CHECK(sum16(f + 54, l4, (uint32_t)sum16(f + 22, 32, 0) + l4 + f[20]) == 0xffff);
        }
    }
    CHECK(v4 > 100 && v6 > 100);
    emu_traffic_free(a);
    emu_traffic_free(b);
}

static void check_split(const char *pattern, unsigned max)
{
    struct emu_split s;
    uint32_t seg[EMU_SPLIT_MAX_SEGS];
    uint64_t rng = 3;
    bool header_cut = false;
    CHECK(emu_split_parse(pattern, &s));
    for (uint32_t len = 1; len < 1600; len += 7) {
        unsigned n = emu_split_lengths(&s, len, &rng, seg, max);
        uint32_t total = 0;
        CHECK(n >= 1 && n <= max);
        for (unsigned i = 0; i < n; i++) {
            CHECK(seg[i] > 0);
            total += seg[i];
        }
        CHECK(total == len);
        if (s.kind == EMU_SPLIT_RANDOM && len >= 60) {
            CHECK(n >= 2 && seg[0] < 54);
            header_cut |= seg[0] != 14 && seg[0] != 34;
        }
        if (s.kind == EMU_SPLIT_HALF && len >= 2)
            CHECK(n == 2);
    }
    if (s.kind == EMU_SPLIT_RANDOM)
        CHECK(header_cut); /* some cut falls inside a header field */
}

int main(void)
{
    struct emu_split s;
    check_generated();
    check_split("none", 8);
    check_split("half", 8);
    check_split("random", 8);
    check_split("every:1", EMU_SPLIT_MAX_SEGS);
    check_split("every:13", EMU_SPLIT_MAX_SEGS);
    check_split("every:64", 4);
    CHECK(!emu_split_parse("every:0", &s));
    CHECK(!emu_split_parse("every:", &s));
    CHECK(!emu_split_parse("every:x", &s));
    CHECK(!emu_split_parse("thirds", &s));
    char err[256];
    CHECK(emu_traffic_load_pcap("/nonexistent.pcap", err, sizeof(err)) == NULL && err[0]);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures != 0;
}
