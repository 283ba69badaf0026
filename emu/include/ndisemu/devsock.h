/*
 * What crosses ndisemu's control-device socket: the bytes DeviceIoControl
 * would carry on Windows. One request, one reply, per connection:
 *
 *   request : struct emu_devsock_request, then in_len bytes of input
 *   reply   : struct emu_devsock_reply, then information bytes of output
 *
 * Integers are little-endian. ndisemu opens the socket mode 0600 and refuses
 * a peer whose SO_PEERCRED uid is not its own owner's, with
 * STATUS_ACCESS_DENIED, before it reads the request.
 * Requests are dispatched as IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL
 * (METHOD_BUFFERED) and IRP_MJ_CLOSE on the driver's dispatch table.
 */
#ifndef NDISEMU_DEVSOCK_H
#define NDISEMU_DEVSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_DEVSOCK_MAGIC 0x4b534445u /* "EDSK" */
#define EMU_DEVSOCK_MAX_BUFFER (16u << 20)

struct emu_devsock_request {
    uint32_t magic;
    uint32_t ioctl_code;
    uint32_t in_len;  /* input bytes that follow */
    uint32_t out_len; /* size of the caller's output buffer */
};

struct emu_devsock_reply {
    uint32_t magic;
    int32_t status;       /* NTSTATUS the driver completed the IRP with */
    uint32_t information; /* IoStatus.Information: output bytes that follow */
    uint32_t reserved;
};

/*
 * The default socket path, the same for ndisemu and lwfctl:
 * DIR/ndisemu-hotlwf.sock with DIR $XDG_RUNTIME_DIR, else /run/user/UID if
 * it exists, else /tmp/ndisemu-UID (created mode 0700 when create is true).
 * DIR must be a directory owned by the effective uid that neither group nor
 * others can write (emu/src/hosts/host_devsock_path.c). Returns false with
 * why in err.
 */
#define EMU_DEVSOCK_DEFAULT_NAME "ndisemu-hotlwf.sock"
bool emu_devsock_default_path(bool create, char *path, size_t len, char *err, size_t errlen);

#endif
