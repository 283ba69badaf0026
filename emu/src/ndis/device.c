/*
 * Control devices: NdisRegisterDeviceEx / NdisDeregisterDeviceEx and the IRPs
 * ndisemu issues to them (IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL with
 * METHOD_BUFFERED, IRP_MJ_CLEANUP, IRP_MJ_CLOSE), at PASSIVE_LEVEL, each
 * under a callback context and the watchdog.
 *
 * Lifetime: a device is reference counted. The registry lock is held only to
 * find a device and take a reference, never across a call into the driver,
 * so a dispatch routine may itself register or deregister devices.
 * Deregistration unlinks the device at once (new requests fail as on
 * Windows) and the last reference frees it; it does not wait, because it may
 * be called from inside that device's own dispatch routine.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndis.h>

#include "device.h"
#include "handles.h"
#include "kernel.h"
#include "verifier.h"

#define DEVICE_NAME_MAX 160

struct emu_device {
    struct emu_device *next;
    DEVICE_OBJECT obj;
    PDRIVER_DISPATCH major[IRP_MJ_MAXIMUM_FUNCTION + 1];
    char name[DEVICE_NAME_MAX], link[DEVICE_NAME_MAX], sddl[256];
    const char *module;
    void *extension;
    long refs; /* under dev_lock */
    bool dead;
};

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_device *dev_list;

static void utf8_of(PCUNICODE_STRING s, char *out, size_t len)
{
    size_t n = 0;
    if (s && s->Buffer)
        for (size_t i = 0; i < s->Length / sizeof(WCHAR) && n + 1 < len; i++)
            out[n++] = s->Buffer[i] < 0x80 ? (char)s->Buffer[i] : '?';
    out[n] = 0;
}

/* "\\Device\\Foo", "\\DosDevices\\Foo", "\\??\\Foo", "\\\\.\\Foo" -> "Foo". */
static const char *base_name(const char *s)
{
    const char *b = strrchr(s, '\\');
    return b ? b + 1 : s;
}

/*
 * A path as CreateFile gives it: the device, then what the I/O manager would
 * leave in FileObject->FileName, the rest of the path in the device's
 * namespace ("\\\\.\\Foo\\x" -> device "Foo", file "\\x"; "\\\\.\\Foo\\" -> "\\").
 * *file is "" for an open of the device itself.
 */
static void split_path(const char *path, char *dev, size_t devlen, const char **file)
{
    static const char *const prefixes[] = {"\\Device\\", "\\DosDevices\\", "\\??\\",
                                           "\\\\.\\", "\\GLOBAL??\\"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncasecmp(path, prefixes[i], strlen(prefixes[i]))) {
            path += strlen(prefixes[i]);
            break;
        }
    size_t n = strcspn(path, "\\");
    snprintf(dev, devlen, "%.*s", (int)(n < devlen ? n : devlen - 1), path);
    *file = path + n;
}

static bool name_matches(const struct emu_device *d, const char *want)
{
    return !strcasecmp(base_name(d->name), want) ||
           (d->link[0] && !strcasecmp(base_name(d->link), want));
}

static struct emu_device *device_get(const char *path)
{
    char name[DEVICE_NAME_MAX];
    const char *file;
    if (path) {
        split_path(path, name, sizeof(name), &file);
        if (strlen(name) + 1 >= sizeof(name))
            return NULL; /* longer than any registered name: no such device */
    }
    pthread_mutex_lock(&dev_lock);
    struct emu_device *d = dev_list;
    while (d && path && !name_matches(d, name))
        d = d->next;
    if (d)
        d->refs++;
    pthread_mutex_unlock(&dev_lock);
    return d;
}

static void device_free(struct emu_device *d)
{
    free(d->extension);
    free(d);
}

static void device_put(struct emu_device *d)
{
    pthread_mutex_lock(&dev_lock);
    bool last = --d->refs == 0 && d->dead;
    pthread_mutex_unlock(&dev_lock);
    if (last)
        device_free(d);
}

NDIS_STATUS NdisRegisterDeviceEx(NDIS_HANDLE NdisObjectHandle,
                                 PNDIS_DEVICE_OBJECT_ATTRIBUTES DeviceObjectAttributes,
                                 PDEVICE_OBJECT *pDeviceObject, PNDIS_HANDLE NdisDeviceHandle)
{
    PNDIS_DEVICE_OBJECT_ATTRIBUTES a = DeviceObjectAttributes;
    emu_irql_require("NdisRegisterDeviceEx", PASSIVE_LEVEL);
    if (!NdisObjectHandle || !a || !pDeviceObject || !NdisDeviceHandle || !a->DeviceName ||
        a->Header.Type != NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES ||
        a->Header.Size < NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1)
        return NDIS_STATUS_INVALID_PARAMETER;

    struct emu_device *d = calloc(1, sizeof(*d));
    if (!d)
        return NDIS_STATUS_RESOURCES;
    if (a->ExtensionSize && !(d->extension = calloc(1, a->ExtensionSize))) {
        free(d);
        return NDIS_STATUS_RESOURCES;
    }
    utf8_of(a->DeviceName, d->name, sizeof(d->name));
    utf8_of(a->SymbolicName, d->link, sizeof(d->link));
    utf8_of(a->DefaultSDDLString, d->sddl, sizeof(d->sddl));
    if (a->MajorFunctions)
        memcpy(d->major, a->MajorFunctions, sizeof(d->major));
    struct emu_driver *drv = emu_driver_for_address(__builtin_return_address(0));
    d->module = drv ? emu_driver_name(drv) : "ndisemu";
    d->obj.Type = 3; /* IO_TYPE_DEVICE */
    d->obj.Size = sizeof(DEVICE_OBJECT);
    d->obj.ReferenceCount = 1;
    d->obj.DriverObject = drv ? emu_driver_object(drv) : NULL;
    d->obj.DeviceExtension = d->extension;
    d->obj.Flags = DO_BUFFERED_IO;
    d->obj.StackSize = 1;
    d->refs = 1; /* the registration's */

    pthread_mutex_lock(&dev_lock);
    for (struct emu_device *o = dev_list; o; o = o->next) {
        if (!strcasecmp(o->name, d->name) || (d->link[0] && !strcasecmp(o->link, d->link))) {
            pthread_mutex_unlock(&dev_lock);
            device_free(d);
            return (NDIS_STATUS)STATUS_OBJECT_NAME_COLLISION; /* what IoCreateDevice says */
        }
    }
    struct emu_device **tail = &dev_list;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
    pthread_mutex_unlock(&dev_lock);
    emu_handle_issue(d, EMU_HANDLE_DEVICE);
    *pDeviceObject = &d->obj;
    *NdisDeviceHandle = d;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisDeregisterDeviceEx(NDIS_HANDLE NdisDeviceHandle)
{
    struct emu_device *d = NdisDeviceHandle, **pp;
    emu_irql_require("NdisDeregisterDeviceEx", PASSIVE_LEVEL);
    pthread_mutex_lock(&dev_lock);
    for (pp = &dev_list; *pp && *pp != d; pp = &(*pp)->next)
        ;
    if (!*pp) {
        pthread_mutex_unlock(&dev_lock);
        /* stale-handle, saying whether it was freed or never issued. */
        (void)emu_handle_check(d, EMU_HANDLE_DEVICE, "NdisDeregisterDeviceEx");
        return;
    }
    emu_handle_retire(d);
    *pp = d->next;
    d->dead = true;
    pthread_mutex_unlock(&dev_lock);
    device_put(d);
}

PVOID NdisGetDeviceReservedExtension(PDEVICE_OBJECT DeviceObject)
{
    return DeviceObject ? DeviceObject->DeviceExtension : NULL;
}

unsigned emu_device_count(void)
{
    unsigned n = 0;
    pthread_mutex_lock(&dev_lock);
    for (struct emu_device *d = dev_list; d; d = d->next)
        n++;
    pthread_mutex_unlock(&dev_lock);
    return n;
}

bool emu_device_sddl(const char *name, char *buf, size_t len)
{
    struct emu_device *d = device_get(name);
    if (!d)
        return false;
    bool have = d->sddl[0] != 0;
    snprintf(buf, len, "%s", d->sddl);
    device_put(d);
    return have;
}

static const char *const major_names[] = {
    [IRP_MJ_CREATE] = "IRP_MJ_CREATE",
    [IRP_MJ_CLOSE] = "IRP_MJ_CLOSE",
    [IRP_MJ_DEVICE_CONTROL] = "IRP_MJ_DEVICE_CONTROL",
    [IRP_MJ_CLEANUP] = "IRP_MJ_CLEANUP",
};

/*
 * One IRP, issued the way the I/O manager would: the caller's stack location
 * filled, then the driver's routine called directly (NDIS routes control
 * device IRPs to the MajorFunctions table it was given, not to the driver
 * object's). A routine that returns STATUS_PENDING owns the IRP until it
 * calls IoCompleteRequest, which signals UserEvent: we wait for that, under
 * the watchdog, exactly as a synchronous DeviceIoControl waits.
 */
static NTSTATUS irp_call(struct emu_device *d, UCHAR mj, PFILE_OBJECT fo, ULONG code, void *sysbuf,
                         ULONG in_len, ULONG out_len, ULONG_PTR *information)
{
    PDRIVER_DISPATCH fn = d->major[mj];
    *information = 0;
    if (!fn)
        return STATUS_INVALID_DEVICE_REQUEST;
    PIRP irp = IoAllocateIrp(1, FALSE);
    if (!irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    KEVENT done;
    IO_STATUS_BLOCK iosb = {0};
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = mj;
    sp->DeviceObject = &d->obj;
    sp->FileObject = fo;
    if (mj == IRP_MJ_DEVICE_CONTROL) {
        sp->Parameters.DeviceIoControl.IoControlCode = code;
        sp->Parameters.DeviceIoControl.InputBufferLength = in_len;
        sp->Parameters.DeviceIoControl.OutputBufferLength = out_len;
        /* METHOD_NEITHER drivers read these; buffered ones ignore them. */
        sp->Parameters.DeviceIoControl.Type3InputBuffer = sysbuf;
        irp->UserBuffer = sysbuf;
    }
    IoSetNextIrpStackLocation(irp);
    irp->AssociatedIrp.SystemBuffer = sysbuf;
    irp->RequestorMode = UserMode;
    irp->UserEvent = &done;
    irp->UserIosb = &iosb;
    irp->Tail.Overlay.OriginalFileObject = fo;

    const char *cb = mj < sizeof(major_names) / sizeof(major_names[0]) && major_names[mj]
                         ? major_names[mj]
                         : "IRP_MJ_?";
    struct emu_callctx ctx;
    struct emu_watch w;
    emu_watch_begin(&w, mj == IRP_MJ_DEVICE_CONTROL ? "IOCTL" : cb, d->module, cb);
    emu_callctx_push(&ctx, d->module, cb, &d->obj);
    NTSTATUS st = fn(&d->obj, irp);
    emu_callctx_pop(&ctx);
    if (st == STATUS_PENDING) {
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        st = iosb.Status;
        *information = iosb.Information;
    } else if (KeReadStateEvent(&done)) {
        *information = iosb.Information;
    } else {
        emu_violation(EMU_RULE_STATE, d->module, cb,
                      "dispatch routine returned 0x%08x without completing the IRP (call "
                      "IoCompleteRequest, or return STATUS_PENDING)",
                      (unsigned)st);
        *information = irp->IoStatus.Information;
    }
    emu_watch_end(&w);
    IoFreeIrp(irp);
    return st;
}

NTSTATUS emu_device_ioctl(const char *name, ULONG code, const void *in, ULONG in_len, void *out,
                          ULONG out_len, ULONG *information)
{
    ULONG_PTR info = 0;
    FILE_OBJECT fo;
    NTSTATUS st;

    if (information)
        *information = 0;
    if ((in_len && !in) || (out_len && !out))
        return STATUS_INVALID_PARAMETER;
    struct emu_device *d = device_get(name);
    if (!d)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    emu_irql_require("DeviceIoControl", PASSIVE_LEVEL);
    memset(&fo, 0, sizeof(fo));
    fo.Type = 5; /* IO_TYPE_FILE */
    fo.Size = sizeof(fo);
    fo.DeviceObject = &d->obj;
    /* The rest of the path is the device-namespace name a namespace open carries. */
    char devname[DEVICE_NAME_MAX];
    const char *file = "";
    if (name)
        split_path(name, devname, sizeof(devname), &file);
    size_t flen = strlen(file);
    WCHAR *fname = flen ? calloc(flen + 1, sizeof(WCHAR)) : NULL;
    if (flen && (!fname || flen > 0x7ffe)) {
        free(fname);
        device_put(d);
        return flen > 0x7ffe ? STATUS_OBJECT_NAME_INVALID : STATUS_INSUFFICIENT_RESOURCES;
    }
    for (size_t i = 0; i < flen; i++)
        fname[i] = (unsigned char)file[i];
    fo.FileName.Buffer = fname;
    fo.FileName.Length = (USHORT)(flen * sizeof(WCHAR));
    fo.FileName.MaximumLength = (USHORT)((flen + (flen ? 1 : 0)) * sizeof(WCHAR));
    st = irp_call(d, IRP_MJ_CREATE, &fo, 0, NULL, 0, 0, &info);
    if (d->major[IRP_MJ_CREATE] == NULL)
        st = STATUS_SUCCESS; /* no handler: the open itself succeeds, as with NDIS's default */
    if (!NT_SUCCESS(st)) {
        free(fname);
        device_put(d);
        return st;
    }
    size_t cap = in_len > out_len ? in_len : out_len;
    void *sysbuf = calloc(1, cap ? cap : 1);
    if (!sysbuf) {
        st = STATUS_INSUFFICIENT_RESOURCES;
    } else {
        if (in_len)
            memcpy(sysbuf, in, in_len);
        st = irp_call(d, IRP_MJ_DEVICE_CONTROL, &fo, code, sysbuf, in_len, out_len, &info);
        /* Like the I/O manager: output is copied back on success and on
           warning statuses (STATUS_BUFFER_OVERFLOW), never past out_len. */
        if (!NT_ERROR(st)) {
            if (info > out_len)
                info = out_len;
            if (info)
                memcpy(out, sysbuf, info);
            if (information)
                *information = (ULONG)info;
        }
        free(sysbuf);
    }
    ULONG_PTR ignored;
    irp_call(d, IRP_MJ_CLEANUP, &fo, 0, NULL, 0, 0, &ignored);
    irp_call(d, IRP_MJ_CLOSE, &fo, 0, NULL, 0, 0, &ignored);
    free(fname);
    device_put(d);
    return st;
}
