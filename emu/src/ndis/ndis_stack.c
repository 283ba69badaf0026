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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static pthread_mutex_t g_ad_mu = PTHREAD_MUTEX_INITIALIZER;
static struct emu_adapter *g_adapters[EMU_NDIS_MAX_ADAPTERS];
static unsigned g_nadapters;
static struct emu_module *g_zombies;
static struct emu_slot_spec g_spec[EMU_NDIS_MAX_SLOTS];
static unsigned g_nspec;

/*
 * The names of every module that was ever attached, for the report (the
 * modules themselves are gone by then). Appended under g_ad_mu; the count is
 * published with release after the record is complete, so the report may
 * read without the lock (also from the deadlock handler).
 */
struct module_record {
    char module[160], driver[64], friendly[128], unique[40], guid_name[96], instance[64];
    unsigned if_index;
};
static struct module_record g_records[EMU_NDIS_MAX_ADAPTERS * EMU_NDIS_MAX_SLOTS];
static _Atomic unsigned g_nrecords;

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
    char *buf = strdup(spec ? spec : ""), *save = NULL;
    if (buf == NULL) {
        snprintf(err, errlen, "--stack: out of memory");
        return false;
    }
    bool ok = false;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == EMU_NDIS_MAX_SLOTS) {
            snprintf(err, errlen, "--stack: more than %d filter modules", EMU_NDIS_MAX_SLOTS);
            goto out;
        }
        struct emu_slot_spec *s = &tmp[n++];
        memset(s, 0, sizeof(*s));
        s->modifying = false;
        s->mandatory = false;
        char *save2 = NULL, *name = strtok_r(tok, ":", &save2);
        if (name == NULL || *name == 0 || strlen(name) >= sizeof(s->driver)) {
            snprintf(err, errlen, "--stack: bad filter name in '%s'", spec);
            goto out;
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
                goto out;
            }
        }
    }
    memcpy(g_spec, tmp, sizeof(tmp));
    g_nspec = n;
    ok = true;
out:
    free(buf);
    return ok;
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
    const char *brace = strchr(info->name, '{');
    snprintf(ad->guid, sizeof(ad->guid), "%.39s", brace ? brace : info->name);
    emu_ascii_to_ndis_string(info->alias, ad->instance_w, 64, &ad->instance_u);
    ad->net_luid.Info.NetLuidIndex = info->ifindex;
    ad->net_luid.Info.IfType = IF_TYPE_ETHERNET_CSMACD;
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

/* The interface right below slot `slot`: the nearest attached module, else the miniport. */
static struct emu_module *module_below(struct emu_adapter *ad, unsigned slot)
{
    for (int p = (int)slot - 1; p >= 0; p--)
        if (ad->slots[p] != NULL)
            return ad->slots[p];
    return NULL;
}

static NET_IFINDEX lower_if_index(struct emu_adapter *ad, unsigned slot)
{
    struct emu_module *b = module_below(ad, slot);
    return b != NULL ? b->if_index : ad->info.ifindex;
}

static NET_LUID lower_net_luid(struct emu_adapter *ad, unsigned slot)
{
    struct emu_module *b = module_below(ad, slot);
    return b != NULL ? b->net_luid : ad->net_luid;
}

/* What the emulated miniport supports, as OID_GEN_SUPPORTED_LIST would say. */
static NDIS_OID g_supported_oids[] = {
    OID_GEN_SUPPORTED_LIST,        OID_GEN_HARDWARE_STATUS,     OID_GEN_MEDIA_SUPPORTED,
    OID_GEN_MEDIA_IN_USE,          OID_GEN_MAXIMUM_LOOKAHEAD,   OID_GEN_MAXIMUM_FRAME_SIZE,
    OID_GEN_LINK_SPEED,            OID_GEN_CURRENT_PACKET_FILTER, OID_GEN_CURRENT_LOOKAHEAD,
    OID_GEN_MAXIMUM_TOTAL_SIZE,    OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_XMIT_OK,
    OID_GEN_RCV_OK,                OID_GEN_STATISTICS,          OID_802_3_PERMANENT_ADDRESS,
    OID_802_3_CURRENT_ADDRESS,     OID_802_3_MULTICAST_LIST,    OID_802_3_MAXIMUM_LIST_SIZE,
};
#define EMU_MTU 1500
#define EMU_LINK_SPEED 10000000000ull /* 10 Gb/s */
#define EMU_RESTART_ATTR_TAG 'aRdN'

/*
 * The NDIS_RESTART_ATTRIBUTES chain of one stack restart: its first (here
 * only) element is OID_GEN_MINIPORT_RESTART_ATTRIBUTES with the miniport's
 * NDIS_RESTART_GENERAL_ATTRIBUTES, revision 2 (NDIS 6.20+). Elements come
 * from NdisAllocateMemoryWithTagPriority, so that a filter may replace one
 * (freeing the old with NdisFreeMemory) or append its own, as the WDK allows;
 * the whole chain is freed with NdisFreeMemory when the restart is over.
 */
static PNDIS_RESTART_ATTRIBUTES restart_attributes_new(struct emu_adapter *ad)
{
    size_t size = offsetof(NDIS_RESTART_ATTRIBUTES, Data) + sizeof(NDIS_RESTART_GENERAL_ATTRIBUTES);
    PNDIS_RESTART_ATTRIBUTES ra = NdisAllocateMemoryWithTagPriority(
        &ad->mp_party, (UINT)size, EMU_RESTART_ATTR_TAG, NormalPoolPriority);
    if (ra == NULL)
        return NULL;
    memset(ra, 0, size);
    ra->Oid = OID_GEN_MINIPORT_RESTART_ATTRIBUTES;
    ra->DataLength = sizeof(NDIS_RESTART_GENERAL_ATTRIBUTES);
    PNDIS_RESTART_GENERAL_ATTRIBUTES g = (PNDIS_RESTART_GENERAL_ATTRIBUTES)ra->Data;
    g->Header.Type = NDIS_OBJECT_TYPE_RESTART_GENERAL_ATTRIBUTES;
    g->Header.Revision = NDIS_RESTART_GENERAL_ATTRIBUTES_REVISION_2;
    g->Header.Size = NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_2;
    g->MtuSize = EMU_MTU;
    g->MaxXmitLinkSpeed = g->MaxRcvLinkSpeed = EMU_LINK_SPEED;
    g->LookaheadSize = EMU_MTU;
    g->MacOptions = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND |
                    NDIS_MAC_OPTION_NO_LOOPBACK | NDIS_MAC_OPTION_FULL_DUPLEX;
    g->SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST |
                                NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST |
                                NDIS_PACKET_TYPE_PROMISCUOUS;
    g->MaxMulticastListSize = 32;
    g->AccessType = NET_IF_ACCESS_BROADCAST;
    g->ConnectionType = NET_IF_CONNECTION_DEDICATED;
    g->SupportedOidList = g_supported_oids;
    g->SupportedOidListLength = sizeof(g_supported_oids);
    return ra;
}

static void restart_attributes_free(PNDIS_RESTART_ATTRIBUTES ra)
{
    while (ra != NULL) {
        PNDIS_RESTART_ATTRIBUTES next = ra->Next;
        NdisFreeMemory(ra, 0, 0);
        ra = next;
    }
}

/*
 * A pended pause or restart is waited for by its state, not by the pending
 * flag: the completer claims the completion with an exchange of the flag
 * first and stores the new state (and restart_status) after, so only the
 * state tells that everything the completion publishes is visible. The
 * completer broadcasts under m->mu after its store, and the waiter checks
 * the state under m->mu, so the wake-up cannot be lost.
 */
static void wait_state_leaves(struct emu_module *m, int state)
{
    pthread_mutex_lock(&m->mu);
    while (atomic_load(&m->state) == state)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

/*
 * A pended pause or restart completes. Everything is done under m->mu, and m
 * is not touched after the unlock: the waiter (wait_state_leaves) reads the
 * state under m->mu, and once it sees the new state the module may be
 * detached and freed at once. A state stored before taking the lock would
 * let the waiter skip its wait and free m while this thread was still in the
 * verifier or about to lock m->mu (TSan showed it with ok_pause_workitem).
 */
void emu_module_pause_completed(struct emu_module *m)
{
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->state, EMU_MS_PAUSED);
    if (emu_ndis_verifying())
        emu_verify_pause_complete(m);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* The gates open before Running is stored: see not_started() in
   ndis_datapath.c and the ordering in ndis_verify_state.c. */
void emu_module_restart_completed(struct emu_module *m, NDIS_STATUS status)
{
    pthread_mutex_lock(&m->mu);
    m->restart_status = status;
    if (status == NDIS_STATUS_SUCCESS) {
        atomic_store(&m->dp_open, true);
        atomic_store(&m->orig_open, true);
        atomic_store(&m->state, EMU_MS_RUNNING);
    } else {
        atomic_store(&m->state, EMU_MS_PAUSED);
    }
    pthread_cond_broadcast(&m->cv);
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
    /* The order the rules rely on (ndis_verify_state.c): own originations
       close, then the call's time and Pausing are published, then
       FilterPause runs; received NBLs may still be passed on until it
       returns. */
    atomic_store(&m->pause_pending, true);
    atomic_store(&m->orig_open, false);
    atomic_store(&m->pause_called_ns, emu_now_ns());
    atomic_store(&m->state, EMU_MS_PAUSING);
    emu_callctx_push(&c, m->name, "FilterPause", m);
    NDIS_STATUS st = m->drv->chars.PauseHandler(m->ctx, &pp);
    emu_callctx_pop(&c);
    atomic_store(&m->dp_open, false);
    if (st == NDIS_STATUS_PENDING) {
        emu_watch_note(&w, "NdisFPauseComplete");
        wait_state_leaves(m, EMU_MS_PAUSING);
    } else {
        if (st != NDIS_STATUS_SUCCESS)
            emu_violation(EMU_RULE_STATE, m->name, "FilterPause",
                          "FilterPause returned 0x%08x: only SUCCESS or PENDING are allowed",
                          (unsigned)st);
        if (atomic_exchange(&m->pause_pending, false))
            emu_module_pause_completed(m);
        else
            emu_violation(EMU_RULE_PAUSE_COMPLETE_TWICE, m->name, "FilterPause",
                          "FilterPause returned 0x%08x after calling NdisFPauseComplete",
                          (unsigned)st);
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
    rp.RestartAttributes = ad->restart_attrs;
    rp.LowerIfIndex = lower_if_index(ad, m->slot);
    rp.LowerIfNetLuid = lower_net_luid(ad, m->slot);
    emu_watch_begin(&w, "Restart", m->name, "FilterRestart");
    atomic_store(&m->restart_pending, true);
    atomic_store(&m->restart_calling, true);
    atomic_store(&m->state, EMU_MS_RESTARTING);
    if (rp.RestartAttributes != NULL)
        atomic_fetch_add_explicit(&ad->filter_calls[EMU_FC_RESTART_ATTRIBUTES], 1,
                                  memory_order_relaxed);
    emu_callctx_push(&c, m->name, "FilterRestart", m);
    NDIS_STATUS st = m->drv->chars.RestartHandler(m->ctx, &rp);
    emu_callctx_pop(&c);
    if (st == NDIS_STATUS_PENDING) {
        atomic_store(&m->restart_calling, false);
        emu_watch_note(&w, "NdisFRestartComplete");
        wait_state_leaves(m, EMU_MS_RESTARTING);
        st = m->restart_status;
    } else if (atomic_exchange(&m->restart_pending, false)) {
        emu_module_restart_completed(m, st);
        atomic_store(&m->restart_calling, false);
    } else {
        atomic_store(&m->restart_calling, false);
        emu_violation(EMU_RULE_RESTART_COMPLETE_UNEXPECTED, m->name, "FilterRestart",
                      "FilterRestart returned 0x%08x after calling NdisFRestartComplete: the "
                      "restart was completed twice",
                      (unsigned)st);
        st = m->restart_status;
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
    /* Called from the deadlock handler, when no control operation can make
       progress: module pointers are read without the adapters' control
       locks (one of them may be held forever). Only a Paused module's NBLs
       are judged: it may hold none, so what it holds is lost, and that is
       what keeps a miniport's pause waiting. A module still Running or
       Pausing may hold NBLs inside a callback the hang (a stuck CPU, a DPC
       watchdog) cut short: in flight, not leaked. */
    pthread_mutex_lock(&g_ad_mu);
    for (unsigned i = 0; i < g_nadapters; i++)
        for (unsigned s = 0; s < g_adapters[i]->nslots; s++) {
            struct emu_module *m = atomic_load(&g_adapters[i]->slots[s]);
            if (m != NULL && atomic_load(&m->state) == EMU_MS_PAUSED)
                emu_verify_detach(m);
        }
    pthread_mutex_unlock(&g_ad_mu);
    emu_oid_report_leaks();
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
    ad->restart_attrs = restart_attributes_new(ad);
    NDIS_STATUS st = NDIS_STATUS_SUCCESS;
    for (unsigned s = 0; s < ad->nslots && st == NDIS_STATUS_SUCCESS; s++) {
        struct emu_module *m = ad->slots[s];
        if (m == NULL || atomic_load(&m->state) != EMU_MS_PAUSED)
            continue;
        st = restart_module(ad, m);
        if (st != NDIS_STATUS_SUCCESS) {
            /* Roll back: what already runs below is paused again. */
            for (int b = (int)s - 1; b >= 0; b--)
                if (ad->slots[b] != NULL && atomic_load(&ad->slots[b]->state) == EMU_MS_RUNNING)
                    pause_module(ad->slots[b], NDIS_PAUSE_NDIS_INTERNAL);
            ad->ops->miniport_pause(ad->mp);
        }
    }
    restart_attributes_free(ad->restart_attrs);
    ad->restart_attrs = NULL;
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    ad->ops->protocol_restart(ad->pr);
    ad->layers_running = true;
    return NDIS_STATUS_SUCCESS;
}

/*
 * The module's interface names and numbers, as NDIS gives them: the
 * FilterModuleGuidName "{adapter GUID}-{filter UniqueName}-NNNN", NNNN
 * counting the modules of the same driver below it on this stack; an
 * IfIndex and NetLuid of its own.
 */
static void name_module(struct emu_adapter *ad, struct emu_module *m)
{
    unsigned same = 0;
    for (unsigned p = 0; p < m->slot; p++)
        same += ad->slots[p] != NULL && ad->slots[p]->drv == m->drv;
    snprintf(m->guid_name, sizeof(m->guid_name), "%s-%s-%04u", ad->guid, m->drv->unique_name,
             same);
    emu_ascii_to_ndis_string(m->guid_name, m->guid_name_w, 96, &m->guid_name_u);
    m->if_index = ad->info.ifindex * 100 + m->slot + 1;
    m->net_luid.Info.NetLuidIndex = m->if_index;
    m->net_luid.Info.IfType = IF_TYPE_ETHERNET_CSMACD;
}

/* NDIS_FILTER_ATTACH_PARAMETERS as NDIS fills them for an Ethernet miniport
   without offload (DefaultOffloadConfiguration NULL). */
static void attach_parameters(struct emu_adapter *ad, struct emu_module *m,
                              NDIS_FILTER_ATTACH_PARAMETERS *ap)
{
    memset(ap, 0, sizeof(*ap));
    ap->Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS;
    ap->Header.Revision = NDIS_FILTER_ATTACH_PARAMETERS_REVISION_1;
    ap->Header.Size = NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_1;
    ap->IfIndex = m->if_index;
    ap->NetLuid = m->net_luid;
    ap->FilterModuleGuidName = &m->guid_name_u;
    ap->BaseMiniportIfIndex = ad->info.ifindex;
    ap->BaseMiniportInstanceName = &ad->instance_u;
    ap->BaseMiniportName = &ad->name_u;
    ap->MediaConnectState = MediaConnectStateConnected;
    ap->MediaDuplexState = MediaDuplexStateFull;
    ap->XmitLinkSpeed = ap->RcvLinkSpeed = EMU_LINK_SPEED;
    ap->MiniportMediaType = NdisMedium802_3;
    ap->MiniportPhysicalMediaType = NdisPhysicalMedium802_3;
    ap->MacAddressLength = 6;
    memcpy(ap->CurrentMacAddress, ad->info.mac, 6);
    ap->BaseMiniportNetLuid = ad->net_luid;
    ap->LowerIfIndex = lower_if_index(ad, m->slot);
    ap->LowerIfNetLuid = lower_net_luid(ad, m->slot);
}

static void record_module(struct emu_adapter *ad, struct emu_module *m)
{
    pthread_mutex_lock(&g_ad_mu);
    unsigned n = atomic_load_explicit(&g_nrecords, memory_order_relaxed), i = 0;
    while (i < n && strcmp(g_records[i].module, m->name) != 0)
        i++;
    if (i == n && n < sizeof(g_records) / sizeof(g_records[0])) {
        struct module_record *r = &g_records[n];
        snprintf(r->module, sizeof(r->module), "%s", m->name);
        snprintf(r->driver, sizeof(r->driver), "%s", m->drv->name);
        snprintf(r->friendly, sizeof(r->friendly), "%s", m->drv->friendly_name);
        snprintf(r->unique, sizeof(r->unique), "%s", m->drv->unique_name);
        snprintf(r->guid_name, sizeof(r->guid_name), "%s", m->guid_name);
        snprintf(r->instance, sizeof(r->instance), "%s", ad->info.alias);
        r->if_index = m->if_index;
        atomic_store_explicit(&g_nrecords, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_ad_mu);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void emu_ndis_modules_json(FILE *f)
{
    unsigned n = atomic_load_explicit(&g_nrecords, memory_order_acquire);
    fputc('[', f);
    for (unsigned i = 0; i < n; i++) {
        const struct module_record *r = &g_records[i];
        const char *keys[] = {"module",           "driver",       "friendly_name",
                              "unique_name",      "filter_module_guid_name", "miniport_instance_name"};
        const char *vals[] = {r->module, r->driver, r->friendly, r->unique, r->guid_name, r->instance};
        fputs(i ? ",{" : "{", f);
        for (unsigned k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            fprintf(f, "%s\"%s\":", k ? "," : "", keys[k]);
            json_string(f, vals[k]);
        }
        fprintf(f, ",\"if_index\":%u}", r->if_index);
    }
    fputc(']', f);
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

    name_module(ad, m);
    NDIS_FILTER_ATTACH_PARAMETERS ap;
    attach_parameters(ad, m, &ap);

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
    record_module(ad, m);
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
    emu_oid_quiesce(m, &w); /* NDIS waits for the module's OIDs (ndis_oid.c) */
    emu_watch_note(&w, "FilterDetach");
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
    emu_oid_forget(m);
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
