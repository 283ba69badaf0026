/*
 * Packet sets for the miniport hosts: a pcap file read with libpcap into one
 * arena, or generated frames. Both are built before traffic starts and never
 * written again (see host_traffic.h).
 */
#include "host_traffic.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t emu_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static struct emu_traffic *traffic_alloc(size_t count, size_t arena_bytes)
{
    struct emu_traffic *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->pkts = calloc(count ? count : 1, sizeof(*t->pkts));
    t->arena = malloc(arena_bytes ? arena_bytes : 1);
    if (!t->pkts || !t->arena) {
        emu_traffic_free(t);
        return NULL;
    }
    return t;
}

void emu_traffic_free(struct emu_traffic *t)
{
    if (!t)
        return;
    free(t->pkts);
    free(t->arena);
    free(t);
}

/* Two passes (count, then copy) so the packets live in one arena and the
 * read-only set has no per-packet allocation to free or to miss. */
struct emu_traffic *emu_traffic_load_pcap(const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t count = 0, bytes = 0;
    int rc;

    pcap_t *p = pcap_open_offline(path, perr);
    if (!p) {
        snprintf(err, errlen, "%s", perr);
        return NULL;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        snprintf(err, errlen, "%s: link type %d is not Ethernet", path, pcap_datalink(p));
        pcap_close(p);
        return NULL;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        if (h->caplen == 0)
            continue;
        count++;
        bytes += h->caplen < EMU_FRAME_MAX ? h->caplen : EMU_FRAME_MAX;
    }
    pcap_close(p);
    if (rc == PCAP_ERROR || count == 0) {
        snprintf(err, errlen, "%s: %s", path, count ? "read error" : "no packets");
        return NULL;
    }
    struct emu_traffic *t = traffic_alloc(count, bytes);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p = pcap_open_offline(path, perr);
    if (!p) {
        snprintf(err, errlen, "%s", perr);
        emu_traffic_free(t);
        return NULL;
    }
    size_t off = 0;
    while (t->count < count && pcap_next_ex(p, &h, &data) == 1) {
        if (h->caplen == 0)
            continue;
        uint32_t len = h->caplen < EMU_FRAME_MAX ? h->caplen : EMU_FRAME_MAX;
        memcpy(t->arena + off, data, len);
        t->pkts[t->count].data = t->arena + off;
        t->pkts[t->count].len = len;
        if (len > t->max_len)
            t->max_len = len;
        t->count++;
        off += len;
    }
    pcap_close(p);
    return t;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* One frame at f; returns its length: `len` if not 0 (at least 74), else
   random up to 1274. */
static uint32_t gen_frame(uint8_t *f, uint64_t *rng, uint32_t len)
{
    uint64_t r = emu_rng_next(rng);
    bool v6 = r & 1;
    unsigned l4 = (unsigned)(r >> 1) % 3; /* 0 tcp, 1 udp, 2 icmp */
    uint32_t payload = (uint32_t)(emu_rng_next(rng) % 1200);
    if (len)
        payload = len - 14 - (v6 ? 40 : 20) - (l4 == 0 ? 20 : 8);
    static const uint8_t dst[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
    static const uint8_t src[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x02};

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, v6 ? 0x86dd : 0x0800);
    uint8_t *ip = f + 14;
    uint32_t iphl = v6 ? 40 : 20;
    uint32_t l4hl = l4 == 0 ? 20 : 8;
    uint32_t l4len = l4hl + payload;
    uint8_t proto = l4 == 0 ? 6 : l4 == 1 ? 17 : (v6 ? 58 : 1);
    uint8_t *l = ip + iphl;
    uint32_t pseudo = 0;

    memset(ip, 0, iphl);
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)l4len);
        ip[6] = proto;
        ip[7] = 64;
        ip[8] = 0xfd;
        ip[23] = (uint8_t)(r >> 8) | 1;
        ip[24] = 0xfd;
        ip[39] = (uint8_t)(r >> 16) | 1;
        pseudo = csum_add(0, ip + 8, 32) + l4len + proto;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(iphl + l4len));
        put16(ip + 4, (uint16_t)(r >> 24));
        ip[8] = 64;
        ip[9] = proto;
        ip[12] = 10, ip[13] = 0, ip[14] = (uint8_t)(r >> 8), ip[15] = 1;
        ip[16] = 10, ip[17] = 1, ip[18] = (uint8_t)(r >> 16), ip[19] = 2;
        put16(ip + 10, csum_fold(csum_add(0, ip, iphl)));
        pseudo = csum_add(0, ip + 12, 8) + l4len + proto;
    }
    memset(l, 0, l4hl);
    for (uint32_t i = 0; i < payload; i++)
        l[l4hl + i] = (uint8_t)(emu_rng_next(rng) >> 56);
    uint8_t *ck;
    if (l4 == 0) {
        put16(l, (uint16_t)(1024 + (r >> 32) % 50000));
        put16(l + 2, (uint16_t)((r >> 48) % 1024));
        put16(l + 4, (uint16_t)(r >> 20));
        l[12] = 5 << 4;
        l[13] = 0x18; /* PSH|ACK */
        put16(l + 14, 65535);
        ck = l + 16;
    } else if (l4 == 1) {
        put16(l, (uint16_t)(1024 + (r >> 32) % 50000));
        put16(l + 2, 53);
        put16(l + 4, (uint16_t)l4len);
        ck = l + 6;
    } else {
        l[0] = v6 ? 128 : 8; /* echo request */
        put16(l + 4, (uint16_t)(r >> 40));
        put16(l + 6, (uint16_t)(r >> 28));
        ck = l + 2;
        if (!v6)
            pseudo = 0; /* ICMPv4 has no pseudo-header */
    }
    uint16_t c = csum_fold(csum_add(pseudo, l, l4len));
    if (l4 == 1 && c == 0)
        c = 0xffff;
    put16(ck, c);
    return 14 + iphl + l4len;
}

/* Frame lengths of the MTU set, cycled: the smallest frame, the largest
   at the Ethernet MTU (1500-byte payload), one byte beyond it, and jumbo
   frames, between random ordinary ones. */
static uint32_t mtu_frame_len(size_t i, uint64_t *rng)
{
    static const uint32_t edges[] = {74, 1514, 1515, 4096, 9014};
    if (i % 2)
        return 74 + (uint32_t)(emu_rng_next(rng) % (1514 - 74 + 1));
    return edges[(i / 2) % (sizeof(edges) / sizeof(edges[0]))];
}

static struct emu_traffic *generate(size_t count, uint64_t seed, bool mtu)
{
    const uint32_t max = mtu ? EMU_MTU_SET_MAX_FRAME : 14 + 40 + 20 + 1200;
    struct emu_traffic *t = traffic_alloc(count, count * max);
    if (!t)
        return NULL;
    uint64_t rng = seed;
    for (size_t i = 0; i < count; i++) {
        uint8_t *f = t->arena + i * max;
        t->pkts[i].data = f;
        t->pkts[i].len = gen_frame(f, &rng, mtu ? mtu_frame_len(i, &rng) : 0);
        if (t->pkts[i].len > t->max_len)
            t->max_len = t->pkts[i].len;
    }
    t->count = count;
    return t;
}

struct emu_traffic *emu_traffic_generate(size_t count, uint64_t seed)
{
    return generate(count, seed, false);
}

struct emu_traffic *emu_traffic_generate_mtu(size_t count, uint64_t seed)
{
    return generate(count, seed, true);
}

bool emu_split_parse(const char *s, struct emu_split *out)
{
    char *end;
    if (!strcmp(s, "none")) {
        *out = (struct emu_split){EMU_SPLIT_NONE, 0};
    } else if (!strcmp(s, "half")) {
        *out = (struct emu_split){EMU_SPLIT_HALF, 0};
    } else if (!strcmp(s, "random")) {
        *out = (struct emu_split){EMU_SPLIT_RANDOM, 0};
    } else if (!strncmp(s, "every:", 6)) {
        unsigned long n = strtoul(s + 6, &end, 10);
        if (end == s + 6 || *end || n < 1 || n > EMU_FRAME_MAX)
            return false;
        *out = (struct emu_split){EMU_SPLIT_EVERY, (uint32_t)n};
    } else {
        return false;
    }
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

unsigned emu_split_lengths(const struct emu_split *s, uint32_t len, uint64_t *rng, uint32_t *seg,
                           unsigned max)
{
    uint32_t cuts[8];
    unsigned n = 0, ncuts = 0;

    if (len < 2 || max < 2 || s->kind == EMU_SPLIT_NONE) {
        seg[0] = len;
        return 1;
    }
    switch (s->kind) {
    case EMU_SPLIT_HALF:
        seg[0] = len / 2;
        seg[1] = len - len / 2;
        return 2;
    case EMU_SPLIT_EVERY:
        for (uint32_t off = 0; off < len; off += s->every) {
            if (n == max - 1) {
                seg[n++] = len - off;
                return n;
            }
            seg[n++] = len - off < s->every ? len - off : s->every;
        }
        return n;
    case EMU_SPLIT_RANDOM: {
        uint64_t r = emu_rng_next(rng);
        uint32_t hdr = len < 54 ? len : 54;
        cuts[ncuts++] = 1 + (uint32_t)(r % (hdr - 1));
        unsigned extra = (unsigned)(r >> 32) % 4;
        for (unsigned i = 0; i < extra && ncuts + 1 < max; i++)
            cuts[ncuts++] = 1 + (uint32_t)(emu_rng_next(rng) % (len - 1));
        qsort(cuts, ncuts, sizeof(cuts[0]), cmp_u32);
        uint32_t prev = 0;
        for (unsigned i = 0; i < ncuts; i++) {
            if (cuts[i] == prev)
                continue; /* no empty MDLs: a zero-length MDL is legal but not this test's point */
            seg[n++] = cuts[i] - prev;
            prev = cuts[i];
        }
        seg[n++] = len - prev;
        return n;
    }
    default:
        seg[0] = len;
        return 1;
    }
}
