/*
 * A pthread rwlock taken for read around every section: the seed's
 * NdisAcquireRWLockRead advice, with a lock that is shared by all CPUs (the
 * reader count is one cache line every reader writes, which is what NDIS's
 * per-processor RW lock avoids). Writer-preferring, or a steady stream of
 * readers would starve reconfiguration; the old configuration is free as
 * soon as the write lock is held, which is the whole grace period.
 */
#define _GNU_SOURCE
#include "peers.h"

static pthread_rwlock_t rw_lock;
static struct peer_cfg *rw_cfg;

#define PEER_FLAVOUR_READER rw_reader
#define PEER_REGISTER(r) ((void)(r))
#define PEER_UNREGISTER(r) ((void)(r))
#define PEER_READ_BEGIN(p) (pthread_rwlock_rdlock(&rw_lock), rw_cfg)
#define PEER_READ_END(p) pthread_rwlock_unlock(&rw_lock)
#define PEER_QUIESCENT(p) ((void)(p))
#include "peer_loop.h"

static int rw_init(const struct peer_params *p, struct peer_cfg *first)
{
    pthread_rwlockattr_t a;

    (void)p;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rw_lock, &a);
    pthread_rwlockattr_destroy(&a);
    rw_cfg = first;
    return 0;
}

static void rw_fini(void)
{
    peer_retire(rw_cfg);
    rw_cfg = NULL;
    pthread_rwlock_destroy(&rw_lock);
}

static struct peer_cfg *rw_replace(struct peer_cfg *c)
{
    struct peer_cfg *old;

    pthread_rwlock_wrlock(&rw_lock);
    old = rw_cfg;
    rw_cfg = c;
    pthread_rwlock_unlock(&rw_lock);
    return old;
}

const struct peer_flavour peer_rwlock = {"rwlock", rw_init, rw_fini, rw_reader, rw_replace};
