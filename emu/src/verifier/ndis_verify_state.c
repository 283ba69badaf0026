/*
 * The state rules of a module's traffic: call-while-paused and
 * call-while-restarting, judged by what the driver could observe.
 *
 * The WDK: the module is Pausing from the start of FilterPause until the
 * pause completes, then Paused; Restarting from the call of FilterRestart
 * until the restart completes; in none of these may it start new sends or
 * receive indications. But NDIS does not serialize the datapath against
 * FilterPause, and the driver learns of a pause only when its FilterPause
 * runs. So a send or indication by module m is legal when nothing that told
 * the driver "pause" happens-before the decision to make it:
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
 *     (DPC, work item, thread, timer) that began before NDIS called
 *     FilterPause: it may have decided before the pause began, e.g. a timer
 *     that counted the frame as outstanding under its lock, which its
 *     FilterPause then waits for. A context that began after the call, such
 *     as a DPC that FilterPause queued (tests/drivers/bad_call_while_paused.c),
 *     is caused by the pause, and so is anything called from inside
 *     FilterPause. Both times come from one monotonic clock, read
 *     in happens-before order, so a context FilterPause caused has
 *     start_ns >= pause_called_ns and "<" never excuses it.
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

static bool in_filter_restart(const struct emu_callctx *mine)
{
    return mine != NULL && strcmp(mine->callback, "FilterRestart") == 0;
}

void emu_verify_originate(struct emu_module *m, const char *api, PNET_BUFFER_LIST nbls)
{
    bool own = false;
    for (PNET_BUFFER_LIST n = nbls; n != NULL && !own; n = n->Next)
        own = n->SourceHandle == (NDIS_HANDLE)m;
    const struct emu_callctx *top = emu_callctx_current(), *mine = NULL;
    for (const struct emu_callctx *c = top; c != NULL; c = c->outer)
        if (c->party == m) {
            mine = c;
            break;
        }
    bool datapath = mine != NULL && (mine->cookie & EMU_COOKIE_DATAPATH);
    if (datapath && (mine->cookie & EMU_COOKIE_DP_OPEN))
        return; /* (1) */
    if (atomic_load(own ? &m->orig_open : &m->dp_open))
        return; /* (2), (3) */
    int st = atomic_load(&m->state);
    /* (3): decided before FilterPause was called. Only for a context with no
       callback of m on it: inside FilterPause (even one that a long-running
       work item called) the driver knows. */
    if (st == EMU_MS_PAUSING && own && mine == NULL && top != NULL &&
        top->start_ns < atomic_load(&m->pause_called_ns))
        return;
    if (st == EMU_MS_RESTARTING) {
        bool mine_restart = in_filter_restart(mine);
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
                  datapath ? " (in a datapath call admitted after FilterPause returned)" : "");
}
