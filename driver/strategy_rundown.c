/*
 * `rundown`: NT cache-aware rundown protection around every batch. The
 * writer swaps the snapshot, waits for the batches that may still hold the
 * old one to release their reference, and re-arms.
 *
 * ---- The argument ----
 * One rundown reference alone does not work for a datapath: while the writer
 * waits (ExWaitForRundownProtectionReleaseCacheAware) new acquisitions fail,
 * and a reader at DISPATCH_LEVEL can neither wait nor skip classifying. So
 * there are two, and a phase bit says which one new batches take:
 *
 *   Reader:  p = Phase; acquire Ref[p]; if Phase != p: release, retry.
 *            Then load Generation/Snapshot as epoch does (R2, R3).
 *   Writer:  W1, W2 (as epoch); Phase = !p; wait for Ref[p] to drain;
 *            free Old; ExRundownCompleted + re-arm Ref[p].
 *
 * A batch that can hold Old acquired Ref[p] with Phase == p at its re-check,
 * before the writer flipped Phase, so the writer's wait on Ref[p] covers it.
 * A batch whose acquisition of Ref[p] succeeds after the flip (the re-arm of
 * an earlier round) fails the re-check and moves to the current phase, so a
 * reference is never held on a phase the next writer will not wait for.
 * The acquire is an interlocked operation (a full barrier), so the loads of
 * Generation and Snapshot that follow a successful re-check see W1/W2 of
 * every writer that flipped Phase before it. Writers are serialized by
 * ConfigMutex, so at most one phase is ever draining and the retry ends.
 * Cost: one interlocked increment and one decrement per batch, on a
 * per-processor counter (cache-aware: no line shared between CPUs).
 */
#include "strategy.h"

static PEX_RUNDOWN_REF_CACHE_AWARE HlRundownRef[2];
static volatile LONG HlRundownPhase;

static HL_STRATEGY_UNINITIALIZE HlRundownUninitialize;

_Use_decl_annotations_ static VOID HlRundownUninitialize(VOID)
{
    ULONG i;

    for (i = 0; i < 2; i++) {
        if (HlRundownRef[i] != NULL)
            ExFreeCacheAwareRundownProtection(HlRundownRef[i]);
        HlRundownRef[i] = NULL;
    }
}

static HL_STRATEGY_INITIALIZE HlRundownInitialize;

_Use_decl_annotations_ static NTSTATUS HlRundownInitialize(VOID)
{
    ULONG i;

    for (i = 0; i < 2; i++) {
        HlRundownRef[i] = ExAllocateCacheAwareRundownProtection(NonPagedPoolNx, HL_TAG_STRATEGY);
        if (HlRundownRef[i] == NULL) {
            HlRundownUninitialize();
            return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    HlRundownPhase = 0;
    return STATUS_SUCCESS;
}

static HL_STRATEGY_READ_ENTER HlRundownReadEnter;

_Use_decl_annotations_ static const struct hl_view *
HlRundownReadEnter(PHL_MODULE Module, BOOLEAN AtDispatch, PHL_READ_CONTEXT Context)
{
    LONG Phase;

    /* Still at DISPATCH_LEVEL: the per-CPU slice and counters depend on it. */
    HlRcuReadEnter(&Context->Read, AtDispatch);
    for (;;) {
        Phase = ReadAcquire(&HlRundownPhase);
        if (ExAcquireRundownProtectionCacheAware(HlRundownRef[Phase])) {
            if (ReadAcquire(&HlRundownPhase) == Phase)
                break;
            ExReleaseRundownProtectionCacheAware(HlRundownRef[Phase]);
        }
        YieldProcessor();
    }
    Context->StrategyPrivate[0] = (ULONG_PTR)Phase;
    return HlStrategyCurrentView(Module, Context);
}

static HL_STRATEGY_READ_LEAVE HlRundownReadLeave;

_Use_decl_annotations_ static VOID HlRundownReadLeave(PHL_MODULE Module, PHL_READ_CONTEXT Context)
{
    UNREFERENCED_PARAMETER(Module);

    Context->Slice = NULL;
    Context->Snapshot = NULL;
    ExReleaseRundownProtectionCacheAware(HlRundownRef[Context->StrategyPrivate[0]]);
    HlRcuReadLeave(&Context->Read);
}

static HL_STRATEGY_PUBLISH HlRundownPublish;

_Use_decl_annotations_ static VOID HlRundownPublish(struct hl_snapshot *NewSnapshot,
                                                    PULONG64 GraceNs)
{
    struct hl_snapshot *Old;
    LONG Phase = HlRundownPhase; /* only writers store it, under ConfigMutex */
    ULONG64 Start;

    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */
    /* Interlocked: a full barrier, so the flip is ordered after W1/W2 for every reader. */
    InterlockedExchange(&HlRundownPhase, Phase ^ 1);

    Start = HlNowNs();
    ExWaitForRundownProtectionReleaseCacheAware(HlRundownRef[Phase]);
    *GraceNs = HlNowNs() - Start;

    hl_snapshot_free(Old);
    ExRundownCompletedCacheAware(HlRundownRef[Phase]);
    ExReInitializeRundownProtectionCacheAware(HlRundownRef[Phase]);
}

const HL_STRATEGY HlRundownStrategy = {
    .Name = L"rundown",
    .Initialize = HlRundownInitialize,
    .Uninitialize = HlRundownUninitialize,
    .ReadEnter = HlRundownReadEnter,
    .ReadLeave = HlRundownReadLeave,
    .Publish = HlRundownPublish,
};
