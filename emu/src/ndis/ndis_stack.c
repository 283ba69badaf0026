/*
 * Per-adapter stacks and the filter-module state machine of the WDK's
 * "Filter Module States and Operations" table:
 *
 *   event            | Detached  Attaching Paused     Restarting Running  Pausing
 *   attach           | Attaching
 *   attach complete  |           Paused
 *   attach failed    |           Detached
 *   detach           |                     Detached
 *   restart          |                     Restarting
 *   restart complete |                                Running
 *   restart failed   |                                Paused
 *   pause            |                                           Pausing
 *   pause complete   |                                                    Paused
 *
 * NDIS only drives cells of this table; a driver call that belongs to
 * another state is a `state` finding (ndis_filter.c). Pause runs top-down,
 * restart bottom-up, FilterSetModuleOptions of every module before any
 * FilterRestart. Control operations on one adapter are serialized by ad->ctl
 * and run at PASSIVE_LEVEL, so a pended pause or restart is simply waited for.
 */
#include "ndis_internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static pthread_mutex_t g_ad_mu = PTHREAD_MUTEX_INITIALIZER;
static struct emu_adapter *g_adapters[EMU_NDIS_MAX_ADAPTERS];
static unsigned g_nadapters;
static struct emu_module *g_zombies;
static struct emu_slot_spec g_spec[EMU_NDIS_MAX_SLOTS];
static unsigned g_nspec;

const char *emu_module_state_name(int state)
{
    static const char *const names[] = {"Detached",   "Attaching", "Paused",
                                        "Restarting", "Running",   "Pausing"};
    return state >= 0 && state <= EMU_MS_PAUSING ? names[state] : "?";
}

bool emu_stack_set_spec(const char *spec, char *err, size_t errlen)
{
    struct emu_slot_spec tmp[EMU_NDIS_MAX_SLOTS];
    unsigned n = 0;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == EMU_NDIS_MAX_SLOTS) {
            snprintf(err, errlen, "--stack: more than %d filter modules", EMU_NDIS_MAX_SLOTS);
            return false;
        }
        struct emu_slot_spec *s = &tmp[n++];
        memset(s, 0, sizeof(*s));
        s->modifying = false;
        s->mandatory = false;
        char *save2 = NULL, *name = strtok_r(tok, ":", &save2);
        if (name == NULL || *name == 0 || strlen(name) >= sizeof(s->driver)) {
            snprintf(err, errlen, "--stack: bad filter name in '%s'", spec);
            return false;
        }
        strcpy(s->driver, name);
        for (char *f = strtok_r(NULL, ":", &save2); f; f = strtok_r(NULL, ":", &save2)) {
            if (strcmp(f, "monitoring") == 0)
                s->modifying = false;
            else if (strcmp(f, "modifying") == 0)
                s->modifying = true;
            else if (strcmp(f, "mandatory") == 0)
                s->mandatory = true;
            else if (strcmp(f, "optional") == 0)
                s->mandatory = false;
            else {
                snprintf(err, errlen, "--stack: unknown flag ':%s' for %s", f, name);
                return false;
            }
        }
    }
    memcpy(g_spec, tmp, sizeof(tmp));
    g_nspec = n;
    return true;
}

struct emu_adapter *emu_adapter_create(const struct emu_adapter_info *info,
                                       const struct emu_edge_ops *ops, void *mp, void *pr)
{
    struct emu_adapter *ad = calloc(1, sizeof(*ad));
    if (ad == NULL)
        return NULL;
    ad->info = *info;
    ad->ops = ops;
    ad->mp = mp;
    ad->pr = pr;
    pthread_mutex_init(&ad->ctl, NULL);
    ad->nslots = g_nspec;
    memcpy(ad->spec, g_spec, sizeof(g_spec));
    snprintf(ad->mp_name, sizeof(ad->mp_name), "miniport@%s", info->alias);
    snprintf(ad->pr_name, sizeof(ad->pr_name), "protocol@%s", info->alias);
    ad->mp_party = (struct emu_party){EMU_PARTY_MINIPORT, ad, -1, ad->mp_name};
    ad->pr_party = (struct emu_party){EMU_PARTY_PROTOCOL, ad, (int)ad->nslots, ad->pr_name};
    emu_handle_issue(&ad->mp_party, EMU_HANDLE_PARTY);
    emu_handle_issue(&ad->pr_party, EMU_HANDLE_PARTY);
    emu_ascii_to_ndis_string(info->name, ad->name_w, 64, &ad->name_u);
    emu_ascii_to_ndis_string(info->alias, ad->alias_w, 64, &ad->alias_u);
    pthread_mutex_lock(&g_ad_mu);
    if (g_nadapters < EMU_NDIS_MAX_ADAPTERS)
        g_adapters[g_nadapters++] = ad;
    pthread_mutex_unlock(&g_ad_mu);
    return ad;
}

const struct emu_adapter_info *emu_adapter_info(const struct emu_adapter *ad)
{
    return &ad->info;
}

NDIS_HANDLE emu_adapter_miniport_handle(struct emu_adapter *ad)
{
    return &ad->mp_party;
}

NDIS_HANDLE emu_adapter_protocol_handle(struct emu_adapter *ad)
{
    return &ad->pr_party;
}

unsigned emu_adapter_slot_count(const struct emu_adapter *ad)
{
    return ad->nslots;
}

unsigned emu_adapter_count(void)
{
    pthread_mutex_lock(&g_ad_mu);
    unsigned n = g_nadapters;
    pthread_mutex_unlock(&g_ad_mu);
    return n;
}

struct emu_adapter *emu_adapter_get(unsigned index)
{
    pthread_mutex_lock(&g_ad_mu);
    struct emu_adapter *ad = index < g_nadapters ? g_adapters[index] : NULL;
    pthread_mutex_unlock(&g_ad_mu);
    return ad;
}

bool emu_adapter_running(const struct emu_adapter *ad)
{
    if (!ad->layers_running)
        return false;
    for (unsigned s = 0; s < ad->nslots; s++) {
        struct emu_module *m = ad->slots[s];
        if (m != NULL && atomic_load(&m->state) != EMU_MS_RUNNING)
            return false;
    }
    return true;
}

size_t emu_adapter_describe(struct emu_adapter *ad, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    pthread_mutex_lock(&ad->ctl);
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s: miniport", ad->info.alias);
    for (unsigned s = 0; s < ad->nslots; s++) {
        struct emu_module *m = ad->slots[s];
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " | %s#%u (%s, %s, %s)",
                              ad->spec[s].driver, s,
                              ad->spec[s].modifying ? "modifying" : "monitoring",
                              ad->spec[s].mandatory ? "mandatory" : "optional",
                              m ? emu_module_state_name(atomic_load(&m->state)) : "not attached");
    }
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " | protocol%s",
                          ad->layers_running ? "" : " (paused)");
    pthread_mutex_unlock(&ad->ctl);
    return n;
}

static void wait_cleared(struct emu_module *m, _Atomic bool *flag)
{
    pthread_mutex_lock(&m->mu);
    while (atomic_load(flag))
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

static void pause_module(struct emu_module *m, ULONG reason)
{
    struct emu_watch w;
    struct emu_callctx c;
    NDIS_FILTER_PAUSE_PARAMETERS pp = {{NDIS_OBJECT_TYPE_FILTER_PAUSE_PARAMETERS,
                                        NDIS_FILTER_PAUSE_PARAMETERS_REVISION_1,
                                        NDIS_SIZEOF_FILTER_PAUSE_PARAMETERS_REVISION_1},
                                       0,
                                       reason};
    emu_watch_begin(&w, "Pause", m->name, "FilterPause");
    atomic_store(&m->pause_pending, true);
    atomic_store(&m->orig_open, false);
    atomic_store(&m->state, EMU_MS_PAUSING);
    emu_callctx_push(&c, m->name, "FilterPause", m);
    NDIS_STATUS st = m->drv->chars.PauseHandler(m->ctx, &pp);
    emu_callctx_pop(&c);
    atomic_store(&m->dp_open, false);
    if (st == NDIS_STATUS_PENDING) {
        emu_watch_note(&w, "NdisFPauseComplete");
        wait_cleared(m, &m->pause_pending);
    } else {
        if (st != NDIS_STATUS_SUCCESS)
            emu_violation(EMU_RULE_STATE, m->name, "FilterPause",
                          "FilterPause returned 0x%08x: only SUCCESS or PENDING are allowed",
                          (unsigned)st);
        if (atomic_exchange(&m->pause_pending, false)) {
            atomic_store(&m->state, EMU_MS_PAUSED);
            if (emu_ndis_verifying())
                emu_verify_pause_complete(m);
        } else {
            emu_violation(EMU_RULE_PAUSE_COMPLETE_TWICE, m->name, "FilterPause",
                          "FilterPause returned 0x%08x after calling NdisFPauseComplete",
                          (unsigned)st);
        }
    }
    emu_watch_end(&w);
}

static NDIS_STATUS restart_module(struct emu_adapter *ad, struct emu_module *m)
{
    struct emu_watch w;
    struct emu_callctx c;
    NDIS_FILTER_RESTART_PARAMETERS rp;
    memset(&rp, 0, sizeof(rp));
    rp.Header.Type = NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS;
    rp.Header.Revision = NDIS_FILTER_RESTART_PARAMETERS_REVISION_1;
    rp.Header.Size = NDIS_SIZEOF_FILTER_RESTART_PARAMETERS_REVISION_1;
    rp.MiniportMediaType = NdisMedium802_3;
    rp.MiniportPhysicalMediaType = NdisPhysicalMedium802_3;
    rp.LowerIfIndex = ad->info.ifindex;
    emu_watch_begin(&w, "Restart", m->name, "FilterRestart");
    atomic_store(&m->restart_pending, true);
    atomic_store(&m->state, EMU_MS_RESTARTING);
    atomic_store(&m->dp_open, true);
    atomic_store(&m->orig_open, true);
    emu_callctx_push(&c, m->name, "FilterRestart", m);
    NDIS_STATUS st = m->drv->chars.RestartHandler(m->ctx, &rp);
    emu_callctx_pop(&c);
    if (st == NDIS_STATUS_PENDING) {
        emu_watch_note(&w, "NdisFRestartComplete");
        wait_cleared(m, &m->restart_pending);
        st = m->restart_status;
    } else if (atomic_exchange(&m->restart_pending, false)) {
        atomic_store(&m->state, st == NDIS_STATUS_SUCCESS ? EMU_MS_RUNNING : EMU_MS_PAUSED);
    }
    if (st != NDIS_STATUS_SUCCESS) {
        atomic_store(&m->dp_open, false);
        atomic_store(&m->orig_open, false);
    }
    emu_watch_end(&w);
    return st;
}

NDIS_STATUS emu_stack_pause_locked(struct emu_adapter *ad, ULONG reason)
{
    struct emu_watch w;
    if (ad->layers_running) {
        emu_watch_begin(&w, "Pause", ad->pr_name, "ProtocolPause");
        ad->ops->protocol_pause(ad->pr);
        emu_watch_end(&w);
    }
    for (int s = (int)ad->nslots - 1; s >= 0; s--) {
        struct emu_module *m = ad->slots[s];
        if (m != NULL && atomic_load(&m->state) == EMU_MS_RUNNING)
            pause_module(m, reason);
    }
    if (ad->layers_running) {
        /* The miniport waits for every receive it indicated: NBLs a filter
           lost hang it here, and the watchdog names it. */
        emu_watch_begin(&w, "Pause", ad->mp_name, "MiniportPause");
        ad->ops->miniport_pause(ad->mp);
        emu_watch_end(&w);
    }
    ad->layers_running = false;
    return NDIS_STATUS_SUCCESS;
}

void emu_ndis_report_leaks(void)
{
    /* Called at emulator shutdown or from the deadlock handler, when no
       control operation can make progress: module pointers are read without
       the adapters' control locks (one of them may be held forever). */
    pthread_mutex_lock(&g_ad_mu);
    for (unsigned i = 0; i < g_nadapters; i++)
        for (unsigned s = 0; s < g_adapters[i]->nslots; s++) {
            struct emu_module *m = atomic_load(&g_adapters[i]->slots[s]);
            if (m != NULL)
                emu_verify_detach(m);
        }
    pthread_mutex_unlock(&g_ad_mu);
}

NDIS_STATUS emu_stack_restart_locked(struct emu_adapter *ad)
{
    /* A mandatory filter that is missing keeps the whole stack Paused. */
    for (unsigned s = 0; s < ad->nslots; s++)
        if (ad->spec[s].mandatory && ad->slots[s] == NULL)
            return NDIS_STATUS_PAUSED;
    ad->ops->miniport_restart(ad->mp);
    for (unsigned s = 0; s < ad->nslots; s++) {
        struct emu_module *m = ad->slots[s];
        if (m == NULL || m->drv->chars.SetFilterModuleOptionsHandler == NULL)
            continue;
        struct emu_callctx c;
        atomic_store(&m->in_set_options, true);
        emu_callctx_push(&c, m->name, "FilterSetModuleOptions", m);
        NDIS_STATUS st = m->drv->chars.SetFilterModuleOptionsHandler(m->ctx);
        emu_callctx_pop(&c);
        atomic_store(&m->in_set_options, false);
        if (st != NDIS_STATUS_SUCCESS)
            emu_violation(EMU_RULE_STATE, m->name, "FilterSetModuleOptions",
                          "FilterSetModuleOptions failed with 0x%08x", (unsigned)st);
    }
    for (unsigned s = 0; s < ad->nslots; s++) {
        struct emu_module *m = ad->slots[s];
        if (m == NULL || atomic_load(&m->state) != EMU_MS_PAUSED)
            continue;
        NDIS_STATUS st = restart_module(ad, m);
        if (st != NDIS_STATUS_SUCCESS) {
            /* Roll back: what already runs below is paused again. */
            for (int b = (int)s - 1; b >= 0; b--)
                if (ad->slots[b] != NULL && atomic_load(&ad->slots[b]->state) == EMU_MS_RUNNING)
                    pause_module(ad->slots[b], NDIS_PAUSE_NDIS_INTERNAL);
            ad->ops->miniport_pause(ad->mp);
            return st;
        }
    }
    ad->ops->protocol_restart(ad->pr);
    ad->layers_running = true;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS emu_stack_attach_locked(struct emu_adapter *ad, unsigned slot)
{
    emu_ndis_driver_lock();
    struct emu_filter_driver *d = emu_ndis_find_driver(ad->spec[slot].driver);
    emu_ndis_driver_unlock();
    if (d == NULL || ad->slots[slot] != NULL)
        return NDIS_STATUS_ADAPTER_NOT_FOUND;
    struct emu_module *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NDIS_STATUS_RESOURCES;
    snprintf(m->name, sizeof(m->name), "%s#%u@%s", d->name, slot, ad->info.alias);
    m->party = (struct emu_party){EMU_PARTY_MODULE, ad, (int)slot, m->name};
    emu_handle_issue(&m->party, EMU_HANDLE_PARTY);
    m->drv = d;
    m->slot = slot;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    atomic_store(&m->send, d->chars.SendNetBufferListsHandler);
    atomic_store(&m->send_complete, d->chars.SendNetBufferListsCompleteHandler);
    atomic_store(&m->cancel_send, d->chars.CancelSendNetBufferListsHandler);
    atomic_store(&m->receive, d->chars.ReceiveNetBufferListsHandler);
    atomic_store(&m->ret, d->chars.ReturnNetBufferListsHandler);
    atomic_store(&m->state, EMU_MS_ATTACHING);

    NDIS_FILTER_ATTACH_PARAMETERS ap;
    NDIS_STRING guid_name;
    WCHAR guid_w[64];
    memset(&ap, 0, sizeof(ap));
    emu_ascii_to_ndis_string(m->name, guid_w, 64, &guid_name);
    ap.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS;
    ap.Header.Revision = NDIS_FILTER_ATTACH_PARAMETERS_REVISION_1;
    ap.Header.Size = NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_1;
    ap.IfIndex = ad->info.ifindex * 100 + slot + 1;
    ap.FilterModuleGuidName = &guid_name;
    ap.BaseMiniportIfIndex = ad->info.ifindex;
    ap.BaseMiniportInstanceName = &ad->alias_u;
    ap.BaseMiniportName = &ad->name_u;
    ap.MediaConnectState = MediaConnectStateConnected;
    ap.MediaDuplexState = MediaDuplexStateFull;
    ap.XmitLinkSpeed = ap.RcvLinkSpeed = 10000000000ull;
    ap.MiniportMediaType = NdisMedium802_3;
    ap.MiniportPhysicalMediaType = NdisPhysicalMedium802_3;
    ap.MacAddressLength = 6;
    memcpy(ap.CurrentMacAddress, ad->info.mac, 6);
    ap.LowerIfIndex =
        slot == 0 || ad->slots[slot - 1] == NULL ? ad->info.ifindex : ad->info.ifindex * 100 + slot;

    struct emu_watch w;
    struct emu_callctx c;
    emu_watch_begin(&w, "Attach", m->name, "FilterAttach");
    emu_callctx_push(&c, m->name, "FilterAttach", m);
    NDIS_STATUS st = d->chars.AttachHandler((NDIS_HANDLE)m, d->context, &ap);
    emu_callctx_pop(&c);
    emu_watch_end(&w);
    if (st == NDIS_STATUS_SUCCESS && !m->attributes_set) {
        emu_violation(EMU_RULE_STATE, m->name, "FilterAttach",
                      "FilterAttach succeeded without calling NdisFSetAttributes");
        st = NDIS_STATUS_FAILURE;
    }
    if (st != NDIS_STATUS_SUCCESS) {
        atomic_store(&m->state, EMU_MS_DETACHED);
        emu_handle_retire(&m->party);
        free(m);
        return st;
    }
    atomic_store(&m->state, EMU_MS_PAUSED);
    atomic_store_explicit(&ad->slots[slot], m, memory_order_release);
    return NDIS_STATUS_SUCCESS;
}

void emu_stack_detach_locked(struct emu_adapter *ad, unsigned slot)
{
    struct emu_module *m = ad->slots[slot];
    if (m == NULL)
        return;
    if (atomic_load(&m->state) != EMU_MS_PAUSED)
        emu_violation(EMU_RULE_STATE, m->name, "FilterDetach",
                      "detach of a module that is %s, not Paused",
                      emu_module_state_name(atomic_load(&m->state)));
    struct emu_watch w;
    struct emu_callctx c;
    emu_watch_begin(&w, "Detach", m->name, "FilterDetach");
    emu_callctx_push(&c, m->name, "FilterDetach", m);
    m->drv->chars.DetachHandler(m->ctx);
    emu_callctx_pop(&c);
    /*
     * The stack is Paused, so no new datapath call can reach m, but one that
     * already passed its NBLs on may still be finishing ndisemu's
     * bookkeeping in m (see inflight_begin in ndis_datapath.c). Those tails
     * are a few instructions long and never block, so yielding until they
     * are gone is enough; a condition variable would need the waker to touch
     * m after its last decrement, which is exactly the use-after-free this
     * prevents. The wait is under the Detach watch: a call that never ends
     * is named by the watchdog instead of hanging silently.
     */
    emu_watch_note(&w, "ndisemu: datapath calls in flight");
    while (atomic_load_explicit(&m->dp_refs, memory_order_acquire) != 0)
        sched_yield();
    emu_watch_end(&w);
    atomic_store(&m->state, EMU_MS_DETACHED);
    if (emu_ndis_verifying())
        emu_verify_detach(m);
    atomic_store_explicit(&ad->slots[slot], NULL, memory_order_release);
    if (atomic_load(&m->held) != 0 || atomic_load(&m->originated_out) != 0) {
        /* Leaked NBLs still name this module as owner or source: keep its
           memory (its handle retired) so their late frees stay harmless. */
        emu_handle_retire(&m->party);
        pthread_mutex_lock(&g_ad_mu);
        m->zombie_next = g_zombies;
        g_zombies = m;
        pthread_mutex_unlock(&g_ad_mu);
        return;
    }
    emu_handle_retire(&m->party);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

NDIS_STATUS emu_adapter_start(struct emu_adapter *ad)
{
    pthread_mutex_lock(&ad->ctl);
    ad->started = true;
    for (unsigned s = 0; s < ad->nslots; s++)
        if (ad->slots[s] == NULL)
            emu_stack_attach_locked(ad, s);
    NDIS_STATUS st = emu_stack_restart_locked(ad);
    pthread_mutex_unlock(&ad->ctl);
    return st;
}

NDIS_STATUS emu_adapter_pause(struct emu_adapter *ad)
{
    pthread_mutex_lock(&ad->ctl);
    NDIS_STATUS st = emu_stack_pause_locked(ad, NDIS_PAUSE_NDIS_INTERNAL);
    pthread_mutex_unlock(&ad->ctl);
    return st;
}

NDIS_STATUS emu_adapter_restart(struct emu_adapter *ad)
{
    pthread_mutex_lock(&ad->ctl);
    NDIS_STATUS st = emu_stack_restart_locked(ad);
    pthread_mutex_unlock(&ad->ctl);
    return st;
}

NDIS_STATUS emu_adapter_detach_module(struct emu_adapter *ad, unsigned slot)
{
    if (slot >= ad->nslots)
        return NDIS_STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&ad->ctl);
    emu_stack_pause_locked(ad, NDIS_PAUSE_DETACH_FILTER);
    emu_stack_detach_locked(ad, slot);
    NDIS_STATUS st = emu_stack_restart_locked(ad);
    pthread_mutex_unlock(&ad->ctl);
    return st;
}

NDIS_STATUS emu_adapter_attach_module(struct emu_adapter *ad, unsigned slot)
{
    if (slot >= ad->nslots)
        return NDIS_STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&ad->ctl);
    emu_stack_pause_locked(ad, NDIS_PAUSE_ATTACH_FILTER);
    NDIS_STATUS st = emu_stack_attach_locked(ad, slot);
    NDIS_STATUS rs = emu_stack_restart_locked(ad);
    pthread_mutex_unlock(&ad->ctl);
    return st != NDIS_STATUS_SUCCESS ? st : rs;
}

void emu_adapter_destroy(struct emu_adapter *ad)
{
    /* NDIS work queued for this adapter (NdisFRestartFilter, attach after a
       registration) must not outlive it. */
    emu_work_drain();
    while (atomic_load(&ad->restart_requests) != 0)
        emu_work_drain();
    pthread_mutex_lock(&ad->ctl);
    emu_stack_pause_locked(ad, NDIS_PAUSE_MINIPORT_DEVICE_REMOVE);
    for (int s = (int)ad->nslots - 1; s >= 0; s--)
        emu_stack_detach_locked(ad, (unsigned)s);
    ad->started = false;
    pthread_mutex_unlock(&ad->ctl);
    pthread_mutex_lock(&g_ad_mu);
    for (unsigned i = 0; i < g_nadapters; i++)
        if (g_adapters[i] == ad) {
            memmove(&g_adapters[i], &g_adapters[i + 1],
                    (g_nadapters - i - 1) * sizeof(g_adapters[0]));
            g_nadapters--;
            break;
        }
    pthread_mutex_unlock(&g_ad_mu);
    pthread_mutex_destroy(&ad->ctl);
    emu_handle_retire(&ad->mp_party);
    emu_handle_retire(&ad->pr_party);
    free(ad);
}
