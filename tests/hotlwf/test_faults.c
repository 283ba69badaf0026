/*
 * hotlwf under low resources (ndisemu's fault injection, verifier/fault.h):
 *
 * - attach: the k-th allocation FilterAttach makes fails, for every k: the
 *   attach fails cleanly, the adapter keeps running without the module
 *   (packets pass unfiltered), the failures are reported in FilterAttach,
 *   and a later attach works; or it succeeds completely;
 * - SET_CONFIG: the k-th allocation the driver makes while applying a new
 *   configuration fails, for every k until one run makes fewer than k. Each
 *   such SET_CONFIG is all or nothing: refused with the old configuration
 *   still in force (GET_CONFIG returns it byte for byte, traffic is filtered
 *   by it), or applied completely;
 * - nothing leaks: the unload at the end finds no pool, NBL or other
 *   finding (hlt_shutdown).
 *
 * The allocations of one SET_CONFIG come from the IOCTL's thread and the
 * strategy's own work, one at a time, so every=k fails the same call on
 * every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "fault.h"
#include "harness.h"
#include "kernel.h"
#include "verifier.h"

#define DROP_A 0x88b5 /* config A drops this EtherType on receive */
#define DROP_B 0x88b6 /* config B drops this one */

static uint8_t frames[2][60];

static void make_frame(uint8_t *f, uint16_t type)
{
    memset(f, 0, 60);
    memcpy(f, "\x02\x00\x00\x00\x00\x01", 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
}

/* How many of 4 frames of each type reach the protocol: (passA, passB). */
static void delivered(struct hlt_probe *p, size_t *a, size_t *b)
{
    struct hlt_packet fa[4], fb[4];
    for (unsigned i = 0; i < 4; i++) {
        fa[i] = (struct hlt_packet){frames[0], 60};
        fb[i] = (struct hlt_packet){frames[1], 60};
    }
    *a = hlt_probe_receive(p, fa, 4, 2, HLT_DISPATCH, 0);
    *b = hlt_probe_receive(p, fb, 4, 2, HLT_DISPATCH, 0);
}

static bool same_config(const uint8_t *want, size_t want_len)
{
    size_t len;
    uint8_t *now = hlt_get_config(&len);
    bool same = len == want_len && memcmp(now, want, len) == 0;
    free(now);
    return same;
}

static void faults_on(const char *spec)
{
    char err[128];
    HLT_CHECK(emu_fault_configure(spec, err, sizeof(err)), "%s: %s", spec, err);
}

static bool report_mentions(const char *what)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    bool found;
    emu_fault_print(f, false);
    fclose(f);
    found = text != NULL && strstr(text, what) != NULL;
    free(text);
    return found;
}

/* The k-th allocation of FilterAttach fails, for every k: the attach fails
   cleanly or succeeds completely. Returns how many attaches failed. */
static unsigned attach_under_faults(struct hlt_probe *p, struct emu_adapter *ad)
{
    unsigned k, refused = 0;
    size_t a, b;

    for (k = 1; k < 1000; k++) {
        char spec[32];
        NDIS_STATUS st;
        uint64_t failed;
        HLT_CHECK(emu_adapter_detach_module(ad, 0) == NDIS_STATUS_SUCCESS, "detach %u", k);
        snprintf(spec, sizeof(spec), "every=%u", k);
        faults_on(spec);
        st = emu_adapter_attach_module(ad, 0);
        emu_fault_set_active(false); /* counts kept for the report */
        failed = emu_fault_failed(NULL);
        HLT_CHECK(emu_adapter_running(ad), "every=%u: adapter not running after attach", k);
        delivered(p, &a, &b);
        if (st == NDIS_STATUS_SUCCESS) {
            HLT_CHECK(a == 0 && b == 4, "every=%u: attached, but config A filters %zu/%zu", k,
                      a, b);
        } else {
            refused++;
            HLT_CHECK(failed > 0, "every=%u: attach failed with no allocation failed", k);
            HLT_CHECK(a == 4 && b == 4, "every=%u: no module, yet frames dropped: %zu/%zu", k, a,
                      b);
            HLT_CHECK(report_mentions("FilterAttach"),
                      "every=%u: the failed allocations are not reported in FilterAttach", k);
            HLT_CHECK(emu_adapter_attach_module(ad, 0) == NDIS_STATUS_SUCCESS,
                      "every=%u: attach after the faults", k);
        }
        HLT_CHECK(emu_violation_count() == 0, "every=%u: %zu findings", k, emu_violation_count());
        if (failed == 0)
            break;
    }
    printf("FilterAttach: %u allocation points, %u refused cleanly\n", k - 1, refused);
    return refused;
}

int main(int argc, char **argv)
{
    struct hlt_rule ra = {HL_ACTION_DROP, HL_DIR_IN, "ether proto 0x88b5", {0}};
    struct hlt_rule rb = {HL_ACTION_DROP, HL_DIR_IN, "ether proto 0x88b6", {0}};
    struct hl_set_config_result r;
    uint8_t *blob_a, *blob_b;
    size_t len_a, len_b, a, b;
    unsigned k, refused = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOTLWF.so STRATEGY\n", argv[0]);
        return 2;
    }
    make_frame(frames[0], DROP_A);
    make_frame(frames[1], DROP_B);
    struct emu_driver *drv = hlt_boot(2, argv[1], "hotlwf", argv[2]);
    struct hlt_probe *p = hlt_probe_create(0);
    struct emu_adapter *ad = hlt_probe_adapter(p);

    blob_a = hlt_blob(&ra, 1, HL_ACTION_PASS, &len_a);
    blob_b = hlt_blob(&rb, 1, HL_ACTION_PASS, &len_b);
    HLT_CHECK(hlt_set_config(blob_a, len_a, &r) == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK,
              "SET_CONFIG A: %d", r.status);
    emu_work_drain();

    HLT_CHECK(attach_under_faults(p, ad) > 0, "no attach failed: injection never reached it");

    for (k = 1; k < 1000; k++) {
        char spec[32];
        uint64_t failed;
        snprintf(spec, sizeof(spec), "every=%u", k);
        faults_on(spec);
        NTSTATUS st = hlt_set_config(blob_b, len_b, &r);
        emu_work_drain();
        failed = emu_fault_failed(NULL);
        emu_fault_set_active(false);
        HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS, "every=%u: IRP status 0x%08x", k,
                  (unsigned)st);
        HLT_CHECK(emu_adapter_running(ad), "every=%u: adapter not running", k);
        delivered(p, &a, &b);
        if (r.status == HL_OK) {
            HLT_CHECK(same_config(blob_b, len_b), "every=%u: applied, but GET_CONFIG is not B", k);
            HLT_CHECK(a == 4 && b == 0, "every=%u: applied, B filters %zu/%zu", k, a, b);
            HLT_CHECK(hlt_set_config(blob_a, len_a, &r) == (NTSTATUS)HL_STATUS_SUCCESS &&
                          r.status == HL_OK,
                      "every=%u: back to A: %d", k, r.status);
            emu_work_drain();
        } else {
            refused++;
            HLT_CHECK(failed > 0, "every=%u: refused (%s) with no allocation failed", k, r.reason);
            HLT_CHECK(same_config(blob_a, len_a), "every=%u: refused, but GET_CONFIG changed", k);
            HLT_CHECK(a == 0 && b == 4, "every=%u: refused, A no longer filters: %zu/%zu", k, a,
                      b);
        }
        HLT_CHECK(emu_violation_count() == 0, "every=%u: %zu findings", k,
                  emu_violation_count());
        if (failed == 0)
            break; /* this SET_CONFIG made fewer than k allocations: all covered */
    }
    HLT_CHECK(refused > 0, "no SET_CONFIG was refused: fault injection never reached it");
    printf("SET_CONFIG: %u allocation points, %u refused cleanly\n", k - 1, refused);

    free(blob_a);
    free(blob_b);
    hlt_probe_destroy(p);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
