/*
 * lwfctl: the user-mode side of hotlwf. Rules are compiled here, with
 * libpcap, so the kernel never parses text; the driver receives a blob and
 * validates it again byte by byte.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

#define LWFCTL_VERSION "0.1.0"

static const char usage[] =
    "usage: lwfctl COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  load RULES [--device D]        compile RULES and make them the running configuration\n"
    "  show [-v] [--device D]         print the running configuration\n"
    "  stats [--json] [--device D]    print the driver's counters\n"
    "  check RULES --pcap CAPTURE [--direction in|out] [--adapter SEL]\n"
    "                                 classify a capture offline, as the driver would\n"
    "\n"
    "'lwfctl COMMAND --help' describes each command. Rules file, one rule a line:\n"
    "  ACTION DIRECTION [on SELECTOR] \"PCAP FILTER\"      # first match wins\n"
    "  default pass|drop                                 # at most once; pass if absent\n"
    "ACTION: pass | drop; DIRECTION: in | out | both; SELECTOR: an adapter name\n"
    "(bare or quoted), a MAC address (aa:bb:cc:dd:ee:ff) or ifindex:N.\n"
    "\n"
    "Exit status: 0 success, 1 failure (rules errors, refused, device), 2 usage\n"
    "error, unreadable input or malformed capture.\n";

int lwf_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "lwfctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'lwfctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return LWF_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } cmds[] = {{"load", lwf_cmd_load},
                {"show", lwf_cmd_show},
                {"stats", lwf_cmd_stats},
                {"check", lwf_cmd_check}};

    if (argc < 2)
        return lwf_usage_error(NULL, "missing command");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return LWF_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("lwfctl " LWFCTL_VERSION "\n");
        return LWF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    return lwf_usage_error(NULL, "unknown command '%s'", argv[1]);
}
