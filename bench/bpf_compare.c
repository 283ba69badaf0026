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
static __attribute__((noinline)) unsigned long long pass_hl(const struct set *s, int shape)
{
    unsigned long long hits = 0;
    unsigned i, j;

    for (i = 0; i < s->npkts; i++) {
        const struct pkt *p = &s->pkts[i];
        for (j = 0; j < s->nprogs; j++)
            hits += hl_bpf_exec(s->progs[j].ops, p->seg[shape], p->nseg[shape], p->wirelen) != 0;
    }
    return hits;
}

static __attribute__((noinline)) unsigned long long pass_pcap(const struct set *s)
{
    unsigned long long hits = 0;
    unsigned i, j;

    for (i = 0; i < s->npkts; i++) {
        const struct pkt *p = &s->pkts[i];
        for (j = 0; j < s->nprogs; j++)
            hits += bpf_filter(s->progs[j].bpf.bf_insns, p->data, p->wirelen, p->caplen) != 0;
    }
    return hits;
}

/* side: 0..BPFCMP_SHAPES-1 is hl_bpf_exec on that shape, BPFCMP_SHAPES is bpf_filter. */
static unsigned long long pass(const struct set *s, int side)
{
    return side < BPFCMP_SHAPES ? pass_hl(s, side) : pass_pcap(s);
}

static double now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int bpfcmp_run(const char *exprs, const char *const *pcaps, unsigned npcaps, double seconds,
               struct bpfcmp_result *r, char *err, size_t errlen)
{
    struct set s;
    double spent[BPFCMP_SHAPES + 1] = {0}, t0, start;
    unsigned long passes = 0;
    unsigned long long want = 0;
    int side, k, rc = 0;

    memset(r, 0, sizeof(*r));
    if (set_load(&s, exprs, pcaps, npcaps, err, errlen) != 0)
        return -1;
    r->nprogs = s.nprogs;
    r->npkts = s.npkts;
    r->runs_per_pass = (unsigned long)s.nprogs * s.npkts;
    want = pass_pcap(&s);
    r->matches = want;
    /* Interleaved: each round runs every side once, in an order rotated by the round. */
    start = now_ns();
    do {
        for (k = 0; k <= BPFCMP_SHAPES; k++) {
            unsigned long long got;

            side = (int)((k + passes) % (BPFCMP_SHAPES + 1));
            t0 = now_ns();
            got = pass(&s, side);
            spent[side] += now_ns() - t0;
            if (got != want) {
                snprintf(err, errlen, "%s matched %llu program runs, bpf_filter %llu",
                         side_names[side], got, want);
                rc = -1;
            }
        }
        passes++;
    } while (rc == 0 && (now_ns() - start) < seconds * 1e9);
    for (side = 0; side < BPFCMP_SHAPES; side++)
        r->ns_hl[side] = spent[side] / ((double)passes * (double)r->runs_per_pass);
    r->ns_pcap = spent[BPFCMP_SHAPES] / ((double)passes * (double)r->runs_per_pass);
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
    fprintf(out, "matches %llu\nruns %lu\n", pass(&s, k), (unsigned long)s.nprogs * s.npkts);
    set_free(&s);
    return 0;
}

void bpfcmp_print(FILE *f, const struct bpfcmp_result *r)
{
    static const char *const shape_names[] = {"contiguous", "split 14|rest",
                                              "split 14|20|rest"};
    int k;

    fprintf(f, "| packets (hl_bpf_exec) | hl_bpf_exec ns/run | bpf_filter ns/run (contiguous) | "
               "bpf_filter / hl_bpf_exec |\n|---|---:|---:|---:|\n");
    for (k = 0; k < BPFCMP_SHAPES; k++)
        fprintf(f, "| %s | %.2f | %.2f | %.2f |\n", shape_names[k], r->ns_hl[k], r->ns_pcap,
                r->ns_hl[k] > 0 ? r->ns_pcap / r->ns_hl[k] : 0.0);
    fprintf(f, "\n%u programs x %u packets, %llu matches per pass\n", r->nprogs, r->npkts,
            r->matches);
}
