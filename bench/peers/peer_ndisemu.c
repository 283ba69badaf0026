/*
 * hotlwf's epoch engine on ndisemu's real kernel layer (libndisemu): the
 * same read side as driver/epoch.c, and the same grace period, built from
 * the documented APIs the driver uses (KeRaiseIrql, KeInitializeDpc,
 * KeSetTargetProcessorDpcEx, KeInsertQueueDpc, KeWaitForSingleObject).
 * Unlike peer_hlepoch.c (a model), the CPU exclusivity, DPC queues and DPC
 * threads here are ndisemu's own: if they were wrong, a reader would see a
 * retired configuration and --check would fail.
 *
 * Built only with -DHL_PEERS_NDISEMU=ON, once libndisemu builds.
 */
#include "kernel.h"
#include "peers.h"

typedef struct _PEER_GRACE {
    KEVENT Done;
    volatile LONG Remaining;
    ULONG Count;
    KDPC Dpc[MAXIMUM_PROCESSORS];
} PEER_GRACE;

static PEER_GRACE ne_grace;
static volatile LONG64 ne_gen;
static struct peer_cfg *volatile ne_cfg;

struct ne_reader_state {
    KIRQL old_irql;
    ULONG64 gen;
    const struct peer_cfg *cached;
} __attribute__((aligned(64)));
static struct ne_reader_state ne_states[256];

static KDEFERRED_ROUTINE ne_grace_dpc;

static VOID ne_grace_dpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    if (InterlockedDecrement(&((PEER_GRACE *)Context)->Remaining) == 0)
        KeSetEvent(&((PEER_GRACE *)Context)->Done, IO_NO_INCREMENT, FALSE);
}

static inline const struct peer_cfg *ne_read_enter(struct ne_reader_state *s)
{
    /* ReadAcquire64 in the driver; the same acquire load spelled in C11. */
    LONG64 g = __atomic_load_n(&ne_gen, __ATOMIC_ACQUIRE);

    if ((ULONG64)g != s->gen) {
        s->cached = ReadPointerAcquire((PVOID const volatile *)&ne_cfg);
        s->gen = (ULONG64)g;
    }
    return s->cached;
}

static void ne_register(struct peer_reader *r)
{
    struct ne_reader_state *s = &ne_states[r->id];

    s->gen = 0;
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
    ULONG i;

    if (p->readers > 256)
        return -1;
    /* One emulated CPU per reader, created once: the kernel is per process. */
    if (!kernel_up) {
        emu_kernel_init(p->readers);
        kernel_up = 1;
    }
    ne_grace.Count = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    KeInitializeEvent(&ne_grace.Done, NotificationEvent, FALSE);
    for (i = 0; i < ne_grace.Count; i++) {
        PROCESSOR_NUMBER pn;

        KeInitializeDpc(&ne_grace.Dpc[i], ne_grace_dpc, &ne_grace);
        if (!NT_SUCCESS(KeGetProcessorNumberFromIndex(i, &pn)) ||
            !NT_SUCCESS(KeSetTargetProcessorDpcEx(&ne_grace.Dpc[i], &pn)))
            return -1;
        KeSetImportanceDpc(&ne_grace.Dpc[i], HighImportance);
    }
    ne_cfg = first;
    ne_gen = 1;
    return 0;
}

static void ne_fini(void)
{
    KeFlushQueuedDpcs();
    peer_retire(ne_cfg);
    ne_cfg = NULL;
}

static struct peer_cfg *ne_replace(struct peer_cfg *c)
{
    struct peer_cfg *old = ne_cfg;
    ULONG i;

    WritePointerRelease((PVOID volatile *)&ne_cfg, c);
    __atomic_store_n(&ne_gen, ne_gen + 1, __ATOMIC_RELEASE); /* WriteRelease64 */
    KeClearEvent(&ne_grace.Done);
    InterlockedExchange(&ne_grace.Remaining, (LONG)ne_grace.Count);
    for (i = 0; i < ne_grace.Count; i++)
        KeInsertQueueDpc(&ne_grace.Dpc[i], NULL, NULL);
    KeWaitForSingleObject(&ne_grace.Done, Executive, KernelMode, FALSE, NULL);
    return old;
}

const struct peer_flavour peer_ndisemu = {"hl-epoch-ndisemu", ne_init, ne_fini, ne_reader,
                                          ne_replace};
