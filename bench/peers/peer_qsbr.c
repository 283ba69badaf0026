/*
 * liburcu's QSBR flavour: the read section itself is free; each reader
 * announces a quiescent state every qs_every sections (a store of the
 * global grace-period counter between two full fences), and the writer's
 * synchronize_rcu waits until every online reader has announced one. This
 * is the closest peer to hotlwf's epoch, whose quiescent state is the CPU
 * lowering its IRQL below DISPATCH_LEVEL.
 */
#define _LGPL_SOURCE
#include <urcu/urcu-qsbr.h>
#include "peers.h"

static struct peer_cfg *qsbr_cfg;

#define PEER_FLAVOUR_READER qsbr_reader
#define PEER_REGISTER(r) urcu_qsbr_register_thread()
#define PEER_UNREGISTER(r) urcu_qsbr_unregister_thread()
#define PEER_READ_BEGIN(p) (urcu_qsbr_read_lock(), rcu_dereference(qsbr_cfg))
#define PEER_READ_END(p) urcu_qsbr_read_unlock()
#define PEER_QUIESCENT(p) urcu_qsbr_quiescent_state()
#include "peer_loop.h"

static int qsbr_init(const struct peer_params *p, struct peer_cfg *first)
{
    (void)p;
    rcu_assign_pointer(qsbr_cfg, first);
    return 0;
}

static void qsbr_fini(void)
{
    peer_retire(qsbr_cfg);
    qsbr_cfg = NULL;
}

static struct peer_cfg *qsbr_replace(struct peer_cfg *c)
{
    struct peer_cfg *old = rcu_xchg_pointer(&qsbr_cfg, c);

    urcu_qsbr_synchronize_rcu();
    return old;
}

const struct peer_flavour peer_qsbr = {"urcu-qsbr", qsbr_init, qsbr_fini, qsbr_reader,
                                       qsbr_replace};
