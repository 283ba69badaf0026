/*
 * liburcu's memb flavour: a read section is a nesting-counter store with a
 * full fence on each side (no membarrier(2) assist on the read side), so
 * readers need no quiescent-state calls; synchronize_rcu uses
 * sys_membarrier to make the fences symmetric where the kernel offers it.
 */
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
#include "peers.h"

static struct peer_cfg *memb_cfg;

#define PEER_FLAVOUR_READER memb_reader
#define PEER_REGISTER(r) urcu_memb_register_thread()
#define PEER_UNREGISTER(r) urcu_memb_unregister_thread()
#define PEER_READ_BEGIN(p) (urcu_memb_read_lock(), rcu_dereference(memb_cfg))
#define PEER_READ_END(p) urcu_memb_read_unlock()
#define PEER_QUIESCENT(p) ((void)(p))
#include "peer_loop.h"

static int memb_init(const struct peer_params *p, struct peer_cfg *first)
{
    (void)p;
    rcu_assign_pointer(memb_cfg, first);
    return 0;
}

static void memb_fini(void)
{
    peer_retire(memb_cfg);
    memb_cfg = NULL;
}

static struct peer_cfg *memb_replace(struct peer_cfg *c)
{
    struct peer_cfg *old = rcu_xchg_pointer(&memb_cfg, c);

    urcu_memb_synchronize_rcu();
    return old;
}

const struct peer_flavour peer_memb = {"urcu-memb", memb_init, memb_fini, memb_reader,
                                       memb_replace};
