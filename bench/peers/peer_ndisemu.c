/*
 * `hl-epoch-ndisemu`: the hlrcu component itself (rcu/hlrcu.c, the code
 * hotlwf and examples/maclist compile in) on ndisemu's kernel layer:
 * HlRcuPublish's grace period is KeSetTargetProcessorDpcEx /
 * KeInsertQueueDpc / KeWaitForSingleObject on ndisemu's CPUs, DPC queues and
 * DPC threads; the read side is HlRcuCacheIsStale inside a DISPATCH_LEVEL
 * section. If either were wrong, a reader would see a retired configuration
 * and --check would fail. Its quiescent point is ndisemu's KeLowerIrql /
 * KeRaiseIrql, which take a host mutex: the emulator's cost, not NT's
 * (peer_hlepoch.c measures the read side against an NT-cost quiescent point).
 *
 * Built only with -DHL_PEERS_NDISEMU=ON, once libndisemu builds.
 */
#include "hlrcu.h"
#include "kernel.h"
#include "peers.h"

static HLRCU ne_rcu;

struct ne_reader_state {
    KIRQL old_irql;
    HLRCU_CACHE cache; /* this reader's CPU slot */
    const struct peer_cfg *cached;
} __attribute__((aligned(64)));
static struct ne_reader_state ne_states[256];

static inline const struct peer_cfg *ne_read_enter(struct ne_reader_state *s)
{
    PVOID current;

    if (HlRcuCacheIsStale(&ne_rcu, &s->cache, &current))
        s->cached = current;
    return s->cached;
}

static void ne_register(struct peer_reader *r)
{
    struct ne_reader_state *s = &ne_states[r->id];

    s->cache.Generation = 0;
    r->priv = s;
    KeRaiseIrql(DISPATCH_LEVEL, &s->old_irql);
}

static void ne_unregister(struct peer_reader *r)
{
    KeLowerIrql(((struct ne_reader_state *)r->priv)->old_irql);
}

static inline void ne_lower_raise(struct ne_reader_state *s)
{
    KIRQL ignored;

    KeLowerIrql(s->old_irql);
    KeRaiseIrql(DISPATCH_LEVEL, &ignored);
}

#define PEER_FLAVOUR_READER ne_reader
#define PEER_REGISTER(r) ne_register(r)
#define PEER_UNREGISTER(r) ne_unregister(r)
#define PEER_READ_BEGIN(p) ne_read_enter((struct ne_reader_state *)(p))
#define PEER_READ_END(p) ((void)(p))
#define PEER_QUIESCENT(p) ne_lower_raise((struct ne_reader_state *)(p))
#include "peer_loop.h"

static int ne_init(const struct peer_params *p, struct peer_cfg *first)
{
    static int kernel_up;

    if (p->readers > 256)
        return -1;
    /* One emulated CPU per reader, created once: the kernel is per process. */
    if (!kernel_up) {
        emu_kernel_init(p->readers);
        kernel_up = 1;
    }
    return NT_SUCCESS(HlRcuInitialize(&ne_rcu, first, 1, 'rPlH')) ? 0 : -1;
}

static void ne_fini(void)
{
    peer_retire(HlRcuUninitialize(&ne_rcu));
}

static struct peer_cfg *ne_replace(struct peer_cfg *c)
{
    return HlRcuPublish(&ne_rcu, c); /* W1, W2, W3; W4 is the caller's */
}

const struct peer_flavour peer_ndisemu = {"hl-epoch-ndisemu", ne_init, ne_fini, ne_reader,
                                          ne_replace};
