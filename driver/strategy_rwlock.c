/*
 * `rwlock` and `rwlock-pkt`: the seed answer's NdisAcquireRWLockRead. The
 * read lock is held from ReadEnter to ReadLeave, once per batch (`rwlock`)
 * or, with PerPacket set, once per NBL (`rwlock-pkt`, to show what the
 * answer warns against); Publish takes the lock for write.
 *
 * ---- The argument ----
 * NdisAcquireRWLockRead raises to DISPATCH_LEVEL, which is what the per-CPU
 * slices and counters need (strategy.h), and its read side is per-processor:
 * a reader writes only its own CPU's reader count (one interlocked op on a
 * line no other CPU writes while no writer is around). The writer, holding
 * the write lock, knows that no read section is open anywhere, so it can
 * swap the snapshot and free the old one at once: any reader that later
 * gets the lock sees the new generation (the lock's release/acquire orders
 * it) and refreshes its slice before classifying. The price: every batch
 * pays the interlocked op, and a writer stalls every CPU's datapath for as
 * long as it holds the lock (kept to a pointer swap here: the snapshot is
 * compiled before, freed after).
 */
#include "strategy.h"

C_ASSERT(sizeof(LOCK_STATE_EX) <= sizeof(((PHL_READ_CONTEXT)0)->StrategyPrivate));

static PNDIS_RW_LOCK_EX HlRwLock;

static HL_STRATEGY_INITIALIZE HlRwInitialize;

_Use_decl_annotations_ static NTSTATUS HlRwInitialize(VOID)
{
    HlRwLock = NdisAllocateRWLock(HlGlobal.FilterDriverHandle);
    return HlRwLock != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static HL_STRATEGY_UNINITIALIZE HlRwUninitialize;

_Use_decl_annotations_ static VOID HlRwUninitialize(VOID)
{
    NdisFreeRWLock(HlRwLock);
    HlRwLock = NULL;
}

static HL_STRATEGY_READ_ENTER HlRwReadEnter;

_Use_decl_annotations_ static const struct hl_view *
HlRwReadEnter(PHL_MODULE Module, BOOLEAN AtDispatch, PHL_READ_CONTEXT Context)
{
    PLOCK_STATE_EX LockState = (PLOCK_STATE_EX)Context->StrategyPrivate;

    /* The lock raises to DISPATCH_LEVEL itself and lowers on release: nothing to track. */
    NdisAcquireRWLockRead(HlRwLock, LockState, AtDispatch ? NDIS_RWL_AT_DISPATCH_LEVEL : 0);
    /* Under the read lock no writer runs: plain loads would do; acquire costs nothing more. */
    return HlStrategyCurrentView(Module, Context);
}

static HL_STRATEGY_READ_LEAVE HlRwReadLeave;

_Use_decl_annotations_ static VOID HlRwReadLeave(PHL_MODULE Module, PHL_READ_CONTEXT Context)
{
    UNREFERENCED_PARAMETER(Module);

    Context->Slice = NULL;
    Context->Snapshot = NULL;
    NdisReleaseRWLock(HlRwLock, (PLOCK_STATE_EX)Context->StrategyPrivate);
}

static HL_STRATEGY_PUBLISH HlRwPublish;

_Use_decl_annotations_ static VOID HlRwPublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    LOCK_STATE_EX LockState;
    struct hl_snapshot *Old;
    ULONG64 Start = HlNowNs();

    NdisAcquireRWLockWrite(HlRwLock, &LockState, 0);
    *GraceNs = HlNowNs() - Start; /* the wait for open read sections is this one's grace period */
    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */
    NdisReleaseRWLock(HlRwLock, &LockState);

    hl_snapshot_free(Old);
}

const HL_STRATEGY HlRwLockStrategy = {
    .Name = L"rwlock",
    .Initialize = HlRwInitialize,
    .Uninitialize = HlRwUninitialize,
    .ReadEnter = HlRwReadEnter,
    .ReadLeave = HlRwReadLeave,
    .Publish = HlRwPublish,
};

/* Needs the PerPacket field in HL_STRATEGY (see docs/strategies.md): recv.c/send.c loop per NBL. */
const HL_STRATEGY HlRwLockPacketStrategy = {
    .Name = L"rwlock-pkt",
    .Initialize = HlRwInitialize,
    .Uninitialize = HlRwUninitialize,
    .ReadEnter = HlRwReadEnter,
    .ReadLeave = HlRwReadLeave,
    .Publish = HlRwPublish,
#ifdef HL_STRATEGY_HAS_PER_PACKET
    .PerPacket = TRUE,
#endif
};
