/*
 * `flushdpc`: the seed answer taken literally, "a generation number plus a
 * KeFlushQueuedDpcs in the configuration path". Read side identical to
 * epoch; the grace period is KeFlushQueuedDpcs alone.
 *
 * ---- Why it is wrong (rcu/hlrcu.c, 2.) ----
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

static HL_STRATEGY_PUBLISH HlFlushDpcPublish;

_Use_decl_annotations_ static VOID HlFlushDpcPublish(struct hl_snapshot *NewSnapshot,
                                                     PULONG64 GraceNs)
{
    struct hl_snapshot *Old;
    ULONG64 Start;

    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */

    Start = HlNowNs();
    KeFlushQueuedDpcs(); /* the whole "grace period": insufficient, see above */
    *GraceNs = HlNowNs() - Start;

    hl_snapshot_free(Old);
}

const HL_STRATEGY HlFlushDpcStrategy = {
    .Name = L"flushdpc",
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlFlushDpcPublish,
};
