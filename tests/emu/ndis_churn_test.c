/*
 * No false alarms under churn: two CPUs push receives and sends through a
 * 3-module stack of well-behaved filters while the control thread pauses and
 * restarts the stack, asks for NdisFRestartFilter and detaches/re-attaches a
 * module. Receives and sends already in flight when a pause begins are
 * exactly the case the verifier must accept; the test fails on any finding.
 * Under TSan it also checks that routing needs no lock.
 *
 * argv[1] = seconds (default 1: unit tier; the stress tier passes more).
 */
#include "ndis_test_filter.h"

#include <pthread.h>

static struct tf_driver fa, fb, fc;
static struct t_host *h;
static _Atomic bool stop;

static void *traffic(void *arg)
{
    bool sender = arg != NULL;
    while (!atomic_load(&stop)) {
        if (sender) {
            atomic_fetch_add(&h->pr_inflight, 1);
            if (atomic_load(&h->pr_on))
                emu_protocol_send(h->ad, t_chain(h, emu_adapter_protocol_handle(h->ad), 4), 0, 0);
            atomic_fetch_sub(&h->pr_inflight, 1);
        } else {
            atomic_fetch_add(&h->mp_inflight, 1);
            if (atomic_load(&h->mp_on)) {
                KIRQL old;
                KeRaiseIrql(DISPATCH_LEVEL, &old);
                emu_miniport_indicate_receive(h->ad,
                                              t_chain(h, emu_adapter_miniport_handle(h->ad), 8), 0,
                                              8, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
                KeLowerIrql(old);
            }
            atomic_fetch_sub(&h->mp_inflight, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    char err[128];
    emu_kernel_init(2);
    CHECK(emu_stack_set_spec("fa,fb:modifying,fc", err, sizeof(err)));
    CHECK(tf_register(&fa, "fa") == NDIS_STATUS_SUCCESS);
    CHECK(tf_register(&fb, "fb") == NDIS_STATUS_SUCCESS);
    CHECK(tf_register(&fc, "fc") == NDIS_STATUS_SUCCESS);
    h = t_host_new("churn0");
    CHECK(emu_adapter_start(h->ad) == NDIS_STATUS_SUCCESS);

    pthread_t rx, tx;
    pthread_create(&rx, NULL, traffic, NULL);
    pthread_create(&tx, NULL, traffic, (void *)1);
    uint64_t end = emu_now_ns() + secs * 1000000000ull;
    unsigned rounds = 0;
    /* Keep churning past the deadline (up to 10 s more) until traffic has
       crossed both ways: on a loaded host the senders may see the stack
       Running only rarely, and a run that moved nothing tests nothing. */
    uint64_t cap = end + 10000000000ull;
    while (emu_now_ns() < end ||
           (emu_now_ns() < cap && (atomic_load(&h->returned_to_miniport) == 0 ||
                                   atomic_load(&h->completed_to_protocol) == 0))) {
        CHECK(emu_adapter_pause(h->ad) == NDIS_STATUS_SUCCESS);
        CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);
        CHECK(NdisFRestartFilter(atomic_load(&h->ad->slots[1])) == NDIS_STATUS_SUCCESS);
        emu_work_drain();
        CHECK(emu_adapter_detach_module(h->ad, 2) == NDIS_STATUS_SUCCESS);
        CHECK(emu_adapter_attach_module(h->ad, 2) == NDIS_STATUS_SUCCESS);
        rounds++;
    }
    atomic_store(&stop, true);
    pthread_join(rx, NULL);
    pthread_join(tx, NULL);
    fprintf(stderr, "churn: %u rounds, %ld received, %ld sent\n", rounds,
            (long)atomic_load(&h->rx_at_protocol), (long)atomic_load(&h->completed_to_protocol));
    CHECK(rounds > 0);
    CHECK(atomic_load(&h->returned_to_miniport) > 0);
    CHECK(atomic_load(&h->completed_to_protocol) > 0);
    t_host_free(h);
    NdisFDeregisterFilterDriver(fa.handle);
    NdisFDeregisterFilterDriver(fb.handle);
    NdisFDeregisterFilterDriver(fc.handle);
    if (emu_violation_count() != 0) {
        fprintf(stderr, "churn: %zu finding(s) where none is allowed\n", emu_violation_count());
        t_failures++;
    }
    emu_kernel_shutdown();
    return t_failures ? 1 : 0;
}
