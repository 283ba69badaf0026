/*
 * GET_STATS with hostile persisted counters. The PersistedCounters registry
 * value is writable by an administrator and read back at start-up
 * (driver/config.c): the driver must validate it, not trust it. Two slots
 * with the same ifindex made GET_STATS count an adapter entry it never
 * wrote, and return those bytes (on Windows: whatever the I/O manager's
 * buffer held). Here the value holds duplicates, an ifindex 0 and a count
 * beyond the slots; every GET_STATS answer must then be fully written:
 * Information is exactly header + rules + adapter_count entries, every
 * entry names a distinct, non-zero adapter, and the hostile totals are gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "harness.h"
#include "kernel.h"

static char *hex_of(const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    char *s = malloc(2 * n + 1);

    for (size_t i = 0; s != NULL && i < n; i++) {
        s[2 * i] = digits[b[i] >> 4];
        s[2 * i + 1] = digits[b[i] & 15];
    }
    if (s != NULL)
        s[2 * n] = '\0';
    return s;
}

static void slot(HL_SAVED_COUNTERS *c, ULONG i, uint32_t ifindex, const char *name)
{
    c->Retained[i].AdapterId.ifindex = ifindex;
    snprintf(c->Retained[i].AdapterId.name, sizeof(c->Retained[i].AdapterId.name), "%s", name);
    c->Retained[i].RxSeen = 1000000 + i;
}

/* Boots with the value, checks one GET_STATS answer, shuts down. */
static void run(const char *hotlwf, const char *what, const HL_SAVED_COUNTERS *c,
                uint32_t want_adapters)
{
    char *hex = hex_of(c, sizeof(*c));
    size_t len;

    emu_param_set("hotlwf", "PersistedCounters", hex);
    free(hex);
    struct emu_driver *drv = hlt_boot(2, hotlwf, "hotlwf", NULL);
    struct hlt_probe *p = hlt_probe_create(0);
    uint8_t *buf = hlt_get_stats(&len);
    const struct hl_stats_header *h = (const void *)buf;
    size_t rules_end = sizeof(*h) + (size_t)h->rule_count * sizeof(struct hl_stats_rule);
    const struct hl_stats_adapter *a = (const void *)(buf + rules_end);

    HLT_CHECK(len == rules_end + (size_t)h->adapter_count * sizeof(*a),
              "%s: Information %zu for %u rules and %u adapters", what, len, h->rule_count,
              h->adapter_count);
    HLT_CHECK(h->adapter_count == want_adapters, "%s: %u adapters listed, want %u", what,
              h->adapter_count, want_adapters);
    for (uint32_t i = 0; i < h->adapter_count && rules_end + (i + 1) * sizeof(*a) <= len; i++) {
        HLT_CHECK(a[i].ifindex != 0 && a[i].name[0] != '\0', "%s: entry %u never written", what,
                  i);
        for (uint32_t j = 0; j < i; j++)
            HLT_CHECK(a[i].ifindex != a[j].ifindex, "%s: ifindex %u listed twice", what,
                      a[i].ifindex);
        HLT_CHECK(a[i].rx_seen < 1000000, "%s: entry %u holds hostile totals", what, i);
    }
    free(buf);
    hlt_probe_destroy(p);
    hlt_shutdown(drv);
}

int main(int argc, char **argv)
{
    static HL_SAVED_COUNTERS c;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOTLWF.so duplicate|zero|count\n", argv[0]);
        return 2;
    }
    /* Adapters not attached (ifindex 7, 9): a valid value would list them. */
    memset(&c, 0, sizeof(c));
    if (strcmp(argv[2], "duplicate") == 0) {
        c.Count = 3;
        slot(&c, 0, 7, "evil0");
        slot(&c, 1, 7, "evil1");
        slot(&c, 2, 9, "evil2");
    } else if (strcmp(argv[2], "zero") == 0) {
        c.Count = 2;
        slot(&c, 0, 9, "evil0");
        slot(&c, 1, 0, "evil1");
    } else if (strcmp(argv[2], "count") == 0) {
        c.Count = HL_MAX_RETAINED + 1;
        slot(&c, 0, 9, "evil0");
    } else {
        fprintf(stderr, "unknown case %s\n", argv[2]);
        return 2;
    }
    /* Only the probe's adapter: the hostile value is dropped whole. */
    run(argv[1], argv[2], &c, 1);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
