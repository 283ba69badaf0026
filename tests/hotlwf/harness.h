/*
 * What every hotlwf test needs from ndisemu: boot the emulated kernel with
 * hotlwf loaded, adapters with a deterministic "probe" host at both ends
 * (every packet is indicated exactly once, synchronously, so counts are
 * exact), the control device, and blobs compiled from pcap expressions.
 */
#ifndef HOTLWF_TESTS_HARNESS_H
#define HOTLWF_TESTS_HARNESS_H

#include <ndis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotlwf/config.h"
#include "hotlwf/ioctl.h"

extern _Atomic int hlt_failures; /* checks run on several threads */
extern _Atomic long hlt_checks;

#define HLT_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        hlt_checks++;                                                                              \
        if (!(cond)) {                                                                             \
            hlt_failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Kernel with ncpus CPUs, every adapter's stack = stack_spec, driver loaded. Exits on failure. */
struct emu_driver *hlt_boot(unsigned ncpus, const char *driver_path, const char *stack_spec,
                            const char *strategy);
/* Unloads, checks the verifier found nothing, shuts the kernel down. */
void hlt_shutdown(struct emu_driver *drv);

/* ---- the probe host ---- */
struct hlt_probe;
struct hlt_probe *hlt_probe_create(unsigned index);
void hlt_probe_destroy(struct hlt_probe *p);
struct emu_adapter *hlt_probe_adapter(struct hlt_probe *p);
/* Several threads drive this probe: per-call return checks are skipped, totals still hold. */
void hlt_probe_set_shared(struct hlt_probe *p);
/* Totals since creation. A batch due while the probe's end was paused is skipped (not sent). */
struct hlt_probe_counts {
    size_t rx_skipped, delivered, returned;
    size_t tx_skipped, reached, completed;
};
void hlt_probe_counts(struct hlt_probe *p, struct hlt_probe_counts *c);

enum hlt_mode { HLT_PASSIVE, HLT_DISPATCH, HLT_RESOURCES };
struct hlt_packet {
    const uint8_t *data;
    uint32_t len;
};
/*
 * Indicates every packet once, batch NBLs per indication, each packet's
 * bytes split into MDLs of split bytes (0: one MDL). Returns how many
 * reached the protocol; checks every NBL came back to the miniport.
 */
size_t hlt_probe_receive(struct hlt_probe *p, const struct hlt_packet *pkts, size_t n,
                         unsigned batch, enum hlt_mode mode, unsigned split);
/* Same for sends from the protocol; returns how many reached the miniport. */
size_t hlt_probe_send(struct hlt_probe *p, const struct hlt_packet *pkts, size_t n, unsigned batch,
                      enum hlt_mode mode, unsigned split);

/* ---- pcap ---- */
struct hlt_capture {
    struct hlt_packet *pkts;
    size_t count;
};
bool hlt_capture_load(const char *path, struct hlt_capture *out);
void hlt_capture_free(struct hlt_capture *c);
/* `tcpdump -r path -nn expr | wc -l`, independently of hotlwf. -1 on error. */
long hlt_tcpdump_count(const char *path, const char *expr);

/* ---- blobs and IOCTLs ---- */
struct hlt_rule {
    uint8_t action, direction;
    const char *expr; /* pcap-filter expression */
    struct hl_selector selector;
};
/* malloc'd blob; exits on a compile error. */
uint8_t *hlt_blob(const struct hlt_rule *rules, unsigned n, uint8_t default_action, size_t *len);
/* The two configurations reconfiguration storms alternate (malloc'd):
   A drops UDP in and TCP out; B drops ICMP both ways and ARP in, passes IPv6 in. */
void hlt_storm_blobs(uint8_t **a, size_t *alen, uint8_t **b, size_t *blen);

NTSTATUS hlt_ioctl(ULONG code, const void *in, ULONG in_len, void *out, ULONG out_len, ULONG *info);
/* SET_CONFIG; returns the IRP status, the driver's answer in *r. */
NTSTATUS hlt_set_config(const void *blob, size_t len, struct hl_set_config_result *r);
/* GET_CONFIG into a malloc'd buffer. */
uint8_t *hlt_get_config(size_t *len);
/* GET_STATS into a malloc'd buffer (header, rules, adapters). */
uint8_t *hlt_get_stats(size_t *len);

/* The storm tests' churn, on a thread of its own until hlt_churn_stop:
   adapters 0 and 1 of hosts[] pause and restart in turn (their modules live
   through the run), adapter 2 detaches and re-attaches its module every 4th
   round. */
struct emu_host;
struct emu_traffic;
struct hlt_churn;
/* Creates and starts n storm hosts (host i on CPUs i.., 2 RX queues, random
   MDL splits, no NBL recycling, seed + i) pushing traffic at rx_pps and
   rx_pps / 2 sends; false after printing why when one cannot be created. */
bool hlt_storm_hosts_start(struct emu_host **hosts, unsigned n, unsigned ncpus,
                           const struct emu_traffic *traffic, uint64_t rx_pps, unsigned seed);
struct hlt_churn *hlt_churn_start(struct emu_host *const *hosts);
/* The storm tests' command line, DRIVER.so CAPTURE.pcap [SETS [RX_PPS]]
   (defaults 300 and 100000): boots ncpus CPUs with the driver as every
   adapter's stack (stack: its name) and loads the capture. Exits 2 with a
   usage line or the reason on a bad command line or capture. */
struct hlt_storm_setup {
    struct emu_driver *drv;
    struct emu_traffic *traffic;
    unsigned sets;
    uint64_t rx_pps;
};
void hlt_storm_setup(int argc, char **argv, unsigned ncpus, const char *stack,
                     struct hlt_storm_setup *out);
void hlt_churn_stop(struct hlt_churn *c);
/* After a storm, storm host i: prints its figures into *f and checks that
   it had traffic and lost, corrupted or kept nothing. */
struct emu_host_figures;
void hlt_storm_host_check(struct emu_host *h, unsigned i, struct emu_host_figures *f);
void hlt_sleep_ms(unsigned ms);

#endif
