/*
 * Filter driver registration and the NdisF* control calls a module makes
 * (attributes, optional handlers, pause/restart completion, restart request).
 */
#include "ndis_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel.h"

static pthread_mutex_t g_drivers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct emu_filter_driver *g_drivers;
/* The driver whose FilterSetOptions runs (inside NdisFRegisterFilterDriver). */
static _Thread_local struct emu_filter_driver *tls_setting_options;

void emu_ndis_driver_lock(void)
{
    pthread_mutex_lock(&g_drivers_mu);
}

void emu_ndis_driver_unlock(void)
{
    pthread_mutex_unlock(&g_drivers_mu);
}

struct emu_filter_driver *emu_ndis_find_driver(const char *name)
{
    for (struct emu_filter_driver *d = g_drivers; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

const char *emu_ndis_handle_driver_name(NDIS_HANDLE h)
{
    struct emu_party *p = emu_party_from_handle(h);
    if (p != NULL)
        return p->kind == EMU_PARTY_MODULE ? ((struct emu_module *)p)->drv->name : NULL;
    struct emu_filter_driver *d = h;
    return emu_handle_valid(h, EMU_HANDLE_FILTER_DRIVER) ? d->name : NULL;
}

/* Drivers registered from a test binary: their DRIVER_OBJECT is not the loader's. */
static PDRIVER_OBJECT g_inline[16];

void emu_test_register_inline_driver(PDRIVER_OBJECT obj)
{
    for (unsigned i = 0; i < 16; i++)
        if (g_inline[i] == NULL || g_inline[i] == obj) {
            g_inline[i] = obj;
            return;
        }
}

static bool is_inline(PDRIVER_OBJECT obj)
{
    for (unsigned i = 0; i < 16; i++)
        if (g_inline[i] == obj)
            return true;
    return false;
}

bool emu_ndis_string_to_ascii(PCUNICODE_STRING s, char *buf, size_t cap)
{
    size_t n = 0, len = s != NULL && s->Buffer != NULL ? s->Length / sizeof(WCHAR) : 0;
    for (; n + 1 < cap && n < len; n++)
        buf[n] = (char)s->Buffer[n];
    buf[n] = 0;
    return n == len;
}

void emu_ascii_to_ndis_string(const char *s, WCHAR *buf, size_t cap, NDIS_STRING *out)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++)
        buf[n] = (WCHAR)(unsigned char)s[n];
    buf[n] = 0;
    out->Buffer = buf;
    out->Length = (USHORT)(n * sizeof(WCHAR));
    out->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
}

/*
 * Attach a newly registered driver's slots on every started adapter: pause,
 * attach, restart. The work carries the driver's name, not its pointer, and
 * emu_stack_attach_locked looks the driver up under the adapter's control
 * lock: a deregistration that got in first (it unregisters before it
 * detaches) leaves nothing to attach and nothing freed to touch.
 */
static void attach_everywhere(void *arg)
{
    char *name = arg;
    for (unsigned i = 0; i < emu_adapter_count(); i++) {
        struct emu_adapter *ad = emu_adapter_get(i);
        if (ad == NULL)
            break;
        pthread_mutex_lock(&ad->ctl);
        if (ad->started) {
            bool any = false;
            for (unsigned s = 0; s < ad->nslots; s++)
                any |= strcmp(ad->spec[s].driver, name) == 0 && ad->slots[s] == NULL;
            if (any) {
                emu_stack_pause_locked(ad, NDIS_PAUSE_ATTACH_FILTER);
                for (unsigned s = 0; s < ad->nslots; s++)
                    if (strcmp(ad->spec[s].driver, name) == 0 && ad->slots[s] == NULL)
                        emu_stack_attach_locked(ad, s);
                emu_stack_restart_locked(ad);
            }
        }
        pthread_mutex_unlock(&ad->ctl);
    }
    free(name);
}

/* A GUID string in braces, as a filter's UniqueName must be (its INF's NetCfgInstanceId). */
static bool is_guid_string(const char *s)
{
    static const char pat[] = "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
    if (strlen(s) != sizeof(pat) - 1)
        return false;
    for (size_t i = 0; pat[i] != 0; i++)
        if (pat[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pat[i])
            return false;
    return true;
}

static bool bad_characteristics(const char *who, const char *what)
{
    fprintf(stderr,
            "ndisemu: NdisFRegisterFilterDriver(%s) fails with NDIS_STATUS_BAD_CHARACTERISTICS: "
            "%s\n",
            who, what);
    return false;
}

/*
 * The three names of NDIS_FILTER_DRIVER_CHARACTERISTICS, as NDIS checks them
 * against the filter's installation: all present, UniqueName the GUID of the
 * INF ("{...}"), ServiceName the driver's service (for ndisemu, the .so's
 * base name, compared without case as Windows compares service names).
 */
static bool names_valid(struct emu_filter_driver *d, PNDIS_FILTER_DRIVER_CHARACTERISTICS ch,
                        const char *service)
{
    char msg[256], svc[64];
    bool friendly_fits =
        emu_ndis_string_to_ascii(&ch->FriendlyName, d->friendly_name, sizeof(d->friendly_name));
    /* A UniqueName too long to fit is refused below by its length. */
    (void)emu_ndis_string_to_ascii(&ch->UniqueName, d->unique_name, sizeof(d->unique_name));
    bool svc_fits = emu_ndis_string_to_ascii(&ch->ServiceName, svc, sizeof(svc));
    const char *who = service != NULL ? service : (svc[0] ? svc : "?");
    if (!svc_fits || !friendly_fits) {
        snprintf(msg, sizeof(msg), "%s is longer than ndisemu keeps (%zu characters)",
                 svc_fits ? "FriendlyName" : "ServiceName",
                 (svc_fits ? sizeof(d->friendly_name) : sizeof(svc)) - 1);
        return bad_characteristics(who, msg);
    }
    if (svc[0] == 0)
        return bad_characteristics(who, "ServiceName is empty");
    if (d->friendly_name[0] == 0)
        return bad_characteristics(who, "FriendlyName is empty");
    if (ch->UniqueName.Length == 0)
        return bad_characteristics(
            who, "UniqueName is empty; it must be the filter's GUID, e.g. "
                 "L\"{5cbf81bd-5055-47cd-9055-a76b2b4e3697}\" (the INF's NetCfgInstanceId)");
    if (!is_guid_string(d->unique_name) ||
        ch->UniqueName.Length / sizeof(WCHAR) != strlen(d->unique_name)) {
        snprintf(msg, sizeof(msg),
                 "UniqueName \"%s\" is not a GUID string in braces "
                 "(\"{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}\")",
                 d->unique_name);
        return bad_characteristics(who, msg);
    }
    if (service != NULL && strcasecmp(service, svc) != 0) {
        snprintf(msg, sizeof(msg), "ServiceName \"%s\" is not the driver's service \"%s\"", svc,
                 service);
        return bad_characteristics(who, msg);
    }
    snprintf(d->name, sizeof(d->name), "%s", service != NULL ? service : svc);
    return true;
}

static struct emu_filter_driver *find_unique(const char *unique)
{
    for (struct emu_filter_driver *d = g_drivers; d != NULL; d = d->next)
        if (strcasecmp(d->unique_name, unique) == 0)
            return d;
    return NULL;
}

static void check_deregistered(PDRIVER_OBJECT obj, const char *name);

NDIS_STATUS
NdisFRegisterFilterDriver(PDRIVER_OBJECT DriverObject, NDIS_HANDLE FilterDriverContext,
                          PNDIS_FILTER_DRIVER_CHARACTERISTICS FilterDriverCharacteristics,
                          PNDIS_HANDLE NdisFilterDriverHandle)
{
    PNDIS_FILTER_DRIVER_CHARACTERISTICS ch = FilterDriverCharacteristics;
    emu_irql_require("NdisFRegisterFilterDriver", PASSIVE_LEVEL);
    if (ch == NULL || NdisFilterDriverHandle == NULL ||
        ch->Header.Type != NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS ||
        ch->Header.Size < NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1 ||
        ch->MajorNdisVersion != 6)
        return NDIS_STATUS_BAD_VERSION;
    if (ch->AttachHandler == NULL || ch->DetachHandler == NULL || ch->RestartHandler == NULL ||
        ch->PauseHandler == NULL)
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    struct emu_filter_driver *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NDIS_STATUS_RESOURCES;
    struct emu_driver *ed = DriverObject == NULL || is_inline(DriverObject)
                                ? NULL
                                : emu_driver_from_object(DriverObject);
    if (!names_valid(d, ch, ed != NULL ? emu_driver_name(ed) : NULL)) {
        free(d);
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    d->object = DriverObject;
    d->context = FilterDriverContext;
    memcpy(&d->chars, ch, ch->Header.Size < sizeof(d->chars) ? ch->Header.Size : sizeof(d->chars));
    /* NDIS calls FilterSetOptions inside this call, with the driver's
       context; it may set default handlers (NdisSetOptionalHandlers with the
       driver handle). Its failure is the registration's. The out handle is
       written before the call: Microsoft's LWF sample asserts in its
       FilterSetOptions that its NdisFilterDriverHandle parameter equals the
       handle NdisFRegisterFilterDriver stored, so NDIS has stored it by then.
       On failure it is reset to NULL (the docs fill it only on success). */
    emu_handle_issue(d, EMU_HANDLE_FILTER_DRIVER); /* FilterSetOptions uses it */
    *NdisFilterDriverHandle = d;
    if (d->chars.SetOptionsHandler != NULL) {
        struct emu_callctx c;
        emu_callctx_push(&c, d->name, "FilterSetOptions", d);
        tls_setting_options = d;
        NDIS_STATUS st = d->chars.SetOptionsHandler((NDIS_HANDLE)d, FilterDriverContext);
        tls_setting_options = NULL;
        emu_callctx_pop(&c);
        if (st != NDIS_STATUS_SUCCESS) {
            fprintf(stderr,
                    "ndisemu: NdisFRegisterFilterDriver(%s) fails: FilterSetOptions returned "
                    "0x%08x\n",
                    d->name, (unsigned)st);
            *NdisFilterDriverHandle = NULL;
            emu_handle_retire(d);
            free(d);
            return st;
        }
    }
    emu_ndis_driver_lock();
    const char *clash = emu_ndis_find_driver(d->name) != NULL ? "ServiceName"
                        : find_unique(d->unique_name) != NULL ? "UniqueName"
                                                               : NULL;
    if (clash != NULL) {
        emu_ndis_driver_unlock();
        fprintf(stderr,
                "ndisemu: NdisFRegisterFilterDriver(%s) fails: a filter driver with this %s is "
                "already registered\n",
                d->name, clash);
        *NdisFilterDriverHandle = NULL;
        emu_handle_retire(d);
        free(d);
        return NDIS_STATUS_FAILURE;
    }
    d->next = g_drivers;
    g_drivers = d;
    emu_ndis_driver_unlock();
    ke_set_unload_check(check_deregistered);
    /* NDIS attaches asynchronously: FilterAttach may run before or after
       DriverEntry returns, never inside this call. */
    char *name = strdup(d->name);
    if (name != NULL)
        emu_work_queue(attach_everywhere, name, "ndis", "FilterAttach");
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFDeregisterFilterDriver(NDIS_HANDLE NdisFilterDriverHandle)
{
    struct emu_filter_driver *d = NdisFilterDriverHandle;
    emu_irql_require("NdisFDeregisterFilterDriver", PASSIVE_LEVEL);
    if (!emu_handle_check(d, EMU_HANDLE_FILTER_DRIVER, "NdisFDeregisterFilterDriver"))
        return;
    struct emu_watch w;
    emu_watch_begin(&w, "FilterDeregistration", d->name, "FilterDetach");
    /* Unregistered first, so that no attach can start after this point. */
    emu_ndis_driver_lock();
    for (struct emu_filter_driver **pp = &g_drivers; *pp != NULL; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    emu_ndis_driver_unlock();
    for (unsigned i = 0; i < emu_adapter_count(); i++) {
        struct emu_adapter *ad = emu_adapter_get(i);
        if (ad == NULL)
            break;
        pthread_mutex_lock(&ad->ctl);
        bool any = false;
        for (unsigned s = 0; s < ad->nslots; s++)
            any |= ad->slots[s] != NULL && ad->slots[s]->drv == d;
        if (any) {
            emu_stack_pause_locked(ad, NDIS_PAUSE_DETACH_FILTER);
            for (unsigned s = 0; s < ad->nslots; s++)
                if (ad->slots[s] != NULL && ad->slots[s]->drv == d)
                    emu_stack_detach_locked(ad, s);
            emu_stack_restart_locked(ad);
        }
        pthread_mutex_unlock(&ad->ctl);
    }
    emu_watch_end(&w);
    /* Valid until here: FilterDetach, run above, may still use it. */
    emu_handle_retire(d);
    free(d);
}

/*
 * After DriverUnload (ke_loader.c): a filter driver this driver object
 * registered and never deregistered breaks SDV's NdisFDeregisterFilterDriver
 * rule; on Windows NDIS would go on calling into an unloaded image. The
 * finding names it; ndisemu then deregisters on the driver's behalf while
 * the image is still mapped, so its modules detach before the image goes
 * (and the pool checks that follow see what FilterDetach frees).
 */
static void check_deregistered(PDRIVER_OBJECT obj, const char *name)
{
    for (;;) {
        emu_ndis_driver_lock();
        struct emu_filter_driver *d = g_drivers;
        while (d != NULL && d->object != obj)
            d = d->next;
        emu_ndis_driver_unlock();
        if (d == NULL)
            return;
        emu_violation(EMU_RULE_STATE, name, "DriverUnload",
                      "DriverUnload returned without NdisFDeregisterFilterDriver for filter "
                      "driver %s (NDIS would call into an unloaded image)",
                      d->name);
        NdisFDeregisterFilterDriver(d);
    }
}

NDIS_STATUS NdisFSetAttributes(NDIS_HANDLE NdisFilterHandle, NDIS_HANDLE FilterModuleContext,
                               PNDIS_FILTER_ATTRIBUTES FilterAttributes)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFSetAttributes");
    if (m == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (atomic_load(&m->state) != EMU_MS_ATTACHING) {
        emu_violation(EMU_RULE_STATE, m->name, "NdisFSetAttributes",
                      "NdisFSetAttributes outside FilterAttach (module is %s)",
                      emu_module_state_name(atomic_load(&m->state)));
        return NDIS_STATUS_FAILURE;
    }
    if (FilterAttributes == NULL ||
        FilterAttributes->Header.Type != NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES ||
        FilterAttributes->Header.Size < NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1)
        return NDIS_STATUS_INVALID_PARAMETER;
    m->ctx = FilterModuleContext;
    m->attributes_set = true;
    return NDIS_STATUS_SUCCESS;
}

static void set_handlers(struct emu_module *m, PNDIS_FILTER_PARTIAL_CHARACTERISTICS p)
{
    atomic_store(&m->send, p->SendNetBufferListsHandler);
    atomic_store(&m->send_complete, p->SendNetBufferListsCompleteHandler);
    atomic_store(&m->cancel_send, p->CancelSendNetBufferListsHandler);
    atomic_store(&m->receive, p->ReceiveNetBufferListsHandler);
    atomic_store(&m->ret, p->ReturnNetBufferListsHandler);
}

/*
 * Where the WDK allows it ("Configuring Optional Filter Driver Services",
 * "Data Bypass Mode"): with the driver handle from FilterSetOptions (default
 * handlers for modules attached later), and with a module handle from
 * FilterSetModuleOptions or FilterRestart (that module only).
 *
 * Changing a module's handlers while it is Restarting is safe without a
 * lock: no datapath call is admitted into a module that is not Running or
 * Pausing (not_started in ndis_datapath.c), so the only readers are routing
 * walks of calls passing by, each reading a handler once with an atomic
 * load; with either value they stop at m (and bounce, as m is Restarting) or
 * skip it to the modules above, which are Paused as well (a stack restarts
 * bottom-up), and no NBL is inside m to be returned or completed through it.
 */
NDIS_STATUS NdisSetOptionalHandlers(NDIS_HANDLE NdisHandle,
                                    PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers)
{
    struct emu_filter_driver *d = NdisHandle;
    bool driver = d != NULL && d == tls_setting_options;
    struct emu_module *m =
        driver ? NULL : emu_module_from_handle(NdisHandle, "NdisSetOptionalHandlers");
    if ((!driver && m == NULL) || OptionalHandlers == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (m != NULL && !atomic_load(&m->in_set_options) &&
        atomic_load(&m->state) != EMU_MS_RESTARTING) {
        emu_violation(EMU_RULE_STATE, m->name, "NdisSetOptionalHandlers",
                      "a module's handlers may change only from FilterSetModuleOptions or "
                      "FilterRestart (module is %s)",
                      emu_module_state_name(atomic_load(&m->state)));
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    /* The header says which structure the pointer really is. */
    if (OptionalHandlers->Header.Type != NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS ||
        OptionalHandlers->Header.Size < NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1)
        return NDIS_STATUS_INVALID_PARAMETER;
    PNDIS_FILTER_PARTIAL_CHARACTERISTICS p = (PNDIS_FILTER_PARTIAL_CHARACTERISTICS)OptionalHandlers;
    if (driver) {
        d->chars.SendNetBufferListsHandler = p->SendNetBufferListsHandler;
        d->chars.SendNetBufferListsCompleteHandler = p->SendNetBufferListsCompleteHandler;
        d->chars.CancelSendNetBufferListsHandler = p->CancelSendNetBufferListsHandler;
        d->chars.ReceiveNetBufferListsHandler = p->ReceiveNetBufferListsHandler;
        d->chars.ReturnNetBufferListsHandler = p->ReturnNetBufferListsHandler;
    } else {
        set_handlers(m, p);
    }
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFPauseComplete(NDIS_HANDLE NdisFilterHandle)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFPauseComplete");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFPauseComplete", DISPATCH_LEVEL);
    /* The exchange claims the completion; m is not touched after
       emu_module_pause_completed, which may let the module be freed. */
    if (!atomic_exchange(&m->pause_pending, false)) {
        emu_violation(EMU_RULE_PAUSE_COMPLETE_TWICE, m->name, "NdisFPauseComplete",
                      "NdisFPauseComplete with no pause pending (module is %s)",
                      emu_module_state_name(atomic_load(&m->state)));
        return;
    }
    emu_module_pause_completed(m);
}

VOID NdisFRestartComplete(NDIS_HANDLE NdisFilterHandle, NDIS_STATUS Status)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFRestartComplete");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFRestartComplete", DISPATCH_LEVEL);
    /* The exchange claims the completion: a second one, or one with no
       FilterRestart pending, finds the flag clear. */
    if (!atomic_exchange(&m->restart_pending, false)) {
        emu_violation(EMU_RULE_RESTART_COMPLETE_UNEXPECTED, m->name, "NdisFRestartComplete",
                      "NdisFRestartComplete with no restart pending (module is %s): only a "
                      "FilterRestart that returns NDIS_STATUS_PENDING is completed this way, once",
                      emu_module_state_name(atomic_load(&m->state)));
        return;
    }
    emu_module_restart_completed(m, Status);
}

/*
 * Requests are coalesced per adapter, as NDIS marks a stack for a restart
 * rather than queueing one per call: the request that finds none pending
 * queues the work, and the work takes every request made before it starts
 * (one pause and restart after each of those calls serves them all). A
 * request made after that queues the next one. Uncoalesced, a driver that
 * asks often would fill the system work queue with restarts blocked on
 * ad->ctl, until no worker was left for the work items its pause waits for.
 */
static void restart_stack_work(void *arg)
{
    struct emu_adapter *ad = arg;
    pthread_mutex_lock(&ad->ctl);
    atomic_store(&ad->restart_requests, 0);
    if (ad->started) {
        emu_stack_pause_locked(ad, NDIS_PAUSE_FILTER_RESTART_STACK);
        emu_stack_restart_locked(ad);
    }
    pthread_mutex_unlock(&ad->ctl);
}

NDIS_STATUS NdisFRestartFilter(NDIS_HANDLE NdisFilterHandle)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFRestartFilter");
    if (m == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    emu_irql_require_max("NdisFRestartFilter", DISPATCH_LEVEL);
    int st = atomic_load(&m->state);
    if (st == EMU_MS_DETACHED || st == EMU_MS_ATTACHING) {
        emu_violation(EMU_RULE_STATE, m->name, "NdisFRestartFilter",
                      "NdisFRestartFilter while the module is %s", emu_module_state_name(st));
        return NDIS_STATUS_FAILURE;
    }
    if (atomic_fetch_add(&m->party.ad->restart_requests, 1) == 0)
        emu_work_queue(restart_stack_work, m->party.ad, m->name, "NdisFRestartFilter");
    return NDIS_STATUS_SUCCESS;
}
