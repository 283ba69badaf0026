/*
 * The limits of one configuration, through the driver's IOCTL path
 * (docs/rules.md, "Limits"): a configuration at each limit is accepted and
 * its compile figures are reported by SET_CONFIG and GET_STATS; one over
 * each limit (rules, instructions of a program, blob bytes) is refused
 * whole with its own status and a reason naming the limit, and the running
 * configuration stays in force: same blob, same generation, same snapshot.
 * The snapshot-bytes limit cannot be reached with ndisemu's 64 CPUs at
 * most; tests/config/test_blob.c checks it on the compiler.
 *
 * usage: test_limits HOTLWF.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* What must not change when a configuration is refused. */
struct running {
    uint8_t *blob;
    size_t len;
    struct hl_stats_header stats;
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void stats_header(struct hl_stats_header *h)
{
    size_t len;
    uint8_t *s = hlt_get_stats(&len);

    memset(h, 0, sizeof(*h));
    HLT_CHECK(s != NULL && len >= sizeof(*h), "GET_STATS: %zu bytes", len);
    if (s != NULL && len >= sizeof(*h))
        memcpy(h, s, sizeof(*h));
    free(s);
}

/* Loads blob, checks what SET_CONFIG and GET_STATS report about it, records it as running. */
static void accept(const uint8_t *blob, size_t len, uint32_t rules, struct running *run,
                   const char *what)
{
    struct hl_set_config_result r;
    NTSTATUS st = hlt_set_config(blob, len, &r);

    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK, "%s: 0x%08x %s %s", what,
              (unsigned)st, hl_status_name(r.status), r.reason);
    HLT_CHECK(r.compile_ns > 0 && r.snapshot_bytes > len && r.index_bytes > 0,
              "%s: compile %llu ns, snapshot %llu bytes, index %llu bytes", what,
              (unsigned long long)r.compile_ns, (unsigned long long)r.snapshot_bytes,
              (unsigned long long)r.index_bytes);
    HLT_CHECK(r.snapshot_bytes + r.index_bytes <= HL_SNAPSHOT_MAX, "%s: over the limit", what);
    free(run->blob);
    run->blob = hlt_get_config(&run->len);
    HLT_CHECK(run->len == len && memcmp(run->blob, blob, len) == 0, "%s: GET_CONFIG differs", what);
    stats_header(&run->stats);
    HLT_CHECK(run->stats.header_size == sizeof(run->stats) && run->stats.rule_count == rules &&
                  run->stats.generation == r.generation &&
                  run->stats.compile_ns == r.compile_ns &&
                  run->stats.snapshot_bytes == r.snapshot_bytes &&
                  run->stats.index_bytes == r.index_bytes &&
                  run->stats.rules_indexed == r.rules_indexed &&
                  run->stats.index_fields == r.index_fields,
              "%s: GET_STATS disagrees with SET_CONFIG (%u rules, generation %llu)", what,
              run->stats.rule_count, (unsigned long long)run->stats.generation);
}

/* blob must be refused with want, for a reason containing limit; nothing may change. */
static void refuse(const uint8_t *blob, size_t len, int want, const char *limit,
                   const struct running *run, const char *what)
{
    struct hl_set_config_result r;
    struct hl_stats_header now;
    size_t cur_len;
    uint8_t *cur;
    NTSTATUS st = hlt_set_config(blob, len, &r);

    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && r.status == want, "%s: 0x%08x %s, want %s",
              what, (unsigned)st, hl_status_name(r.status), hl_status_name(want));
    HLT_CHECK(strstr(r.reason, limit) != NULL, "%s: reason \"%s\" lacks \"%s\"", what, r.reason,
              limit);
    HLT_CHECK(r.generation == run->stats.generation && r.snapshot_bytes == 0,
              "%s: generation %llu (running %llu), snapshot %llu bytes", what,
              (unsigned long long)r.generation, (unsigned long long)run->stats.generation,
              (unsigned long long)r.snapshot_bytes);
    cur = hlt_get_config(&cur_len);
    HLT_CHECK(cur_len == run->len && memcmp(cur, run->blob, cur_len) == 0,
              "%s: the running configuration changed", what);
    free(cur);
    stats_header(&now);
    HLT_CHECK(now.generation == run->stats.generation && now.rule_count == run->stats.rule_count &&
                  now.snapshot_bytes == run->stats.snapshot_bytes &&
                  now.compile_ns == run->stats.compile_ns,
              "%s: GET_STATS changed (generation %llu, %u rules)", what,
              (unsigned long long)now.generation, now.rule_count);
}

/* n rules of one instruction each ("ret #1", unindexed), header rule_count = count. */
static uint8_t *tiny_rules(uint32_t n, uint32_t count, size_t *len)
{
    uint8_t *b;
    uint32_t i;

    *len = HL_BLOB_HEADER_SIZE + (size_t)n * 24;
    b = calloc(1, *len);
    put32(b, HL_BLOB_MAGIC);
    b[4] = HL_BLOB_VERSION;
    b[6] = HL_BLOB_HEADER_SIZE;
    put32(b + 8, (uint32_t)*len);
    put32(b + 12, count);
    for (i = 0; i < n; i++) {
        uint8_t *r = b + HL_BLOB_HEADER_SIZE + (size_t)i * 24;
        put32(r, 24);
        r[4] = HL_ACTION_PASS;
        r[5] = HL_DIR_BOTH;
        put32(r + 8, 1);
        r[16] = 0x06; /* ret #1 */
        put32(r + 20, 1);
    }
    return b;
}

/* One rule of ninsns instructions: ninsns - 1 loads of a constant, then "ret #1". */
static uint8_t *long_rule(uint32_t ninsns, size_t *len)
{
    uint32_t size = 16 + 8 * ninsns, i;
    uint8_t *b;

    *len = HL_BLOB_HEADER_SIZE + size;
    b = calloc(1, *len);
    put32(b, HL_BLOB_MAGIC);
    b[4] = HL_BLOB_VERSION;
    b[6] = HL_BLOB_HEADER_SIZE;
    put32(b + 8, (uint32_t)*len);
    put32(b + 12, 1);
    put32(b + 32, size);
    b[32 + 4] = HL_ACTION_PASS;
    b[32 + 5] = HL_DIR_BOTH;
    put32(b + 32 + 8, ninsns);
    for (i = 0; i < ninsns; i++)
        b[48 + 8 * i] = i + 1 < ninsns ? 0x00 /* ld #0 */ : 0x06 /* ret #k */;
    put32(b + 48 + 8 * (ninsns - 1) + 4, 1);
    return b;
}

int main(int argc, char **argv)
{
    const struct hlt_rule rules[] = {
        {HL_ACTION_DROP, HL_DIR_IN, "udp port 53", {0}},
        {HL_ACTION_PASS, HL_DIR_BOTH, "host 10.1.2.3", {0}},
    };
    struct running run = {NULL, 0, {0}};
    uint8_t *blob;
    size_t len;

    if (argc != 2) {
        fprintf(stderr, "usage: %s HOTLWF.so\n", argv[0]);
        return 2;
    }
    struct emu_driver *drv = hlt_boot(2, argv[1], "hotlwf", NULL);

    blob = hlt_blob(rules, 2, HL_ACTION_PASS, &len);
    accept(blob, len, 2, &run, "two rules");
    HLT_CHECK(run.stats.rules_indexed == 2 && run.stats.index_fields >= 2,
              "two indexable rules: %u indexed on %u fields", run.stats.rules_indexed,
              run.stats.index_fields);
    free(blob);

    /* Rules: HL_MAX_RULES is accepted, one more is not. */
    blob = tiny_rules(HL_MAX_RULES, HL_MAX_RULES, &len);
    accept(blob, len, HL_MAX_RULES, &run, "HL_MAX_RULES rules");
    free(blob);
    blob = tiny_rules(HL_MAX_RULES + 1, HL_MAX_RULES + 1, &len);
    refuse(blob, len, HL_E_TOO_MANY_RULES, "131073 rules, at most 131072", &run, "too many rules");
    free(blob);

    /* Program size: HL_BPF_MAXINSNS instructions are accepted, one more is not. */
    blob = long_rule(HL_BPF_MAXINSNS, &len);
    accept(blob, len, 1, &run, "HL_BPF_MAXINSNS instructions");
    free(blob);
    blob = long_rule(HL_BPF_MAXINSNS + 1, &len);
    refuse(blob, len, HL_E_TOO_MANY_INSNS, "4097 instructions, at most 4096", &run,
           "program too long");
    free(blob);

    /* Blob bytes: a header declaring more than HL_BLOB_MAX, and a buffer larger than it. */
    blob = tiny_rules(1, 1, &len);
    put32(blob + 8, HL_BLOB_MAX + 1);
    refuse(blob, len, HL_E_TOO_LARGE, "at most 16777216 allowed", &run, "total size over max");
    free(blob);
    blob = calloc(1, (size_t)HL_BLOB_MAX + 1);
    refuse(blob, (size_t)HL_BLOB_MAX + 1, HL_E_TOO_LARGE, "at most 16777216 allowed", &run,
           "buffer over max");
    free(blob);

    free(run.blob);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
