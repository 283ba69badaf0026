/*
 * examples/maclist on ndisemu: the question's situation. Three adapters with
 * ndisemu's own hosts sending and receiving on 4 CPUs (passive and dispatch
 * senders, split MDLs), a churn thread pausing/restarting two stacks and
 * detaching/re-attaching the third, and a storm of IOCTLs replacing the
 * global settings, alternately through IOCTL_MACLIST_SET (waits a grace
 * period) and IOCTL_MACLIST_SET_NOWAIT (deferred free). Pass: every IOCTL
 * succeeds, bad input is refused, zero verifier findings (pool leaks
 * included), no packet lost (every receive back at the miniport and either
 * delivered or dropped by the filter, every send completed), and the
 * filter really dropped and passed traffic.
 *
 * usage: test_maclist MACLIST.so CAPTURE.pcap [SETS [RX_PPS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "device.h"
#include "harness.h"
#include "host.h"
#include "maclist.h"

#define NADAPTERS 3
#define NCPUS 4

static struct emu_host *hosts[NADAPTERS];

static NTSTATUS set(ULONG code, const MACLIST_SETTINGS *s, ULONG len, ULONG64 *gen)
{
    ULONG info = 0;
    NTSTATUS st = emu_device_ioctl("\\\\.\\maclist", code, s, len, gen, sizeof(*gen), &info);
    HLT_CHECK(!NT_SUCCESS(st) || info == sizeof(*gen), "IOCTL wrote %lu bytes", (unsigned long)info);
    return st;
}

int main(int argc, char **argv)
{
    static const UCHAR known[6] = {0x16, 0x0c, 0xdb, 0x67, 0xf7, 0x90}; /* in netns-mixed.pcap */
    MACLIST_SETTINGS open_all, allow_one, bad;
    uint64_t delivered = 0, dropped = 0;
    ULONG64 gen = 0, last = 0;
    struct hlt_storm_setup setup;
    struct hlt_churn *churner;

    hlt_storm_setup(argc, argv, NCPUS, "maclist", &setup);
    struct emu_driver *drv = setup.drv;
    struct emu_traffic *traffic = setup.traffic;
    unsigned sets = setup.sets;

    memset(&open_all, 0, sizeof(open_all));
    open_all.Version = MACLIST_VERSION;
    allow_one = open_all;
    allow_one.Flags = MACLIST_FLAG_DROP_UNKNOWN_RX | MACLIST_FLAG_DROP_UNKNOWN_TX;
    allow_one.Count = 1;
    memcpy(allow_one.Addresses[0], known, 6);

    /* Bad input: refused, nothing replaced. */
    bad = allow_one;
    bad.Count = MACLIST_MAX_ADDRESSES + 1;
    HLT_CHECK(set(IOCTL_MACLIST_SET, &bad, sizeof(bad), &gen) == STATUS_INVALID_PARAMETER, "count");
    bad = allow_one;
    bad.Flags = 0x80;
    HLT_CHECK(set(IOCTL_MACLIST_SET, &bad, sizeof(bad), &gen) == STATUS_INVALID_PARAMETER, "flags");
    HLT_CHECK(set(IOCTL_MACLIST_SET, &allow_one, sizeof(allow_one) - 1, &gen) ==
                  STATUS_INVALID_BUFFER_SIZE,
              "short input");
    HLT_CHECK(set(IOCTL_MACLIST_SET, &allow_one, sizeof(allow_one), &gen) == STATUS_SUCCESS &&
                  gen == 2,
              "first SET: generation %llu", (unsigned long long)gen);

    if (!hlt_storm_hosts_start(hosts, NADAPTERS, NCPUS, traffic, setup.rx_pps, 2000))
        return 2;

    churner = hlt_churn_start(hosts);
    last = gen;
    for (unsigned i = 1; i <= sets; i++) {
        ULONG code = i % 3 == 0 ? IOCTL_MACLIST_SET_NOWAIT : IOCTL_MACLIST_SET;
        NTSTATUS st = set(code, i % 2 ? &open_all : &allow_one, sizeof(open_all), &gen);
        HLT_CHECK(st == STATUS_SUCCESS && gen == last + 1, "SET %u: 0x%08x generation %llu", i,
                  (unsigned)st, (unsigned long long)gen);
        last = gen;
        if (hlt_failures > 20)
            break;
        hlt_sleep_ms(1);
    }
    hlt_churn_stop(churner);

    for (unsigned i = 0; i < NADAPTERS; i++)
        emu_host_stop_traffic(hosts[i]);
    for (unsigned i = 0; i < NADAPTERS; i++) {
        struct emu_host_figures f;
        HLT_CHECK(emu_adapter_pause(emu_host_adapter(hosts[i])) == NDIS_STATUS_SUCCESS,
                  "final pause %u", i);
        hlt_storm_host_check(hosts[i], i, &f);
        delivered += f.v[EMU_RX_DELIVERED];
        dropped += f.v[EMU_RX_DROPPED_BY_FILTER];
    }
    /* Both settings ran: some frames passed, some were dropped for an unknown source. */
    HLT_CHECK(delivered > 0 && dropped > 0, "delivered %llu dropped %llu",
              (unsigned long long)delivered, (unsigned long long)dropped);

    for (unsigned i = 0; i < NADAPTERS; i++)
        emu_host_destroy(hosts[i]);
    emu_traffic_free(traffic);
    hlt_shutdown(drv); /* unload: HlRcuUninitialize waits for the deferred frees; pool-leak check */
    printf("%u settings replaced; %ld checks, %d failed\n", sets, (long)hlt_checks,
           (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
