/* `lwfctl load` and `lwfctl show`: the configuration in and out of the driver. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_decode.h"
#include "commands.h"
#include "device_query.h"
#include "hotlwf/config.h"
#include "hotlwf/ioctl.h"
#include "rules_parse.h"
#include "transport.h"

static const char load_help[] =
    "usage: lwfctl load RULES [--device D]\n"
    "\n"
    "Compiles RULES (pcap-filter expressions, checked with the driver's own\n"
    "validator) and replaces the running configuration. Returns once no CPU can\n"
    "classify another packet with the old rules; prints the new generation and\n"
    "how long that grace period took, then what the driver's compile cost: its\n"
    "time, the snapshot's and the rule index's bytes, and how many rules the\n"
    "index keys on header values. A configuration over a limit (rules, program\n"
    "size, blob or snapshot bytes: docs/rules.md) is refused whole, with the\n"
    "reason, and the running one stays.\n"
    "\n"
    "  --device D  control device (default: $NDISEMU_DEVICE, else\n"
    "              $XDG_RUNTIME_DIR/ndisemu-hotlwf.sock, else /run/user/UID/... or\n"
    "              /tmp/ndisemu-UID/... on Linux, the directory private to you;\n"
    "              \\\\.\\hotlwf on Windows). The server must run as you or root.\n"
    "\n"
    "Exit status: 0 loaded, 1 errors in RULES, refused by the driver or device\n"
    "unreachable, 2 bad arguments or unreadable RULES.\n";

static const char show_help[] =
    "usage: lwfctl show [-v] [--device D]\n"
    "\n"
    "Prints the running configuration in rules-file form. The filter text is\n"
    "not kept by the driver, so each rule is a comment giving its action,\n"
    "direction, selector and program size; -v lists every program.\n";

/* Parses [--device D] [-v] and no positional beyond npos; returns -1 on usage error. */
static int device_opts(const char *cmd, const char *help, int argc, char **argv, int npos,
                       const char **device, int *verbose)
{
    static const struct option opts[] = {{"device", required_argument, NULL, 'D'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    *device = NULL; /* the transport's default */
    while ((c = getopt_long(argc, argv, verbose != NULL ? "hv" : "h", opts, NULL)) != -1) {
        if (c == 'D') {
            *device = optarg;
        } else if (c == 'v' && verbose != NULL) {
            *verbose = 1;
        } else if (c == 'h') {
            fputs(help, stdout);
            return 1;
        } else {
            lwf_usage_error(cmd, "unknown option");
            return -1;
        }
    }
    if (argc - optind != npos) {
        lwf_usage_error(cmd, argc - optind < npos ? "missing RULES file" : "too many arguments");
        return -1;
    }
    return 0;
}

static int send_config(const char *device, const struct lwf_rules *rules)
{
    struct hl_set_config_result res;
    char err[512];
    size_t len = 0, got = 0;
    uint32_t st = 0;

    int e =
        hl_blob_encode(rules->specs, (uint32_t)rules->count, rules->default_action, NULL, 0, &len);
    uint8_t *blob = e == HL_E_BUFFER_TOO_SMALL || e == HL_OK ? malloc(len ? len : 1) : NULL;
    if (blob != NULL)
        e = hl_blob_encode(rules->specs, (uint32_t)rules->count, rules->default_action, blob, len,
                           &len);
    if (blob == NULL || e != HL_OK) {
        fprintf(stderr, "lwfctl load: cannot encode the rules: %s\n",
                blob == NULL && e == HL_E_BUFFER_TOO_SMALL ? "out of memory" : hl_status_name(e));
        free(blob);
        return LWF_EXIT_FAIL;
    }
    memset(&res, 0, sizeof(res));
    int rc = lwf_device_ioctl(device, HL_IOCTL_SET_CONFIG, blob, len, &res, sizeof(res), &st, &got,
                              err, sizeof(err));
    free(blob);
    if (rc != 0) {
        fprintf(stderr, "lwfctl load: %s\n", err);
        return LWF_EXIT_FAIL;
    }
    if (st != HL_STATUS_SUCCESS || got < HL_SET_CONFIG_RESULT_V1_SIZE) {
        fprintf(stderr, "lwfctl load: the device failed the request (NTSTATUS 0x%08x, %zu bytes)\n",
                (unsigned)st, got);
        return LWF_EXIT_FAIL;
    }
    res.reason[sizeof(res.reason) - 1] = '\0';
    if (res.status != HL_OK) {
        fprintf(stderr,
                "lwfctl load: refused by the driver: %s: %s (generation %llu still running)\n",
                hl_status_name(res.status), res.reason, (unsigned long long)res.generation);
        return LWF_EXIT_FAIL;
    }
    printf("loaded %zu rule%s, default %s: generation %llu, grace period %.3f ms\n", rules->count,
           rules->count == 1 ? "" : "s", lwf_action_name(rules->default_action),
           (unsigned long long)res.generation, (double)res.grace_ns / 1e6);
    /* A driver from before the compile figures answers with the first 280 bytes only. */
    if (got >= sizeof(res))
        printf("compiled in %.3f ms: snapshot %llu bytes + index %llu bytes, %u of %zu rule%s "
               "indexed on %u header field%s\n",
               (double)res.compile_ns / 1e6, (unsigned long long)res.snapshot_bytes,
               (unsigned long long)res.index_bytes, (unsigned)res.rules_indexed, rules->count,
               rules->count == 1 ? "" : "s", (unsigned)res.index_fields,
               res.index_fields == 1 ? "" : "s");
    return LWF_EXIT_OK;
}

int lwf_cmd_load(int argc, char **argv)
{
    const char *device;
    struct lwf_rules rules;

    int o = device_opts("load", load_help, argc, argv, 1, &device, NULL);
    if (o != 0)
        return o > 0 ? LWF_EXIT_OK : LWF_EXIT_USAGE;
    /* Every rule is compiled and validated here, before anything is sent:
     * a file with one bad line changes nothing in the driver. */
    int prc = lwf_rules_parse_file(argv[optind], &rules, stderr);
    int rc = prc < 0 ? LWF_EXIT_USAGE : prc > 0 ? LWF_EXIT_FAIL : send_config(device, &rules);
    lwf_rules_free(&rules);
    return rc;
}

int lwf_cmd_show(int argc, char **argv)
{
    const char *device;
    int verbose = 0;
    uint8_t *blob;
    size_t len;
    struct lwf_rules rules;
    char err[256], sel[2 * HL_SEL_NAME_MAX + 4];

    int o = device_opts("show", show_help, argc, argv, 0, &device, &verbose);
    if (o != 0)
        return o > 0 ? LWF_EXIT_OK : LWF_EXIT_USAGE;
    if (lwf_query("show", device, HL_IOCTL_GET_CONFIG, HL_BLOB_HEADER_SIZE,
                  offsetof(struct hl_blob_header, total_size), &blob, &len) != 0)
        return LWF_EXIT_FAIL;
    int rc = lwf_blob_decode(blob, len, &rules, err, sizeof(err));
    free(blob);
    if (rc != 0) {
        fprintf(stderr, "lwfctl show: %s\n", err);
        return LWF_EXIT_FAIL;
    }
    printf("default %s\n", lwf_action_name(rules.default_action));
    for (size_t i = 0; i < rules.count; i++) {
        const struct hl_rule_spec *r = &rules.specs[i];
        printf("# rule %zu: %s %s", i + 1, lwf_action_name(r->action),
               lwf_direction_name(r->direction));
        if (r->selector.kind != HL_SEL_ALL) {
            lwf_selector_format(&r->selector, sel, sizeof(sel));
            printf(" on %s", sel);
        }
        printf(", %u instruction%s\n", (unsigned)r->ninsns, r->ninsns == 1 ? "" : "s");
        if (verbose)
            lwf_bpf_print(stdout, r->insns, r->ninsns, "#   ");
    }
    lwf_rules_free(&rules);
    return fflush(stdout) == 0 ? LWF_EXIT_OK : LWF_EXIT_FAIL;
}
