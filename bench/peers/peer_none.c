/*
 * The unsynchronized baseline: the reader loads the pointer and uses it, the
 * writer swaps it and retires the old one at once. No grace period, so a
 * reader can still be inside the retired configuration: the violations it
 * shows are the use-after-free every other flavour exists to prevent. The
 * acquire load is a plain MOV on x86-64, the same load the others pay.
 */
#include "peers.h"

static struct peer_cfg *_Atomic none_cfg;

#define PEER_FLAVOUR_READER none_reader
#define PEER_REGISTER(r) ((void)(r))
#define PEER_UNREGISTER(r) ((void)(r))
#define PEER_READ_BEGIN(p) atomic_load_explicit(&none_cfg, memory_order_acquire)
#define PEER_READ_END(p) ((void)(p))
#define PEER_QUIESCENT(p) ((void)(p))
#include "peer_loop.h"

static int none_init(const struct peer_params *p, struct peer_cfg *first)
{
    (void)p;
    atomic_store(&none_cfg, first);
    return 0;
}

static void none_fini(void)
{
    peer_retire(atomic_exchange(&none_cfg, NULL));
}

static struct peer_cfg *none_replace(struct peer_cfg *c)
{
    return atomic_exchange_explicit(&none_cfg, c, memory_order_acq_rel);
}

const struct peer_flavour peer_none = {"unsync", none_init, none_fini, none_reader, none_replace};
