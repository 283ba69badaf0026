/*
 * Random programs: whatever the validator accepts must run exactly like
 * libpcap's bpf_filter(), through hl_bpf_run and decoded through hl_bpf_exec, on real and random packets, cut into random
 * segments. This reaches corners no pcap expression produces (X-relative
 * loads far past the end, division and shifts by large X, NEG, JSET X...).
 * Deterministic seed, so a failure reproduces; it prints the program.
 */
#include "bpf_testlib.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every allowed opcode, plus near misses the validator must turn away. */
static const uint16_t opcodes[] = {
    0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x00, 0x80, 0x01, 0x61, 0x81, 0xb1, 0x02,
    0x03, 0x06, 0x16, 0x07, 0x87, 0x84, 0x05, 0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64,
    0x74, 0x94, 0xa4, 0x0c, 0x1c, 0x2c, 0x3c, 0x4c, 0x5c, 0x6c, 0x7c, 0x9c, 0xac, 0x15,
    0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d, 0x0e, 0x8c, 0x0d, 0x10, 0xa9, 0x21, 0x1e,
};

static uint32_t pick_k(uint64_t *rng, uint16_t code)
{
    uint64_t r = tl_rand(rng);
    switch (r % 8) {
    case 0:
        return (uint32_t)(r >> 16); /* anything */
    case 1:
        return 0xffffffffu - (uint32_t)((r >> 8) % 8); /* wrap bait */
    case 2:
        return (uint32_t)((r >> 8) % 40); /* shift counts around 32 */
    default:
        if (code == 0x02 || code == 0x03 || code == 0x60 || code == 0x61)
            return (uint32_t)((r >> 8) % 17); /* slot 16 is out of range */
        return (uint32_t)((r >> 8) % 80);     /* header offsets */
    }
}

static size_t gen(uint64_t *rng, struct hl_bpf_insn *p)
{
    size_t n = 2 + tl_rand(rng) % 30, i = 0;
    /* Seed some scratch slots so that loads from memory survive validation. */
    if (tl_rand(rng) % 2)
        for (; i < n / 3; i++)
            p[i] = (struct hl_bpf_insn){(uint16_t)(tl_rand(rng) % 2 ? 0x02 : 0x03), 0, 0,
                                        (uint32_t)(tl_rand(rng) % 16)};
    for (; i < n - 1; i++) {
        uint64_t r = tl_rand(rng);
        uint16_t code = r % 64 == 0 ? (uint16_t)(r >> 16)
                                    : opcodes[(r >> 8) % (sizeof opcodes / sizeof opcodes[0])];
        size_t left = n - i - 1;
        p[i].code = code;
        p[i].k = pick_k(rng, code);
        p[i].jt = (uint8_t)(tl_rand(rng) % (left + 1));
        p[i].jf = (uint8_t)(tl_rand(rng) % (left + 1));
        if (code == 0x05)
            p[i].k = (uint32_t)(tl_rand(rng) % (left + 1));
    }
    p[n - 1] = (struct hl_bpf_insn){(uint16_t)(tl_rand(rng) % 2 ? 0x06 : 0x16), 0, 0,
                                    (uint32_t)tl_rand(rng)};
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s captures-dir\n", argv[0]);
        return 2;
    }
    struct tl_capture cap;
    tl_load_captures(argv[1], &cap);
    uint64_t rng = 0x5eed0f00dULL;
    struct hl_bpf_insn prog[40];
    struct hl_bpf_op ops[40];
    unsigned long generated = 0, accepted = 0, runs = 0, nonzero = 0, failures = 0;
    uint8_t rnd[128];

    while (accepted < 20000 && generated < 20000000) {
        size_t n = gen(&rng, prog);
        generated++;
        if (hl_bpf_validate(prog, n, NULL, 0) != HL_BPF_OK)
            continue;
        accepted++;
        hl_bpf_decode(prog, n, ops);
        for (int j = 0; j < 12; j++) {
            const uint8_t *data;
            uint32_t caplen, wirelen;
            if (j < 8) {
                const struct tl_packet *pk = &cap.pkts[tl_rand(&rng) % cap.count];
                data = pk->data;
                caplen = pk->caplen;
                wirelen = pk->wirelen;
            } else {
                caplen = (uint32_t)(tl_rand(&rng) % sizeof rnd);
                for (size_t b = 0; b < caplen; b++)
                    rnd[b] = (uint8_t)tl_rand(&rng);
                data = rnd;
                wirelen = caplen + (uint32_t)(tl_rand(&rng) % 3 == 0 ? tl_rand(&rng) % 100 : 0);
            }
            if (j % 3 == 2 && caplen > 0)
                caplen = (uint32_t)(tl_rand(&rng) % caplen);
            size_t lens[6];
            size_t nl = tl_rand(&rng) % 7;
            for (size_t s = 0; s < nl; s++)
                lens[s] = tl_rand(&rng) % 4 == 0 ? 0 : tl_rand(&rng) % 40;
            struct tl_segs segs;
            tl_segs_make(&segs, data, caplen, lens, nl);
            uint32_t want = bpf_filter((const struct bpf_insn *)prog, data, wirelen, caplen);
            uint32_t got = hl_bpf_run(prog, n, segs.seg, segs.n, wirelen);
            uint32_t fast = hl_bpf_exec(ops, segs.seg, segs.n, wirelen);
            tl_segs_free(&segs);
            runs++;
            nonzero += want != 0;
            if ((got != want || fast != want) && failures++ < 10) {
                fprintf(stderr, "FAIL program %lu, caplen %u wirelen %u: run %u exec %u want %u\n",
                        accepted, caplen, wirelen, got, fast, want);
                tl_dump(prog, n);
            }
        }
    }
    tl_free_capture(&cap);
    printf("%lu generated, %lu accepted, %lu runs (%lu non-zero verdicts), %lu failures\n",
           generated, accepted, runs, nonzero, failures);
    if (accepted < 20000 || nonzero == 0 || accepted == generated) {
        fprintf(stderr, "FAIL: generator too weak (accepted %lu of %lu, %lu non-zero)\n", accepted,
                generated, nonzero);
        failures++;
    }
    return failures ? 1 : 0;
}
