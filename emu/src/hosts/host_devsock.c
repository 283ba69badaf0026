/*
 * The control-device socket (emu/include/ndisemu/devsock.h): lwfctl's
 * DeviceIoControl on Linux. One request per connection.
 *
 * Trust boundary: the socket is the only way into the emulated kernel from
 * outside the process. It is created mode 0600 (umask held across bind, so
 * there is no window with a wider mode), a peer whose SO_PEERCRED uid is not
 * ours is refused before a byte of its request is read, every length is
 * bounded by EMU_DEVSOCK_MAX_BUFFER before anything is allocated, and a
 * malformed or short request gets STATUS_INVALID_PARAMETER.
 *
 * No client can delay another (docs/security.md):
 * - Each connection is served by its own thread, so a slow or idle client
 *   holds only its own thread; the accept loop never reads from a client.
 * - Each request has one deadline, DEVSOCK_DEADLINE_S from accept, for all
 *   of its bytes; the reply has another from the moment it is ready. Every
 *   wait is a poll() bounded by the time left, so trickling one byte at a
 *   time cannot stretch a request past its deadline (a per-read timeout
 *   could be renewed forever).
 * - At most DEVSOCK_MAX_CLIENTS connections are served at once; one more is
 *   answered STATUS_DEVICE_BUSY at once and closed, never queued behind the
 *   others. Only a peer of our own uid can hold a slot (others are refused
 *   before their first byte is read).
 * Requests from different connections may reach the driver concurrently,
 * as DeviceIoControl calls from several processes do on Windows; the
 * driver serializes what it must (hotlwf: ConfigMutex).
 *
 * Concurrency: srv.lock guards the slot table. A slot is taken by the accept
 * thread (used = true, then the worker is created) and its worker sets done
 * under the lock as its last action; only the accept thread or
 * emu_devsock_stop (after the accept thread has been joined) joins a done
 * worker and frees the slot, so each thread is joined exactly once.
 * emu_devsock_stop shuts every live connection down (under the lock, so the
 * fd is still the worker's: a worker closes its fd under the lock too), which
 * ends every wait in poll at once, then joins the workers; a worker inside
 * the driver's dispatch routine is waited for, as NdisDeregisterDeviceEx waits
 * for a dispatch routine on Windows.
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
#include <time.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

#include "device.h"

#define DEVSOCK_DEADLINE_S 5
#define DEVSOCK_MAX_CLIENTS 32

struct devsock_client {
    int fd;
    bool used, done;
    pthread_t thread;
};

static struct {
    int fd;
    int wake[2];
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    struct devsock_client clients[DEVSOCK_MAX_CLIENTS];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} srv = {.fd = -1, .wake = {-1, -1}, .lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes; false on timeout, error or hang-up. */
static bool wait_ready(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0 && (p.revents & events);
    }
}

static bool read_full(int fd, void *buf, size_t n, int64_t deadline)
{
    uint8_t *p = buf;
    while (n) {
        if (!wait_ready(fd, POLLIN, deadline))
            return false;
        ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t n, int64_t deadline)
{
    const uint8_t *p = buf;
    while (n) {
        if (!wait_ready(fd, POLLOUT, deadline))
            return false;
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
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
    int64_t deadline = now_ms() + DEVSOCK_DEADLINE_S * 1000;
    if (write_full(fd, &r, sizeof(r), deadline) && n)
        write_full(fd, out, n, deadline);
}

static void serve_one(int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    struct emu_devsock_request req;
    int64_t deadline = now_ms() + DEVSOCK_DEADLINE_S * 1000;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid()) {
        reply(fd, STATUS_ACCESS_DENIED, NULL, 0);
        return;
    }
    if (!read_full(fd, &req, sizeof(req), deadline) || req.magic != EMU_DEVSOCK_MAGIC ||
        req.in_len > EMU_DEVSOCK_MAX_BUFFER || req.out_len > EMU_DEVSOCK_MAX_BUFFER) {
        reply(fd, STATUS_INVALID_PARAMETER, NULL, 0);
        return;
    }
    void *in = req.in_len ? malloc(req.in_len) : NULL;
    void *out = req.out_len ? malloc(req.out_len) : NULL;
    if ((req.in_len && !in) || (req.out_len && !out)) {
        reply(fd, STATUS_INSUFFICIENT_RESOURCES, NULL, 0);
    } else if (req.in_len && !read_full(fd, in, req.in_len, deadline)) {
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

static void *client_thread(void *arg)
{
    struct devsock_client *c = arg;
    serve_one(c->fd);
    pthread_mutex_lock(&srv.lock);
    close(c->fd);
    c->fd = -1;
    c->done = true;
    pthread_mutex_unlock(&srv.lock);
    return NULL;
}

/* Joins finished workers (accept thread, or stop once it is gone); their slots become free. */
static void reap(bool all)
{
    for (int i = 0; i < DEVSOCK_MAX_CLIENTS; i++) {
        struct devsock_client *c = &srv.clients[i];
        pthread_mutex_lock(&srv.lock);
        bool joinable = c->used && (c->done || all);
        pthread_mutex_unlock(&srv.lock);
        if (!joinable)
            continue;
        pthread_join(c->thread, NULL);
        pthread_mutex_lock(&srv.lock);
        c->used = c->done = false;
        pthread_mutex_unlock(&srv.lock);
    }
}

static void start_client(int fd)
{
    struct devsock_client *c = NULL;

    reap(false);
    pthread_mutex_lock(&srv.lock);
    for (int i = 0; i < DEVSOCK_MAX_CLIENTS && c == NULL; i++)
        if (!srv.clients[i].used)
            c = &srv.clients[i];
    if (c != NULL) {
        c->used = true;
        c->done = false;
        c->fd = fd;
    }
    pthread_mutex_unlock(&srv.lock);
    if (c != NULL && pthread_create(&c->thread, NULL, client_thread, c) == 0)
        return;
    if (c != NULL) {
        pthread_mutex_lock(&srv.lock);
        c->used = false;
        c->fd = -1;
        pthread_mutex_unlock(&srv.lock);
    }
    /* Full, or no thread: refused at once rather than queued behind the others. */
    reply(fd, STATUS_DEVICE_BUSY, NULL, 0);
    close(fd);
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
        if (c >= 0)
            start_client(c);
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
    /* Cut every live connection short: its worker's next poll returns at once. */
    pthread_mutex_lock(&srv.lock);
    for (int i = 0; i < DEVSOCK_MAX_CLIENTS; i++)
        if (srv.clients[i].used && srv.clients[i].fd >= 0)
            shutdown(srv.clients[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv.lock);
    reap(true);
    close(srv.fd);
    close(srv.wake[0]);
    close(srv.wake[1]);
    srv.fd = srv.wake[0] = srv.wake[1] = -1;
    unlink(srv.path);
    srv.running = false;
}
