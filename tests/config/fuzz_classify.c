/*
 * Fuzz target: bytes -> a rule set and a packet; the indexed classifier
 * (hl_classify) must give the verdict and rule number of a first-match loop
 * over the same rules with hl_bpf_run, whole and split in two, both
 * directions. Rules are shapes pcap compiles to (EtherType, IPv4 host and
 * masked net, TCP port behind the IPv4 header length, an IPv6 address word,
 * a negation) with values from the input, or raw programs from the input
 * bytes that the validator accepts: the analysis must stay sound on code no
 * compiler writes.
 *
 * Input: u8 rule count - 1 (mod 16); per rule 12 bytes (kind, flags, u32
 * value, u16 port, u8 prefix, 3 spare) or, for the raw kind, 12 bytes then
 * 8 instructions of 8 bytes; u8 split point; the rest is the packet.
 * Built with -DHL_LIBFUZZER for libFuzzer; otherwise fuzz_replay.c replays
 * the saved corpus in ctest.
 */
#include <hotlwf/config.h>
#include <hotlwf/heap.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 16
#define MAX_INSNS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define I(c, t, f, k) ((struct hl_bpf_insn){(uint16_t)(c), (uint8_t)(t), (uint8_t)(f), (uint32_t)(k)})

/* A program of one of the shapes, into p; returns its length. */
static uint32_t shape(const uint8_t *r, const uint8_t *raw, struct hl_bpf_insn *p)
{
    uint32_t v = le32(r + 2), port = (uint32_t)r[6] | (uint32_t)r[7] << 8, plen = r[8] % 33;
    uint32_t mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen), i;

    switch (r[0] % 7) {
    case 0: /* ether proto */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 1, port);
        p[2] = I(0x06, 0, 0, 1);
        p[3] = I(0x06, 0, 0, 0);
        return 4;
    case 1: /* src host */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 3, 0x800);
        p[2] = I(0x20, 0, 0, 26);
        p[3] = I(0x15, 0, 1, v);
        p[4] = I(0x06, 0, 0, 0x40000);
        p[5] = I(0x06, 0, 0, 0);
        return 6;
    case 2: /* dst net v/plen */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 4, 0x800);
        p[2] = I(0x20, 0, 0, 30);
        p[3] = I(0x54, 0, 0, mask);
        p[4] = I(0x15, 0, 1, v & mask);
        p[5] = I(0x06, 0, 0, 0x40000);
        p[6] = I(0x06, 0, 0, 0);
        return 7;
    case 3: /* tcp dst port, unfragmented IPv4 */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 8, 0x800);
        p[2] = I(0x30, 0, 0, 23);
        p[3] = I(0x15, 0, 6, 6);
        p[4] = I(0x28, 0, 0, 20);
        p[5] = I(0x45, 4, 0, 0x1fff);
        p[6] = I(0xb1, 0, 0, 14);
        p[7] = I(0x48, 0, 0, 16);
        p[8] = I(0x15, 0, 1, port);
        p[9] = I(0x06, 0, 0, 0x40000);
        p[10] = I(0x06, 0, 0, 0);
        return 11;
    case 4: /* ip6 src, last word */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 3, 0x86dd);
        p[2] = I(0x20, 0, 0, 34);
        p[3] = I(0x15, 0, 1, v);
        p[4] = I(0x06, 0, 0, 1);
        p[5] = I(0x06, 0, 0, 0);
        return 6;
    case 5: /* not src host: accepts with no equality */
        p[0] = I(0x28, 0, 0, 12);
        p[1] = I(0x15, 0, 2, 0x800);
        p[2] = I(0x20, 0, 0, 26);
        p[3] = I(0x15, 1, 0, v);
        p[4] = I(0x06, 0, 0, 1);
        p[5] = I(0x06, 0, 0, 0);
        return 6;
    default: /* raw */
        for (i = 0; i < 8; i++, raw += 8)
            p[i] = I(raw[0] | raw[1] << 8, raw[2], raw[3], le32(raw + 4));
        if (hl_bpf_validate(p, 8, NULL, 0) != HL_BPF_OK) {
            p[0] = I(0x06, 0, 0, 1);
            return 1;
        }
        return 8;
    }
}

static void compare(const struct hl_view *v, const struct hl_rule_spec *spec, uint32_t n,
                    const struct hl_adapter_id *ad, const struct hl_seg *segs, size_t nsegs,
                    uint32_t wire)
{
    int d;

    for (d = HL_DIR_IN; d <= HL_DIR_OUT; d++) {
        uint32_t got_rule = 0, want_rule = 0, i;
        uint8_t want = HL_ACTION_DROP, got;

        got = hl_classify(v, (enum hl_direction)d, segs, nsegs, wire, &got_rule);
        for (i = 0; i < n; i++) {
            if ((spec[i].direction & d) == 0 || !hl_selector_match(&spec[i].selector, ad))
                continue;
            if (hl_bpf_run(spec[i].insns, spec[i].ninsns, segs, nsegs, wire) != 0) {
                want = spec[i].action;
                want_rule = i + 1;
                break;
            }
        }
        if (got != want || got_rule != want_rule) {
            fprintf(stderr, "mismatch, dir %d: indexed rule %u action %u, linear rule %u action %u\n",
                    d, got_rule, got, want_rule, want);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hl_view view;
    struct hl_bpf_insn progs[MAX_RULES][MAX_INSNS];
    struct hl_rule_spec spec[MAX_RULES];
    struct hl_adapter_id ad;
    struct hl_snapshot *snap = NULL;
    struct hl_seg segs[2];
    uint8_t blob[4096];
    size_t pos = 0, len = 0, cut;
    uint32_t n, i;

    if (size < 1)
        return 0;
    n = (uint32_t)(data[pos++] % MAX_RULES) + 1;
    memset(spec, 0, sizeof(spec));
    for (i = 0; i < n; i++) {
        const uint8_t *r = data + pos;
        bool raw;

        if (size - pos < 12)
            return 0;
        raw = r[0] % 7 == 6;
        if (raw && size - pos < 12 + 64)
            return 0;
        spec[i].ninsns = shape(r, r + 12, progs[i]);
        spec[i].insns = progs[i];
        spec[i].action = r[1] & 1;
        spec[i].direction = (uint8_t)(1 + (r[1] >> 1) % 3);
        spec[i].selector.kind = (r[1] & 0x40) ? HL_SEL_IFINDEX : HL_SEL_ALL;
        spec[i].selector.ifindex = (r[1] & 0x80) ? 1 : 2;
        pos += raw ? 12 + 64 : 12;
    }
    if (size - pos < 1)
        return 0;
    cut = data[pos++];
    if (hl_blob_encode(spec, n, HL_ACTION_DROP, blob, sizeof(blob), &len) != HL_OK ||
        hl_config_compile(blob, len, &hl_heap, 1, &snap, NULL, 0) != HL_OK)
        abort(); /* every program here is valid */
    memset(&ad, 0, sizeof(ad));
    ad.ifindex = 1;
    hl_view_refresh(&view, snap, &ad);
    /* Whole, then cut in two; each piece in its own heap block so ASan sees over-reads. */
    {
        size_t caplen = size - pos;
        uint8_t *whole = malloc(caplen ? caplen : 1), *h, *b;
        uint32_t wire = (uint32_t)caplen;

        memcpy(whole, data + pos, caplen);
        segs[0].data = whole;
        segs[0].len = caplen;
        compare(&view, spec, n, &ad, segs, 1, wire);
        if (cut > caplen)
            cut = caplen;
        h = malloc(cut ? cut : 1);
        memcpy(h, whole, cut);
        segs[0].data = h;
        segs[0].len = cut;
        b = malloc(caplen - cut ? caplen - cut : 1);
        memcpy(b, whole + cut, caplen - cut);
        segs[1].data = b;
        segs[1].len = caplen - cut;
        compare(&view, spec, n, &ad, segs, 2, wire);
        free(b);
        free(h);
        free(whole);
    }
    hl_snapshot_free(snap);
    return 0;
}
