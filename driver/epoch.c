/*
 * The default strategy, `epoch` (DESIGN.md, "The swap"): hotlwf's use of the
 * hlrcu component (rcu/hlrcu.h). The datapath pays one load and one compare
 * per batch; a reconfiguration pays one grace period. The mechanism and its
 * whole concurrency argument live in rcu/hlrcu.c; what is hotlwf's is only
 * where the steps are called from:
 *
 *   W1 W2 W3   HlEpochPublish: HlRcuPublish(&HlGlobal.Config, New), under
 *              HlGlobal.ConfigMutex (SET_CONFIG, PASSIVE_LEVEL)
 *   W4         HlEpochPublish: hl_snapshot_free(Old)
 *   R1         HlEpochReadEnter: HlRcuReadEnter (raises for a PASSIVE sender)
 *   R2 R3      HlStrategyCurrentView (strategy.h): HlRcuCacheIsStale on this
 *              CPU's slice of the module, refreshing the slice's view
 *   R4         recv.c / send.c classify through the view
 *   R5         HlEpochReadLeave: HlRcuReadLeave, before the batch goes to NDIS
 *
 * The per-CPU slice is hlrcu's per-CPU cache (rcu/hlrcu.c, 5.): a module's
 * view of the snapshot (which rules apply to its adapter) rebuilt only when
 * the generation moved, by the one context that holds that CPU.
 */
#include "strategy.h"

_Use_decl_annotations_ VOID HlEpochPublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    ULONG64 Start = HlNowNs();
    struct hl_snapshot *Old = HlRcuPublish(&HlGlobal.Config, NewSnapshot); /* W1, W2, W3 */

    *GraceNs = HlNowNs() - Start;
    hl_snapshot_free(Old); /* W4 */
}

/*
 * Out of line on purpose: the disassembly test (bench/check_no_lock.sh)
 * checks that these two, with hlrcu's inline read side inside them, contain
 * no LOCK-prefixed instruction and no XCHG.
 */
_Use_decl_annotations_ DECLSPEC_NOINLINE const struct hl_view *
HlEpochReadEnter(PHL_MODULE Module, BOOLEAN AtDispatch, PHL_READ_CONTEXT Context)
{
    HlRcuReadEnter(&Context->Read, AtDispatch); /* R1 */
    return HlStrategyCurrentView(Module, Context); /* R2, R3 */
}

_Use_decl_annotations_ DECLSPEC_NOINLINE VOID HlEpochReadLeave(PHL_MODULE Module,
                                                               PHL_READ_CONTEXT Context)
{
    UNREFERENCED_PARAMETER(Module);

    Context->Slice = NULL;
    Context->Snapshot = NULL;
    HlRcuReadLeave(&Context->Read); /* R5 */
}

/* No lifetime hooks: HlGlobal.Config is started with the configuration (config.c), for
   every strategy. No per-module hooks: a module's slices start at generation 0, which
   is never published, so its first batch refreshes them. */
const HL_STRATEGY HlEpochStrategy = {
    .Name = L"epoch",
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlEpochPublish,
};
