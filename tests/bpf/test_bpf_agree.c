/*
 * hl_bpf_run, and hl_bpf_exec over the same program decoded, must give
 * libpcap's bpf_filter() verdict for every expression
 * of expressions.txt on every packet of the shared captures, however the
 * packet is cut into segments: (a) whole, (b) cut in two at every offset,
 * (c) random cuts with empty segments, (d) truncated captured lengths.
 * bpf_filter() is the reference because lwfctl's dry run and users' tcpdump
 * habits both assume its semantics.
 */
#include "bpf_testlib.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

struct prog {
    const char *expr;
    int opt;
    struct bpf_program bpf;
    struct hl_bpf_op *ops; /* hl_bpf_decode's output */
};

static size_t nprogs;
static struct prog *progs;
static unsigned long runs, failures;
/* bpf_filter's verdict per program for the current packet and caplen: one
 * reference run serves every way of cutting that packet. */
static uint32_t *wants;
static uint32_t wants_caplen = UINT32_MAX;
static const struct tl_packet *wants_pkt;

static void check(const struct prog *p, uint32_t want, const struct tl_packet *pk, uint32_t caplen,
                  const struct tl_segs *s, const char *how)
{
    uint32_t got = hl_bpf_run((const struct hl_bpf_insn *)p->bpf.bf_insns, p->bpf.bf_len, s->seg,
                              s->n, pk->wirelen);
    uint32_t fast = hl_bpf_exec(p->ops, s->seg, s->n, pk->wirelen);
    runs++;
    if (got == want && fast == want)
        return;
    if (failures++ < 20) {
        fprintf(stderr,
                "FAIL \"%s\" (optimize %d), %s, caplen %u wirelen %u: run %u exec %u want %u; segs",
                p->expr, p->opt, how, caplen, pk->wirelen, got, fast, want);
        for (size_t i = 0; i < s->n; i++)
            fprintf(stderr, " %zu", s->seg[i].len);
        fprintf(stderr, "\n");
    }
}

static void check_all(const struct tl_packet *pk, uint32_t caplen, const size_t *lens, size_t nlens,
                      const char *how)
{
    struct tl_segs s;
    if (wants_pkt != pk || wants_caplen != caplen) {
        for (size_t i = 0; i < nprogs; i++)
            wants[i] = bpf_filter(progs[i].bpf.bf_insns, pk->data, pk->wirelen, caplen);
        wants_pkt = pk;
        wants_caplen = caplen;
    }
    tl_segs_make(&s, pk->data, caplen, lens, nlens);
    for (size_t i = 0; i < nprogs; i++)
        check(&progs[i], wants[i], pk, caplen, &s, how);
    tl_segs_free(&s);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s expressions.txt captures-dir-or-pcap\n", argv[0]);
        return 2;
    }
    size_t nexpr;
    char **exprs = tl_read_lines(argv[1], &nexpr);
    progs = calloc(2 * nexpr, sizeof *progs);
    wants = calloc(2 * nexpr, sizeof *wants);
    for (size_t i = 0; i < nexpr; i++) {
        for (int opt = 0; opt <= 1; opt++) {
            struct prog *p = &progs[nprogs];
            char err[PCAP_ERRBUF_SIZE + 64], reason[128];
            if (!tl_compile(exprs[i], opt, &p->bpf, err, sizeof err)) {
                fprintf(stderr, "FAIL: cannot compile \"%s\": %s\n", exprs[i], err);
                return 1;
            }
            if (hl_bpf_validate((const struct hl_bpf_insn *)p->bpf.bf_insns, p->bpf.bf_len, reason,
                                sizeof reason) != HL_BPF_OK) {
                fprintf(stderr, "FAIL: \"%s\" refused: %s\n", exprs[i], reason);
                return 1;
            }
            p->ops = calloc(p->bpf.bf_len, sizeof *p->ops);
            hl_bpf_decode((const struct hl_bpf_insn *)p->bpf.bf_insns, p->bpf.bf_len, p->ops);
            p->expr = exprs[i];
            p->opt = opt;
            nprogs++;
        }
    }

    struct tl_capture cap;
    tl_load_captures(argv[2], &cap);
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    unsigned long matched = 0;
    for (size_t n = 0; n < cap.count; n++) {
        const struct tl_packet *pk = &cap.pkts[n];
        size_t cut;

        check_all(pk, pk->caplen, NULL, 0, "one segment");
        /* Every split: loads straddling the cut at each byte of each header. */
        for (cut = 0; cut <= pk->caplen; cut++)
            check_all(pk, pk->caplen, &cut, 1, "two segments");
        for (int r = 0; r < 4; r++) {
            size_t lens[12];
            size_t nl = 1 + tl_rand(&rng) % 12;
            for (size_t i = 0; i < nl; i++) {
                /* A third of the cuts are empty segments, the rest short ones. */
                uint64_t x = tl_rand(&rng);
                lens[i] = x % 3 == 0 ? 0 : (x >> 8) % 24;
            }
            check_all(pk, pk->caplen, lens, nl, "random segments");
        }
        /* Truncation: every captured length over the headers, a few beyond. */
        for (uint32_t t = 0; t < pk->caplen; t++) {
            if (t > 96 && t % 97 != 0)
                continue;
            cut = t / 2;
            check_all(pk, t, &cut, 1, "truncated, two segments");
            check_all(pk, t, NULL, 0, "truncated");
        }
        for (size_t i = 0; i < nprogs; i++)
            matched += bpf_filter(progs[i].bpf.bf_insns, pk->data, pk->wirelen, pk->caplen) != 0;
    }
    /* A filter set that matches nothing would agree trivially. */
    if (matched == 0) {
        fprintf(stderr, "FAIL: no expression matched any packet\n");
        failures++;
    }
    for (size_t i = 0; i < nprogs; i++) {
        pcap_freecode(&progs[i].bpf);
        free(progs[i].ops);
    }
    free(progs);
    free(wants);
    tl_free_strv(exprs, nexpr);
    size_t npkts = cap.count;
    tl_free_capture(&cap);
    printf("%zu programs x %zu packets: %lu runs, %lu program/packet matches, %lu failures\n",
           nprogs, npkts, runs, matched, failures);
    return failures ? 1 : 0;
}
