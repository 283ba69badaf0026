/*
 * The reader loop, instantiated once per flavour. Before including this,
 * a flavour defines:
 *   PEER_FLAVOUR_READER  name of the thread function to generate
 *   PEER_REGISTER(r), PEER_UNREGISTER(r)   per-thread setup/teardown
 *   PEER_READ_BEGIN(p)   open a read section, evaluate to the configuration
 *   PEER_READ_END(p)     close it
 *   PEER_QUIESCENT(p)    announce a quiescent state (every qs_every sections)
 * where p is the reader's priv pointer, read once after PEER_REGISTER: the
 * loop's atomics would otherwise make every flavour that keeps per-reader
 * state reload it from r at each section, a cost of the harness, not theirs.
 */
#include "peers.h"

static void *PEER_FLAVOUR_READER(void *arg)
{
    struct peer_reader *r = arg;
    const struct peer_params *p = r->run->params;
    const unsigned work = p->work, qs_every = p->qs_every;
    uint64_t reads = 0, bad = 0, sum = 0;
    unsigned qs = 0;

    peer_pin(r->id, p->cpus);
    PEER_REGISTER(r);
    void *const p_state = r->priv;
    (void)p_state;
    pthread_barrier_wait(&r->run->start);
    while (!atomic_load_explicit(&r->run->stop, memory_order_relaxed)) {
        unsigned i;

        for (i = 0; i < 256; i++) {
            const struct peer_cfg *c = PEER_READ_BEGIN(p_state);

            sum += peer_touch(c, work, &bad);
            PEER_READ_END(p_state);
            if (++qs == qs_every) {
                qs = 0;
                PEER_QUIESCENT(p_state);
            }
        }
        reads += 256;
    }
    PEER_UNREGISTER(r);
    r->reads = reads;
    r->violations = bad;
    r->sink = sum;
    return NULL;
}
