/*
 * The control device: every buffer length, malformed blobs refused with a
 * reason while the running configuration stays byte-identical, the SDDL.
 *
 * usage: test_ioctl HOTLWF.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "harness.h"
#include "kernel.h"

static uint8_t *running;
static size_t running_len;

/* The running configuration must still be exactly the last accepted blob. */
static void check_unchanged(const char *what)
{
    size_t len;
    uint8_t *now = hlt_get_config(&len);
    HLT_CHECK(len == running_len && memcmp(now, running, len) == 0,
              "%s: GET_CONFIG changed (%zu bytes, was %zu)", what, len, running_len);
    free(now);
}

static void expect_refused(const void *blob, size_t len, int want_status, const char *what)
{
    struct hl_set_config_result r;
    NTSTATUS st = hlt_set_config(blob, len, &r);

    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS, "%s: IRP status 0x%08x", what, (unsigned)st);
    HLT_CHECK(r.status < 0, "%s: accepted", what);
    if (want_status != 0)
        HLT_CHECK(r.status == want_status, "%s: status %d (%s), want %d", what, r.status,
                  hl_status_name(r.status), want_status);
    HLT_CHECK(memchr(r.reason, '\0', sizeof(r.reason)) != NULL && r.reason[0] != '\0',
              "%s: no reason", what);
    check_unchanged(what);
}

static void accept(const uint8_t *blob, size_t len, const char *what)
{
    struct hl_set_config_result r;
    NTSTATUS st = hlt_set_config(blob, len, &r);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && r.status == HL_OK && r.reason[0] == '\0',
              "%s: 0x%08x %d %s", what, (unsigned)st, r.status, r.reason);
    HLT_CHECK(r.grace_ns > 0, "%s: SET_CONFIG returned without a grace period", what);
    free(running);
    running = malloc(len);
    memcpy(running, blob, len);
    running_len = len;
    check_unchanged(what);
}

int main(int argc, char **argv)
{
    struct hlt_rule rules[3] = {
        {HL_ACTION_DROP, HL_DIR_IN, "udp port 53", {0}},
        {HL_ACTION_PASS, HL_DIR_BOTH, "tcp", {0}},
        {HL_ACTION_DROP, HL_DIR_OUT, "icmp", {0}},
    };
    uint8_t small[512];
    ULONG info;
    NTSTATUS st;
    size_t len;
    uint8_t *blob;
    char sddl[256];
    size_t pool_count_first, pool_bytes_first;

    if (argc != 2) {
        fprintf(stderr, "usage: %s HOTLWF.so\n", argv[0]);
        return 2;
    }
    struct emu_driver *drv = hlt_boot(2, argv[1], "hotlwf", NULL);
    struct hlt_probe *p = hlt_probe_create(0);

    /* SYSTEM and Administrators, all access; nobody else. */
    HLT_CHECK(emu_device_sddl("hotlwf", sddl, sizeof(sddl)), "no SDDL registered");
    HLT_CHECK(strcmp(sddl, "D:P(A;;GA;;;SY)(A;;GA;;;BA)") == 0, "SDDL '%s'", sddl);

    /* The initial configuration is a real blob: no rules, default pass. */
    running = hlt_get_config(&running_len);
    HLT_CHECK(running_len == HL_BLOB_HEADER_SIZE, "initial blob %zu bytes", running_len);

    rules[2].selector.kind = HL_SEL_MAC;
    rules[2].selector.mac[0] = 0x02;
    blob = hlt_blob(rules, 3, HL_ACTION_PASS, &len);
    accept(blob, len, "good blob");
    emu_pool_outstanding(drv, &pool_count_first, &pool_bytes_first);

    /* Truncated at every length: never accepted, never a crash. */
    for (size_t cut = 0; cut < len; cut++) {
        char what[64];
        snprintf(what, sizeof(what), "truncated to %zu", cut);
        expect_refused(blob, cut, 0, what);
    }
    /* Bit flips: refused with a reason, or a different valid blob that is then the running one. */
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            struct hl_set_config_result r;
            char what[64];
            blob[i] ^= (uint8_t)(1u << bit);
            snprintf(what, sizeof(what), "bit %u of byte %zu", bit, i);
            st = hlt_set_config(blob, len, &r);
            HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS, "%s: IRP 0x%08x", what, (unsigned)st);
            if (r.status == HL_OK) {
                free(running);
                running = malloc(len);
                memcpy(running, blob, len);
            } else {
                HLT_CHECK(r.status < 0 && r.reason[0] != '\0', "%s: status %d without reason", what,
                          r.status);
            }
            check_unchanged(what);
            blob[i] ^= (uint8_t)(1u << bit);
        }
    }
    accept(blob, len, "good blob again");
    /*
     * The old snapshot is freed before SET_CONFIG returns: after hundreds of
     * swaps the driver holds exactly what it held after the first one.
     */
    {
        size_t count, bytes, count1, bytes1;
        emu_pool_outstanding(drv, &count, &bytes);
        accept(blob, len, "same blob");
        emu_pool_outstanding(drv, &count1, &bytes1);
        HLT_CHECK(count == count1 && bytes == bytes1, "pool %zu/%zu then %zu/%zu", count, bytes,
                  count1, bytes1);
        HLT_CHECK(count == pool_count_first && bytes == pool_bytes_first,
                  "pool grew over the swaps: %zu/%zu, first %zu/%zu", count, bytes,
                  pool_count_first, pool_bytes_first);
    }

    /* Oversized: one byte over HL_BLOB_MAX, refused before anything is parsed. */
    {
        uint8_t *big = calloc(1, HL_BLOB_MAX + 1);
        memcpy(big, blob, len);
        expect_refused(big, HL_BLOB_MAX + 1, HL_E_TOO_LARGE, "oversized");
        /* A blob followed by junk: total_size disagrees with the buffer. */
        expect_refused(big, len + 8, 0, "trailing bytes");
        free(big);
    }
    expect_refused(NULL, 0, 0, "empty input");

    /* SET_CONFIG with no room for the answer: STATUS_BUFFER_TOO_SMALL, nothing applied. */
    {
        uint8_t other_len_buf[1];
        size_t l2;
        uint8_t *other = hlt_blob(rules, 1, HL_ACTION_DROP, &l2);
        (void)other_len_buf;
        st = hlt_ioctl(HL_IOCTL_SET_CONFIG, other, (ULONG)l2, small,
                       HL_SET_CONFIG_RESULT_V1_SIZE - 1, &info);
        HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_TOO_SMALL && info == 0,
                  "short SET_CONFIG output: 0x%08x info %lu", (unsigned)st, (unsigned long)info);
        check_unchanged("short SET_CONFIG output");
        /* A caller from before the compile figures: applied, answered with the first 280 bytes. */
        memset(small, 0xee, sizeof(small));
        st = hlt_ioctl(HL_IOCTL_SET_CONFIG, other, (ULONG)l2, small,
                       sizeof(struct hl_set_config_result) - 1, &info);
        HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && info == HL_SET_CONFIG_RESULT_V1_SIZE &&
                      ((struct hl_set_config_result *)small)->status == HL_OK &&
                      small[HL_SET_CONFIG_RESULT_V1_SIZE] == 0xee,
                  "version 1 SET_CONFIG output: 0x%08x info %lu", (unsigned)st,
                  (unsigned long)info);
        free(running);
        running = malloc(l2);
        memcpy(running, other, l2);
        running_len = l2;
        check_unchanged("version 1 SET_CONFIG output");
        accept(blob, len, "good blob after the version 1 caller");
        free(other);
    }

    /* GET_CONFIG sizes. */
    st = hlt_ioctl(HL_IOCTL_GET_CONFIG, NULL, 0, NULL, 0, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_TOO_SMALL, "GET_CONFIG 0: 0x%08x", (unsigned)st);
    st = hlt_ioctl(HL_IOCTL_GET_CONFIG, NULL, 0, small, HL_BLOB_HEADER_SIZE - 1, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_TOO_SMALL, "GET_CONFIG 31: 0x%08x", (unsigned)st);
    st = hlt_ioctl(HL_IOCTL_GET_CONFIG, NULL, 0, small, HL_BLOB_HEADER_SIZE, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW && info == HL_BLOB_HEADER_SIZE &&
                  ((struct hl_blob_header *)small)->total_size == running_len,
              "GET_CONFIG header only: 0x%08x info %lu", (unsigned)st, (unsigned long)info);

    /* GET_STATS sizes. */
    st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, small, HL_STATS_HEADER_V1_SIZE - 1, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_TOO_SMALL, "GET_STATS 63: 0x%08x", (unsigned)st);
    /* A caller from before the compile figures gets version 1's 64 bytes of header. */
    memset(small, 0xee, sizeof(small));
    st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, small, HL_STATS_HEADER_V1_SIZE, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW && info == HL_STATS_HEADER_V1_SIZE &&
                  small[HL_STATS_HEADER_V1_SIZE] == 0xee &&
                  ((struct hl_stats_header *)small)->header_size == sizeof(struct hl_stats_header),
              "GET_STATS version 1 header: 0x%08x info %lu", (unsigned)st, (unsigned long)info);
    st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, small, sizeof(struct hl_stats_header), &info);
    {
        struct hl_stats_header *h = (void *)small;
        uint32_t need = (uint32_t)(sizeof(*h) + 3 * sizeof(struct hl_stats_rule) +
                                   sizeof(struct hl_stats_adapter));
        HLT_CHECK(st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW && info == sizeof(*h) &&
                      h->size_needed == need && h->rule_count == 3 && h->adapter_count == 1 &&
                      h->header_size == sizeof(*h) && h->version == HL_STATS_VERSION,
                  "GET_STATS header only: 0x%08x info %lu need %u", (unsigned)st,
                  (unsigned long)info, h->size_needed);
        st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, small, need, &info);
        HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && info == need, "GET_STATS exact: 0x%08x",
                  (unsigned)st);
        HLT_CHECK(h->reconfig_count >= 2 && h->last_reconfig_ns > 0, "reconfig %llu / %llu ns",
                  (unsigned long long)h->reconfig_count, (unsigned long long)h->last_reconfig_ns);
        HLT_CHECK(h->compile_ns > 0 && h->snapshot_bytes > running_len && h->index_bytes > 0 &&
                      h->rules_indexed <= 3,
                  "compile %llu ns, snapshot %llu bytes, index %llu bytes, %u indexed",
                  (unsigned long long)h->compile_ns, (unsigned long long)h->snapshot_bytes,
                  (unsigned long long)h->index_bytes, h->rules_indexed);
    }

    /* An unknown code. */
    st = hlt_ioctl(0x0012FFFC, NULL, 0, small, sizeof(small), &info);
    HLT_CHECK(st == (NTSTATUS)0xC0000010 /* STATUS_INVALID_DEVICE_REQUEST */,
              "unknown IOCTL: 0x%08x", (unsigned)st);

    /*
     * Namespace opens ("\\.\hotlwf\x", "\Device\hotlwf\"): on Windows the
     * device's ACL is not checked for them (no FILE_DEVICE_SECURE_OPEN through
     * NDIS), so the driver must refuse the open itself; nothing is dispatched.
     */
    static const char *const namespace_opens[] = {"\\\\.\\hotlwf\\x", "\\Device\\hotlwf\\",
                                                  "\\\\.\\hotlwf\\..\\hotlwf"};
    for (size_t k = 0; k < sizeof(namespace_opens) / sizeof(namespace_opens[0]); k++) {
        info = 12345;
        st = emu_device_ioctl(namespace_opens[k], HL_IOCTL_GET_CONFIG, NULL, 0, small,
                              sizeof(small), &info);
        HLT_CHECK(st == (NTSTATUS)0xC0000022 /* STATUS_ACCESS_DENIED */ && info == 0,
                  "namespace open %s: 0x%08x, %lu bytes", namespace_opens[k], (unsigned)st,
                  (unsigned long)info);
    }
    st = emu_device_ioctl("\\Device\\hotlwf", HL_IOCTL_GET_CONFIG, NULL, 0, small, sizeof(small),
                          &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS || st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW,
              "the device itself: 0x%08x", (unsigned)st);

    free(blob);
    free(running);
    hlt_probe_destroy(p);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
