/*
 * Datapath routing: receives up, returns down, sends down, completions up.
 *
 * No lock anywhere here: this is the path the benchmarks measure, and NDIS
 * itself has no synchronization of its own on it. Routing reads only the
 * adapter's slot array and each module's handler pointers, which change
 * only while the whole stack is Paused (see ndis_internal.h), and each
 * NBL's SourceHandle, which its originator set. With the verifier off no NBL
 * header is touched at all.
 */
#include "ndis_internal.h"

#include <stdlib.h>

#include "kernel.h"

/* Handles are looked up in the handle table, never read (handles.h). */
struct emu_party *emu_party_from_handle(NDIS_HANDLE h)
{
    return emu_handle_valid(h, EMU_HANDLE_PARTY) ? h : NULL;
}

struct emu_module *emu_module_from_handle(NDIS_HANDLE h, const char *api)
{
    if (!emu_handle_check(h, EMU_HANDLE_PARTY, api))
        return NULL;
    struct emu_party *p = h;
    if (p->kind != EMU_PARTY_MODULE) {
        emu_violation(EMU_RULE_STALE_HANDLE, NULL, api,
                      "%s: %p is the %s's handle, not an NdisFilterHandle", api, h, p->name);
        return NULL;
    }
    return (struct emu_module *)p;
}

static struct emu_module *slot_at(struct emu_adapter *ad, int pos)
{
    return atomic_load_explicit(&ad->slots[pos], memory_order_acquire);
}

/* Keeps the NBLs whose ownership moves from `from` to `to`; the count of kept ones. */
static PNET_BUFFER_LIST verified_chain(PNET_BUFFER_LIST chain, struct emu_party *from,
                                       struct emu_party *to, const char *api, bool returning,
                                       ULONG *count)
{
    PNET_BUFFER_LIST head = NULL, *tail = &head;
    ULONG n = 0;
    while (chain != NULL) {
        PNET_BUFFER_LIST next = chain->Next;
        if (emu_nbl_try_transfer(chain, from, to, api, returning)) {
            *tail = chain;
            tail = &chain->Next;
            n++;
        }
        chain = next;
    }
    *tail = NULL;
    if (count)
        *count = n;
    return head;
}

/*
 * The verifier counts a callback as in flight from before the NBLs become the
 * module's (the ownership transfer) until after the call returns: a pause
 * completing in between must not see NBLs held outside any callback.
 *
 * The bookkeeping after the call outlives what makes the module detachable:
 * once the callee has passed the NBLs on (a return to the miniport, say), the
 * miniport's pause can complete, the stack can be Paused and the module
 * detached while this thread still has inflight_end() ahead of it. dp_refs
 * is what keeps ndisemu's module object alive until then: it is taken before
 * the first verifier access and dropped as the very last one, with release
 * order, so every access of this call happens before the detacher's acquire
 * load sees zero and frees. Without the verifier nothing after the callback
 * touches the module (call_module_exit only pops this thread's context), so
 * no reference is needed and the datapath stays free of interlocked ops.
 */
static void inflight_begin(struct emu_party *to, bool verify)
{
    if (verify && to->kind == EMU_PARTY_MODULE) {
        struct emu_module *m = (struct emu_module *)to;
        atomic_fetch_add_explicit(&m->dp_refs, 1, memory_order_relaxed);
        emu_verify_callback_enter(m);
    }
}

static void inflight_end(struct emu_party *to, bool verify)
{
    if (verify && to->kind == EMU_PARTY_MODULE) {
        struct emu_module *m = (struct emu_module *)to;
        emu_verify_callback_exit(m);
        atomic_fetch_sub_explicit(&m->dp_refs, 1, memory_order_release);
    }
}

/*
 * A datapath call is judged by when it was admitted, i.e. routed to m, not
 * by when its callback starts (see emu_verify_originate): the cookie says
 * whether FilterPause had not returned at the routing decision, so a call
 * admitted then carries DP_OPEN even if FilterPause returns before the
 * callback is entered. The state is read first and dp_open after it: the
 * restart completion stores dp_open before Running, and a pause stores
 * Pausing before FilterPause and clears dp_open only after it returned, so a
 * reader that sees Running sees a module whose FilterPause has not returned
 * (DP_OPEN), and one that sees another state learns it from dp_open, read
 * later. Sampling dp_open before the state (as once done) let a call that
 * read the previous pause's closed gate and then the new Running state
 * enter a Running module without DP_OPEN, and its own sends were reported
 * once the next pause began (ok_own_send, ok_clone_nbls).
 */
static uint64_t admission_of(struct emu_module *m, int st)
{
    bool open = st == EMU_MS_RUNNING || atomic_load(&m->dp_open);
    return EMU_COOKIE_DATAPATH | (open ? EMU_COOKIE_DP_OPEN : 0);
}

static uint64_t admission(struct emu_module *m)
{
    return admission_of(m, atomic_load(&m->state));
}

static void call_module_enter(struct emu_module *m, struct emu_callctx *c, const char *cb,
                              uint64_t admitted)
{
    emu_callctx_push(c, m->name, cb, m);
    c->cookie = admitted;
}

static void call_module_exit(struct emu_module *m, struct emu_callctx *c)
{
    (void)m;
    emu_callctx_pop(c);
}

static void route_back(struct emu_adapter *ad, int pos, struct emu_party *from,
                       PNET_BUFFER_LIST nbls, ULONG flags, bool is_return, const char *api);

/*
 * The table has no Send/Receive cell for Paused or Restarting: such a module
 * is not called on the datapath until its restart has completed (WDK
 * "Starting a Filter Module": NDIS starts send and receive operations once
 * the module is Running). While a stack pauses top-down (or restarts
 * bottom-up) the layers below still run, so NDIS answers for it: receives go
 * straight back, sends complete with NDIS_STATUS_PAUSED. A Pausing module
 * is still called: NDIS does not serialize the datapath against FilterPause.
 * The restart completion opens m's gates before it stores Running (see
 * restart_opened in ndis_stack.c), so a call that sees Running here finds
 * them open.
 */
static bool not_started(int st)
{
    return st != EMU_MS_RUNNING && st != EMU_MS_PAUSING;
}

static void bounce(struct emu_adapter *ad, struct emu_party *from, struct emu_module *m,
                   PNET_BUFFER_LIST nbls, ULONG flags, bool receive)
{
    bool verify = emu_ndis_verifying();
    const char *api = receive ? "NdisFIndicateReceiveNetBufferLists" : "NdisFSendNetBufferLists";
    inflight_begin(&m->party, verify);
    if (verify)
        nbls = verified_chain(nbls, from, &m->party, api, false, NULL);
    if (!receive)
        for (PNET_BUFFER_LIST n = nbls; n != NULL; n = n->Next)
            n->Status = NDIS_STATUS_PAUSED;
    if (nbls != NULL)
        route_back(
            ad, m->party.pos, &m->party, nbls,
            receive
                ? (NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(flags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                                              : 0)
                : (NDIS_TEST_SEND_AT_DISPATCH_LEVEL(flags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                                           : 0),
            receive,
            receive ? "NDIS (receive to a module not Running)"
                    : "NDIS (send to a module not Running)");
    inflight_end(&m->party, verify);
}

/*
 * EMU_NBL_RX_OPEN: the NBL reached the module that now holds it by a receive
 * admitted with DP_OPEN, i.e. NDIS indicated it to a module whose
 * FilterPause had not returned. Set or cleared at every hop to a module (a
 * send clears it), read when that module indicates the NBL up again
 * (ndis_verify_state.c, rule 4). Only the NBL's owner writes it, before the
 * callback that hands the NBL to the driver.
 */
static void mark_received_open(PNET_BUFFER_LIST nbls, bool open)
{
    for (; nbls != NULL; nbls = nbls->Next)
        if (open)
            emu_nbl_hdr(nbls)->flags |= EMU_NBL_RX_OPEN;
        else
            emu_nbl_hdr(nbls)->flags &= ~EMU_NBL_RX_OPEN;
}

static void receive_up(struct emu_adapter *ad, int pos, struct emu_party *from,
                       PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG flags)
{
    struct emu_module *m = NULL;
    FILTER_RECEIVE_NET_BUFFER_LISTS_HANDLER rx = NULL;
    for (int p = pos + 1; p < (int)ad->nslots; p++) {
        m = slot_at(ad, p);
        if (m != NULL && (rx = atomic_load_explicit(&m->receive, memory_order_relaxed)) != NULL)
            break;
        m = NULL;
    }
    int st = m != NULL ? atomic_load(&m->state) : EMU_MS_RUNNING;
    uint64_t admitted = m != NULL ? admission_of(m, st) : 0;
    if (m != NULL && not_started(st)) {
        /* RESOURCES: returning from this call is the return. */
        if (!(flags & NDIS_RECEIVE_FLAGS_RESOURCES))
            bounce(ad, from, m, nbls, flags, true);
        return;
    }
    struct emu_party *to = m ? &m->party : &ad->pr_party;
    bool verify = emu_ndis_verifying();
    PNET_BUFFER_LIST snap_small[64], *snap = NULL;
    ULONG nsnap = 0;
    inflight_begin(to, verify);
    if (verify) {
        nbls = verified_chain(nbls, from, to, "NdisFIndicateReceiveNetBufferLists", false, &count);
        if (nbls == NULL) {
            inflight_end(to, verify);
            return;
        }
        if (m != NULL)
            mark_received_open(nbls, admitted & EMU_COOKIE_DP_OPEN);
        if (flags & NDIS_RECEIVE_FLAGS_RESOURCES) {
            snap = count <= 64 ? snap_small : malloc(count * sizeof(*snap));
            for (PNET_BUFFER_LIST n = nbls; n != NULL && snap != NULL; n = n->Next) {
                emu_nbl_hdr(n)->flags |= EMU_NBL_IN_RESOURCES;
                snap[nsnap++] = n;
            }
        }
    }
    if (m != NULL) {
        struct emu_callctx c;
        call_module_enter(m, &c, "FilterReceiveNetBufferLists", admitted);
        rx(m->ctx, nbls, port, count, flags);
        call_module_exit(m, &c);
    } else {
        ad->ops->protocol_receive(ad->pr, nbls, port, count, flags);
    }
    /* NDIS_RECEIVE_FLAGS_RESOURCES: the indicator owns the NBLs again as soon
       as the call returns, whatever the receiver did with them. */
    for (ULONG i = 0; i < nsnap; i++) {
        emu_nbl_hdr(snap[i])->flags &= ~EMU_NBL_IN_RESOURCES;
        emu_nbl_force_owner(snap[i], from);
    }
    inflight_end(to, verify);
    if (snap != NULL && snap != snap_small)
        free(snap);
}

/* Where a return from position `pos` goes next: a module between the NBL's source and pos
   with a return handler, else the source itself. */
static struct emu_party *return_dest(struct emu_adapter *ad, int pos, PNET_BUFFER_LIST nbl)
{
    struct emu_party *src = emu_party_from_handle(nbl->SourceHandle);
    int lo = src ? src->pos : -1;
    for (int p = pos - 1; p > lo; p--) {
        struct emu_module *m = slot_at(ad, p);
        if (m != NULL && atomic_load_explicit(&m->ret, memory_order_relaxed) != NULL)
            return &m->party;
    }
    return src ? src : &ad->mp_party;
}

static struct emu_party *complete_dest(struct emu_adapter *ad, int pos, PNET_BUFFER_LIST nbl)
{
    struct emu_party *src = emu_party_from_handle(nbl->SourceHandle);
    int hi = src ? src->pos : (int)ad->nslots;
    for (int p = pos + 1; p < hi; p++) {
        struct emu_module *m = slot_at(ad, p);
        if (m != NULL && atomic_load_explicit(&m->send_complete, memory_order_relaxed) != NULL)
            return &m->party;
    }
    return src ? src : &ad->pr_party;
}

static void deliver_return(struct emu_adapter *ad, struct emu_party *to, PNET_BUFFER_LIST nbls,
                           ULONG flags)
{
    if (to->kind == EMU_PARTY_MODULE) {
        struct emu_module *m = (struct emu_module *)to;
        FILTER_RETURN_NET_BUFFER_LISTS_HANDLER h = atomic_load(&m->ret);
        if (h == NULL)
            return; /* an originating module without a return handler loses them */
        struct emu_callctx c;
        call_module_enter(m, &c, "FilterReturnNetBufferLists", admission(m));
        h(m->ctx, nbls, flags);
        call_module_exit(m, &c);
    } else {
        ad->ops->miniport_return(ad->mp, nbls, flags);
    }
}

static void deliver_complete(struct emu_adapter *ad, struct emu_party *to, PNET_BUFFER_LIST nbls,
                             ULONG flags)
{
    if (to->kind == EMU_PARTY_MODULE) {
        struct emu_module *m = (struct emu_module *)to;
        FILTER_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER h = atomic_load(&m->send_complete);
        if (h == NULL)
            return;
        struct emu_callctx c;
        call_module_enter(m, &c, "FilterSendNetBufferListsComplete", admission(m));
        h(m->ctx, nbls, flags);
        call_module_exit(m, &c);
    } else {
        ad->ops->protocol_send_complete(ad->pr, nbls, flags);
    }
}

/* Returns and completions may fan out to different destinations: consecutive
   NBLs going to the same one are delivered together. */
static void route_back(struct emu_adapter *ad, int pos, struct emu_party *from,
                       PNET_BUFFER_LIST nbls, ULONG flags, bool is_return, const char *api)
{
    bool verify = emu_ndis_verifying();
    while (nbls != NULL) {
        struct emu_party *to =
            is_return ? return_dest(ad, pos, nbls) : complete_dest(ad, pos, nbls);
        PNET_BUFFER_LIST head = NULL, *tail = &head;
        inflight_begin(to, verify);
        while (nbls != NULL) {
            struct emu_party *d =
                is_return ? return_dest(ad, pos, nbls) : complete_dest(ad, pos, nbls);
            if (d != to)
                break;
            PNET_BUFFER_LIST next = nbls->Next;
            bool ok = true;
            if (to == from) {
                /* Its own NBL (SourceHandle is the caller): passing it "back" would loop. */
                emu_violation(EMU_RULE_NBL_OWN_PASSED_BACK, from->name, api,
                              "%s passed back NBL %p that it allocated itself (its SourceHandle "
                              "is the caller's own handle)",
                              from->name, (void *)nbls);
                ok = false;
            } else if (verify) {
                if (is_return && (emu_nbl_hdr(nbls)->flags & EMU_NBL_IN_RESOURCES)) {
                    emu_violation(EMU_RULE_NBL_WRONG_OWNER, from->name, api,
                                  "NBL %p was indicated with NDIS_RECEIVE_FLAGS_RESOURCES: it "
                                  "must not be returned",
                                  (void *)nbls);
                    ok = false;
                } else {
                    ok = emu_nbl_try_transfer(nbls, from, to, api, true);
                }
            }
            if (ok) {
                *tail = nbls;
                tail = &nbls->Next;
            }
            nbls = next;
        }
        *tail = NULL;
        if (head != NULL) {
            if (is_return)
                deliver_return(ad, to, head, flags);
            else
                deliver_complete(ad, to, head, flags);
        }
        inflight_end(to, verify);
    }
}

static void send_down(struct emu_adapter *ad, int pos, struct emu_party *from,
                      PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    struct emu_module *m = NULL;
    FILTER_SEND_NET_BUFFER_LISTS_HANDLER tx = NULL;
    for (int p = pos - 1; p >= 0; p--) {
        m = slot_at(ad, p);
        if (m != NULL && (tx = atomic_load_explicit(&m->send, memory_order_relaxed)) != NULL)
            break;
        m = NULL;
    }
    int st = m != NULL ? atomic_load(&m->state) : EMU_MS_RUNNING;
    uint64_t admitted = m != NULL ? admission_of(m, st) : 0;
    if (m != NULL && not_started(st)) {
        bounce(ad, from, m, nbls, flags, false);
        return;
    }
    struct emu_party *to = m ? &m->party : &ad->mp_party;
    bool verify = emu_ndis_verifying();
    inflight_begin(to, verify);
    if (verify) {
        nbls = verified_chain(nbls, from, to, "NdisFSendNetBufferLists", false, NULL);
        if (nbls == NULL) {
            inflight_end(to, verify);
            return;
        }
        if (m != NULL)
            mark_received_open(nbls, false);
    }
    if (m != NULL) {
        struct emu_callctx c;
        call_module_enter(m, &c, "FilterSendNetBufferLists", admitted);
        tx(m->ctx, nbls, port, flags);
        call_module_exit(m, &c);
    } else {
        ad->ops->miniport_send(ad->mp, nbls, port, flags);
    }
    inflight_end(to, verify);
}

/* A DISPATCH_LEVEL flag promises the callee it runs at DISPATCH_LEVEL (so it
   may use NdisDprAcquireSpinLock and friends): a false promise is an `irql`
   finding. */
static void check_flag_irql(const char *api, bool flag_dispatch)
{
    if (flag_dispatch && KeGetCurrentIrql() != DISPATCH_LEVEL)
        emu_violation(EMU_RULE_IRQL, NULL, api,
                      "%s with a *_DISPATCH_LEVEL flag at IRQL %u, not DISPATCH_LEVEL", api,
                      (unsigned)KeGetCurrentIrql());
}

/*
 * The NDIS contract makes a miniport (protocol) set SourceHandle to its
 * MiniportAdapterHandle (NdisBindingHandle). Routing works without it (an
 * unset SourceHandle routes back to the miniport / protocol); the verifier
 * needs it, so ndisemu's own hosts are forgiven here rather than reported.
 */
static void host_source(PNET_BUFFER_LIST nbls, struct emu_party *host)
{
    if (emu_ndis_verifying())
        for (; nbls != NULL; nbls = nbls->Next)
            if (nbls->SourceHandle == NULL)
                nbls->SourceHandle = host;
}

/* Host (miniport / protocol) entry points. */
void emu_miniport_indicate_receive(struct emu_adapter *ad, PNET_BUFFER_LIST nbls,
                                   NDIS_PORT_NUMBER port, ULONG count, ULONG flags)
{
    host_source(nbls, &ad->mp_party);
    receive_up(ad, -1, &ad->mp_party, nbls, port, count, flags);
}

void emu_miniport_send_complete(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, ULONG flags)
{
    route_back(ad, -1, &ad->mp_party, nbls, flags, false, "NdisMSendNetBufferListsComplete");
}

void emu_protocol_send(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port,
                       ULONG flags)
{
    host_source(nbls, &ad->pr_party);
    send_down(ad, (int)ad->nslots, &ad->pr_party, nbls, port, flags);
}

void emu_protocol_return(struct emu_adapter *ad, PNET_BUFFER_LIST nbls, ULONG flags)
{
    route_back(ad, (int)ad->nslots, &ad->pr_party, nbls, flags, true, "NdisReturnNetBufferLists");
}

/* The NdisF* datapath calls. */
VOID NdisFSendNetBufferLists(NDIS_HANDLE NdisFilterHandle, PNET_BUFFER_LIST NetBufferList,
                             NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFSendNetBufferLists");
    if (m == NULL)
        return;
    if (emu_ndis_verifying()) {
        emu_irql_require_max("NdisFSendNetBufferLists", DISPATCH_LEVEL);
        check_flag_irql("NdisFSendNetBufferLists", NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags));
        emu_verify_chain("NdisFSendNetBufferLists", NetBufferList, -1);
        emu_verify_originate(m, "NdisFSendNetBufferLists", NetBufferList);
    }
    send_down(m->party.ad, m->party.pos, &m->party, NetBufferList, PortNumber, SendFlags);
}

VOID NdisFSendNetBufferListsComplete(NDIS_HANDLE NdisFilterHandle, PNET_BUFFER_LIST NetBufferList,
                                     ULONG SendCompleteFlags)
{
    struct emu_module *m =
        emu_module_from_handle(NdisFilterHandle, "NdisFSendNetBufferListsComplete");
    if (m == NULL)
        return;
    if (emu_ndis_verifying()) {
        emu_irql_require_max("NdisFSendNetBufferListsComplete", DISPATCH_LEVEL);
        check_flag_irql("NdisFSendNetBufferListsComplete",
                        NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(SendCompleteFlags));
        emu_verify_chain("NdisFSendNetBufferListsComplete", NetBufferList, -1);
    }
    route_back(m->party.ad, m->party.pos, &m->party, NetBufferList, SendCompleteFlags, false,
               "NdisFSendNetBufferListsComplete");
}

VOID NdisFIndicateReceiveNetBufferLists(NDIS_HANDLE NdisFilterHandle,
                                        PNET_BUFFER_LIST NetBufferLists,
                                        NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists,
                                        ULONG ReceiveFlags)
{
    struct emu_module *m =
        emu_module_from_handle(NdisFilterHandle, "NdisFIndicateReceiveNetBufferLists");
    if (m == NULL)
        return;
    if (emu_ndis_verifying()) {
        emu_irql_require_max("NdisFIndicateReceiveNetBufferLists", DISPATCH_LEVEL);
        check_flag_irql("NdisFIndicateReceiveNetBufferLists",
                        NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags));
        emu_verify_chain("NdisFIndicateReceiveNetBufferLists", NetBufferLists,
                         (long)NumberOfNetBufferLists);
        emu_verify_originate(m, "NdisFIndicateReceiveNetBufferLists", NetBufferLists);
    }
    receive_up(m->party.ad, m->party.pos, &m->party, NetBufferLists, PortNumber,
               NumberOfNetBufferLists, ReceiveFlags);
}

VOID NdisFReturnNetBufferLists(NDIS_HANDLE NdisFilterHandle, PNET_BUFFER_LIST NetBufferLists,
                               ULONG ReturnFlags)
{
    struct emu_module *m = emu_module_from_handle(NdisFilterHandle, "NdisFReturnNetBufferLists");
    if (m == NULL)
        return;
    if (emu_ndis_verifying()) {
        emu_irql_require_max("NdisFReturnNetBufferLists", DISPATCH_LEVEL);
        check_flag_irql("NdisFReturnNetBufferLists",
                        NDIS_TEST_RETURN_AT_DISPATCH_LEVEL(ReturnFlags));
        emu_verify_chain("NdisFReturnNetBufferLists", NetBufferLists, -1);
    }
    route_back(m->party.ad, m->party.pos, &m->party, NetBufferLists, ReturnFlags, true,
               "NdisFReturnNetBufferLists");
}

void emu_cancel_send_below(struct emu_adapter *ad, int pos, PVOID cancel_id)
{
    for (int p = pos - 1; p >= 0; p--) {
        struct emu_module *b = slot_at(ad, p);
        FILTER_CANCEL_SEND_HANDLER h = b ? atomic_load(&b->cancel_send) : NULL;
        if (h != NULL) {
            struct emu_callctx c;
            emu_ndis_count_send_cancel(ad);
            call_module_enter(b, &c, "FilterCancelSendNetBufferLists", admission(b));
            h(b->ctx, cancel_id);
            call_module_exit(b, &c);
            return;
        }
    }
    if (ad->ops->miniport_cancel_send != NULL)
        ad->ops->miniport_cancel_send(ad->mp, cancel_id);
}

VOID NdisFCancelSendNetBufferLists(NDIS_HANDLE NdisFilterHandle, PVOID CancelId)
{
    struct emu_module *m =
        emu_module_from_handle(NdisFilterHandle, "NdisFCancelSendNetBufferLists");
    if (m == NULL)
        return;
    emu_cancel_send_below(m->party.ad, m->party.pos, CancelId);
}
