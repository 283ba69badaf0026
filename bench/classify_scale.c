/* hl_classify's cost against the number of rules (classify_scale.h). */
#define _GNU_SOURCE
#include "classify_scale.h"

#include <hotlwf/config.h>
#include <hotlwf/heap.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rules.h"
#include "bpf_compare.h"

#define MAX_SIZES 8

struct point {
    unsigned rules;
    struct hl_snapshot *snap;
    struct hl_view *view;
    double spent_ns;
    unsigned long long matched;
    double compile_ms; /* hl_config_compile, best of 3 */
    struct hl_snapshot_info info;
};

static double now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int parse(const char *spec, char *shape, size_t shape_len, unsigned *sizes, unsigned *n)
{
    const char *colon = strchr(spec, ':');
    char *end;

    *n = 0;
    if (colon == NULL || (size_t)(colon - spec) >= shape_len)
        return -1;
    memcpy(shape, spec, (size_t)(colon - spec));
    shape[colon - spec] = '\0';
    if (!bench_rules_shape_ok(shape))
        return -1;
    for (spec = colon + 1; *spec != '\0' && *n < MAX_SIZES; spec = end + (*end == ',')) {
        unsigned long v = strtoul(spec, &end, 10);
        if (end == spec || v == 0 || v > HL_MAX_RULES)
            return -1;
        sizes[(*n)++] = (unsigned)v;
    }
    return *n > 0 ? 0 : -1;
}

static int point_make(struct point *pt, const char *shape, unsigned rules, char *err, size_t errlen)
{
    static const struct hl_adapter_id any; /* rules of every shape select all adapters */
    size_t len = 0;
    uint8_t *blob = bench_rules_blob(shape, rules, 0, &len, err, errlen);

    unsigned rep;

    memset(pt, 0, sizeof(*pt));
    pt->rules = rules;
    pt->compile_ms = 1e30;
    if (blob == NULL)
        return -1;
    /* Best of 3, the last one kept: the compile's own cost, not the machine's other load. */
    for (rep = 0; rep < 3; rep++) {
        double t0 = now_ns(), ms;

        hl_snapshot_free(pt->snap);
        pt->snap = NULL;
        if (hl_config_compile(blob, len, &hl_heap, 2, &pt->snap, err, errlen) != HL_OK) {
            free(blob);
            return -1;
        }
        ms = (now_ns() - t0) / 1e6;
        if (ms < pt->compile_ms)
            pt->compile_ms = ms;
    }
    free(blob);
    hl_snapshot_get_info(pt->snap, &pt->info);
    pt->view = malloc(sizeof(*pt->view));
    if (pt->view == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hl_view_refresh(pt->view, pt->snap, &any);
    return 0;
}

static void point_free(struct point *pt)
{
    hl_snapshot_free(pt->snap);
    free(pt->view);
}

static __attribute__((noinline)) unsigned long long pass(const struct point *pt,
                                                         const struct bench_pkt *pkts, unsigned n)
{
    unsigned long long matched = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        struct hl_seg seg = {pkts[i].data, pkts[i].caplen};
        uint32_t rule = 0;

        (void)hl_classify(pt->view, HL_DIR_IN, &seg, 1, pkts[i].wirelen, &rule);
        matched += rule != 0;
    }
    return matched;
}


/* Interleaved: each round classifies every packet through every point, rotated. Returns rounds. */
static unsigned long measure(struct point *pts, unsigned n, const struct bench_pkt *pkts,
                             unsigned npkts, double seconds)
{
    unsigned long rounds = 0;
    double start = now_ns();
    unsigned k;

    do {
        for (k = 0; k < n; k++) {
            struct point *pt = &pts[(k + rounds) % n];
            double t0 = now_ns();
            pt->matched = pass(pt, pkts, npkts);
            pt->spent_ns += now_ns() - t0;
        }
        rounds++;
    } while (now_ns() - start < seconds * 1e9);
    return rounds;
}

int classify_scale(const char *spec, const char *const *pcaps, unsigned npcaps, double seconds,
                   FILE *out)
{
    struct point pts[MAX_SIZES];
    unsigned sizes[MAX_SIZES], nsizes, npkts, k, made = 0;
    unsigned long rounds = 0;
    struct bench_pkt *pkts;
    char shape[32], err[256];
    int rc = 1;

    if (parse(spec, shape, sizeof(shape), sizes, &nsizes) != 0) {
        fprintf(stderr, "hotlwf-bpfbench: --classify SHAPE:N1,N2,... (1..%u rules)\n", HL_MAX_RULES);
        return 2;
    }
    if (bench_read_pcaps(pcaps, npcaps, &pkts, &npkts, err, sizeof(err)) != 0) {
        fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
        return 1;
    }
    for (made = 0; made < nsizes; made++) {
        if (point_make(&pts[made], shape, sizes[made], err, sizeof(err)) != 0) {
            fprintf(stderr, "hotlwf-bpfbench: %u %s rules: %s\n", sizes[made], shape, err);
            point_free(&pts[made]);
            goto out;
        }
    }
    rounds = measure(pts, nsizes, pkts, npkts, seconds);
    fprintf(out,
            "| rules (%s) | ns / packet | packets/s (one core) | / first size | packets "
            "matched |\n|---:|---:|---:|---:|---:|\n",
            shape);
    for (k = 0; k < nsizes; k++) {
        double ns = pts[k].spent_ns / ((double)rounds * npkts);
        double ns0 = pts[0].spent_ns / ((double)rounds * npkts);
        fprintf(out, "| %u | %.1f | %.3g | %.2f | %llu of %u |\n", pts[k].rules, ns, 1e9 / ns,
                ns / ns0, pts[k].matched, npkts);
    }
    rc = 0;
out:
    for (k = 0; k < made; k++)
        point_free(&pts[k]);
    bench_free_pkts(pkts, npkts);
    return rc;
}

int classify_once(const char *spec, const char *const *pcaps, unsigned npcaps, FILE *out)
{
    struct point pt;
    unsigned sizes[MAX_SIZES], nsizes, npkts;
    struct bench_pkt *pkts;
    char shape[32], err[256];

    if (parse(spec, shape, sizeof(shape), sizes, &nsizes) != 0 || nsizes != 1) {
        fprintf(stderr, "hotlwf-bpfbench: --classify-once SHAPE:N\n");
        return 2;
    }
    if (bench_read_pcaps(pcaps, npcaps, &pkts, &npkts, err, sizeof(err)) != 0 ||
        point_make(&pt, shape, sizes[0], err, sizeof(err)) != 0) {
        fprintf(stderr, "hotlwf-bpfbench: %s\n", err);
        return 1;
    }
    fprintf(out, "matched %llu\nruns %u\n", pass(&pt, pkts, npkts), npkts);
    point_free(&pt);
    bench_free_pkts(pkts, npkts);
    return 0;
}

int classify_scale_rules(const char *const *shapes, unsigned nshapes, const unsigned *sizes,
                         unsigned nsizes, const char *const *pcaps, unsigned npcaps, double seconds,
                         FILE *out, const char *json_path)
{
    struct point pts[CLASSIFY_SCALE_MAX_SIZES];
    unsigned npkts, k, sh, made, base;
    struct bench_pkt *pkts;
    char err[256];
    FILE *json = NULL;
    int rc = 1;

    if (nsizes == 0 || nsizes > CLASSIFY_SCALE_MAX_SIZES)
        return 2;
    for (k = 0; k < nsizes; k++)
        if (sizes[k] == 0 || sizes[k] > HL_MAX_RULES)
            return 2;
    if (bench_read_pcaps(pcaps, npcaps, &pkts, &npkts, err, sizeof(err)) != 0) {
        fprintf(stderr, "hotlwf-bench: %s\n", err);
        return 1;
    }
    if (json_path != NULL && (json = fopen(json_path, "w")) == NULL) {
        perror(json_path);
        bench_free_pkts(pkts, npkts);
        return 1;
    }
    /* The base of the ratio: 10 rules if measured (the target), else the first size. */
    for (base = 0; base < nsizes && sizes[base] != 10; base++)
        ;
    if (base == nsizes)
        base = 0;
    fprintf(out,
            "\n### hl_classify against the number of rules (%u packets, received direction, "
            "%.1f s interleaved per shape)\n\n"
            "| shape | rules | ns / packet | packets/s (one core) | packets/s / %u rules | "
            "compile ms (best of 3) | snapshot bytes (2 CPUs) | index bytes | rules indexed | "
            "packets matched |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            npkts, seconds, sizes[base]);
    if (json != NULL)
        fprintf(json, "{\"scale\":\"rules\",\"packets\":%u,\"seconds\":%.2f,\"shapes\":[", npkts,
                seconds);
    for (sh = 0; sh < nshapes; sh++) {
        for (made = 0; made < nsizes; made++) {
            fprintf(stderr, "rules scale: %s: %u rules: compiling (libpcap, then the driver's "
                            "compile, 3 times)\n",
                    shapes[sh], sizes[made]);
            if (point_make(&pts[made], shapes[sh], sizes[made], err, sizeof(err)) != 0) {
                fprintf(stderr, "hotlwf-bench: %u %s rules: %s\n", sizes[made], shapes[sh], err);
                point_free(&pts[made]);
                goto out;
            }
            fprintf(stderr, "rules scale: %s: %u rules: compiled in %.1f ms, %llu + %llu bytes\n",
                    shapes[sh], sizes[made], pts[made].compile_ms,
                    (unsigned long long)pts[made].info.snapshot_bytes,
                    (unsigned long long)pts[made].info.index_bytes);
        }
        fprintf(stderr, "rules scale: %s: classifying through the %u rule sets, %.1f s\n",
                shapes[sh], nsizes, seconds);
        unsigned long rounds = measure(pts, nsizes, pkts, npkts, seconds);
        double ns0 = pts[base].spent_ns / ((double)rounds * npkts);
        if (json != NULL)
            fprintf(json, "%s{\"shape\":\"%s\",\"points\":[", sh ? "," : "", shapes[sh]);
        for (k = 0; k < nsizes; k++) {
            const struct point *pt = &pts[k];
            double ns = pt->spent_ns / ((double)rounds * npkts);

            fprintf(out, "| %s | %u | %.1f | %.3g | %.2f | %.2f | %llu | %llu | %u | %llu of %u |\n",
                    shapes[sh], pt->rules, ns, 1e9 / ns, ns0 / ns, pt->compile_ms,
                    (unsigned long long)pt->info.snapshot_bytes,
                    (unsigned long long)pt->info.index_bytes, pt->info.indexed, pt->matched, npkts);
            if (json != NULL)
                fprintf(json,
                        "%s{\"rules\":%u,\"ns_per_packet\":%.2f,\"pps\":%.0f,\"pps_ratio\":%.4f,"
                        "\"compile_ms\":%.3f,\"snapshot_bytes\":%llu,\"index_bytes\":%llu,"
                        "\"rules_indexed\":%u,\"matched\":%llu}",
                        k ? "," : "", pt->rules, ns, 1e9 / ns, ns0 / ns, pt->compile_ms,
                        (unsigned long long)pt->info.snapshot_bytes,
                        (unsigned long long)pt->info.index_bytes, pt->info.indexed, pt->matched);
        }
        if (json != NULL)
            fprintf(json, "]}");
        for (k = 0; k < nsizes; k++)
            point_free(&pts[k]);
        fflush(out);
    }
    made = 0;
    rc = 0;
out:
    for (k = 0; k < made; k++)
        point_free(&pts[k]);
    if (json != NULL) {
        fprintf(json, "]}\n");
        if (fclose(json) != 0)
            rc = 1;
    }
    bench_free_pkts(pkts, npkts);
    return rc;
}
