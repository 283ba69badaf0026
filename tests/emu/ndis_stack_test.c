/*
 * The filter framework: the state table, pause top-down / restart bottom-up,
 * FilterSetModuleOptions before any FilterRestart, NULL-handler bypass,
 * pended pause/restart, NdisFRestartFilter, deregistration, mandatory vs
 * optional, and the NBL verifier's rules on a 3-module stack.
 */
#include "ndis_test_filter.h"

#include <pthread.h>
#include <unistd.h>

static struct tf_driver fa, fb, fc;

static void reset(void)
{
    memset(&fa.k, 0, sizeof(fa.k));
    memset(&fb.k, 0, sizeof(fb.k));
    memset(&fc.k, 0, sizeof(fc.k));
    emu_violations_reset();
    t_log_reset();
}

static void rx(struct t_host *h, unsigned n, ULONG flags)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    emu_miniport_indicate_receive(h->ad, t_chain(h, emu_adapter_miniport_handle(h->ad), n), 0, n,
                                  flags | NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    KeLowerIrql(old);
}

static void tx(struct t_host *h, unsigned n)
{
    emu_protocol_send(h->ad, t_chain(h, emu_adapter_protocol_handle(h->ad), n), 0, 0);
}

/* Pause top-down, restart bottom-up, every FilterSetModuleOptions first. */
static void test_order(void)
{
    reset();
    struct t_host *h = t_host_new("order0");
    CHECK(emu_adapter_start(h->ad) == NDIS_STATUS_SUCCESS);
    CHECK(strcmp(t_log, "attach:fa attach:fb attach:fc mp_restart smo:fa smo:fb smo:fc "
                        "restart:fa restart:fb restart:fc pr_restart ") == 0);
    CHECK(emu_adapter_running(h->ad));
    t_log_reset();
    CHECK(emu_adapter_pause(h->ad) == NDIS_STATUS_SUCCESS);
    CHECK(strcmp(t_log, "pr_pause pause:fc pause:fb pause:fa mp_pause ") == 0);
    CHECK(!emu_adapter_running(h->ad));
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);

    rx(h, 5, 0);
    tx(h, 3);
    CHECK(h->rx_at_protocol == 5 && h->returned_to_miniport == 5);
    CHECK(h->sent_to_miniport == 3 && h->completed_to_protocol == 3);
    CHECK(emu_violation_count() == 0);
    t_log_reset();
    t_host_free(h);
    CHECK(strcmp(t_log, "pr_pause pause:fc pause:fb pause:fa mp_pause detach:fc detach:fb "
                        "detach:fa ") == 0);
}

/* Restart runs bottom-up: traffic from a running module to one that is not
   Running yet is answered by NDIS (returned / completed with
   NDIS_STATUS_PAUSED). fb's own send from inside its FilterRestart is
   call-while-restarting; it still goes down to the Running fa and back. */
static void test_paused_bounce(void)
{
    reset();
    struct t_host *h = t_host_new("bounce0");
    emu_adapter_start(h->ad);
    emu_adapter_pause(h->ad);
    struct tf_module *tc = ((struct emu_module *)atomic_load(&h->ad->slots[2]))->ctx;
    long rx_c = tc->rx;
    fb.k.indicate_in_restart = h;
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);
    fb.k.indicate_in_restart = NULL;
    CHECK(tc->rx == rx_c);               /* fc was Paused: never called */
    CHECK(h->returned_to_miniport == 3); /* the receives came straight back */
    CHECK(h->rx_at_protocol == 0);
    CHECK(h->completed_to_protocol == 0); /* fb's own sends completed to fb */
    CHECK_RULE(EMU_RULE_CALL_WHILE_RESTARTING, 1);
    CHECK(emu_violation_count() == 1);
    emu_violations_reset();
    t_host_free(h);
}

/* A module whose receive handler is NULL is bypassed on receive, not on send. */
static void test_bypass(void)
{
    reset();
    fb.k.bypass_receive = true;
    struct t_host *h = t_host_new("bypass0");
    emu_adapter_start(h->ad);
    struct emu_module *mb = atomic_load(&h->ad->slots[1]);
    struct tf_module *tb = mb->ctx;
    rx(h, 4, 0);
    tx(h, 2);
    CHECK(tb->rx == 0);
    CHECK(h->rx_at_protocol == 4 && h->returned_to_miniport == 4);
    CHECK(h->completed_to_protocol == 2);
    CHECK(emu_violation_count() == 0);
    t_host_free(h);
}

struct completer {
    NDIS_HANDLE h;
    bool restart;
};

static void *complete_later(void *arg)
{
    struct completer *c = arg;
    usleep(20000);
    if (c->restart)
        NdisFRestartComplete(c->h, NDIS_STATUS_SUCCESS);
    else
        NdisFPauseComplete(c->h);
    return NULL;
}

/* Pended FilterPause / FilterRestart complete from another thread. */
static void test_pended(void)
{
    reset();
    fc.k.pend_restart = true;
    struct t_host *h = t_host_new("pend0");
    pthread_t th;
    emu_adapter_pause(h->ad); /* not started: nothing to do */
    h->ad->started = true;
    emu_stack_attach_locked(h->ad, 0);
    emu_stack_attach_locked(h->ad, 1);
    emu_stack_attach_locked(h->ad, 2);
    struct completer c = {atomic_load(&h->ad->slots[2]), true};
    pthread_create(&th, NULL, complete_later, &c);
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);
    pthread_join(th, NULL);
    CHECK(emu_adapter_running(h->ad));

    fc.k.pend_restart = false;
    fb.k.pend_pause = true;
    c = (struct completer){atomic_load(&h->ad->slots[1]), false};
    pthread_create(&th, NULL, complete_later, &c);
    CHECK(emu_adapter_pause(h->ad) == NDIS_STATUS_SUCCESS);
    pthread_join(th, NULL);
    CHECK(atomic_load(&((struct emu_module *)c.h)->state) == EMU_MS_PAUSED);
    CHECK(emu_violation_count() == 0);

    /* Completing a pause that is not pending. */
    NdisFPauseComplete(c.h);
    CHECK_RULE(EMU_RULE_PAUSE_COMPLETE_TWICE, 1);
    /* Completing a restart that is not pending. */
    NdisFRestartComplete(c.h, NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_RESTART_COMPLETE_UNEXPECTED, 1);
    fb.k.pend_pause = false;
    emu_violations_reset();
    t_host_free(h);
    CHECK(emu_violation_count() == 0);
}

/* The cells NDIS must refuse or flag. */
static void test_state_cells(void)
{
    reset();
    struct t_host *h = t_host_new("cells0");
    emu_adapter_start(h->ad);
    NDIS_HANDLE mh = atomic_load(&h->ad->slots[0]);
    NDIS_FILTER_ATTRIBUTES fa_ = {{NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
                                   NDIS_FILTER_ATTRIBUTES_REVISION_1,
                                   NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1},
                                  0};
    /* NdisFSetAttributes outside Attaching. */
    CHECK(NdisFSetAttributes(mh, NULL, &fa_) != NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_STATE, 1);
    /* NdisSetOptionalHandlers outside FilterSetModuleOptions. */
    NDIS_FILTER_PARTIAL_CHARACTERISTICS pc;
    memset(&pc, 0, sizeof(pc));
    CHECK(NdisSetOptionalHandlers(mh, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&pc) != NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_STATE, 2);
    /* Pause complete while Running (no pause pending). */
    NdisFPauseComplete(mh);
    CHECK_RULE(EMU_RULE_PAUSE_COMPLETE_TWICE, 1);

    /* Paused module originating a send or indication. */
    emu_adapter_pause(h->ad);
    emu_violations_reset();
    PNET_BUFFER_LIST n = t_chain(h, mh, 1);
    NdisFSendNetBufferLists(mh, n, 0, 0);
    CHECK_RULE(EMU_RULE_CALL_WHILE_PAUSED, 1);
    /* The send still went down and came back to the module: nothing leaked. */
    CHECK(h->sent_to_miniport == 1);
    emu_adapter_restart(h->ad);
    emu_violations_reset();

    /* Attach without NdisFSetAttributes fails and is flagged. */
    emu_adapter_detach_module(h->ad, 2);
    fc.k.skip_set_attributes = true;
    CHECK(emu_adapter_attach_module(h->ad, 2) != NDIS_STATUS_SUCCESS);
    CHECK_RULE(EMU_RULE_STATE, 1);
    CHECK(atomic_load(&h->ad->slots[2]) == NULL);
    fc.k.skip_set_attributes = false;

    /* Restart failure: the module goes back to Paused, the stack does not run. */
    emu_adapter_attach_module(h->ad, 2);
    emu_adapter_pause(h->ad);
    fb.k.fail_restart = true;
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_RESOURCES);
    CHECK(atomic_load(&((struct emu_module *)atomic_load(&h->ad->slots[1]))->state) ==
          EMU_MS_PAUSED);
    CHECK(!emu_adapter_running(h->ad));
    fb.k.fail_restart = false;
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);

    /* FilterPause that completes the pause itself and then returns SUCCESS. */
    fa.k.complete_pause_twice = true;
    emu_violations_reset();
    emu_adapter_pause(h->ad);
    CHECK_RULE(EMU_RULE_PAUSE_COMPLETE_TWICE, 1);
    fa.k.complete_pause_twice = false;
    emu_violations_reset();
    t_host_free(h);
}

/* Verifier: double return, holding NBLs across pause, leaks at detach. */
static void test_verifier(void)
{
    reset();
    fb.k.return_twice = true;
    struct t_host *h = t_host_new("verify0");
    h->keep_returns = true;
    emu_adapter_start(h->ad);
    rx(h, 1, 0);
    CHECK_RULE(EMU_RULE_NBL_DOUBLE_RETURN, 1);
    CHECK(h->returned_to_miniport == 1);
    fb.k.return_twice = false;

    /* RESOURCES: the receiver may not keep or return the NBLs. */
    emu_violations_reset();
    fb.k.return_twice = true;
    PNET_BUFFER_LIST res = t_chain(h, emu_adapter_miniport_handle(h->ad), 1);
    emu_miniport_indicate_receive(h->ad, res, 0, 1, NDIS_RECEIVE_FLAGS_RESOURCES);
    CHECK(emu_violation_count_rule(EMU_RULE_NBL_WRONG_OWNER) >= 1);
    CHECK(emu_nbl_owner(res) == &h->ad->mp_party);
    NdisFreeNetBufferList(res);
    fb.k.return_twice = false;

    /* A module that keeps received NBLs across its pause. */
    emu_violations_reset();
    fc.k.hold_receives = true;
    rx(h, 2, 0);
    CHECK(h->rx_at_protocol == 0);
    emu_adapter_pause(h->ad);
    CHECK_RULE(EMU_RULE_PAUSE_WITH_OUTSTANDING, 1);
    /* ... and still holds them at detach. */
    emu_violations_reset();
    struct emu_module *mc = atomic_load(&h->ad->slots[2]);
    struct tf_module *tc = mc->ctx;
    PNET_BUFFER_LIST kept = tc->held;
    tc->held = NULL;
    emu_stack_detach_locked(h->ad, 2);
    CHECK_RULE(EMU_RULE_NBL_LEAK, 1);
    while (kept) {
        PNET_BUFFER_LIST n = kept->Next;
        NdisFreeNetBufferList(kept);
        kept = n;
    }
    fc.k.hold_receives = false;
    emu_violations_reset();
    /* Wrong owner: a module returning an NBL that it never received. */
    emu_stack_attach_locked(h->ad, 2);
    emu_adapter_restart(h->ad);
    PNET_BUFFER_LIST stray = t_chain(h, emu_adapter_miniport_handle(h->ad), 1);
    NdisFReturnNetBufferLists(atomic_load(&h->ad->slots[1]), stray, 0);
    CHECK_RULE(EMU_RULE_NBL_WRONG_OWNER, 1);
    NdisFreeNetBufferList(stray);
    emu_violations_reset();
    t_host_free(h);
    CHECK(emu_violation_count() == 0);
}

/* NdisFRestartFilter: a pause + restart of the whole stack, on a worker. */
static void test_restart_filter(void)
{
    reset();
    struct t_host *h = t_host_new("rsf0");
    emu_adapter_start(h->ad);
    t_log_reset();
    CHECK(NdisFRestartFilter(atomic_load(&h->ad->slots[1])) == NDIS_STATUS_SUCCESS);
    emu_work_drain();
    CHECK(strcmp(t_log, "pr_pause pause:fc pause:fb pause:fa mp_pause mp_restart smo:fa smo:fb "
                        "smo:fc restart:fa restart:fb restart:fc pr_restart ") == 0);
    CHECK(emu_adapter_running(h->ad));
    CHECK(emu_violation_count() == 0);
    t_host_free(h);
}

/* Deregistration detaches every module; mandatory blackholes, optional bypasses. */
static void test_deregister(bool mandatory)
{
    reset();
    char err[128];
    CHECK(emu_stack_set_spec(mandatory ? "fa,fb:modifying:mandatory,fc"
                                       : "fa,fb:modifying:optional,fc",
                             err, sizeof(err)));
    struct t_host *h1 = t_host_new("dereg0"), *h2 = t_host_new("dereg1");
    emu_adapter_start(h1->ad);
    emu_adapter_start(h2->ad);
    char desc[512];
    emu_adapter_describe(h1->ad, desc, sizeof(desc));
    CHECK(strstr(desc, mandatory ? "fb#1 (modifying, mandatory, Running)"
                                 : "fb#1 (modifying, optional, Running)") != NULL);
    CHECK(strstr(desc, "fa#0 (monitoring, optional, Running)") != NULL);
    NdisFDeregisterFilterDriver(fb.handle);
    emu_adapter_describe(h1->ad, desc, sizeof(desc));
    CHECK(strstr(desc, "fb#1 (modifying") != NULL && strstr(desc, "not attached") != NULL);
    CHECK(atomic_load(&h1->ad->slots[1]) == NULL && atomic_load(&h2->ad->slots[1]) == NULL);
    CHECK(emu_adapter_running(h1->ad) == !mandatory);
    CHECK(tf_register(&fb, "fb") == NDIS_STATUS_SUCCESS);
    CHECK(atomic_load(&h1->ad->slots[1]) != NULL && atomic_load(&h2->ad->slots[1]) != NULL);
    CHECK(emu_adapter_running(h1->ad) && emu_adapter_running(h2->ad));
    rx(h1, 2, 0);
    CHECK(h1->rx_at_protocol == 2);
    CHECK(emu_violation_count() == 0);
    t_host_free(h1);
    t_host_free(h2);
    CHECK(emu_stack_set_spec("fa,fb,fc", err, sizeof(err)));
}

/* Verifier off: the datapath still routes, and books nothing. */
static void test_verifier_off(void)
{
    reset();
    struct t_host *h = t_host_new("off0");
    emu_adapter_start(h->ad);
    emu_verifier_set_enabled(false);
    PNET_BUFFER_LIST n = t_chain(h, emu_adapter_miniport_handle(h->ad), 1);
    PNET_BUFFER_LIST keep = n;
    emu_miniport_indicate_receive(h->ad, n, 0, 1, 0);
    CHECK(h->rx_at_protocol == 1 && h->returned_to_miniport == 1);
    (void)keep;
    tx(h, 2);
    CHECK(h->completed_to_protocol == 2);
    struct emu_module *ma = atomic_load(&h->ad->slots[0]);
    CHECK(atomic_load(&ma->inflight) == 0 && atomic_load(&ma->begins) == 0);
    emu_verifier_set_enabled(true);
    CHECK(emu_violation_count() == 0);
    t_host_free(h);
}

/* A DISPATCH_LEVEL flag at PASSIVE_LEVEL is a false promise to the callee. */
static void test_flag_irql(void)
{
    reset();
    struct t_host *h = t_host_new("irql0");
    emu_adapter_start(h->ad);
    PNET_BUFFER_LIST n = t_chain(h, atomic_load(&h->ad->slots[0]), 1);
    NdisFSendNetBufferLists(atomic_load(&h->ad->slots[0]), n, 0, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    CHECK_RULE(EMU_RULE_IRQL, 1);
    emu_violations_reset();
    t_host_free(h);
}

static void test_spec(void)
{
    char err[128];
    CHECK(!emu_stack_set_spec("fa:bogus", err, sizeof(err)));
    CHECK(strstr(err, "bogus") != NULL);
    CHECK(emu_stack_set_spec("fa,fb,fc", err, sizeof(err)));
}

int main(void)
{
    emu_kernel_init(2);
    char err[128];
    CHECK(emu_stack_set_spec("fa,fb,fc", err, sizeof(err)));
    CHECK(tf_register(&fa, "fa") == NDIS_STATUS_SUCCESS);
    CHECK(tf_register(&fb, "fb") == NDIS_STATUS_SUCCESS);
    CHECK(tf_register(&fc, "fc") == NDIS_STATUS_SUCCESS);
    test_spec();
    test_order();
    test_bypass();
    test_paused_bounce();
    test_verifier_off();
    test_flag_irql();
    test_pended();
    test_state_cells();
    test_verifier();
    test_restart_filter();
    test_deregister(true);
    test_deregister(false);
    NdisFDeregisterFilterDriver(fa.handle);
    NdisFDeregisterFilterDriver(fb.handle);
    NdisFDeregisterFilterDriver(fc.handle);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_stack_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
