/*
 * The default strategy, `epoch` (DESIGN.md, "The swap"): the datapath pays
 * one load and one compare per batch; a reconfiguration pays a grace period.
 *
 * ---- The argument ----
 *
 * Writer (SET_CONFIG, PASSIVE_LEVEL, HlGlobal.ConfigMutex held):
 *   W1  HlGlobal.Snapshot   = New       (release store)
 *   W2  HlGlobal.Generation = G + 1     (release store)
 *   W3  queue one DPC targeted at each active processor, wait until all ran
 *   W4  free Old
 *
 * Reader (one batch, FilterReceive/SendNetBufferLists, on CPU k):
 *   R1  be at DISPATCH_LEVEL (raise if the NDIS flags say we are not)
 *   R2  g = HlGlobal.Generation         (acquire load)
 *   R3  if g != slice[k].Generation: s = HlGlobal.Snapshot (acquire load),
 *       refresh slice[k].View from s, slice[k].Generation = g
 *   R4  classify every NBL of the batch through slice[k].View
 *   R5  leave (lower IRQL if R1 raised) before handing the batch to NDIS
 *
 * 1. Why the DPC on CPU k proves that no reader on CPU k still uses Old.
 *    A reader holds a pointer into Old only between R1 and R5, and that
 *    whole window runs at DISPATCH_LEVEL on CPU k: it cannot be preempted,
 *    it cannot migrate, and nothing else at or below DISPATCH_LEVEL runs on
 *    CPU k until it lowers IRQL. A DPC runs at DISPATCH_LEVEL, and the
 *    processor drains its DPC queue only when its IRQL drops below
 *    DISPATCH_LEVEL. So when the DPC we queued to CPU k runs, every read
 *    section that was open on CPU k when we queued it has closed. A read
 *    section that opens on CPU k after the DPC ran is ordered after it on
 *    that CPU, and the DPC was queued after W2 (KeInsertQueueDpc takes the
 *    target's DPC queue lock: a full barrier on every architecture NT runs
 *    on), so R2 sees G + 1 (or later), R3 refreshes from New, and the slice
 *    never again points into Old. Hence after W3, Old is unreachable, and
 *    W4 is safe. Sections that span W1..W3 on CPU k keep Old alive until
 *    their R5, which is exactly what the DPC waits for.
 *    The writer must not itself be at DISPATCH_LEVEL (it would block the
 *    DPC on its own CPU forever): Publish is _IRQL_requires_(PASSIVE_LEVEL).
 *
 * 2. Why each module caches its view per CPU, not once per module.
 *    NDIS calls one module's receive (or send) handler on several CPUs at
 *    once (RSS queues, senders on any CPU). With a single mutable view per
 *    module, CPU A could refresh it (rewriting the bitmaps and the snapshot
 *    pointer) while CPU B is in the middle of classifying with it: B would
 *    apply a mixture of two rule sets, and worse, B could see the bitmaps of
 *    New beside the snapshot pointer of Old (or the reverse) and index one
 *    snapshot's rules with the other's bits: out of bounds, or into memory
 *    W4 is about to free, because B's R2 loaded the old generation and the
 *    grace period only waits for B, not for what A wrote under B. Making
 *    the view immutable and publishing a new one per refresh would need an
 *    allocation at DISPATCH_LEVEL and its own reclamation. A slice per CPU
 *    needs neither: slice[k] is written and read only by the one context
 *    that holds CPU k at DISPATCH_LEVEL, so a refresh is a private,
 *    single-threaded update, and two CPUs of the same module never share a
 *    written byte (slices are cache-line apart). The price is one 4 KiB
 *    view per module per CPU, allocated at FilterAttach.
 *    The same reasoning is why R5 comes before the NDIS call: a loopback
 *    send indicated back up on CPU k from inside our own indication would
 *    otherwise re-enter R3 on slice[k] while the outer batch is in R4.
 *
 * 3. Why KeFlushQueuedDpcs alone would not do (the `flushdpc` strategy).
 *    It waits for DPCs that are already queued when it is called. A reader
 *    is not a DPC: a protocol sending at PASSIVE_LEVEL, raised to
 *    DISPATCH_LEVEL by R1, or a receive indicated from a miniport's own
 *    thread holding a spin lock, is not in any DPC queue, so
 *    KeFlushQueuedDpcs can return at once while that reader is in R4 with
 *    Old. Queuing our own DPC to every CPU turns "wait for DPCs" into "wait
 *    until every CPU has been below DISPATCH_LEVEL once", which covers
 *    every reader whatever brought it to DISPATCH_LEVEL.
 *
 * 4. Why no fence and no interlocked instruction on the read side.
 *    R2 and R3 are acquire loads (plain MOVs on x86-64; LDAR on ARM64).
 *    The acquire on R2 pairs with the release of W2, so a reader that sees
 *    G + 1 also sees New at R3 (W1 is before W2). A reader that sees the
 *    generation of New but a snapshot newer still (a later SET_CONFIG's W1)
 *    refreshes once more on its next batch; a reader can never pair a
 *    generation with a snapshot older than it. The generation is 64 bits:
 *    it does not wrap.
 */
#include "strategy.h"

typedef struct _HL_EPOCH_GRACE {
    KEVENT Done;
    volatile LONG Remaining;
    ULONG DpcCount;
    KDPC Dpc[ANYSIZE_ARRAY];
} HL_EPOCH_GRACE, *PHL_EPOCH_GRACE;

/* One block, reused: grace periods are serialized by HlGlobal.ConfigMutex. */
static PHL_EPOCH_GRACE HlEpochGrace;

static KDEFERRED_ROUTINE HlEpochGraceDpc;

_Use_decl_annotations_ static VOID HlEpochGraceDpc(PKDPC Dpc, PVOID DeferredContext,
                                                   PVOID SystemArgument1, PVOID SystemArgument2)
{
    PHL_EPOCH_GRACE Grace = DeferredContext;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    /* Running here at all is the proof (see 1. above); the count only tells the writer when. */
    if (InterlockedDecrement(&Grace->Remaining) == 0)
        KeSetEvent(&Grace->Done, IO_NO_INCREMENT, FALSE);
}

/*
 * Targets one DPC at each processor index below Count that has none yet.
 * The block has room for every possible processor (HlGlobal.CpuCount is the
 * maximum count), so a processor started after DriverEntry gets its DPC on
 * the next grace period without an allocation.
 */
_IRQL_requires_(PASSIVE_LEVEL) static VOID
    HlEpochPrepareDpcs(_Inout_ PHL_EPOCH_GRACE Grace, _In_ ULONG Count)
{
    while (Grace->DpcCount < Count && Grace->DpcCount < HlGlobal.CpuCount) {
        ULONG i = Grace->DpcCount;
        PROCESSOR_NUMBER Processor;

        if (!NT_SUCCESS(KeGetProcessorNumberFromIndex(i, &Processor)))
            break;
        KeInitializeDpc(&Grace->Dpc[i], HlEpochGraceDpc, Grace);
        if (!NT_SUCCESS(KeSetTargetProcessorDpcEx(&Grace->Dpc[i], &Processor)))
            break;
        /* Readers wait for nothing, but SET_CONFIG's caller does: run ahead of queued work. */
        KeSetImportanceDpc(&Grace->Dpc[i], HighImportance);
        Grace->DpcCount = i + 1;
    }
}

_Use_decl_annotations_ NTSTATUS HlEpochInitialize(VOID)
{
    ULONG Active = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    PHL_EPOCH_GRACE Grace;

    /* Allocated now so that Publish, which must not fail, never allocates. */
    Grace = ExAllocatePool2(POOL_FLAG_NON_PAGED,
                            FIELD_OFFSET(HL_EPOCH_GRACE, Dpc[HlGlobal.CpuCount]), HL_TAG_GRACE);
    if (Grace == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    KeInitializeEvent(&Grace->Done, NotificationEvent, FALSE);
    Grace->DpcCount = 0;
    HlEpochPrepareDpcs(Grace, Active);
    if (Grace->DpcCount < Active) {
        /* A processor that could run a reader but cannot be waited for: refuse to run. */
        ExFreePoolWithTag(Grace, HL_TAG_GRACE);
        return STATUS_NOT_SUPPORTED;
    }
    HlEpochGrace = Grace;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID HlEpochUninitialize(VOID)
{
    /*
     * The last grace DPC may still be returning from KeSetEvent after the
     * writer woke up; this is the one wait KeFlushQueuedDpcs is right for:
     * it is a DPC, and it is already queued (or running).
     */
    KeFlushQueuedDpcs();
    ExFreePoolWithTag(HlEpochGrace, HL_TAG_GRACE);
    HlEpochGrace = NULL;
}

_IRQL_requires_(PASSIVE_LEVEL) static VOID HlEpochSynchronize(VOID)
{
    PHL_EPOCH_GRACE Grace = HlEpochGrace;
    ULONG Count = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    ULONG i;

    /*
     * Active processors are indexed densely from 0, and numbering an active
     * processor cannot fail, so every one that can run a reader has a DPC
     * (Initialize refused to start otherwise).
     */
    HlEpochPrepareDpcs(Grace, Count);
    NT_ASSERT(Grace->DpcCount >= Count);
    if (Count > Grace->DpcCount)
        Count = Grace->DpcCount;

    KeClearEvent(&Grace->Done);
    InterlockedExchange(&Grace->Remaining, (LONG)Count);
    for (i = 0; i < Count; i++)
        KeInsertQueueDpc(&Grace->Dpc[i], NULL, NULL);
    KeWaitForSingleObject(&Grace->Done, Executive, KernelMode, FALSE, NULL);
}

_Use_decl_annotations_ VOID HlEpochPublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    /* Only writers store Snapshot and Generation, and they hold ConfigMutex: plain reads. */
    struct hl_snapshot *Old = HlGlobal.Snapshot;
    LONG64 Generation = HlGlobal.Generation;
    ULONG64 Start;

    WritePointerRelease((PVOID volatile *)&HlGlobal.Snapshot, NewSnapshot); /* W1 */
    WriteRelease64(&HlGlobal.Generation, Generation + 1);                   /* W2 */

    Start = HlNowNs();
    HlEpochSynchronize(); /* W3 */
    *GraceNs = HlNowNs() - Start;

    hl_snapshot_free(Old); /* W4 */
}

/*
 * Out of line on purpose: the disassembly test (tests/hotlwf) checks that
 * these two contain no LOCK-prefixed instruction and no XCHG.
 */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

_Use_decl_annotations_ DECLSPEC_NOINLINE const struct hl_view *
HlEpochReadEnter(PHL_MODULE Module, BOOLEAN AtDispatch, PHL_READ_CONTEXT Context)
{
    PHL_MODULE_CPU Slice;
    LONG64 Generation;

    Context->Raised = FALSE;
    if (!AtDispatch) {
        KeRaiseIrql(DISPATCH_LEVEL, &Context->OldIrql); /* R1 */
        Context->Raised = TRUE;
    }
    Context->Cpu = KeGetCurrentProcessorNumberEx(NULL);
    Slice = HlModuleCpu(Module, Context->Cpu);

    Generation = ReadAcquire64(&HlGlobal.Generation); /* R2 */
    if ((ULONG64)Generation != Slice->Generation) {
        struct hl_snapshot *Snapshot =
            ReadPointerAcquire((PVOID const volatile *)&HlGlobal.Snapshot); /* R3 */
        HlStrategyRefreshSlice(Module, Slice, Snapshot, (ULONG64)Generation);
    }

    Context->Slice = Slice;
    /* Only the counters of a snapshot are written after it is compiled. */
    Context->Snapshot = (struct hl_snapshot *)Slice->View.snap;
    return &Slice->View;
}

_Use_decl_annotations_ DECLSPEC_NOINLINE VOID HlEpochReadLeave(PHL_MODULE Module,
                                                               PHL_READ_CONTEXT Context)
{
    UNREFERENCED_PARAMETER(Module);

    Context->Slice = NULL;
    Context->Snapshot = NULL;
    if (Context->Raised)
        KeLowerIrql(Context->OldIrql); /* R5 */
}

/* No per-module hooks: a module's slices start at generation 0, which is
   never published, so its first batch refreshes them. */
const HL_STRATEGY HlEpochStrategy = {
    .Name = L"epoch",
    .Initialize = HlEpochInitialize,
    .Uninitialize = HlEpochUninitialize,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlEpochPublish,
};
