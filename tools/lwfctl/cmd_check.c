/*
 * `lwfctl check`: the dry run. It runs the same core code the driver runs
 * (hl_config_compile -> hl_view_refresh -> hl_classify) on the blob lwfctl
 * would send, so a verdict here is the verdict the driver would give.
 */
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hotlwf/config.h"
#include "hotlwf/heap.h"
#include "rules_parse.h"

static const char check_help[] =
    "usage: lwfctl check RULES --pcap CAPTURE [--direction in|out]\n"
    "                    [--adapter NAME|MAC|ifindex:N]\n"
    "\n"
    "Classifies every packet of CAPTURE with RULES exactly as the driver would,\n"
    "without a device. Prints one line per packet: PACKET RULE|default ACTION,\n"
    "packets numbered from 1 (as tcpdump -# numbers them), rules from 1 in file\n"
    "order, e.g. '1 3 drop' or '2 default pass'.\n"
    "\n"
    "  --pcap CAPTURE      pcap or pcapng file, Ethernet link type\n"
    "  --direction in|out  packets are received (in, the default) or sent (out)\n"
    "  --adapter SEL       the adapter the packets are on: a name, a MAC address or\n"
    "                      ifindex:N. Without it the adapter has no name, MAC or\n"
    "                      ifindex that any 'on' selector names, so only rules\n"
    "                      without 'on' apply.\n"
    "\n"
    "Exit status: 0 all packets classified, 1 errors in RULES, 2 bad arguments or\n"
    "a truncated or malformed capture (lines for the packets before it are printed).\n";

static int mac_used(const struct lwf_rules *r, const uint8_t mac[6])
{
    for (size_t i = 0; i < r->count; i++)
        if (r->specs[i].selector.kind == HL_SEL_MAC &&
            memcmp(r->specs[i].selector.mac, mac, 6) == 0)
            return 1;
    return 0;
}

/*
 * The adapter the capture is replayed on. Fields not given by --adapter are
 * chosen to match no selector of the file: empty names (a name selector is
 * never empty), ifindex 0 (never valid in a selector) and a MAC no rule names.
 */
static void make_adapter(const struct lwf_rules *r, const struct hl_selector *sel,
                         struct hl_adapter_id *ad)
{
    memset(ad, 0, sizeof(*ad));
    if (sel->kind == HL_SEL_NAME)
        memcpy(ad->name, sel->name, sizeof(ad->name));
    if (sel->kind == HL_SEL_IFINDEX)
        ad->ifindex = sel->ifindex;
    if (sel->kind == HL_SEL_MAC) {
        memcpy(ad->mac, sel->mac, 6);
        return;
    }
    /* A locally administered unicast address, bumped until no rule names it. */
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};
    for (uint32_t n = 0; mac_used(r, mac); n++) {
        mac[2] = (uint8_t)(n >> 24);
        mac[3] = (uint8_t)(n >> 16);
        mac[4] = (uint8_t)(n >> 8);
        mac[5] = (uint8_t)n;
    }
    memcpy(ad->mac, mac, 6);
}

static int build_snapshot(const struct lwf_rules *r, struct hl_snapshot **snap)
{
    char reason[256];
    size_t len = 0;
    int st = hl_blob_encode(r->specs, (uint32_t)r->count, r->default_action, NULL, 0, &len);
    if (st != HL_E_BUFFER_TOO_SMALL && st != HL_OK) {
        fprintf(stderr, "lwfctl check: cannot encode the rules: %s\n", hl_status_name(st));
        return -1;
    }
    uint8_t *blob = malloc(len ? len : 1);
    if (blob == NULL)
        return -1;
    st = hl_blob_encode(r->specs, (uint32_t)r->count, r->default_action, blob, len, &len);
    if (st == HL_OK)
        st = hl_config_compile(blob, len, &hl_heap, 1, snap, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "encoding failed");
    free(blob);
    if (st != HL_OK) {
        fprintf(stderr, "lwfctl check: the driver would refuse these rules: %s: %s\n",
                hl_status_name(st), reason);
        return -1;
    }
    return 0;
}

/* Prints a line per packet; returns the exit status. */
static int classify_capture(const char *path, const struct hl_view *view, enum hl_direction dir)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    struct pcap_pkthdr *hdr;
    const u_char *data;
    unsigned long n = 0;
    int rc;

    pcap_t *p = pcap_open_offline(path, errbuf);
    if (p == NULL) {
        fprintf(stderr, "lwfctl check: %s: %s\n", path, errbuf);
        return LWF_EXIT_USAGE;
    }
    /* The rules were compiled for Ethernet; on any other link type the
     * offsets would point at the wrong fields. */
    if (pcap_datalink(p) != DLT_EN10MB) {
        /* libpcap has no name for a link type it does not know: NULL. */
        const char *name = pcap_datalink_val_to_name(pcap_datalink(p));
        fprintf(stderr,
                "lwfctl check: %s: link type %d (%s), only Ethernet (EN10MB) is supported\n", path,
                pcap_datalink(p), name != NULL ? name : "unknown");
        pcap_close(p);
        return LWF_EXIT_USAGE;
    }
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        n++;
        if (hdr->caplen > hdr->len) {
            fprintf(stderr,
                    "lwfctl check: %s: packet %lu: captured length %u exceeds original %u\n", path,
                    n, hdr->caplen, hdr->len);
            pcap_close(p);
            return LWF_EXIT_USAGE;
        }
        struct hl_seg seg = {data, hdr->caplen};
        uint32_t rule = 0;
        uint8_t action = hl_classify(view, dir, &seg, 1, hdr->len, &rule);
        if (rule == 0)
            printf("%lu default %s\n", n, lwf_action_name(action));
        else
            printf("%lu %u %s\n", n, (unsigned)rule, lwf_action_name(action));
    }
    if (rc == PCAP_ERROR) {
        fflush(stdout);
        fprintf(stderr, "lwfctl check: %s: packet %lu: %s\n", path, n + 1, pcap_geterr(p));
        pcap_close(p);
        return LWF_EXIT_USAGE;
    }
    pcap_close(p);
    return fflush(stdout) == 0 ? LWF_EXIT_OK : LWF_EXIT_FAIL;
}

int lwf_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"pcap", required_argument, NULL, 'p'},
                                         {"direction", required_argument, NULL, 'd'},
                                         {"adapter", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *capture = NULL;
    enum hl_direction dir = HL_DIR_IN;
    struct hl_selector sel = {.kind = HL_SEL_ALL};
    char msg[256];
    int c;

    while ((c = getopt_long(argc, argv, "hp:d:a:", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            capture = optarg;
            break;
        case 'd':
            if (strcmp(optarg, "in") == 0)
                dir = HL_DIR_IN;
            else if (strcmp(optarg, "out") == 0)
                dir = HL_DIR_OUT;
            else
                return lwf_usage_error("check", "bad --direction '%s' (expected in or out)",
                                       optarg);
            break;
        case 'a':
            if (lwf_selector_parse(optarg, 0, &sel, msg, sizeof(msg)) != 0)
                return lwf_usage_error("check", "bad --adapter: %s", msg);
            break;
        case 'h':
            fputs(check_help, stdout);
            return LWF_EXIT_OK;
        default:
            return lwf_usage_error("check", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return lwf_usage_error("check",
                               optind >= argc ? "missing RULES file" : "too many arguments");
    if (capture == NULL)
        return lwf_usage_error("check", "missing --pcap CAPTURE");

    struct lwf_rules rules;
    int prc = lwf_rules_parse_file(argv[optind], &rules, stderr);
    if (prc != 0) {
        lwf_rules_free(&rules);
        return prc < 0 ? LWF_EXIT_USAGE : LWF_EXIT_FAIL;
    }
    struct hl_snapshot *snap = NULL;
    if (build_snapshot(&rules, &snap) != 0) {
        lwf_rules_free(&rules);
        return LWF_EXIT_FAIL;
    }
    struct hl_adapter_id adapter;
    make_adapter(&rules, &sel, &adapter);
    /* About 4 KiB: on the heap, as a module context would hold it. */
    struct hl_view *view = malloc(sizeof(*view));
    int rc = LWF_EXIT_FAIL;
    if (view != NULL) {
        hl_view_refresh(view, snap, &adapter);
        rc = classify_capture(capture, view, dir);
    }
    free(view);
    hl_snapshot_free(snap);
    lwf_rules_free(&rules);
    return rc;
}
