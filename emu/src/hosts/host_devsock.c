/*
 * The control-device socket (emu/include/ndisemu/devsock.h): lwfctl's
 * DeviceIoControl on Linux. One server thread, one request per connection,
 * handled to completion before the next accept, so the driver sees IOCTLs
 * one at a time from here, as from one user-mode client.
 *
 * Trust boundary: the socket is the only way into the emulated kernel from
 * outside the process. It is created mode 0600 (umask held across bind, so
 * there is no window with a wider mode), a peer whose SO_PEERCRED uid is not
 * ours is refused before a byte of its request is read, every length is
 * bounded by EMU_DEVSOCK_MAX_BUFFER before anything is allocated, and a
 * malformed or short request gets STATUS_INVALID_PARAMETER. Slow peers are
 * cut off by socket timeouts so one client cannot stall the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

#include "device.h"

#define DEVSOCK_TIMEOUT_S 5

static struct {
    int fd;
    int wake[2];
    pthread_t thread;
    bool running;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} srv = {.fd = -1, .wake = {-1, -1}};

static bool read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* The wire is little-endian; so is every host ndisemu runs on (x86-64,
   aarch64), which the build asserts instead of swapping. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "devsock wire format is little-endian");

static void reply(int fd, NTSTATUS st, const void *out, uint32_t n)
{
    struct emu_devsock_reply r = {EMU_DEVSOCK_MAGIC, st, n, 0};
    if (write_full(fd, &r, sizeof(r)) && n)
        write_full(fd, out, n);
}

static void serve_one(int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    struct emu_devsock_request req;
    struct timeval tv = {DEVSOCK_TIMEOUT_S, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid()) {
        reply(fd, STATUS_ACCESS_DENIED, NULL, 0);
        return;
    }
    if (!read_full(fd, &req, sizeof(req)) || req.magic != EMU_DEVSOCK_MAGIC ||
        req.in_len > EMU_DEVSOCK_MAX_BUFFER || req.out_len > EMU_DEVSOCK_MAX_BUFFER) {
        reply(fd, STATUS_INVALID_PARAMETER, NULL, 0);
        return;
    }
    void *in = req.in_len ? malloc(req.in_len) : NULL;
    void *out = req.out_len ? malloc(req.out_len) : NULL;
    if ((req.in_len && !in) || (req.out_len && !out)) {
        reply(fd, STATUS_INSUFFICIENT_RESOURCES, NULL, 0);
    } else if (req.in_len && !read_full(fd, in, req.in_len)) {
        reply(fd, STATUS_INVALID_PARAMETER, NULL, 0);
    } else {
        ULONG info = 0;
        NTSTATUS st =
            emu_device_ioctl(NULL, req.ioctl_code, in, req.in_len, out, req.out_len, &info);
        reply(fd, st, out, info);
    }
    free(in);
    free(out);
}

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{srv.fd, POLLIN, 0}, {srv.wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

bool emu_devsock_start(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;

    if (srv.running) {
        snprintf(err, errlen, "device socket already started");
        return false;
    }
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "%s: socket path too long", path);
        return false;
    }
    /* Replace a stale socket, never clobber anything else at that path. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            return false;
        }
        unlink(path);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    srv.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv.fd < 0 || pipe2(srv.wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    mode_t old = umask(0177);
    int rc = bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(srv.fd, 16) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(srv.path, sizeof(srv.path), "%s", path);
    if (pthread_create(&srv.thread, NULL, server, NULL) != 0) {
        snprintf(err, errlen, "cannot start the socket thread");
        unlink(path);
        goto fail;
    }
    srv.running = true;
    return true;
fail:
    if (srv.fd >= 0)
        close(srv.fd);
    for (int i = 0; i < 2; i++)
        if (srv.wake[i] >= 0)
            close(srv.wake[i]);
    srv.fd = srv.wake[0] = srv.wake[1] = -1;
    return false;
}

void emu_devsock_stop(void)
{
    if (!srv.running)
        return;
    char b = 1;
    if (write(srv.wake[1], &b, 1) < 0)
        perror("devsock wake");
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    close(srv.wake[0]);
    close(srv.wake[1]);
    srv.fd = srv.wake[0] = srv.wake[1] = -1;
    unlink(srv.path);
    srv.running = false;
}
