/*
 * The driver loader: what the I/O manager does with a .sys, done with a
 * .so. dlopen (RTLD_LOCAL: drivers do not see each other's symbols, only
 * libndisemu's exports), a DRIVER_OBJECT, DriverEntry at PASSIVE_LEVEL
 * under the watchdog; at unload DriverUnload, then the checks Windows' Driver
 * Verifier makes (no DPC still queued into the image, no pool left), then
 * dlclose. Driver parameters (--param) live here too, for
 * NdisOpenConfigurationEx to read.
 */
#define _GNU_SOURCE
#include "kernel.h"
#include "resources.h"
#include "verifier.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct emu_driver {
    DRIVER_OBJECT obj;
    DRIVER_EXTENSION ext;
    UNICODE_STRING regpath;
    WCHAR regbuf[192];
    WCHAR namebuf[96];
    WCHAR svcbuf[64];
    char name[64];
    char path[4096];
    void *dl;
    uintptr_t lo, hi; /* the image's mapped range */
    struct emu_driver *next;
};

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct emu_driver *g_drivers;

struct emu_driver *emu_driver_for_address(const void *addr)
{
    struct emu_driver *d;
    uintptr_t a = (uintptr_t)addr;
    pthread_rwlock_rdlock(&g_lock);
    for (d = g_drivers; d; d = d->next)
        if (a >= d->lo && a < d->hi)
            break;
    pthread_rwlock_unlock(&g_lock);
    return d;
}

const char *emu_module_for_address(const void *addr)
{
    struct emu_driver *d = emu_driver_for_address(addr);
    return d ? d->name : "ndisemu";
}

const char *emu_driver_name(const struct emu_driver *d)
{
    return d->name;
}

PDRIVER_OBJECT emu_driver_object(struct emu_driver *d)
{
    return &d->obj;
}

struct emu_driver *emu_driver_from_object(PDRIVER_OBJECT o)
{
    return o ? CONTAINING_RECORD(o, struct emu_driver, obj) : NULL;
}

static void widen(WCHAR *dst, size_t cap, const char *a, const char *b)
{
    size_t n = 0;
    for (; *a && n + 1 < cap; a++)
        dst[n++] = (WCHAR)(unsigned char)*a;
    for (; b && *b && n + 1 < cap; b++)
        dst[n++] = (WCHAR)(unsigned char)*b;
    dst[n] = 0;
}

static void set_ustr(UNICODE_STRING *u, WCHAR *buf, size_t cap)
{
    size_t n = 0;
    while (buf[n])
        n++;
    u->Buffer = buf;
    u->Length = (USHORT)(n * sizeof(WCHAR));
    u->MaximumLength = (USHORT)(cap * sizeof(WCHAR));
}

struct range_query {
    uintptr_t base, lo, hi;
};

static int find_range(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct range_query *q = arg;
    int i;
    (void)size;
    if (info->dlpi_addr != q->base)
        return 0;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s, e;
        if (ph->p_type != PT_LOAD)
            continue;
        s = info->dlpi_addr + ph->p_vaddr;
        e = s + ph->p_memsz;
        if (q->lo == 0 || s < q->lo)
            q->lo = s;
        if (e > q->hi)
            q->hi = e;
    }
    return 1;
}

/* Drivers start with the I/O manager's default: every major function fails. */
static NTSTATUS invalid_request(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

static void unlink_driver(struct emu_driver *d)
{
    struct emu_driver **pp;
    pthread_rwlock_wrlock(&g_lock);
    for (pp = &g_drivers; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    pthread_rwlock_unlock(&g_lock);
}

/* Leaves everything but `path` and `name` zeroed on failure. */
static NTSTATUS load_into(struct emu_driver *d, char *err, size_t errlen)
{
    PDRIVER_INITIALIZE entry;
    struct link_map *lm = NULL;
    struct range_query q = {0};
    struct emu_callctx ctx;
    struct emu_watch watch;
    NTSTATUS st;
    int i;

    d->dl = dlopen(d->path, RTLD_NOW | RTLD_LOCAL);
    if (d->dl == NULL) {
        snprintf(err, errlen, "cannot load %s: %s", d->path, dlerror());
        return STATUS_DRIVER_UNABLE_TO_LOAD;
    }
    entry = (PDRIVER_INITIALIZE)dlsym(d->dl, "DriverEntry");
    if (entry == NULL || dlinfo(d->dl, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
        snprintf(err, errlen, "%s exports no DriverEntry", d->path);
        dlclose(d->dl);
        d->dl = NULL;
        return STATUS_DRIVER_UNABLE_TO_LOAD;
    }
    q.base = lm->l_addr;
    dl_iterate_phdr(find_range, &q);
    d->lo = q.lo;
    d->hi = q.hi;

    memset(&d->obj, 0, sizeof(d->obj));
    memset(&d->ext, 0, sizeof(d->ext));
    d->obj.Type = 4; /* IO_TYPE_DRIVER */
    d->obj.Size = (CSHORT)sizeof(d->obj);
    d->obj.DriverStart = (PVOID)d->lo;
    d->obj.DriverSize = (ULONG)(d->hi - d->lo);
    d->obj.DriverExtension = &d->ext;
    d->obj.DriverInit = entry;
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->obj.MajorFunction[i] = invalid_request;
    d->ext.DriverObject = &d->obj;
    widen(d->svcbuf, RTL_NUMBER_OF(d->svcbuf), d->name, NULL);
    set_ustr(&d->ext.ServiceKeyName, d->svcbuf, RTL_NUMBER_OF(d->svcbuf));
    widen(d->namebuf, RTL_NUMBER_OF(d->namebuf), "\\Driver\\", d->name);
    set_ustr(&d->obj.DriverName, d->namebuf, RTL_NUMBER_OF(d->namebuf));
    widen(d->regbuf, RTL_NUMBER_OF(d->regbuf),
          "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\", d->name);
    set_ustr(&d->regpath, d->regbuf, RTL_NUMBER_OF(d->regbuf));

    /* Listed before DriverEntry runs, so its allocations are charged to it. */
    pthread_rwlock_wrlock(&g_lock);
    d->next = g_drivers;
    g_drivers = d;
    pthread_rwlock_unlock(&g_lock);

    emu_irql_require("DriverEntry (load)", PASSIVE_LEVEL);
    emu_callctx_push(&ctx, d->name, "DriverEntry", d);
    emu_watch_begin(&watch, "load", d->name, "DriverEntry");
    st = entry(&d->obj, &d->regpath);
    emu_watch_end(&watch);
    emu_callctx_pop(&ctx); /* checks the IRQL DriverEntry returned at */
    if (!NT_SUCCESS(st)) {
        /* Windows calls no DriverUnload after a failed DriverEntry: the
           driver must have undone everything itself. */
        snprintf(err, errlen, "DriverEntry of %s failed: 0x%08X", d->name, (unsigned)st);
        ke_timer_check_unload(d, d->name);
        KeFlushQueuedDpcs();
        emu_work_drain();
        ke_pool_check_driver(d, d->name);
        emu_resources_check_driver(d, d->name);
        bool threads = ke_thread_check_unload(d, d->name) != 0;
        unlink_driver(d);
        if (!threads)
            dlclose(d->dl);
        d->dl = NULL;
        return st;
    }
    return STATUS_SUCCESS;
}

struct emu_driver *emu_driver_load(const char *path, char *err, size_t errlen)
{
    struct emu_driver *d;
    const char *base = strrchr(path, '/');
    size_t n;
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = 0;
    if (emu_cpu_count() == 0)
        emu_kernel_init(2);
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    base = base ? base + 1 : path;
    n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0)
        n -= 3;
    /* The name is the service name: a shortened one would name another driver. */
    if (strlen(path) >= sizeof(d->path) || n >= sizeof(d->name)) {
        snprintf(err, errlen, "%s longer than %zu bytes",
                 n >= sizeof(d->name) ? "driver name" : "driver path",
                 (n >= sizeof(d->name) ? sizeof(d->name) : sizeof(d->path)) - 1);
        free(d);
        return NULL;
    }
    snprintf(d->path, sizeof(d->path), "%s", path);
    memcpy(d->name, base, n);
    d->name[n] = 0;
    if (!NT_SUCCESS(load_into(d, err, errlen))) {
        free(d);
        return NULL;
    }
    return d;
}

static void (*_Atomic g_unload_check)(PDRIVER_OBJECT obj, const char *name);

void ke_set_unload_check(void (*check)(PDRIVER_OBJECT obj, const char *name))
{
    atomic_store(&g_unload_check, check);
}

static NTSTATUS unload_keep(struct emu_driver *d)
{
    struct emu_callctx ctx;
    struct emu_watch watch;
    if (d->dl == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    if (d->obj.DriverUnload == NULL)
        return STATUS_INVALID_DEVICE_REQUEST; /* not unloadable, as on Windows */
    emu_irql_require("DriverUnload", PASSIVE_LEVEL);
    emu_callctx_push(&ctx, d->name, "DriverUnload", d);
    emu_watch_begin(&watch, "unload", d->name, "DriverUnload");
    d->obj.DriverUnload(&d->obj);
    void (*check)(PDRIVER_OBJECT, const char *) = atomic_load(&g_unload_check);
    if (check != NULL)
        check(&d->obj, d->name);
    ke_timer_check_unload(d, d->name);
    /* The image is about to go: nothing may still be queued to run in it. */
    emu_watch_note(&watch, "(DPC and work item drain)");
    KeFlushQueuedDpcs();
    emu_work_drain();
    emu_watch_end(&watch);
    emu_callctx_pop(&ctx);
    ke_pool_check_driver(d, d->name);
    emu_resources_check_driver(d, d->name);
    /* A thread still running the driver's code keeps the image mapped:
       unmapping it would crash ndisemu before the finding is reported. */
    bool threads = ke_thread_check_unload(d, d->name) != 0;
    unlink_driver(d);
    if (!threads)
        dlclose(d->dl);
    d->dl = NULL;
    return STATUS_SUCCESS;
}

NTSTATUS emu_driver_unload(struct emu_driver *d)
{
    NTSTATUS st = unload_keep(d);
    if (NT_SUCCESS(st))
        free(d);
    return st;
}

NTSTATUS emu_driver_reload(struct emu_driver *d)
{
    char err[256];
    NTSTATUS st = unload_keep(d);
    if (!NT_SUCCESS(st))
        return st;
    st = load_into(d, err, sizeof(err));
    if (!NT_SUCCESS(st))
        fprintf(stderr, "ndisemu: reload: %s\n", err);
    return st;
}

/* Parameters. A value returned by emu_param_get stays valid until the same
   (driver, name) is set again. */
struct param {
    char *driver, *name, *value;
    struct param *next;
};
static pthread_mutex_t g_param_lock = PTHREAD_MUTEX_INITIALIZER;
static struct param *g_params;

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcasecmp(a, b) == 0);
}

bool emu_param_set(const char *driver, const char *name, const char *value)
{
    struct param *p;
    char *copy = strdup(value);
    bool ok = false;
    if (copy == NULL)
        return false;
    pthread_mutex_lock(&g_param_lock);
    for (p = g_params; p; p = p->next)
        if (same(p->driver, driver) && same(p->name, name))
            break;
    if (p == NULL) {
        p = calloc(1, sizeof(*p));
        if (p == NULL)
            goto out;
        p->driver = driver ? strdup(driver) : NULL;
        p->name = strdup(name);
        if ((driver && !p->driver) || !p->name) {
            free(p->driver);
            free(p->name);
            free(p);
            goto out;
        }
        p->next = g_params;
        g_params = p;
    }
    free(p->value);
    p->value = copy;
    copy = NULL;
    ok = true;
out:
    pthread_mutex_unlock(&g_param_lock);
    free(copy);
    return ok;
}

const char *emu_param_get(const char *driver, const char *name)
{
    struct param *p;
    const char *global = NULL, *own = NULL;
    pthread_mutex_lock(&g_param_lock);
    for (p = g_params; p; p = p->next) {
        if (!same(p->name, name))
            continue;
        if (p->driver == NULL)
            global = p->value;
        else if (driver && same(p->driver, driver))
            own = p->value;
    }
    pthread_mutex_unlock(&g_param_lock);
    return own ? own : global;
}
