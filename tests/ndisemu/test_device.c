/*
 * Control devices and their socket: NdisRegisterDeviceEx with a dispatch
 * table defined here, emu_device_ioctl (synchronous and pended IRPs), and
 * the socket's access control and robustness against malformed requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ndis.h>
#include <ndisemu/devsock.h>
#include <wdmsec.h>

#include "device.h"
#include "kernel.h"
#include "verifier.h"

#define IOCTL_ECHO CTL_CODE(FILE_DEVICE_NETWORK, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_PEND CTL_CODE(FILE_DEVICE_NETWORK, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)

#include "check.h"

static int creates, closes;
/* FileObject->FileName of the last IRP_MJ_CREATE; creates come from several threads. */
static char last_create_name[64];
static pthread_mutex_t last_create_lock = PTHREAD_MUTEX_INITIALIZER;

static bool last_create_was(const char *name)
{
    pthread_mutex_lock(&last_create_lock);
    bool same = strcmp(last_create_name, name) == 0;
    pthread_mutex_unlock(&last_create_lock);
    return same;
}

static NTSTATUS complete(PIRP irp, NTSTATUS st, ULONG_PTR info)
{
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS dispatch_create_close(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    if (sp->MajorFunction == IRP_MJ_CREATE) {
        __atomic_add_fetch(&creates, 1, __ATOMIC_RELAXED);
        size_t n = sp->FileObject->FileName.Length / sizeof(WCHAR), i;
        pthread_mutex_lock(&last_create_lock);
        for (i = 0; i < n && i + 1 < sizeof(last_create_name); i++)
            last_create_name[i] = (char)sp->FileObject->FileName.Buffer[i];
        last_create_name[i] = 0;
        pthread_mutex_unlock(&last_create_lock);
    }
    else if (IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_CLOSE)
        __atomic_add_fetch(&closes, 1, __ATOMIC_RELAXED);
    return complete(irp, STATUS_SUCCESS, 0);
}

static void *complete_later(void *arg)
{
    PIRP irp = arg;
    usleep(50000);
    memcpy(irp->AssociatedIrp.SystemBuffer, "late", 4);
    complete(irp, STATUS_SUCCESS, 4);
    return NULL;
}

/* Echo: output = input reversed, so a test sees that the bytes went through. */
static NTSTATUS dispatch_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    UCHAR *b = irp->AssociatedIrp.SystemBuffer;
    (void)dev;
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_ECHO:
        if (out < in)
            return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
        for (ULONG i = 0; i < in / 2; i++) {
            UCHAR t = b[i];
            b[i] = b[in - 1 - i];
            b[in - 1 - i] = t;
        }
        return complete(irp, STATUS_SUCCESS, in);
    case IOCTL_PEND: {
        pthread_t t;
        IoMarkIrpPending(irp);
        pthread_create(&t, NULL, complete_later, irp);
        pthread_detach(t);
        return STATUS_PENDING;
    }
    default:
        return complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* When non-zero, raw_request gives up on a reply after this many ms. */
static int bound_reads_next;
static void bound_reads(int fd, int ms);

/* Sends raw bytes (possibly malformed), half-closes, reads the reply. */
static int32_t raw_request(const char *path, const void *bytes, size_t n, void *out, size_t out_cap,
                           uint32_t *info)
{
    int fd = connect_to(path);
    struct emu_devsock_reply r;
    if (fd < 0)
        return -1;
    if (bound_reads_next)
        bound_reads(fd, bound_reads_next);
    /* A refused peer may find the connection already closed by the time it
       writes: the reply is queued for it all the same, so read it anyway. */
    if (n && send(fd, bytes, n, MSG_NOSIGNAL) != (ssize_t)n && errno != EPIPE) {
        close(fd);
        return -1;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t k = read(fd, (char *)&r + got, sizeof(r) - got);
        if (k <= 0) {
            close(fd);
            return -2;
        }
        got += (size_t)k;
    }
    if (r.magic != EMU_DEVSOCK_MAGIC) {
        close(fd);
        return -3;
    }
    if (info)
        *info = r.information;
    got = 0;
    while (got < r.information && got < out_cap) {
        ssize_t k = read(fd, (char *)out + got, out_cap - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    return r.status;
}

static int32_t request(const char *path, uint32_t code, const void *in, uint32_t in_len, void *out,
                       uint32_t out_len, uint32_t *info)
{
    uint8_t buf[sizeof(struct emu_devsock_request) + 256];
    struct emu_devsock_request q = {EMU_DEVSOCK_MAGIC, code, in_len, out_len};
    memcpy(buf, &q, sizeof(q));
    memcpy(buf + sizeof(q), in, in_len);
    return raw_request(path, buf, sizeof(q) + in_len, out, out_len, info);
}

/*
 * The stranger: a child forked before any thread exists (a multi-threaded
 * fork is undefined under TSan) that drops to nobody's uid and, on request,
 * tries the socket. Answers 0: connect refused (EACCES); 1: STATUS_ACCESS_DENIED
 * reply; anything else: the check failed.
 */
static int stranger_req[2] = {-1, -1}, stranger_ans[2] = {-1, -1};
static pid_t stranger_pid;

static void stranger_start(void)
{
    struct passwd *nobody = getpwnam("nobody");
    uid_t uid = nobody ? nobody->pw_uid : 65534;
    if (pipe(stranger_req) != 0 || pipe(stranger_ans) != 0)
        return;
    stranger_pid = fork();
    if (stranger_pid != 0) {
        close(stranger_req[0]);
        close(stranger_ans[1]);
        return;
    }
    /* Only the parent may hold the request pipe's write end, or the
       child never sees end-of-file when the parent closes it. */
    close(stranger_req[1]);
    close(stranger_ans[0]);
    char path[108], out[8];
    uint32_t info;
    if (setgid(uid) != 0 || setuid(uid) != 0 || getuid() == 0)
        _exit(10);
    while (read(stranger_req[0], path, sizeof(path)) == (ssize_t)sizeof(path)) {
        char r = 12;
        int fd = connect_to(path);
        if (fd < 0) {
            r = errno == EACCES ? 0 : 11;
        } else {
            close(fd);
            r = request(path, IOCTL_ECHO, "q", 1, out, sizeof(out), &info) == STATUS_ACCESS_DENIED
                    ? 1
                    : 12;
        }
        if (write(stranger_ans[1], &r, 1) != 1)
            break;
    }
    _exit(0);
}

static int ask_stranger(const char *path)
{
    char buf[108] = {0}, r = -1;
    snprintf(buf, sizeof(buf), "%s", path);
    if (stranger_pid <= 0 || write(stranger_req[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
        read(stranger_ans[0], &r, 1) != 1)
        return -1;
    return r;
}

static void stranger_stop(void)
{
    int status;
    if (stranger_pid <= 0)
        return;
    close(stranger_req[1]);
    waitpid(stranger_pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * Slow clients must not delay anyone else. A generous bound (the promise is
 * one second), far below what the single-threaded, per-read-timeout server
 * took: an idle client held it 5 s, a trickling one for as long as it
 * trickled. Every client read here is bounded too, so a regression fails
 * instead of hanging.
 */
#define SLOW_BOUND_MS 4000
#define TRICKLE_MAX_S 30

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bound_reads(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* One byte of a request every 100 ms, for up to TRICKLE_MAX_S; returns the
   reply status, or 0 if the server never cut it off. */
static void *trickle(void *arg)
{
    struct emu_devsock_request q = {EMU_DEVSOCK_MAGIC, IOCTL_ECHO, 4096, 64};
    uint8_t bytes[sizeof(q) + 4096] = {0};
    struct emu_devsock_reply r;
    intptr_t status = 0;
    int fd = connect_to(arg);

    memcpy(bytes, &q, sizeof(q));
    for (size_t i = 0; fd >= 0 && i < sizeof(bytes) && i < TRICKLE_MAX_S * 10; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0)
            break; /* the server has answered (or closed): stop trickling */
        if (send(fd, bytes + i, 1, MSG_NOSIGNAL) != 1)
            break;
    }
    bound_reads(fd, 1000);
    if (fd >= 0 && read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) && r.magic == EMU_DEVSOCK_MAGIC)
        status = r.status;
    if (fd >= 0)
        close(fd);
    return (void *)status;
}

static void check_slow_clients(const char *path)
{
    char out[64];
    uint32_t info = 0;
    pthread_t trickler;
    int idle = connect_to(path);

    CHECK(idle >= 0);
    CHECK(pthread_create(&trickler, NULL, trickle, (void *)path) == 0);
    usleep(300000); /* both are connected and being served (or blocking the server) */
    double t0 = mono_s();
    bound_reads_next = SLOW_BOUND_MS;
    CHECK(request(path, IOCTL_ECHO, "slow", 4, out, sizeof(out), &info) == STATUS_SUCCESS);
    bound_reads_next = 0;
    double took = mono_s() - t0;
    CHECK(info == 4 && !memcmp(out, "wols", 4));
    if (took * 1000 > SLOW_BOUND_MS)
        fprintf(stderr, "an IOCTL behind a slow client took %.1f s\n", took);
    CHECK(took * 1000 <= SLOW_BOUND_MS);
    /* The trickler is cut off at its request's deadline, whatever it sends. */
    void *trickled;
    pthread_join(trickler, &trickled);
    CHECK((NTSTATUS)(intptr_t)trickled == STATUS_INVALID_PARAMETER);
    if (idle >= 0)
        close(idle);
}

static void check_socket(const char *path)
{
    char err[256], out[64];
    uint32_t info = 0;
    struct stat st;

    /* A stale socket file from an earlier run is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    CHECK(bind(stale, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    close(stale);
    CHECK(emu_devsock_start(path, err, sizeof(err)));
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);

    CHECK(request(path, IOCTL_ECHO, "abcdef", 6, out, sizeof(out), &info) == STATUS_SUCCESS);
    CHECK(info == 6 && !memcmp(out, "fedcba", 6));

    /* Malformed requests: answered, never fatal to the server. */
    struct emu_devsock_request bad = {0x12345678, IOCTL_ECHO, 0, 0};
    CHECK(raw_request(path, &bad, sizeof(bad), NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    CHECK(raw_request(path, "abc", 3, NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    CHECK(raw_request(path, "", 0, NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    struct emu_devsock_request huge = {EMU_DEVSOCK_MAGIC, IOCTL_ECHO, EMU_DEVSOCK_MAX_BUFFER + 1,
                                       0};
    CHECK(raw_request(path, &huge, sizeof(huge), NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    struct emu_devsock_request big_out = {EMU_DEVSOCK_MAGIC, IOCTL_ECHO, 0, 0xffffffffu};
    CHECK(raw_request(path, &big_out, sizeof(big_out), NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    uint8_t trunc[sizeof(struct emu_devsock_request) + 4];
    struct emu_devsock_request t = {EMU_DEVSOCK_MAGIC, IOCTL_ECHO, 100, 100};
    memcpy(trunc, &t, sizeof(t));
    CHECK(raw_request(path, trunc, sizeof(trunc), NULL, 0, NULL) == STATUS_INVALID_PARAMETER);
    CHECK(request(path, IOCTL_ECHO, "xy", 2, out, sizeof(out), &info) == STATUS_SUCCESS);
    CHECK(info == 2 && !memcmp(out, "yx", 2));
    check_slow_clients(path);

    /* Another uid: the 0600 mode keeps it out; with the mode opened up, the
       SO_PEERCRED check still refuses it before dispatching anything. */
    for (int open_mode = 0; open_mode < 2; open_mode++) {
        if (open_mode)
            chmod(path, 0666);
        int before = __atomic_load_n(&creates, __ATOMIC_RELAXED);
        int result = ask_stranger(path);
        /* 0: connect refused by the mode; 1: refused by SO_PEERCRED. */
        CHECK(result == (open_mode ? 1 : 0));
        CHECK(__atomic_load_n(&creates, __ATOMIC_RELAXED) == before);
    }
    chmod(path, 0600);
    emu_devsock_stop();
    CHECK(access(path, F_OK) != 0);

    /* Never clobber something that is not a socket. */
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    CHECK(!emu_devsock_start(path, err, sizeof(err)));
    unlink(path);
}

int main(int argc, char **argv)
{
    static WCHAR name_buf[] = L"\\Device\\EmuTest";
    static WCHAR link_buf[] = L"\\DosDevices\\EmuTest";
    NDIS_STRING name = {sizeof(name_buf) - sizeof(WCHAR), sizeof(name_buf), name_buf};
    NDIS_STRING link = {sizeof(link_buf) - sizeof(WCHAR), sizeof(link_buf), link_buf};
    PDRIVER_DISPATCH major[IRP_MJ_MAXIMUM_FUNCTION + 1] = {0};
    NDIS_DEVICE_OBJECT_ATTRIBUTES a;
    PDEVICE_OBJECT dev = NULL;
    NDIS_HANDLE handle = NULL;
    char out[64], sddl[128], path[108];
    ULONG info = 0;
    int owner;

    stranger_start();
    emu_kernel_init(2);
    major[IRP_MJ_CREATE] = major[IRP_MJ_CLOSE] = major[IRP_MJ_CLEANUP] = dispatch_create_close;
    major[IRP_MJ_DEVICE_CONTROL] = dispatch_ioctl;
    memset(&a, 0, sizeof(a));
    a.Header.Type = NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES;
    a.Header.Revision = NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    a.Header.Size = NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    a.DeviceName = &name;
    a.SymbolicName = &link;
    a.MajorFunctions = major;
    a.ExtensionSize = 64;
    a.DefaultSDDLString = &SDDL_DEVOBJ_SYS_ALL_ADM_ALL;

    CHECK(emu_device_ioctl(NULL, IOCTL_ECHO, NULL, 0, NULL, 0, &info) ==
          STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(NdisRegisterDeviceEx(&owner, &a, &dev, &handle) == NDIS_STATUS_SUCCESS);
    CHECK(dev && handle && NdisGetDeviceReservedExtension(dev) != NULL);
    PDEVICE_OBJECT dev2 = NULL;
    NDIS_HANDLE handle2 = NULL;
    CHECK(NdisRegisterDeviceEx(&owner, &a, &dev2, &handle2) != NDIS_STATUS_SUCCESS); /* same name */
    CHECK(emu_device_count() == 1);
    CHECK(emu_device_sddl("EmuTest", sddl, sizeof(sddl)) &&
          !strcmp(sddl, "D:P(A;;GA;;;SY)(A;;GA;;;BA)"));

    CHECK(emu_device_ioctl("\\\\.\\EmuTest", IOCTL_ECHO, "1234", 4, out, sizeof(out), &info) ==
          STATUS_SUCCESS);
    CHECK(info == 4 && !memcmp(out, "4321", 4));
    CHECK(emu_device_ioctl("\\Device\\EmuTest", IOCTL_ECHO, "1234", 4, out, 2, &info) ==
          STATUS_BUFFER_TOO_SMALL);
    CHECK(emu_device_ioctl("\\Device\\EmuTest", IOCTL_PEND, NULL, 0, out, sizeof(out), &info) ==
          STATUS_SUCCESS);
    CHECK(info == 4 && !memcmp(out, "late", 4));
    CHECK(emu_device_ioctl("Nope", IOCTL_ECHO, NULL, 0, NULL, 0, &info) ==
          STATUS_OBJECT_NAME_NOT_FOUND);
    /* A path into the device's namespace reaches IRP_MJ_CREATE as FileName. */
    CHECK(emu_device_ioctl("\\\\.\\EmuTest\\sub\\x", IOCTL_ECHO, "ab", 2, out, sizeof(out), &info) ==
          STATUS_SUCCESS);
    CHECK(last_create_was("\\sub\\x"));
    CHECK(emu_device_ioctl("\\Device\\EmuTest\\", IOCTL_ECHO, "ab", 2, out, sizeof(out), &info) ==
          STATUS_SUCCESS);
    CHECK(last_create_was("\\"));
    CHECK(emu_device_ioctl("\\\\.\\EmuTest", IOCTL_ECHO, "ab", 2, out, sizeof(out), &info) ==
          STATUS_SUCCESS);
    CHECK(last_create_was(""));
    CHECK(emu_device_ioctl("\\\\.\\Nope\\EmuTest", IOCTL_ECHO, NULL, 0, NULL, 0, &info) ==
          STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(creates == closes && creates >= 3);

    snprintf(path, sizeof(path), "%s/ndisemu-devsock-%d.sock", argc > 1 ? argv[1] : "/tmp",
             (int)getpid());
    check_socket(path);

    stranger_stop();
    NdisDeregisterDeviceEx(handle);
    CHECK(emu_device_count() == 0);
    CHECK(emu_device_ioctl(NULL, IOCTL_ECHO, "1", 1, out, sizeof(out), &info) ==
          STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(emu_violation_count() == 0);
    if (emu_violation_count())
        emu_violations_print(stderr, false);
    emu_kernel_shutdown();
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures != 0;
}
