/*
 * `unsafe`: the baseline every other strategy is measured against. The read
 * side is epoch's (one load and compare per batch); Publish swaps and frees
 * with no grace period at all.
 *
 * ---- Why it is wrong ----
 * A reader on CPU k that loaded Old at R3 (rcu/hlrcu.c) just before W1 keeps
 * classifying through a view into Old after Publish returns. Nothing makes
 * Publish wait for it, so the free below can pull Old out from under a
 * batch in progress: a use-after-free, on a real system a bugcheck or
 * silently wrong verdicts. It exists so the benchmark has a "zero
 * synchronization" figure to divide by.
 *
 * To keep a storm of 10,000 reconfigurations/s from turning every run of the
 * benchmark into a crash, retired snapshots are freed HL_UNSAFE_DELAY
 * publishes later instead of at once. That narrows the window; it does not
 * close it (no bound on how long a batch runs): still unsafe, still
 * benchmark only.
 */
#include "strategy.h"

/* epoch.c: shared read side (out of line there for the disassembly test). */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

#define HL_UNSAFE_DELAY 64u

static struct hl_snapshot *HlUnsafeRetired[HL_UNSAFE_DELAY]; /* under ConfigMutex */
static ULONG HlUnsafeNext;

static HL_STRATEGY_INITIALIZE HlUnsafeInitialize;

_Use_decl_annotations_ static NTSTATUS HlUnsafeInitialize(VOID)
{
    RtlZeroMemory(HlUnsafeRetired, sizeof(HlUnsafeRetired));
    HlUnsafeNext = 0;
    return STATUS_SUCCESS;
}

static HL_STRATEGY_UNINITIALIZE HlUnsafeUninitialize;

_Use_decl_annotations_ static VOID HlUnsafeUninitialize(VOID)
{
    ULONG i;

    /* Every module is detached: no datapath is left to race with. */
    for (i = 0; i < HL_UNSAFE_DELAY; i++) {
        hl_snapshot_free(HlUnsafeRetired[i]);
        HlUnsafeRetired[i] = NULL;
    }
}

static HL_STRATEGY_PUBLISH HlUnsafePublish;

_Use_decl_annotations_ static VOID HlUnsafePublish(struct hl_snapshot *NewSnapshot,
                                                   PULONG64 GraceNs)
{
    struct hl_snapshot *Old;

    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */
    *GraceNs = 0;

    /* No grace period: see the top of the file. */
    hl_snapshot_free(HlUnsafeRetired[HlUnsafeNext]);
    HlUnsafeRetired[HlUnsafeNext] = Old;
    HlUnsafeNext = (HlUnsafeNext + 1) % HL_UNSAFE_DELAY;
}

/* The read side is epoch's, so the two differ only in what Publish does. */
const HL_STRATEGY HlUnsafeStrategy = {
    .Name = L"unsafe",
    .Initialize = HlUnsafeInitialize,
    .Uninitialize = HlUnsafeUninitialize,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlUnsafePublish,
};
