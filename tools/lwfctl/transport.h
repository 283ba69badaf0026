/*
 * How lwfctl reaches the driver's control device: DeviceIoControl on
 * Windows, ndisemu's device socket (emu/include/ndisemu/devsock.h) on Linux.
 * Both carry the same IOCTL codes and buffers, so everything above this
 * interface is the same on both systems.
 */
#ifndef LWFCTL_TRANSPORT_H
#define LWFCTL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sends one IOCTL to device, or with device NULL to the default one: on
 * Windows \\.\hotlwf; on Linux $NDISEMU_DEVICE if set, else ndisemu's
 * default socket path (emu/include/ndisemu/devsock.h). Returns 0 when the
 * driver answered: *ntstatus is the status it completed the request with
 * and *returned the output bytes
 * copied into out (on Windows an error status is mapped back from the
 * Win32 error for the two size statuses of ioctl.h). Returns -1 when the
 * device could not be reached or the exchange broke, with why in err.
 */
int lwf_device_ioctl(const char *device, uint32_t code, const void *in, size_t in_len, void *out,
                     size_t out_cap, uint32_t *ntstatus, size_t *returned, char *err,
                     size_t err_len);

#endif
