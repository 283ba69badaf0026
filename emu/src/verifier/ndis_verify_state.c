/*
 * The state rules of a module's traffic: call-while-paused and
 * call-while-restarting, judged by what the driver could observe.
 *
 * The WDK: the module is Pausing from the start of FilterPause until the
 * pause completes, then Paused; Restarting from the call of FilterRestart
 * until the restart completes. What it forbids while Pausing (FilterPause,
 * "Pausing a Filter Module") is to originate: a send or receive indication
 * of buffers the driver created. Queued sends it must complete, not send
 * (FilterPause: "must call NdisFSendNetBufferListsComplete for any queued
 * send buffers"). Receives are different: a Pausing driver "can pass on
 * calls to its FilterReceiveNetBufferLists function", only not buffers it
 * created, and its queued receives must be handed back before the pause
 * completes (pause-with-outstanding-nbls), "immediately" being a should.
 * While Paused it may neither send nor indicate anything.
 *
 * NDIS does not serialize the datapath against FilterPause, and the driver
 * learns of a pause only when its FilterPause runs. So a send or indication
 * by module m is legal when nothing that told the driver "pause"
 * happens-before the decision to make it:
 *
 * (1) Inside a datapath callback into m that ndisemu admitted (routed to m)
 *     while m->dp_open was set, i.e. before FilterPause returned. The
 *     callback may have read the driver's own "Running" before its
 *     FilterPause published "Pausing"; ndisemu cannot see the driver's
 *     ordering, so the call may finish the Running way. Admission, not the
 *     callback's entry, is what counts: a call routed before FilterPause
 *     returned can be entered after it. A call admitted after FilterPause
 *     returned happens-after the whole FilterPause, in which the driver had
 *     to publish its new state: passing anything on from it is a finding.
 * (2) NBLs it received, passed on outside a datapath callback (a DPC
 *     draining a queue) while dp_open is set: before FilterPause returned the
 *     driver may not have seen the pause, by the same argument.
 * (3) NBLs of its own, outside a datapath callback, while orig_open is set
 *     (Running, FilterPause not yet called), or while Pausing from a context
 *     (DPC, work item, thread, timer) whose decision chain began before NDIS
 *     called FilterPause: it may have decided before the pause began, e.g. a
 *     timer that counted the frame as outstanding under its lock, which its
 *     FilterPause then waits for. A context that began after the call, such
 *     as a DPC that FilterPause queued (tests/drivers/bad_call_while_paused.c),
 *     is caused by the pause, and so is anything called from inside
 *     FilterPause. Both times come from one monotonic clock, read
 *     in happens-before order, so a context FilterPause caused has
 *     start_ns >= pause_called_ns and "<" never excuses it.
 * (4) NBLs it received, indicated up while Pausing, when NDIS indicated every
 *     one of them to m by a receive admitted before FilterPause returned
 *     (EMU_NBL_RX_OPEN, set per hop in ndis_datapath.c): passing on receives
 *     is what the WDK allows a Pausing filter, and handing on a receive it
 *     was given while Running is how it gives back what it queued (the pause
 *     still waits for them). From any context: a drain thread that took its
 *     batch while Running and indicates it after FilterPause returned
 *     PENDING (tests/drivers/ok_rx_queue.c) does what the WDK asks. A receive
 *     NDIS indicated after FilterPause returned, passed up instead of
 *     returned, is still judged by (1) and (2).
 *
 * Hand-offs (emu_handoff_capture in verifier.c): queueing a DPC
 * (KeInsertQueueDpc) or a work item happens before its routine runs, so the
 * routine may carry out a decision the queueing context took. The routine's
 * context therefore counts as nested in the queueing one: it inherits that
 * context's start_ns (so (3) dates a DPC by its queuer, not by when a busy
 * CPU got round to it), and for (1) and for "called from inside a callback
 * of m" the queuer's frames are looked at after the routine's own stack. A
 * DPC queued by a datapath call admitted while Running may thus send what
 * that call decided (tests/drivers/ok_rx_queue.c, ok_own_send.c built as
 * ok_own_send_dpc); one FilterPause queued has FilterPause as its nearest
 * frame of m and is judged as FilterPause would be (both:
 * tests/emu/ndis_handoff_test.c). Only the insertion that
 * queues hands off: KeInsertQueueDpc of a DPC already queued returns FALSE
 * and the queued instance keeps its queuer. An inherited datapath frame
 * excuses only while the pause is in progress: a routine that still runs
 * after the driver completed its pause runs after the driver knew.
 * What ndisemu does not see is not carried: a thread woken by an event, a
 * list polled by a thread. Those are covered where they can be: a system
 * thread's start_ns is its own start, so one started before the pause is
 * judged by (3), and received NBLs by (4) whatever context indicates them.
 *
 * Restarting: nothing of its own until the restart completes. From inside
 * FilterRestart, or once FilterRestart returned PENDING, the driver knows it
 * is restarting: a finding. While FilterRestart runs, the driver's other
 * contexts are excused: a FilterRestart that returns SUCCESS can only publish
 * "Running" to them before it returns, so a timer that saw it and sends in
 * that window did nothing the driver could have ordered otherwise.
 *
 * ndisemu's side of the ordering (ndis_stack.c, ndis_filter.c; all
 * sequentially consistent): before FilterPause, orig_open is cleared, then
 * pause_called_ns and the Pausing state are stored; dp_open is cleared when
 * FilterPause returns. A restart stores restart_calling before FilterRestart
 * and, when it completes, opens both gates before it stores Running, then
 * clears restart_calling. So a reader that finds a gate closed and then the
 * state Running has raced a completion and is excused, and one that finds
 * restart_calling clear and then the state still Restarting knows
 * FilterRestart has returned PENDING.
 */
#include "ndis_internal.h"

#include <string.h>

/* The nearest callback of m the current context is in, really or through
   the hand-offs that led to it. */
struct frame_of_m {
    const char *callback;
    uint64_t cookie;
    bool inherited;
    uint64_t queued_ns; /* inherited: when the routine was queued */
};

static bool find_frame(const struct emu_callctx *top, const struct emu_module *m,
                       struct frame_of_m *f)
{
    const struct emu_callctx *c, *outermost = NULL;
    for (c = top; c != NULL; c = c->outer) {
        outermost = c;
        if (c->party == m) {
            *f = (struct frame_of_m){c->callback, c->cookie, false, 0};
            return true;
        }
    }
    for (unsigned i = 0; outermost != NULL && outermost->from != NULL && i < EMU_HANDOFF_FRAMES;
         i++)
        if (outermost->from->frame[i].party == m) {
            *f = (struct frame_of_m){outermost->from->frame[i].callback,
                                     outermost->from->frame[i].cookie, true,
                                     outermost->from->queued_ns};
            return true;
        }
    return false;
}

/* (4): every NBL reached m by a receive admitted before FilterPause returned. */
static bool all_received_open(PNET_BUFFER_LIST nbls)
{
    for (PNET_BUFFER_LIST n = nbls; n != NULL; n = n->Next) {
        const struct emu_nbl_hdr *h = emu_nbl_hdr(n);
        if (h->magic != EMU_NBL_MAGIC || !(h->flags & EMU_NBL_RX_OPEN))
            return false;
    }
    return nbls != NULL;
}

void emu_verify_originate(struct emu_module *m, const char *api, PNET_BUFFER_LIST nbls)
{
    bool own = false;
    for (PNET_BUFFER_LIST n = nbls; n != NULL && !own; n = n->Next)
        own = n->SourceHandle == (NDIS_HANDLE)m;
    const struct emu_callctx *top = emu_callctx_current();
    struct frame_of_m mine = {NULL, 0, false, 0};
    bool in_m = find_frame(top, m, &mine);
    bool datapath = in_m && (mine.cookie & EMU_COOKIE_DATAPATH);
    bool admitted_open = datapath && (mine.cookie & EMU_COOKIE_DP_OPEN);
    if (admitted_open && !mine.inherited)
        return; /* (1) */
    if (atomic_load(own ? &m->orig_open : &m->dp_open))
        return; /* (2), (3) */
    int st = atomic_load(&m->state);
    if (st == EMU_MS_PAUSING && admitted_open)
        return; /* (1), handed off */
    /* (3): decided before FilterPause was called. Only for a context with no
       callback of m on it: inside FilterPause (even one that a long-running
       work item called) the driver knows. A routine queued from a callback
       of m before FilterPause was called was decided before it. */
    uint64_t called = atomic_load(&m->pause_called_ns);
    if (st == EMU_MS_PAUSING && own && top != NULL && top->start_ns < called &&
        (!in_m || (mine.inherited && mine.queued_ns < called)))
        return;
    if (st == EMU_MS_PAUSING && !own && strcmp(api, "NdisFIndicateReceiveNetBufferLists") == 0 &&
        all_received_open(nbls))
        return; /* (4) */
    if (st == EMU_MS_RESTARTING) {
        /* Only a real FilterRestart frame: a routine FilterRestart queued is
           one of "the driver's other contexts" below. */
        bool mine_restart = in_m && !mine.inherited && strcmp(mine.callback, "FilterRestart") == 0;
        if (!mine_restart && atomic_load(&m->restart_calling))
            return;
        st = atomic_load(&m->state);
        if (st == EMU_MS_RESTARTING) {
            emu_violation(EMU_RULE_CALL_WHILE_RESTARTING, m->name, api,
                          "%s of %s NBL %p while the module is Restarting (%s)", api,
                          own ? "its own" : "a received", (void *)nbls,
                          mine_restart ? "inside FilterRestart"
                                       : "FilterRestart returned PENDING, not yet completed");
            return;
        }
    }
    if (st == EMU_MS_RUNNING)
        return; /* raced the restart's completion: the gates are open now */
    emu_violation(EMU_RULE_CALL_WHILE_PAUSED, m->name, api, "%s of %s NBL %p while the module is %s%s",
                  api, own ? "its own" : "a received", (void *)nbls, emu_module_state_name(st),
                  !datapath ? ""
                  : !mine.inherited ? " (in a datapath call admitted after FilterPause returned)"
                  : admitted_open   ? " (in a routine a datapath call queued, after the pause completed)"
                                    : " (in a routine queued by a datapath call admitted after "
                                      "FilterPause returned)");
}
