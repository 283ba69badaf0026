/* hl_bpf_exec beside libpcap's bpf_filter (bpf_compare.h). */
#define _GNU_SOURCE
#include "bpf_compare.h"

#include <hotlwf/bpf.h>

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pkt {
    uint8_t *data;
    uint32_t caplen, wirelen;
    struct hl_seg seg[BPFCMP_SHAPES][3];
    size_t nseg[BPFCMP_SHAPES];
};

struct prog {
    struct bpf_program bpf;
    struct hl_bpf_op *ops;
};

struct set {
    struct prog *progs;
    unsigned nprogs;
    struct pkt *pkts;
    unsigned npkts;
};

static const char *const side_names[] = {"hl-whole", "hl-split14", "hl-split3", "pcap"};

static void set_free(struct set *s)
{
    unsigned i;

    for (i = 0; i < s->nprogs; i++) {
        pcap_freecode(&s->progs[i].bpf);
        free(s->progs[i].ops);
    }
    for (i = 0; i < s->npkts; i++)
        free(s->pkts[i].data);
    free(s->progs);
    free(s->pkts);
    memset(s, 0, sizeof(*s));
}

/* Cuts at the given offsets, each clamped to the packet: empty segments stay, as MDLs can. */
static void cut(struct pkt *p, enum bpfcmp_shape shape, const uint32_t *at, size_t nat)
{
    uint32_t prev = 0;
    size_t i;

    for (i = 0; i <= nat; i++) {
        uint32_t end = i < nat ? (at[i] < p->caplen ? at[i] : p->caplen) : p->caplen;
        p->seg[shape][i].data = p->data + prev;
        p->seg[shape][i].len = end - prev;
        prev = end;
    }
    p->nseg[shape] = nat + 1;
}

int bench_read_pcaps(const char *const *pcaps, unsigned npcaps, struct bench_pkt **pkts,
                     unsigned *count, char *err, size_t errlen)
{
    unsigned cap = 0, n = 0, f;
    struct bench_pkt *v = NULL;

    for (f = 0; f < npcaps; f++) {
        char ebuf[PCAP_ERRBUF_SIZE];
        pcap_t *pc = pcap_open_offline(pcaps[f], ebuf);
        struct pcap_pkthdr *h;
        const u_char *d;

        if (pc == NULL) {
            snprintf(err, errlen, "%s: %s", pcaps[f], ebuf);
            bench_free_pkts(v, n);
            return -1;
        }
        while (pcap_next_ex(pc, &h, &d) == 1) {
            if (n == cap) {
                struct bench_pkt *nv = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof(*nv));
                if (nv == NULL)
                    goto oom;
                v = nv;
            }
            v[n].data = malloc(h->caplen ? h->caplen : 1);
            if (v[n].data == NULL)
                goto oom;
            memcpy(v[n].data, d, h->caplen);
            v[n].caplen = h->caplen;
            v[n].wirelen = h->len;
            n++;
        }
        pcap_close(pc);
        continue;
    oom:
        pcap_close(pc);
        bench_free_pkts(v, n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no packets in the captures");
        bench_free_pkts(v, n);
        return -1;
    }
    *pkts = v;
    *count = n;
    return 0;
}

void bench_free_pkts(struct bench_pkt *pkts, unsigned count)
{
    unsigned i;

    for (i = 0; i < count; i++)
        free(pkts[i].data);
    free(pkts);
}

static int load_pcaps(struct set *s, const char *const *pcaps, unsigned npcaps, char *err,
                      size_t errlen)
{
    static const uint32_t at14[] = {14}, at3[] = {14, 34};
    struct bench_pkt *v;
    unsigned n, i;

    if (bench_read_pcaps(pcaps, npcaps, &v, &n, err, errlen) != 0)
        return -1;
    s->pkts = calloc(n, sizeof(*s->pkts));
    if (s->pkts == NULL) {
        bench_free_pkts(v, n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct pkt *p = &s->pkts[i];

        p->data = v[i].data; /* ownership moves to the set */
        p->caplen = v[i].caplen;
        p->wirelen = v[i].wirelen;
        cut(p, BPFCMP_WHOLE, NULL, 0);
        cut(p, BPFCMP_SPLIT14, at14, 1);
        cut(p, BPFCMP_SPLIT3, at3, 2);
    }
    s->npkts = n;
    free(v);
    return 0;
}

static int load_exprs(struct set *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    char line[1024];
    unsigned cap = 0;
    int rc = 0;

    if (f == NULL || dead == NULL) {
        snprintf(err, errlen, "%s: cannot open", path);
        rc = -1;
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\r\n");
        struct prog *p;

        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (s->nprogs == cap) {
            struct prog *np = realloc(s->progs, (cap = cap ? cap * 2 : 64) * sizeof(*np));
            if (np == NULL) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                goto out;
            }
            s->progs = np;
        }
        p = &s->progs[s->nprogs];
        /* Optimizer on: what lwfctl loads into the driver. */
        if (pcap_compile(dead, &p->bpf, line, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "\"%s\": %s", line, pcap_geterr(dead));
            rc = -1;
            goto out;
        }
        if (hl_bpf_validate((const struct hl_bpf_insn *)p->bpf.bf_insns, p->bpf.bf_len, NULL,
                            0) != HL_BPF_OK) {
            snprintf(err, errlen, "\"%s\": refused by hl_bpf_validate", line);
            pcap_freecode(&p->bpf);
            rc = -1;
            goto out;
        }
        p->ops = calloc(p->bpf.bf_len, sizeof(*p->ops));
        if (p->ops == NULL) {
            pcap_freecode(&p->bpf);
            snprintf(err, errlen, "out of memory");
            rc = -1;
            goto out;
        }
        hl_bpf_decode((const struct hl_bpf_insn *)p->bpf.bf_insns, p->bpf.bf_len, p->ops);
        s->nprogs++;
    }
    if (s->nprogs == 0) {
        snprintf(err, errlen, "%s: no expressions", path);
        rc = -1;
    }
out:
    if (f != NULL)
        fclose(f);
    if (dead != NULL)
        pcap_close(dead);
    return rc;
}

static int set_load(struct set *s, const char *exprs, const char *const *pcaps, unsigned npcaps,
                    char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (load_exprs(s, exprs, err, errlen) != 0 || load_pcaps(s, pcaps, npcaps, err, errlen) != 0) {
        set_free(s);
        return -1;
    }
    return 0;
}

/* Every program on every packet, packet-major as a classifier runs its rules. */
/* Packets [from, to) of the set: a chunk, or the whole pass. */
static __attribute__((noinline)) unsigned long long pass_hl(const struct set *s, int shape,
                                                            unsigned from, unsigned to)
{
    unsigned long long hits = 0;
    unsigned i, j;

    for (i = from; i < to; i++) {
        const struct pkt *p = &s->pkts[i];
        for (j = 0; j < s->nprogs; j++)
            hits += hl_bpf_exec(s->progs[j].ops, p->seg[shape], p->nseg[shape], p->wirelen) != 0;
    }
    return hits;
}

static __attribute__((noinline)) unsigned long long pass_pcap(const struct set *s, unsigned from,
                                                              unsigned to)
{
    unsigned long long hits = 0;
    unsigned i, j;

    for (i = from; i < to; i++) {
        const struct pkt *p = &s->pkts[i];
        for (j = 0; j < s->nprogs; j++)
            hits += bpf_filter(s->progs[j].bpf.bf_insns, p->data, p->wirelen, p->caplen) != 0;
    }
    return hits;
}

/* side: 0..BPFCMP_SHAPES-1 is hl_bpf_exec on that shape, BPFCMP_SHAPES is bpf_filter. */
static unsigned long long pass(const struct set *s, int side, unsigned from, unsigned to)
{
    return side < BPFCMP_SHAPES ? pass_hl(s, side, from, to) : pass_pcap(s, from, to);
}

static double now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, unsigned long n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * ns per pass of one side over rounds [r0, r1): per chunk, the median of
 * its rounds, summed over the chunks. t holds [round][chunk]; tmp, r1 - r0.
 */
static double robust_pass(const double *t, unsigned nchunks, unsigned long r0, unsigned long r1,
                          double *tmp)
{
    double sum = 0;
    unsigned long r;
    unsigned c;

    for (c = 0; c < nchunks; c++) {
        for (r = r0; r < r1; r++)
            tmp[r - r0] = t[r * nchunks + c];
        sum += median(tmp, r1 - r0);
    }
    return sum;
}

int bpfcmp_run(const char *exprs, const char *const *pcaps, unsigned npcaps, double seconds,
               struct bpfcmp_result *r, char *err, size_t errlen)
{
    struct set s;
    double *t[BPFCMP_SHAPES + 1] = {NULL}, *tmp = NULL, start;
    unsigned long rounds = 0, cap = 0;
    unsigned nchunks, c;
    unsigned long long want;
    int side, k, g, rc = 0;

    memset(r, 0, sizeof(*r));
    if (set_load(&s, exprs, pcaps, npcaps, err, errlen) != 0)
        return -1;
    r->nprogs = s.nprogs;
    r->npkts = s.npkts;
    r->runs_per_pass = (unsigned long)s.nprogs * s.npkts;
    want = pass_pcap(&s, 0, s.npkts);
    r->matches = want;
    nchunks = (s.npkts + BPFCMP_CHUNK - 1) / BPFCMP_CHUNK;
    start = now_ns();
    do {
        unsigned long long got[BPFCMP_SHAPES + 1] = {0};

        if (rounds == cap) {
            cap = cap ? cap * 2 : 64;
            for (side = 0; side <= BPFCMP_SHAPES; side++) {
                double *nt = realloc(t[side], cap * nchunks * sizeof(double));
                if (nt == NULL)
                    goto oom;
                t[side] = nt;
            }
        }
        for (c = 0; c < nchunks; c++) {
            unsigned from = c * BPFCMP_CHUNK;
            unsigned to = from + BPFCMP_CHUNK < s.npkts ? from + BPFCMP_CHUNK : s.npkts;

            for (k = 0; k <= BPFCMP_SHAPES; k++) {
                double t0;

                side = (int)((k + c + rounds) % (BPFCMP_SHAPES + 1));
                t0 = now_ns();
                got[side] += pass(&s, side, from, to);
                t[side][rounds * nchunks + c] = now_ns() - t0;
            }
        }
        for (side = 0; side <= BPFCMP_SHAPES; side++)
            if (got[side] != want) {
                snprintf(err, errlen, "%s matched %llu program runs, bpf_filter %llu",
                         side_names[side], got[side], want);
                rc = -1;
                goto out;
            }
        rounds++;
    } while (rounds < BPFCMP_MIN_ROUNDS || (now_ns() - start) < seconds * 1e9);
    r->rounds = rounds;
    tmp = malloc(rounds * sizeof(*tmp));
    if (tmp == NULL)
        goto oom;
    {
        double pcap = robust_pass(t[BPFCMP_SHAPES], nchunks, 0, rounds, tmp);

        r->ns_pcap = pcap / (double)r->runs_per_pass;
        for (side = 0; side < BPFCMP_SHAPES; side++) {
            double hl = robust_pass(t[side], nchunks, 0, rounds, tmp);

            r->ns_hl[side] = hl / (double)r->runs_per_pass;
            r->ratio[side] = pcap / hl;
            r->ratio_lo[side] = 1e30;
            r->ratio_hi[side] = 0;
        }
    }
    /* The spread: the same figure from each of BPFCMP_GROUPS disjoint slices of the rounds. */
    for (g = 0; g < BPFCMP_GROUPS; g++) {
        unsigned long r0 = rounds * (unsigned long)g / BPFCMP_GROUPS;
        unsigned long r1 = rounds * (unsigned long)(g + 1) / BPFCMP_GROUPS;
        double pcap = robust_pass(t[BPFCMP_SHAPES], nchunks, r0, r1, tmp);

        for (side = 0; side < BPFCMP_SHAPES; side++) {
            double ratio = pcap / robust_pass(t[side], nchunks, r0, r1, tmp);

            if (ratio < r->ratio_lo[side])
                r->ratio_lo[side] = ratio;
            if (ratio > r->ratio_hi[side])
                r->ratio_hi[side] = ratio;
        }
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = -1;
out:
    for (side = 0; side <= BPFCMP_SHAPES; side++)
        free(t[side]);
    free(tmp);
    set_free(&s);
    return rc;
}

int bpfcmp_once(const char *exprs, const char *const *pcaps, unsigned npcaps, const char *side,
                FILE *out, char *err, size_t errlen)
{
    struct set s;
    int k;

    for (k = 0; k <= BPFCMP_SHAPES; k++)
        if (strcmp(side, side_names[k]) == 0)
            break;
    if (k > BPFCMP_SHAPES) {
        snprintf(err, errlen, "unknown side '%s' (hl-whole, hl-split14, hl-split3, pcap)", side);
        return -1;
    }
    if (set_load(&s, exprs, pcaps, npcaps, err, errlen) != 0)
        return -1;
    fprintf(out, "matches %llu\nruns %lu\n", pass(&s, k, 0, s.npkts), (unsigned long)s.nprogs * s.npkts);
    set_free(&s);
    return 0;
}

void bpfcmp_print(FILE *f, const struct bpfcmp_result *r)
{
    static const char *const shape_names[] = {"contiguous", "split 14|rest",
                                              "split 14|20|rest"};
    int k;

    fprintf(f, "| packets (hl_bpf_exec) | hl_bpf_exec ns/run | bpf_filter ns/run (contiguous) | "
               "bpf_filter / hl_bpf_exec | spread |\n|---|---:|---:|---:|---:|\n");
    for (k = 0; k < BPFCMP_SHAPES; k++)
        fprintf(f, "| %s | %.2f | %.2f | %.2f | %.2f .. %.2f |\n", shape_names[k], r->ns_hl[k],
                r->ns_pcap, r->ratio[k], r->ratio_lo[k], r->ratio_hi[k]);
    fprintf(f, "\n%u programs x %u packets, %llu matches per pass; %lu interleaved rounds of "
               "%u-packet chunks: per chunk the median of its rounds; spread: the ratio from "
               "each fifth of the rounds\n",
            r->nprogs, r->npkts, r->matches, r->rounds, BPFCMP_CHUNK);
}
