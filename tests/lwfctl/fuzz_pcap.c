/*
 * Fuzz target: bytes as the capture of `lwfctl check RULES --pcap CAPTURE`,
 * through lwfctl's own entry point (lwf_cmd_check: libpcap's pcap and
 * pcapng reader, the link-type and length checks, the driver's classifier
 * on every packet, with a fixed rules file that reads at varied offsets).
 *
 * Whatever the bytes, the command must not crash (ASan+UBSan), and:
 * - exit 0 with nothing on stderr, or exit 2 with one clear line on stderr:
 *   "lwfctl check: CAPTURE: ...", printable, naming no "(null)";
 * - stdout holds one line per packet classified, "N RULE|default ACTION",
 *   numbered 1, 2, ... (on an error, the packets before it).
 *
 * The input is the capture file itself, so every corpus file is a capture
 * `lwfctl check` can be run on by hand. Built with -DHL_LIBFUZZER for
 * libFuzzer; otherwise tests/config/fuzz_replay.c replays the saved corpus
 * (corpus_pcap/) as an ordinary test.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every kind of selector, both directions, loads at fixed, indirect and
   variable-length-header offsets, so that packets of any length reach them. */
static const char rules_text[] = "default pass\n"
                                 "drop in \"udp port 53\"\n"
                                 "pass in on ifindex:7 \"icmp\"\n"
                                 "drop both \"tcp[tcpflags] & tcp-syn != 0\"\n"
                                 "drop in \"vlan and ip[6:2] & 0x3fff != 0\"\n"
                                 "pass both \"ip6 and ip6[40] == 128\"\n"
                                 "drop in \"ether[0] & 1 != 0 and len > 1000\"\n";

static char rules_path[64], capture_path[64];

static void remove_files(void)
{
    unlink(rules_path);
    unlink(capture_path);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_pcap: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* lwfctl's main.c prints usage errors; the arguments here are always valid. */
int lwf_usage_error(const char *cmd, const char *fmt, ...)
{
    (void)cmd, (void)fmt;
    fail("lwfctl check called a usage error", NULL);
    return LWF_EXIT_USAGE;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fail("cannot write", path);
}

static void setup(void)
{
    /* /dev/shm when there is one: a file per input, kept off the disk. */
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(rules_path, sizeof(rules_path), "%s/fuzz_pcap.%ld.rules", dir, (long)getpid());
    snprintf(capture_path, sizeof(capture_path), "%s/fuzz_pcap.%ld.pcap", dir, (long)getpid());
    atexit(remove_files);
    write_file(rules_path, rules_text, sizeof(rules_text) - 1);
}

/* "N RULE ACTION" or "N default ACTION", N counting from 1. */
static void check_stdout(const char *out, size_t len)
{
    unsigned long want = 1;
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char line[96], rule[16], action[8];
        unsigned long n;
        if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
            fail("stdout: an unterminated or overlong line", NULL);
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        if (sscanf(line, "%lu %15s %7s", &n, rule, action) != 3 || n != want ||
            (strcmp(action, "pass") != 0 && strcmp(action, "drop") != 0) ||
            (strcmp(rule, "default") != 0 && strspn(rule, "0123456789") != strlen(rule)))
            fail("stdout: not 'N RULE|default ACTION' in order", line);
        want++;
        p = nl + 1;
    }
}

/* One line, "lwfctl check: CAPTURE: <printable text>\n", no "(null)". */
static void check_error(const char *err, size_t len)
{
    char prefix[96];
    int n = snprintf(prefix, sizeof(prefix), "lwfctl check: %s: ", capture_path);
    if (len <= (size_t)n + 1 || strncmp(err, prefix, (size_t)n) != 0)
        fail("the error does not name the capture", err);
    if (memchr(err, '\n', len) != err + len - 1)
        fail("the error is not one line", err);
    for (size_t i = (size_t)n; i + 1 < len; i++)
        if (!isprint((unsigned char)err[i]))
            fail("the error has an unprintable byte", err);
    if (strstr(err, "(null)") != NULL)
        fail("the error prints a NULL string", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rules_path[0] == '\0')
        setup();
    write_file(capture_path, data, size);

    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *saved_out = stdout, *saved_err = stderr;
    stdout = open_memstream(&out, &out_len);
    stderr = open_memstream(&err, &err_len);
    if (stdout == NULL || stderr == NULL)
        fail("open_memstream", NULL);
    char *argv[] = {"check", rules_path, "--pcap", capture_path, NULL};
    optind = 0; /* getopt starts over for each call (glibc) */
    int rc = lwf_cmd_check(4, argv);
    fclose(stdout);
    fclose(stderr);
    stdout = saved_out;
    stderr = saved_err;

    if (rc == LWF_EXIT_OK && err_len != 0)
        fail("exit 0 with an error message", err);
    if (rc == LWF_EXIT_USAGE)
        check_error(err, err_len);
    if (rc != LWF_EXIT_OK && rc != LWF_EXIT_USAGE)
        fail("exit status neither 0 nor 2", err);
    check_stdout(out, out_len);
    free(out);
    free(err);
    return 0;
}
