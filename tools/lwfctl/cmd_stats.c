/* `lwfctl stats`: the driver's counters as a table or one JSON object. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "device_query.h"
#include "hotlwf/ioctl.h"
#include "transport.h"

static const char stats_help[] =
    "usage: lwfctl stats [--json] [--device D]\n"
    "\n"
    "Prints the configuration generation, the number of reconfigurations and\n"
    "the latency of the last one (grace period included); what the running\n"
    "configuration cost to compile (time, snapshot and rule index bytes, rules\n"
    "indexed); hits per rule and of the default action per direction, and\n"
    "packets seen and dropped per adapter.\n"
    "\n"
    "  --json      one JSON object instead of tables\n"
    "  --device D  control device (default: $NDISEMU_DEVICE, else\n"
    "              $XDG_RUNTIME_DIR/ndisemu-hotlwf.sock, else /run/user/UID/... or\n"
    "              /tmp/ndisemu-UID/... on Linux, the directory private to you;\n"
    "              \\\\.\\hotlwf on Windows). The server must run as you or root.\n";

struct stats {
    struct hl_stats_header h;
    const struct hl_stats_rule *rules;
    const struct hl_stats_adapter *adapters;
};

/* Bounds every count by the bytes actually received before pointing into them. */
static int stats_parse(const uint8_t *buf, size_t len, struct stats *s)
{
    if (len < HL_STATS_HEADER_V1_SIZE)
        return -1;
    memset(&s->h, 0, sizeof(s->h));
    memcpy(&s->h, buf, len < sizeof(s->h) ? len : sizeof(s->h));
    if (s->h.version != HL_STATS_VERSION || s->h.header_size < HL_STATS_HEADER_V1_SIZE ||
        s->h.header_size > len || s->h.rule_count > HL_MAX_RULES)
        return -1;
    /* A driver from before the compile figures sends a 64-byte header: they read 0. */
    if (s->h.header_size < sizeof(s->h))
        memset((uint8_t *)&s->h + s->h.header_size, 0, sizeof(s->h) - s->h.header_size);
    size_t rules_bytes = (size_t)s->h.rule_count * sizeof(struct hl_stats_rule);
    size_t rest = len - s->h.header_size;
    if (rules_bytes > rest ||
        (size_t)s->h.adapter_count > (rest - rules_bytes) / sizeof(struct hl_stats_adapter))
        return -1;
    /* The buffer comes from malloc and the header is 64 bytes: both arrays are aligned. */
    s->rules = (const struct hl_stats_rule *)(const void *)(buf + s->h.header_size);
    s->adapters =
        (const struct hl_stats_adapter *)(const void *)(buf + s->h.header_size + rules_bytes);
    return 0;
}

static void adapter_name(const struct hl_stats_adapter *a, char *out)
{
    memcpy(out, a->name, HL_STATS_NAME_MAX);
    out[HL_STATS_NAME_MAX] = '\0';
}

static void mac_text(const uint8_t *m, char *out)
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const struct stats *s)
{
    char name[HL_STATS_NAME_MAX + 1], mac[18];

    printf("{\"generation\":%llu,\"reconfigurations\":%llu,\"last_reconfig_ns\":%llu,",
           (unsigned long long)s->h.generation, (unsigned long long)s->h.reconfig_count,
           (unsigned long long)s->h.last_reconfig_ns);
    printf("\"compile_ns\":%llu,\"snapshot_bytes\":%llu,\"index_bytes\":%llu,"
           "\"rules_indexed\":%u,\"index_fields\":%u,",
           (unsigned long long)s->h.compile_ns, (unsigned long long)s->h.snapshot_bytes,
           (unsigned long long)s->h.index_bytes, (unsigned)s->h.rules_indexed,
           (unsigned)s->h.index_fields);
    printf("\"default\":{\"hits_in\":%llu,\"hits_out\":%llu},\"rules\":[",
           (unsigned long long)s->h.default_in, (unsigned long long)s->h.default_out);
    for (uint32_t i = 0; i < s->h.rule_count; i++)
        printf("%s{\"rule\":%u,\"hits_in\":%llu,\"hits_out\":%llu}", i ? "," : "", i + 1,
               (unsigned long long)s->rules[i].hits_in, (unsigned long long)s->rules[i].hits_out);
    printf("],\"adapters\":[");
    for (uint32_t i = 0; i < s->h.adapter_count; i++) {
        const struct hl_stats_adapter *a = &s->adapters[i];
        adapter_name(a, name);
        mac_text(a->mac, mac);
        printf("%s{\"name\":", i ? "," : "");
        json_string(name);
        printf(",\"ifindex\":%u,\"mac\":\"%s\",\"rx_seen\":%llu,\"rx_dropped\":%llu,"
               "\"tx_seen\":%llu,\"tx_dropped\":%llu}",
               (unsigned)a->ifindex, mac, (unsigned long long)a->rx_seen,
               (unsigned long long)a->rx_dropped, (unsigned long long)a->tx_seen,
               (unsigned long long)a->tx_dropped);
    }
    printf("]}\n");
}

static void print_table(const struct stats *s)
{
    char name[HL_STATS_NAME_MAX + 1], mac[18];

    printf("generation %llu, %llu reconfiguration%s, last took %.3f ms\n\n",
           (unsigned long long)s->h.generation, (unsigned long long)s->h.reconfig_count,
           s->h.reconfig_count == 1 ? "" : "s", (double)s->h.last_reconfig_ns / 1e6);
    printf("running configuration: %u rule%s, compiled in %.3f ms, snapshot %llu bytes + "
           "index %llu bytes, %u rule%s indexed on %u header field%s\n\n",
           (unsigned)s->h.rule_count, s->h.rule_count == 1 ? "" : "s",
           (double)s->h.compile_ns / 1e6, (unsigned long long)s->h.snapshot_bytes,
           (unsigned long long)s->h.index_bytes, (unsigned)s->h.rules_indexed,
           s->h.rules_indexed == 1 ? "" : "s", (unsigned)s->h.index_fields,
           s->h.index_fields == 1 ? "" : "s");
    printf("%-8s %20s %20s\n", "rule", "hits in", "hits out");
    for (uint32_t i = 0; i < s->h.rule_count; i++)
        printf("%-8u %20llu %20llu\n", i + 1, (unsigned long long)s->rules[i].hits_in,
               (unsigned long long)s->rules[i].hits_out);
    printf("%-8s %20llu %20llu\n\n", "default", (unsigned long long)s->h.default_in,
           (unsigned long long)s->h.default_out);
    printf("%-20s %8s %-17s %14s %14s %14s %14s\n", "adapter", "ifindex", "mac", "rx seen",
           "rx dropped", "tx seen", "tx dropped");
    for (uint32_t i = 0; i < s->h.adapter_count; i++) {
        const struct hl_stats_adapter *a = &s->adapters[i];
        adapter_name(a, name);
        mac_text(a->mac, mac);
        printf("%-20s %8u %-17s %14llu %14llu %14llu %14llu\n", name, (unsigned)a->ifindex, mac,
               (unsigned long long)a->rx_seen, (unsigned long long)a->rx_dropped,
               (unsigned long long)a->tx_seen, (unsigned long long)a->tx_dropped);
    }
}

int lwf_cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"device", required_argument, NULL, 'D'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *device = NULL; /* the transport's default */
    int json = 0, c;
    uint8_t *buf;
    size_t len;
    struct stats s;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'D') {
            device = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            fputs(stats_help, stdout);
            return LWF_EXIT_OK;
        } else {
            return lwf_usage_error("stats", "unknown option");
        }
    }
    if (optind != argc)
        return lwf_usage_error("stats", "too many arguments");
    if (lwf_query("stats", device, HL_IOCTL_GET_STATS, HL_STATS_HEADER_V1_SIZE,
                  offsetof(struct hl_stats_header, size_needed), &buf, &len) != 0)
        return LWF_EXIT_FAIL;
    if (stats_parse(buf, len, &s) != 0) {
        fprintf(stderr, "lwfctl stats: malformed answer from the device (%zu bytes)\n", len);
        free(buf);
        return LWF_EXIT_FAIL;
    }
    if (json)
        print_json(&s);
    else
        print_table(&s);
    free(buf);
    return fflush(stdout) == 0 ? LWF_EXIT_OK : LWF_EXIT_FAIL;
}
