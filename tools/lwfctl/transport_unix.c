/*
 * The Linux transport: one connection to ndisemu's control-device socket per
 * IOCTL, as devsock.h specifies. Sizes from the peer are bounded before any
 * buffer is trusted: a broken or hostile emulator must not make lwfctl write
 * past out.
 *
 * Whom lwfctl talks to: the default path is in a directory only the user
 * owns (emu_devsock_default_path), and whatever the path, the server's
 * SO_PEERCRED uid must be ours or root's before a byte is sent: a socket
 * another user put there (squatting a shared directory) would otherwise
 * receive the configuration and could answer "loaded".
 */
#define _GNU_SOURCE /* struct ucred */
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ndisemu/devsock.h"

/* SET_CONFIG waits for a grace period; this is far longer than any sane one. */
#define REPLY_TIMEOUT_MS 60000

/* --device, else $NDISEMU_DEVICE, else the default path; NULL with why in err. */
static const char *device_path(const char *device, char *buf, size_t len, char *err,
                               size_t err_len)
{
    const char *env = getenv("NDISEMU_DEVICE");

    if (device != NULL)
        return device;
    if (env != NULL && env[0] != '\0')
        return env;
    if (!emu_devsock_default_path(false, buf, len, err, err_len))
        return NULL;
    return buf;
}

/* The server must run as us or as root: anyone else may be squatting the path. */
static int check_peer(int fd, const char *device, char *err, size_t err_len)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        snprintf(err, err_len, "cannot tell who serves %s: %s", device, strerror(errno));
        return -1;
    }
    if (cred.uid != geteuid() && cred.uid != 0) {
        snprintf(err, err_len,
                 "refusing %s: it is served by uid %u (pid %d), not by you (uid %u) or root; "
                 "nothing was sent",
                 device, (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes; 0 on success, 1 on early end of stream, -1 on error/timeout. */
static int recv_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, REPLY_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = ETIMEDOUT;
        if (r <= 0)
            return -1;
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int lwf_device_ioctl(const char *device, uint32_t code, const void *in, size_t in_len, void *out,
                     size_t out_cap, uint32_t *ntstatus, size_t *returned, char *err,
                     size_t err_len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t hdr[sizeof(struct emu_devsock_request)];
    uint8_t rep[sizeof(struct emu_devsock_reply)];
    char path[sizeof(sa.sun_path)];
    int rc = -1;

    device = device_path(device, path, sizeof(path), err, err_len);
    if (device == NULL)
        return -1;
    if (strlen(device) >= sizeof(sa.sun_path)) {
        snprintf(err, err_len, "device path too long: %s", device);
        return -1;
    }
    if (in_len > EMU_DEVSOCK_MAX_BUFFER || out_cap > EMU_DEVSOCK_MAX_BUFFER) {
        snprintf(err, err_len, "request larger than the device socket allows (%u bytes)",
                 EMU_DEVSOCK_MAX_BUFFER);
        return -1;
    }
    memcpy(sa.sun_path, device, strlen(device) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, err_len,
                 "cannot connect to %s: %s (is ndisemu running with --device-socket?)", device,
                 strerror(errno));
        goto out;
    }
    if (check_peer(fd, device, err, err_len) != 0)
        goto out;
    put_le32(hdr + 0, EMU_DEVSOCK_MAGIC);
    put_le32(hdr + 4, code);
    put_le32(hdr + 8, (uint32_t)in_len);
    put_le32(hdr + 12, (uint32_t)out_cap);
    if (send_all(fd, hdr, sizeof(hdr)) != 0 || send_all(fd, in, in_len) != 0) {
        snprintf(err, err_len, "cannot send the request to %s: %s", device, strerror(errno));
        goto out;
    }
    int r = recv_all(fd, rep, sizeof(rep));
    if (r != 0) {
        snprintf(err, err_len, "no reply from %s: %s", device,
                 r > 0 ? "connection closed by the device" : strerror(errno));
        goto out;
    }
    uint32_t info = get_le32(rep + 8);
    if (get_le32(rep) != EMU_DEVSOCK_MAGIC) {
        snprintf(err, err_len, "bad reply from %s: wrong magic 0x%08x", device, get_le32(rep));
        goto out;
    }
    if (info > out_cap) {
        snprintf(err, err_len, "bad reply from %s: %u output bytes for a %zu-byte buffer", device,
                 info, out_cap);
        goto out;
    }
    r = recv_all(fd, out, info);
    if (r != 0) {
        snprintf(err, err_len, "reply from %s cut short: %s", device,
                 r > 0 ? "connection closed by the device" : strerror(errno));
        goto out;
    }
    *ntstatus = get_le32(rep + 4);
    *returned = info;
    rc = 0;
out:
    close(fd);
    return rc;
}
