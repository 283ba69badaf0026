/*
 * Blob encoding and compilation: round trip, every status from crafted
 * blobs (cases.txt), truncation at every length, every single-bit flip,
 * oversized counts refused before any large allocation, and the API's own
 * argument checks.
 */
#include <stdint.h>
#include "cfg_test.h"
#include "../../core/hl_fmt.h"

#define NSTATUS (1 - HL_STATUS_MIN)
static int seen[NSTATUS]; /* seen[-status]: a test produced this status */

static void note(int status)
{
    if (status <= 0 && status >= HL_STATUS_MIN)
        seen[-status] = 1;
}

/* Compiles buf with a counting allocator; checks the invariants every outcome must keep. */
static int compile(const uint8_t *buf, size_t len, uint32_t ncpus, size_t limit, char *reason,
                   size_t reason_len, struct counting_alloc *c)
{
    struct hl_alloc a = counting_hl_alloc(c, limit);
    struct hl_snapshot *s = (struct hl_snapshot *)(uintptr_t)0x1;
    int rc;

    rc = hl_config_compile(buf, len, &a, ncpus, &s, reason, reason_len);
    note(rc);
    if (rc == HL_OK) {
        size_t blen = 0;
        const void *b = hl_snapshot_blob(s, &blen);
        CHECK(blen == len && memcmp(b, buf, len) == 0, "accepted blob differs from the input");
        CHECK(reason[0] == '\0', "reason on success: %s", reason);
        /* The snapshot's block, and the rule index's when there are rules. */
        CHECK(c->live == (hl_snapshot_rule_count(s) > 0 ? 2 : 1), "%ld live blocks for one snapshot",
              c->live);
        hl_snapshot_free(s);
    } else {
        CHECK(s == (struct hl_snapshot *)(uintptr_t)0x1, "*out written on failure %d", rc);
        CHECK(reason[0] != '\0', "%s with an empty reason", hl_status_name(rc));
        CHECK(strcmp(hl_status_name(rc), "HL_E_UNKNOWN") != 0, "unnamed status %d", rc);
    }
    CHECK(c->live == 0, "%ld blocks leaked (status %s)", c->live, hl_status_name(rc));
    return rc;
}

static int status_from_name(const char *name)
{
    int st;

    for (st = 0; st >= HL_STATUS_MIN; st--) {
        if (strcmp(hl_status_name(st), name) == 0)
            return st;
    }
    return 1;
}

static int build_base(const char *name, uint8_t *buf, size_t *len)
{
    if (strcmp(name, "multi") == 0) {
        *len = multi_blob(buf);
        return *len != 0;
    }
    if (strcmp(name, "empty") == 0)
        return hl_blob_encode(NULL, 0, HL_ACTION_DROP, buf, 64, len) == HL_OK;
    return 0;
}

/* Applies one edit from cases.txt; 0 when it does not parse or does not fit. */
static int apply_edit(const char *e, uint8_t *buf, size_t *len, size_t cap)
{
    unsigned long off, w, n;
    unsigned long long v;
    int used = 0;
    char *end;

    if (strncmp(e, "len=", 4) == 0) {
        n = strtoul(e + 4, &end, 0);
        if (*end != '\0' || n > *len)
            return 0;
        *len = n;
        return 1;
    }
    if (e[0] == '+') {
        n = strtoul(e + 1, &end, 0);
        if (*end != '\0' || *len + n > cap)
            return 0;
        memset(buf + *len, 0, n);
        *len += n;
        return 1;
    }
    if (sscanf(e, "@%lu:%lu=%n", &off, &w, &used) < 2 || used == 0 || (w != 1 && w != 2 && w != 4))
        return 0;
    v = strtoull(e + used, &end, 0);
    if (*end != '\0')
        return 0;
    if (off + w > *len)
        return 0;
    for (n = 0; n < w; n++)
        buf[off + n] = (uint8_t)(v >> (8 * n));
    return 1;
}

static void test_cases(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512], reason[256];
    uint8_t buf[1024];
    int lineno = 0, ncases = 0;

    CHECK(f != NULL, "cannot open %s", path);
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tok, *save = NULL, *base;
        struct counting_alloc c;
        size_t len = 0;
        int want, rc, ok = 1;

        lineno++;
        tok = strtok_r(line, " \t\r\n", &save);
        if (tok == NULL || tok[0] == '#')
            continue;
        want = status_from_name(tok);
        base = strtok_r(NULL, " \t\r\n", &save);
        if (want > 0 || base == NULL || !build_base(base, buf, &len)) {
            CHECK(0, "%s:%d: bad status or base", path, lineno);
            continue;
        }
        while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL && ok)
            ok = apply_edit(tok, buf, &len, sizeof(buf));
        CHECK(ok, "%s:%d: bad edit", path, lineno);
        if (!ok)
            continue;
        rc = compile(buf, len, 4, 1u << 20, reason, sizeof(reason), &c);
        CHECK(rc == want, "%s:%d: got %s (%s), want %s", path, lineno, hl_status_name(rc), reason,
              hl_status_name(want));
        /* Only a blob whose structure is sound may cost an allocation. */
        if (rc != HL_OK && rc != HL_E_PROGRAM)
            CHECK(c.calls == 0, "%s:%d: %ld allocations before refusing", path, lineno, c.calls);
        ncases++;
    }
    fclose(f);
    CHECK(ncases > 50, "only %d cases read from %s", ncases, path);
}

static void test_reasons(void)
{
    uint8_t buf[MULTI_LEN];
    char reason[256];
    struct counting_alloc c;
    size_t len = multi_blob(buf);

    buf[67] = 200; /* rule 1, insn 1: jf out of range */
    CHECK(compile(buf, len, 1, 1u << 20, reason, sizeof(reason), &c) == HL_E_PROGRAM, "jf");
    CHECK(strncmp(reason, "rule 1: program: ", 17) == 0 && strstr(reason, "insn 1") != NULL,
          "reason: %s", reason);
    len = multi_blob(buf);
    buf[141] = 9;
    CHECK(compile(buf, len, 1, 1u << 20, reason, sizeof(reason), &c) == HL_E_BAD_DIRECTION, "dir");
    CHECK(strcmp(reason, "rule 3: direction 9 is not in (1), out (2) or both (3)") == 0,
          "reason: %s", reason);
    /* A short reason buffer is still terminated, and a NULL one is fine. */
    CHECK(compile(buf, len, 1, 1u << 20, reason, 8, &c) == HL_E_BAD_DIRECTION, "short");
    CHECK(strcmp(reason, "rule 3:") == 0, "short reason: %s", reason);
    {
        struct hl_alloc a = counting_hl_alloc(&c, 1u << 20);
        struct hl_snapshot *s = NULL;
        CHECK(hl_config_compile(buf, len, &a, 1, &s, NULL, 0) == HL_E_BAD_DIRECTION, "no reason");
        buf[141] = HL_DIR_IN;
        buf[67] = 200;
        CHECK(hl_config_compile(buf, len, &a, 1, &s, NULL, 0) == HL_E_PROGRAM, "no reason");
        CHECK(hl_config_compile(buf, len, &a, 1, &s, reason, 1) == HL_E_PROGRAM && !reason[0],
              "1-byte reason");
        CHECK(c.live == 0 && s == NULL, "leak or *out written");
    }
}

static void test_roundtrip(void)
{
    struct hl_rule_spec r[4];
    uint8_t buf[MULTI_LEN + 8];
    struct counting_alloc c;
    struct hl_alloc a = counting_hl_alloc(&c, 1u << 20);
    struct hl_snapshot *s = NULL;
    size_t len = 0, blen = 0;
    const uint8_t *b;
    uint32_t n = multi_rules(r);
    char reason[128];
    int rc;

    rc = hl_blob_encode(r, n, HL_ACTION_DROP, NULL, 0, &len);
    CHECK(rc == HL_E_BUFFER_TOO_SMALL && len == MULTI_LEN, "size query: %d, %zu", rc, len);
    note(rc);
    rc = hl_blob_encode(r, n, HL_ACTION_DROP, buf, MULTI_LEN - 1, &len);
    CHECK(rc == HL_E_BUFFER_TOO_SMALL && len == MULTI_LEN, "short buffer: %d, %zu", rc, len);
    rc = hl_blob_encode(r, n, HL_ACTION_DROP, buf, sizeof(buf), &len);
    CHECK(rc == HL_OK && len == MULTI_LEN, "encode: %d, %zu", rc, len);
    CHECK(buf[0] == 'H' && buf[1] == 'L' && buf[2] == 'C' && buf[3] == 'F', "magic bytes");
    rc = hl_config_compile(buf, len, &a, 3, &s, reason, sizeof(reason));
    CHECK(rc == HL_OK, "compile: %s", reason);
    if (rc != HL_OK)
        return;
    b = hl_snapshot_blob(s, &blen);
    CHECK(blen == len && memcmp(b, buf, len) == 0, "GET_CONFIG blob differs");
    CHECK(hl_snapshot_rule_count(s) == 4, "rule count %u", hl_snapshot_rule_count(s));
    CHECK(hl_snapshot_default_action(s) == HL_ACTION_DROP, "default action");
    CHECK(hl_snapshot_cpu_count(s) == 3, "cpu count");
    hl_snapshot_free(s);
    hl_snapshot_free(NULL);
    CHECK(c.live == 0, "leak");
}

static void test_truncation(void)
{
    uint8_t buf[MULTI_LEN];
    char reason[256];
    struct counting_alloc c;
    size_t len = multi_blob(buf), cut;

    for (cut = 0; cut < len; cut++) {
        /* A heap copy of exactly cut bytes, so ASan sees any read past it. */
        uint8_t *p = malloc(cut ? cut : 1);
        int rc;

        memcpy(p, buf, cut);
        rc = compile(p, cut, 2, 1u << 20, reason, sizeof(reason), &c);
        CHECK(rc == HL_E_TRUNCATED, "cut at %zu: %s (%s)", cut, hl_status_name(rc), reason);
        CHECK(c.calls == 0, "cut at %zu: allocated", cut);
        free(p);
    }
}

static void test_bitflips(void)
{
    uint8_t buf[MULTI_LEN];
    char reason[256];
    struct counting_alloc c;
    size_t len = multi_blob(buf), bit;
    int ok = 0, refused = 0;

    for (bit = 0; bit < len * 8; bit++) {
        uint8_t *p = malloc(len);

        memcpy(p, buf, len);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (compile(p, len, 2, 1u << 20, reason, sizeof(reason), &c) == HL_OK)
            ok++;
        else
            refused++;
        free(p);
    }
    /* Most flips hit checked fields; a few (k values, names, ifindex) stay valid. */
    CHECK(refused > ok && ok > 0, "%d flips accepted, %d refused", ok, refused);
}

static void test_oversized(void)
{
    static struct hl_rule_spec many[HL_MAX_RULES + 1];
    static struct hl_bpf_insn longprog[HL_BPF_MAXINSNS + 1];
    struct counting_alloc c;
    struct hl_alloc a = counting_hl_alloc(&c, 64u << 20);
    struct hl_snapshot *s = NULL;
    char reason[256];
    size_t len = 0, need = 0;
    uint8_t *big;
    uint32_t i;
    int rc;

    for (i = 0; i <= HL_MAX_RULES; i++) {
        many[i].action = HL_ACTION_PASS;
        many[i].direction = HL_DIR_BOTH;
        many[i].insns = prog_all;
        many[i].ninsns = 1;
    }
    rc = hl_blob_encode(many, HL_MAX_RULES + 1, 0, NULL, 0, &need);
    CHECK(rc == HL_E_TOO_MANY_RULES, "encode HL_MAX_RULES + 1 rules: %s", hl_status_name(rc));
    rc = hl_blob_encode(many, HL_MAX_RULES, 0, NULL, 0, &need);
    CHECK(rc == HL_E_BUFFER_TOO_SMALL && need == 32 + 24u * HL_MAX_RULES, "need %zu", need);
    big = calloc(1, (size_t)HL_BLOB_MAX + 1);
    rc = hl_blob_encode(many, HL_MAX_RULES, 0, big, need, &len);
    CHECK(rc == HL_OK, "encode max rules: %s", hl_status_name(rc));
    rc = compile(big, len, 4, 64u << 20, reason, sizeof(reason), &c);
    CHECK(rc == HL_OK, "max rules: %s", reason);
    /*
     * The counters grow with rules x CPUs: over HL_SNAPSHOT_MAX the compile
     * refuses before allocating anything, and says why.
     */
    rc = compile(big, len, HL_MAX_CPUS, 64u << 20, reason, sizeof(reason), &c);
    CHECK(rc == HL_E_SNAPSHOT_TOO_LARGE && c.calls == 0 &&
              strstr(reason, "counters for 2048 CPUs), at most 268435456 allowed") != NULL,
          "huge counters: %s (%s, %ld allocations)", hl_status_name(rc), reason, (long)c.calls);
    /* Just under the limit (the counters of the largest CPU count that fits) is accepted. */
    {
        uint64_t stride = ((uint64_t)(HL_MAX_RULES + 1) * 16 + 63) / 64 * 64;
        uint32_t fits = (uint32_t)((HL_SNAPSHOT_MAX - (64ull << 20)) / stride);
        rc = compile(big, len, fits, (size_t)HL_SNAPSHOT_MAX, reason, sizeof(reason), &c);
        CHECK(rc == HL_OK, "%u CPUs of counters: %s", fits, reason);
        rc = compile(big, len, (uint32_t)(HL_SNAPSHOT_MAX / stride) + 1, (size_t)HL_SNAPSHOT_MAX,
                     reason, sizeof(reason), &c);
        CHECK(rc == HL_E_SNAPSHOT_TOO_LARGE, "counters alone over the limit: %s", reason);
    }

    for (i = 0; i < HL_BPF_MAXINSNS; i++)
        longprog[i].code = OP_LD_IMM;
    longprog[HL_BPF_MAXINSNS - 1].code = OP_RET_K;
    many[0].insns = longprog;
    many[0].ninsns = HL_BPF_MAXINSNS;
    rc = hl_blob_encode(many, 1, 0, big, HL_BLOB_MAX, &len);
    CHECK(rc == HL_OK, "encode 4096 insns: %s", hl_status_name(rc));
    rc = compile(big, len, 1, 1u << 20, reason, sizeof(reason), &c);
    CHECK(rc == HL_OK, "4096 insns: %s", reason);
    many[0].ninsns = HL_BPF_MAXINSNS + 1;
    rc = hl_blob_encode(many, 1, 0, big, HL_BLOB_MAX, &len);
    CHECK(rc == HL_E_TOO_MANY_INSNS, "encode 4097 insns: %s", hl_status_name(rc));

    /* A buffer over HL_BLOB_MAX is refused before it is read. */
    memset(big, 0, (size_t)HL_BLOB_MAX + 1);
    rc = compile(big, (size_t)HL_BLOB_MAX + 1, 1, 1u << 20, reason, sizeof(reason), &c);
    CHECK(rc == HL_E_TOO_LARGE && c.calls == 0, "blob over max: %s", hl_status_name(rc));
    free(big);
    (void)a;
    (void)s;
}

static void test_args(void)
{
    struct counting_alloc c;
    struct hl_alloc a = counting_hl_alloc(&c, 1u << 20), bad = a;
    struct hl_snapshot *s = NULL;
    struct hl_rule_spec r[4];
    uint8_t buf[MULTI_LEN];
    char reason[128];
    size_t len = multi_blob(buf), need;
    int rc;

    /* The codes Windows computes with CTL_CODE for the same arguments. */
    CHECK(HL_IOCTL_SET_CONFIG == 0x0012A000u, "SET_CONFIG 0x%x", HL_IOCTL_SET_CONFIG);
    CHECK(HL_IOCTL_GET_CONFIG == 0x00126004u, "GET_CONFIG 0x%x", HL_IOCTL_GET_CONFIG);
    CHECK(HL_IOCTL_GET_STATS == 0x00126008u, "GET_STATS 0x%x", HL_IOCTL_GET_STATS);

    rc = hl_config_compile(buf, len, &a, 0, &s, reason, sizeof(reason));
    CHECK(rc == HL_E_INVALID_ARG, "0 cpus: %d", rc);
    note(rc);
    rc = hl_config_compile(buf, len, &a, HL_MAX_CPUS + 1, &s, reason, sizeof(reason));
    CHECK(rc == HL_E_INVALID_ARG, "too many cpus: %d", rc);
    rc = hl_config_compile(buf, len, &a, 1, NULL, reason, sizeof(reason));
    CHECK(rc == HL_E_INVALID_ARG, "NULL out: %d", rc);
    rc = hl_config_compile(NULL, 5, &a, 1, &s, reason, sizeof(reason));
    CHECK(rc == HL_E_INVALID_ARG, "NULL blob: %d", rc);
    bad.alloc = NULL;
    rc = hl_config_compile(buf, len, &bad, 1, &s, reason, sizeof(reason));
    CHECK(rc == HL_E_INVALID_ARG && s == NULL, "NULL alloc: %d", rc);
    rc = compile(buf, len, 1, 0, reason, sizeof(reason), &c);
    CHECK(rc == HL_E_NO_MEMORY && c.calls == 1, "failing allocator: %d", rc);

    multi_rules(r);
    r[0].selector.name[HL_SEL_NAME_MAX - 1] = 'x';
    memset(r[0].selector.name, 'a', HL_SEL_NAME_MAX);
    rc = hl_blob_encode(r, 4, 0, buf, sizeof(buf), &need);
    CHECK(rc == HL_E_INVALID_ARG, "unterminated name: %d", rc);
    multi_rules(r);
    r[1].insns = NULL;
    rc = hl_blob_encode(r, 4, 0, buf, sizeof(buf), &need);
    CHECK(rc == HL_E_INVALID_ARG, "NULL insns: %d", rc);
    rc = hl_blob_encode(r, 4, 0, buf, sizeof(buf), NULL);
    CHECK(rc == HL_E_INVALID_ARG, "NULL len_out: %d", rc);
}

static void test_fmt(void)
{
    char b[16];

    CHECK(hl_fmt(b, sizeof(b), "%u:%d:%x", 42u, -7, 0xbeefu) == 10 && strcmp(b, "42:-7:beef") == 0,
          "fmt: %s", b);
    CHECK(hl_fmt(b, 6, "%s", "truncated") == 5 && strcmp(b, "trunc") == 0, "trunc: %s", b);
    CHECK(hl_fmt(b, sizeof(b), "%u:0x%04x", 3u, 0x1cu) == 8 && strcmp(b, "3:0x001c") == 0,
          "width: %s", b);
    CHECK(hl_fmt(b, sizeof(b), "%llu%%", 18446744073709551615ull) == 15, "llu: %s", b);
    CHECK(hl_fmt(b, sizeof(b), "%zu %s", (size_t)3, (const char *)NULL) == 8 &&
              strcmp(b, "3 (null)") == 0,
          "zu: %s", b);
    CHECK(hl_fmt(b, sizeof(b), "%d", (int)(-2147483647 - 1)) == 11, "INT_MIN: %s", b);
    CHECK(hl_fmt(NULL, 0, "x") == 0 && hl_fmt(b, 1, "abc") == 0 && b[0] == '\0', "cap 0/1");
}

int main(int argc, char **argv)
{
    int st;

    if (argc != 2) {
        fprintf(stderr, "usage: %s cases.txt\n", argv[0]);
        return 2;
    }
    test_cases(argv[1]);
    test_reasons();
    test_roundtrip();
    test_truncation();
    test_bitflips();
    test_oversized();
    test_args();
    test_fmt();
    for (st = 0; st >= HL_STATUS_MIN; st--) {
        CHECK(seen[-st], "no test produced %s", hl_status_name(st));
        CHECK(strcmp(hl_status_name(st), "HL_E_UNKNOWN") != 0, "status %d has no name", st);
    }
    CHECK(strcmp(hl_status_name(HL_STATUS_MIN - 1), "HL_E_UNKNOWN") == 0, "unknown name");
    return cfg_finish("test_config_blob");
}
