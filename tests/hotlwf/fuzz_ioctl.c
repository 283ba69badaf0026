/*
 * Fuzz target: raw bytes into ndisemu's control-device socket, in process.
 * The real hotlwf.so is loaded into an emulated kernel (2 CPUs, one probe
 * adapter, so GET_STATS lists a module), the real socket server
 * (emu_devsock_start, emu/src/hosts/host_devsock.c) listens on a private
 * path, and each frame of the input is written to a fresh connection exactly
 * as lwfctl would write it, then the write side is closed: framing, length
 * checks, IRP_MJ_DEVICE_CONTROL dispatch (driver/ioctl.c) and the reply are
 * all the production code. No ndisemu process per input.
 *
 * Input: up to MAX_FRAMES frames, each a u16 little-endian length L and L
 * bytes (the rest of the input if shorter). A frame is whatever a client
 * sends: usually struct emu_devsock_request and in_len bytes, but any code,
 * any lengths, short or long.
 *
 * Checked after every frame (abort() on failure):
 * - the reply is one struct emu_devsock_reply with the magic, Information
 *   never above the request's out_len, and exactly Information bytes after it;
 * - GET_CONFIG (straight through emu_device_ioctl) returns the configuration
 *   that ran before the frame, byte for byte, unless the frame was a
 *   SET_CONFIG the driver answered HL_OK, after which it returns that frame's
 *   blob exactly;
 * - a GET_CONFIG or GET_STATS answered through the socket says what the
 *   driver holds (the running blob; Information == size_needed);
 * - the verifier has found nothing.
 * Each input starts from the same configuration (restored if a frame
 * changed it), so a saved input replays on its own.
 *
 * Built with -DHL_LIBFUZZER for libFuzzer; otherwise tests/config/fuzz_replay.c
 * replays the saved corpus (corpus_ioctl/) as an ordinary test. HL_FUZZ_DRIVER
 * is the path of the hotlwf.so to load.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

#include "device.h"
#include "harness.h"
#include "verifier.h"

#define MAX_FRAMES 4
#define REPLY_MAX (64u << 10) /* larger answers are read and counted, not kept */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct emu_driver *driver;
static struct hlt_probe *probe;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static uint8_t *baseline, *running; /* the configuration each input starts from; now */
static size_t baseline_len, running_len;
static uint8_t reply_buf[REPLY_MAX];

static void fail(const char *what, unsigned long a, unsigned long b)
{
    fprintf(stderr, "fuzz_ioctl: %s (%lu, %lu)\n", what, a, b);
    if (emu_violation_count() != 0)
        emu_violations_print(stderr, false);
    abort();
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* GET_CONFIG in process; the running blob must be exactly `running`. */
static void check_config(const char *when)
{
    static uint8_t buf[HL_BLOB_MAX > REPLY_MAX ? REPLY_MAX : HL_BLOB_MAX];
    ULONG info = 0;
    NTSTATUS st = emu_device_ioctl("hotlwf", HL_IOCTL_GET_CONFIG, NULL, 0, buf, sizeof(buf), &info);
    if (st != (NTSTATUS)HL_STATUS_SUCCESS || info != running_len ||
        memcmp(buf, running, running_len) != 0) {
        fprintf(stderr, "fuzz_ioctl: GET_CONFIG %s: status 0x%08x, %lu bytes, want %zu\n", when,
                (unsigned)st, (unsigned long)info, running_len);
        fail("GET_CONFIG changed", info, running_len);
    }
}

static void set_running(const uint8_t *blob, size_t len)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        fail("out of memory", len, 0);
    memcpy(copy, blob, len);
    free(running);
    running = copy;
    running_len = len;
}

static void shutdown_at_exit(void)
{
    emu_devsock_stop();
    hlt_probe_destroy(probe);
    hlt_shutdown(driver);
    free(running);
    free(baseline);
    if (hlt_failures != 0)
        _exit(1);
}

static void boot(void)
{
    static const struct hlt_rule rules[2] = {
        {HL_ACTION_DROP, HL_DIR_IN, "udp port 53", {.kind = HL_SEL_ALL}},
        {HL_ACTION_PASS, HL_DIR_BOTH, "tcp", {.kind = HL_SEL_IFINDEX, .ifindex = 100}},
    };
    struct hl_set_config_result r;
    char err[256];

    driver = hlt_boot(2, HL_FUZZ_DRIVER, "hotlwf", NULL);
    probe = hlt_probe_create(0);
    baseline = hlt_blob(rules, 2, HL_ACTION_PASS, &baseline_len);
    if (hlt_set_config(baseline, baseline_len, &r) != (NTSTATUS)HL_STATUS_SUCCESS ||
        r.status != HL_OK)
        fail("the baseline configuration is refused", (unsigned long)r.status, 0);
    set_running(baseline, baseline_len);
    snprintf(sock_path, sizeof(sock_path), "/tmp/fuzz_ioctl.%ld.sock", (long)getpid());
    if (!emu_devsock_start(sock_path, err, sizeof(err))) {
        fprintf(stderr, "fuzz_ioctl: %s\n", err);
        exit(2);
    }
    atexit(shutdown_at_exit);
}

/* One connection: send the frame, close our write side, read the whole reply. */
static size_t exchange(const uint8_t *frame, size_t len, size_t *total)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t kept = 0;

    memcpy(sa.sun_path, sock_path, sizeof(sock_path));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        fail("cannot connect to the device socket", (unsigned long)errno, 0);
    /* The server may answer and hang up before reading it all: not an error. */
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, frame + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    *total = 0;
    for (;;) {
        uint8_t sink[4096];
        uint8_t *into = kept < REPLY_MAX ? reply_buf + kept : sink;
        size_t room = kept < REPLY_MAX ? REPLY_MAX - kept : sizeof(sink);
        ssize_t n = recv(fd, into, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        /* A server that hangs up without reading all we sent resets the
           connection (Linux AF_UNIX): after its reply, that ends it too. */
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            break;
        if (n < 0)
            fail("reply read failed", (unsigned long)errno, 0);
        if (into == reply_buf + kept)
            kept += (size_t)n;
        *total += (size_t)n;
    }
    close(fd);
    return kept;
}

static void check_answer(uint32_t code, const uint8_t *out, uint32_t info, int32_t status)
{
    if (status != (int32_t)HL_STATUS_SUCCESS)
        return;
    if (code == HL_IOCTL_GET_CONFIG &&
        (info != running_len || memcmp(out, running, running_len) != 0))
        fail("GET_CONFIG through the socket is not the running blob", info, running_len);
    if (code == HL_IOCTL_GET_STATS && (info < sizeof(struct hl_stats_header) || le32(out) != info))
        fail("GET_STATS: Information is not size_needed", info, info >= 4 ? le32(out) : 0);
}

static void one_frame(const uint8_t *frame, size_t len)
{
    struct emu_devsock_request req;
    struct emu_devsock_reply rep;
    size_t total, kept = exchange(frame, len, &total);
    bool framed = len >= sizeof(req);

    if (framed)
        memcpy(&req, frame, sizeof(req));
    if (kept < sizeof(rep))
        fail("short reply", kept, sizeof(rep));
    memcpy(&rep, reply_buf, sizeof(rep));
    if (rep.magic != EMU_DEVSOCK_MAGIC)
        fail("reply without the magic", rep.magic, 0);
    if (total != sizeof(rep) + rep.information)
        fail("reply length is not header + Information", total, rep.information);
    if (rep.information != 0 && (!framed || rep.information > req.out_len))
        fail("Information above the caller's out_len", rep.information, framed ? req.out_len : 0);

    bool whole = framed && req.magic == EMU_DEVSOCK_MAGIC && len - sizeof(req) >= req.in_len;
    const uint8_t *out = reply_buf + sizeof(rep);
    if (whole && rep.information <= REPLY_MAX - sizeof(rep))
        check_answer(req.ioctl_code, out, rep.information, rep.status);
    if (whole && req.ioctl_code == HL_IOCTL_SET_CONFIG &&
        rep.status == (int32_t)HL_STATUS_SUCCESS &&
        rep.information >= sizeof(struct hl_set_config_result) && (int32_t)le32(out) == HL_OK)
        set_running(frame + sizeof(req), req.in_len);
    check_config("after a frame");
    if (emu_violation_count() != 0)
        fail("the verifier found something", emu_violation_count(), 0);
}

/*
 * -detect_leaks=0, before libFuzzer reads its flags: its per-input leak check
 * runs whenever an input's mallocs and frees do not balance, which the
 * emulated CPUs' own threads make true of nearly every input, and each check
 * stops the world (40 inputs/s instead of thousands). Leaks are still
 * caught: ndisemu's pool-leak and resource-leak checks at the driver's
 * unload (hlt_shutdown, at exit) and LeakSanitizer's check at exit.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char flag[] = "-detect_leaks=0";
    char **args = malloc(((size_t)*argc + 2) * sizeof(*args));
    if (args == NULL)
        return 0;
    memcpy(args, *argv, (size_t)*argc * sizeof(*args));
    args[(*argc)++] = flag;
    args[*argc] = NULL;
    *argv = args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (driver == NULL)
        boot();
    if (running_len != baseline_len || memcmp(running, baseline, baseline_len) != 0) {
        struct hl_set_config_result r;
        if (hlt_set_config(baseline, baseline_len, &r) != (NTSTATUS)HL_STATUS_SUCCESS ||
            r.status != HL_OK)
            fail("cannot restore the baseline", (unsigned long)r.status, 0);
        set_running(baseline, baseline_len);
    }
    for (unsigned f = 0; f < MAX_FRAMES && size >= 2; f++) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2, size -= 2;
        if (len > size)
            len = size;
        one_frame(data, len);
        data += len, size -= len;
    }
    return 0;
}
