/*
 * The interpreter beside libpcap's: hl_bpf_exec (programs decoded as a
 * snapshot holds them) and bpf_filter run the same pcap-filter programs
 * (compiled by libpcap, optimizer on, as lwfctl does) on the same packets,
 * interleaved in one run. Contiguous packets, and packets split across
 * segments as MDL chains hold them; bpf_filter, which can only read a
 * contiguous buffer, always gets the contiguous packet, copy not charged.
 */
#ifndef HOTLWF_BENCH_BPF_COMPARE_H
#define HOTLWF_BENCH_BPF_COMPARE_H

#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

/* One packet of a capture, its bytes malloc()ed. */
struct bench_pkt {
    uint8_t *data;
    uint32_t caplen, wirelen;
};

/* Every packet of the pcaps, in order. Returns 0, or -1 with a message in err. */
int bench_read_pcaps(const char *const *pcaps, unsigned npcaps, struct bench_pkt **pkts,
                     unsigned *count, char *err, size_t errlen);
void bench_free_pkts(struct bench_pkt *pkts, unsigned count);

/* How the packets are cut for hl_bpf_exec. */
enum bpfcmp_shape {
    BPFCMP_WHOLE,   /* one segment */
    BPFCMP_SPLIT14, /* Ethernet header | the rest */
    BPFCMP_SPLIT3,  /* Ethernet header | 20 bytes (an IPv4 header) | the rest */
    BPFCMP_SHAPES
};

/*
 * Interleaved at a fine grain, so that a burst of other load on the machine
 * spoils a few samples, not the figure: each round walks the packets in
 * chunks of BPFCMP_CHUNK, and times every side on a chunk (in an order
 * rotated by chunk and round) before moving to the next. A side's time per
 * pass is, summed over the chunks, the median of that chunk's times over the
 * rounds; the ratio is bpf_filter's over hl_bpf_exec's. Its spread: the
 * lowest and highest ratio the same method gives on each of BPFCMP_GROUPS
 * disjoint slices of the rounds.
 */
#define BPFCMP_CHUNK 128u
#define BPFCMP_GROUPS 5
#define BPFCMP_MIN_ROUNDS 15ul

struct bpfcmp_result {
    unsigned nprogs, npkts;
    unsigned long runs_per_pass; /* nprogs * npkts */
    unsigned long rounds;
    double ns_hl[BPFCMP_SHAPES]; /* per program run */
    double ns_pcap;              /* bpf_filter, contiguous */
    double ratio[BPFCMP_SHAPES]; /* bpf_filter / hl_bpf_exec */
    double ratio_lo[BPFCMP_SHAPES], ratio_hi[BPFCMP_SHAPES]; /* its spread */
    unsigned long long matches;  /* verdicts != 0 in one pass, as a sanity figure */
};

/*
 * Loads expressions (one per line, '#' comments) and the packets of the
 * pcaps, then times interleaved rounds for about `seconds` (at least
 * BPFCMP_MIN_ROUNDS). Returns 0, or -1 with a message in err.
 */
int bpfcmp_run(const char *exprs, const char *const *pcaps, unsigned npcaps, double seconds,
               struct bpfcmp_result *r, char *err, size_t errlen);

/*
 * One pass of one side only, nothing timed: what callgrind counts
 * (bench/bpf_instructions.sh). side: "hl-whole", "hl-split14", "hl-split3"
 * or "pcap". Prints "runs N" on out.
 */
int bpfcmp_once(const char *exprs, const char *const *pcaps, unsigned npcaps, const char *side,
                FILE *out, char *err, size_t errlen);

/* One Markdown line per shape: ns per run of each and the ratio. */
void bpfcmp_print(FILE *f, const struct bpfcmp_result *r);

#endif
