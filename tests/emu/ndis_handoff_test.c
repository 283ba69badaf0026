/*
 * The verifier follows hand-offs (emu/src/verifier/ndis_verify_state.c):
 * a work item or a DPC counts as nested in the context that queued it. With
 * module fa Pausing (FilterPause returned PENDING), an own send
 *  - from a work item queued by a datapath call admitted while Running, and
 *  - from a DPC so queued that could only run after FilterPause returned
 * is no finding (the decision was the Running call's), while one
 *  - from a work item, and from a DPC, queued from inside FilterPause
 * is call-while-paused: FilterPause caused it.
 */
#include "ndis_test_filter.h"

#include <pthread.h>
#include <unistd.h>

static struct tf_driver fa;
static struct t_host *host;
static struct emu_module *mod;
static KEVENT go, done;
static _Atomic int dpc_runs;

/* A callback frame of mod, as ndisemu pushes one, around a queueing. */
static void frame_enter(struct emu_callctx *c, const char *callback, uint64_t cookie)
{
    emu_callctx_push(c, mod->name, callback, mod);
    c->cookie = cookie;
}

static void send_own(ULONG flags)
{
    NdisFSendNetBufferLists(&mod->party, t_chain(host, &mod->party, 1), 0, flags);
}

static NDIS_IO_WORKITEM_FUNCTION item_sends;
static VOID item_sends(PVOID ctx, NDIS_HANDLE item)
{
    (void)ctx;
    KeWaitForSingleObject(&go, Executive, KernelMode, FALSE, NULL);
    send_own(0);
    NdisFreeIoWorkItem(item);
    KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
}

static KDEFERRED_ROUTINE dpc_sends;
static VOID dpc_sends(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)dpc, (void)ctx, (void)a1, (void)a2;
    send_own(NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    atomic_fetch_add(&dpc_runs, 1);
}

/* Queues item_sends from a frame of mod; it sends once `go` is set. */
static void queue_item(const char *callback, uint64_t cookie)
{
    struct emu_callctx f;
    NDIS_HANDLE item = NdisAllocateIoWorkItem(&mod->party);
    CHECK(item != NULL);
    KeClearEvent(&go);
    KeClearEvent(&done);
    frame_enter(&f, callback, cookie);
    NdisQueueIoWorkItem(item, item_sends, NULL);
    emu_callctx_pop(&f);
}

static void release_item(void)
{
    KeSetEvent(&go, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
}

static void wait_dpc(int runs)
{
    while (atomic_load(&dpc_runs) < runs)
        usleep(1000);
}

static void *pause_adapter(void *arg)
{
    (void)arg;
    emu_adapter_pause(host->ad);
    return NULL;
}

static bool pausing_returned(void)
{
    return atomic_load(&mod->state) == EMU_MS_PAUSING && !atomic_load(&mod->dp_open);
}

int main(void)
{
    const uint64_t running_call = EMU_COOKIE_DATAPATH | EMU_COOKIE_DP_OPEN;
    char err[128];
    KDPC dpc;
    KIRQL old;
    pthread_t pauser;

    emu_kernel_init(2);
    CHECK(emu_stack_set_spec("fa", err, sizeof(err)));
    CHECK(tf_register(&fa, "fa") == NDIS_STATUS_SUCCESS);
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    KeInitializeDpc(&dpc, dpc_sends, NULL);
    host = t_host_new("handoff0");
    CHECK(emu_adapter_start(host->ad) == NDIS_STATUS_SUCCESS);
    mod = atomic_load(&host->ad->slots[0]);
    emu_violations_reset();

    /* Queued while Running, by a datapath call and (the DPC) held back on
       this thread's CPU until FilterPause has returned PENDING. */
    queue_item("FilterReceiveNetBufferLists", running_call);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeSetTargetProcessorDpc(&dpc, (CCHAR)KeGetCurrentProcessorNumberEx(NULL));
    {
        struct emu_callctx f;
        frame_enter(&f, "FilterSendNetBufferLists", running_call);
        CHECK(KeInsertQueueDpc(&dpc, NULL, NULL));
        emu_callctx_pop(&f);
    }
    fa.k.pend_pause = true;
    CHECK(pthread_create(&pauser, NULL, pause_adapter, NULL) == 0);
    while (!pausing_returned())
        usleep(1000);
    KeLowerIrql(old);
    wait_dpc(1);
    release_item();
    CHECK(emu_violation_count() == 0);

    /* Queued from inside FilterPause: the driver knew. */
    queue_item("FilterPause", 0);
    release_item();
    CHECK_RULE(EMU_RULE_CALL_WHILE_PAUSED, 1);
    {
        struct emu_callctx f;
        frame_enter(&f, "FilterPause", 0);
        CHECK(KeInsertQueueDpc(&dpc, NULL, NULL));
        emu_callctx_pop(&f);
    }
    wait_dpc(2);
    CHECK_RULE(EMU_RULE_CALL_WHILE_PAUSED, 2);
    CHECK(emu_violation_count() == 2);

    NdisFPauseComplete(&mod->party);
    pthread_join(pauser, NULL);
    fa.k.pend_pause = false;
    emu_violations_reset();
    t_host_free(host);
    CHECK(emu_violation_count() == 0);
    NdisFDeregisterFilterDriver(fa.handle);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_handoff_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
