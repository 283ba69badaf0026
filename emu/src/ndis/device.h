/*
 * ndisemu's control devices (NdisRegisterDeviceEx) seen from the rest of
 * ndisemu: an in-process DeviceIoControl, and the Unix socket that carries
 * the same bytes from lwfctl (emu/include/ndisemu/devsock.h).
 */
#ifndef NDISEMU_DEVICE_H
#define NDISEMU_DEVICE_H

#include <ntdef.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * CreateFile + DeviceIoControl + CloseHandle on a registered device, found by
 * its device name or symbolic link (case-insensitive; "\\Device\\Hl",
 * "\\DosDevices\\Hl", "\\\\.\\Hl" and plain "Hl" all name the same device).
 * NULL names the first registered device. What follows the device name
 * ("\\\\.\\Hl\\x") is a name in the device's namespace: it reaches
 * IRP_MJ_CREATE in FileObject->FileName ("\\x"), as on Windows. PASSIVE_LEVEL, from any host
 * thread. Returns the NTSTATUS the IRP completed with; *information is the
 * number of bytes copied to out (METHOD_BUFFERED semantics).
 */
NTSTATUS emu_device_ioctl(const char *symbolic_or_device_name, ULONG code, const void *in,
                          ULONG in_len, void *out, ULONG out_len, ULONG *information);

unsigned emu_device_count(void);
/* The DefaultSDDLString the driver registered the device with (UTF-8), or
   NULL if the device is unknown or gave none. Valid until deregistration. */
bool emu_device_sddl(const char *name, char *buf, size_t len);

/*
 * Serve the socket at path (mode 0600, a stale socket file replaced): one
 * request per connection, each connection on its own thread under one
 * deadline (host_devsock.c), dispatched to the first registered device.
 * Returns false with a message in err.
 */
bool emu_devsock_start(const char *path, char *err, size_t errlen);
void emu_devsock_stop(void);

#endif
