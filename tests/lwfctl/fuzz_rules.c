/*
 * Fuzz target: bytes -> lwfctl's rules-file parser -> hl_blob_encode -> the
 * driver's own compiler (hl_config_compile) -> lwfctl's blob decoder.
 * Whatever lwfctl accepts must be encodable, must be accepted by the driver
 * (lwfctl load would otherwise send a configuration the driver refuses), and
 * must read back (lwfctl show) as the very rules that were parsed. Whatever
 * lwfctl refuses must have counted at least one error.
 *
 * Inputs over MAX_INPUT bytes are skipped: libpcap's optimizer is
 * super-linear in the expression, so long inputs only measure pcap_compile.
 *
 * Built with -DHL_LIBFUZZER for libFuzzer; otherwise tests/config/fuzz_replay.c
 * replays the saved corpus (corpus_rules/) as an ordinary test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob_decode.h"
#include "hotlwf/config.h"
#include "rules_parse.h"

#define MAX_INPUT 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char rules_path[64];

static void remove_rules_file(void)
{
    unlink(rules_path);
}

static void *alloc_fn(void *ctx, size_t size)
{
    (*(long *)ctx)++;
    return malloc(size);
}

static void free_fn(void *ctx, void *p)
{
    if (p != NULL)
        (*(long *)ctx)--;
    free(p);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_rules: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static int same_selector(const struct hl_selector *a, const struct hl_selector *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case HL_SEL_MAC:
        return memcmp(a->mac, b->mac, sizeof(a->mac)) == 0;
    case HL_SEL_IFINDEX:
        return a->ifindex == b->ifindex;
    case HL_SEL_NAME:
        return strcmp(a->name, b->name) == 0;
    default:
        return 1;
    }
}

/* The rules as parsed against the rules decoded from the driver's blob. */
static void check_same(const struct lwf_rules *a, const struct lwf_rules *b)
{
    if (a->count != b->count || a->default_action != b->default_action)
        fail("decoded blob differs in rule count or default action", NULL);
    for (size_t i = 0; i < a->count; i++) {
        const struct hl_rule_spec *x = &a->specs[i], *y = &b->specs[i];
        if (x->action != y->action || x->direction != y->direction ||
            !same_selector(&x->selector, &y->selector) || x->ninsns != y->ninsns ||
            memcmp(x->insns, y->insns, x->ninsns * sizeof(*x->insns)) != 0)
            fail("decoded blob differs from the parsed rule", NULL);
    }
}

static void check_accepted(const struct lwf_rules *r)
{
    size_t len = 0;
    int e = hl_blob_encode(r->specs, (uint32_t)r->count, r->default_action, NULL, 0, &len);
    if (e != HL_E_BUFFER_TOO_SMALL)
        fail("accepted rules cannot be encoded", hl_status_name(e));
    uint8_t *blob = malloc(len);
    if (blob == NULL)
        fail("out of memory", NULL);
    e = hl_blob_encode(r->specs, (uint32_t)r->count, r->default_action, blob, len, &len);
    if (e != HL_OK)
        fail("accepted rules cannot be encoded", hl_status_name(e));

    long live = 0;
    struct hl_alloc a = {alloc_fn, free_fn, &live};
    struct hl_snapshot *s = NULL;
    char reason[256];
    e = hl_config_compile(blob, len, &a, 2, &s, reason, sizeof(reason));
    if (e != HL_OK)
        fail("the driver refuses what lwfctl accepted", reason);
    if (hl_snapshot_rule_count(s) != r->count || hl_snapshot_default_action(s) != r->default_action)
        fail("the driver's snapshot differs in rule count or default action", NULL);
    hl_snapshot_free(s);
    if (live != 0)
        fail("the driver's compile leaked", NULL);

    struct lwf_rules back;
    char err[256];
    if (lwf_blob_decode(blob, len, &back, err, sizeof(err)) != 0)
        fail("lwfctl cannot decode the blob the driver accepted", err);
    check_same(r, &back);
    lwf_rules_free(&back);
    free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    if (rules_path[0] == '\0') {
        snprintf(rules_path, sizeof(rules_path), "/tmp/fuzz_rules.%ld.rules", (long)getpid());
        atexit(remove_rules_file);
    }
    FILE *f = fopen(rules_path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fail("cannot write", rules_path);
    FILE *err = fopen("/dev/null", "w");
    if (err == NULL)
        fail("cannot open /dev/null", NULL);

    struct lwf_rules r;
    int rc = lwf_rules_parse_file(rules_path, &r, err);
    fclose(err);
    if (rc == 0)
        check_accepted(&r);
    else if (rc != 1 || r.nerrors == 0)
        fail("refused without an error", NULL);
    lwf_rules_free(&r);
    return 0;
}
