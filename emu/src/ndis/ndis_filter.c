/*
 * Filter driver registration and the NdisF* control calls a module makes
 * (attributes, optional handlers, pause/restart completion, restart request).
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static pthread_mutex_t g_drivers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct emu_filter_driver *g_drivers;

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
    return (d != NULL && d->magic == EMU_FDRV_MAGIC) ? d->name : NULL;
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

void emu_ndis_string_to_ascii(PCUNICODE_STRING s, char *buf, size_t cap)
{
    size_t n = 0;
    if (s != NULL && s->Buffer != NULL)
        for (; n + 1 < cap && n < s->Length / sizeof(WCHAR); n++)
            buf[n] = (char)s->Buffer[n];
    buf[n] = 0;
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
    if (ed != NULL)
        snprintf(d->name, sizeof(d->name), "%s", emu_driver_name(ed));
    else
        emu_ndis_string_to_ascii(&ch->ServiceName, d->name, sizeof(d->name));
    d->magic = EMU_FDRV_MAGIC;
    d->object = DriverObject;
    d->context = FilterDriverContext;
    memcpy(&d->chars, ch, ch->Header.Size < sizeof(d->chars) ? ch->Header.Size : sizeof(d->chars));
    emu_ndis_driver_lock();
    if (emu_ndis_find_driver(d->name) != NULL) {
        emu_ndis_driver_unlock();
        free(d);
        return NDIS_STATUS_FAILURE;
    }
    d->next = g_drivers;
    g_drivers = d;
    emu_ndis_driver_unlock();
    *NdisFilterDriverHandle = d;
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
    if (d == NULL || d->magic != EMU_FDRV_MAGIC) {
        emu_violation(EMU_RULE_STATE, NULL, "NdisFDeregisterFilterDriver",
                      "%p is not a registered filter driver handle", NdisFilterDriverHandle);
        return;
    }
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
    d->magic = 0;
    free(d);
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

NDIS_STATUS NdisSetOptionalHandlers(NDIS_HANDLE NdisHandle,
                                    PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers)
{
    struct emu_module *m = emu_module_from_handle(NdisHandle, "NdisSetOptionalHandlers");
    if (m == NULL || OptionalHandlers == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (!atomic_load(&m->in_set_options)) {
        emu_violation(EMU_RULE_STATE, m->name, "NdisSetOptionalHandlers",
                      "datapath handlers may change only from FilterSetModuleOptions");
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    /* The header says which structure the pointer really is. */
    if (OptionalHandlers->Header.Type != NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS ||
        OptionalHandlers->Header.Size < NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1)
        return NDIS_STATUS_INVALID_PARAMETER;
    PNDIS_FILTER_PARTIAL_CHARACTERISTICS p = (PNDIS_FILTER_PARTIAL_CHARACTERISTICS)OptionalHandlers;
    atomic_store(&m->send, p->SendNetBufferListsHandler);
    atomic_store(&m->send_complete, p->SendNetBufferListsCompleteHandler);
    atomic_store(&m->cancel_send, p->CancelSendNetBufferListsHandler);
    atomic_store(&m->receive, p->ReceiveNetBufferListsHandler);
    atomic_store(&m->ret, p->ReturnNetBufferListsHandler);
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFPauseComplete(NDIS_HANDLE NdisFilterHandle)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFPauseComplete");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFPauseComplete", DISPATCH_LEVEL);
    /*
     * Cleared under m->mu, and m is not touched after the unlock: the paused
     * module may be detached and freed the moment the waiter in pause_module
     * (ndis_stack.c), which reads the flag under m->mu, sees it cleared.
     * Cleared before the lock, the waiter could skip its wait and let the
     * detach free m while this thread was still in the verifier's check.
     */
    pthread_mutex_lock(&m->mu);
    bool pending = atomic_exchange(&m->pause_pending, false);
    if (pending) {
        atomic_store(&m->state, EMU_MS_PAUSED);
        if (emu_ndis_verifying())
            emu_verify_pause_complete(m);
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    if (!pending)
        emu_violation(EMU_RULE_PAUSE_COMPLETE_TWICE, m->name, "NdisFPauseComplete",
                      "NdisFPauseComplete with no pause pending (module is %s)",
                      emu_module_state_name(atomic_load(&m->state)));
}

VOID NdisFRestartComplete(NDIS_HANDLE NdisFilterHandle, NDIS_STATUS Status)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFRestartComplete");
    if (m == NULL)
        return;
    emu_irql_require_max("NdisFRestartComplete", DISPATCH_LEVEL);
    /* As in NdisFPauseComplete: the waiter in restart_module reads the flag
       and then restart_status under m->mu, so both are written under it. */
    pthread_mutex_lock(&m->mu);
    bool pending = atomic_exchange(&m->restart_pending, false);
    if (pending) {
        m->restart_status = Status;
        atomic_store(&m->state, Status == NDIS_STATUS_SUCCESS ? EMU_MS_RUNNING : EMU_MS_PAUSED);
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    if (!pending)
        emu_violation(EMU_RULE_STATE, m->name, "NdisFRestartComplete",
                      "NdisFRestartComplete with no restart pending (module is %s)",
                      emu_module_state_name(atomic_load(&m->state)));
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
