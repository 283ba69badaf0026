/*
 * `flushdpc`: the seed answer taken literally, "a generation number plus a
 * KeFlushQueuedDpcs in the configuration path". Read side identical to
 * epoch; the grace period is KeFlushQueuedDpcs alone.
 *
 * ---- Why it is wrong (epoch.c, 3.) ----
 * KeFlushQueuedDpcs returns once every DPC that was queued when it was
 * called has run. It says nothing about code that is at DISPATCH_LEVEL
 * without being a DPC: a protocol sending at PASSIVE_LEVEL that ReadEnter
 * raised (R1), a miniport indicating from its own thread under a spin lock.
 * With no DPC queued anywhere, KeFlushQueuedDpcs returns at once while such
 * a reader is between R3 and R5 with Old, and the free below is a
 * use-after-free. Only readers that are themselves DPCs queued before the
 * call are covered, and a receive DPC is the one kind of reader that never
 * needed covering in the common case. tests/hotlwf/test_grace.c shows it
 * deterministically: with a raised PASSIVE reader inside its section,
 * SET_CONFIG completes and the reader's snapshot is already back in the
 * pool, where `epoch` keeps both waiting until the reader lowers IRQL.
 */
#include "strategy.h"

/* epoch.c: shared read side (out of line there for the disassembly test). */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

static HL_STRATEGY_INITIALIZE HlFlushDpcInitialize;

_Use_decl_annotations_ static NTSTATUS HlFlushDpcInitialize(VOID)
{
    return STATUS_SUCCESS;
}

static HL_STRATEGY_UNINITIALIZE HlFlushDpcUninitialize;

_Use_decl_annotations_ static VOID HlFlushDpcUninitialize(VOID)
{
}

static HL_STRATEGY_PUBLISH HlFlushDpcPublish;

_Use_decl_annotations_ static VOID HlFlushDpcPublish(struct hl_snapshot *NewSnapshot,
                                                     PULONG64 GraceNs)
{
    struct hl_snapshot *Old = HlGlobal.Snapshot;
    ULONG64 Start;

    WritePointerRelease((PVOID volatile *)&HlGlobal.Snapshot, NewSnapshot);
    WriteRelease64(&HlGlobal.Generation, HlGlobal.Generation + 1);

    Start = HlNowNs();
    KeFlushQueuedDpcs(); /* the whole "grace period": insufficient, see above */
    *GraceNs = HlNowNs() - Start;

    hl_snapshot_free(Old);
}

const HL_STRATEGY HlFlushDpcStrategy = {
    .Name = L"flushdpc",
    .Initialize = HlFlushDpcInitialize,
    .Uninitialize = HlFlushDpcUninitialize,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlFlushDpcPublish,
};
