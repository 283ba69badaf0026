/*
 * hlrcu: the grace-period mechanism (hlrcu.h for the API, docs/rcu.md for
 * adoption). This comment is the concurrency argument, the only copy of it.
 *
 * ---- The protocol (step names are the model's, proof/epoch.pml) ----
 *
 * Writer (HlRcuPublish, PASSIVE_LEVEL, GraceMutex held):
 *   W1  Pointer    = New      (release store)      } under PublishLock, so that
 *   W2  Generation = G + 1    (release store)      } pairs never interleave
 *   W3  queue one DPC targeted at each active processor, wait until all ran
 *   W4  the caller frees Old (or the deferred worker does)
 *
 * Reader (one section, processor k):
 *   R1  be at DISPATCH_LEVEL (HlRcuReadEnter raises if the caller is not)
 *   R2  g = Generation         (acquire load)      } HlRcuCacheIsStale; a reader
 *   R3  if g != slot[k]: p = Pointer (acquire)     } without a cache does R3 only
 *       rebuild slot[k] from p, slot[k] = g           (HlRcuDereference)
 *   R4  use p / slot[k]
 *   R5  leave (HlRcuReadLeave lowers IRQL if R1 raised)
 *
 * 1. Why the DPC on processor k proves no reader on k still uses Old.
 *    A reader holds Old only between R1 and R5, and that whole window runs
 *    at DISPATCH_LEVEL on k: it cannot be preempted, cannot migrate, and
 *    nothing else at or below DISPATCH_LEVEL runs on k until it lowers
 *    IRQL. A DPC runs at DISPATCH_LEVEL, and a processor drains its DPC
 *    queue only when its IRQL drops below DISPATCH_LEVEL. So when the DPC
 *    queued to k runs, every section that was open on k when it was queued
 *    has closed. A section that opens on k after the DPC ran is ordered
 *    after it on k, and the DPC was queued after W2 (KeInsertQueueDpc takes
 *    the target's DPC queue lock: a full barrier on every architecture NT
 *    runs on), so its R2 sees G + 1 or later, its R3 loads New or later, and
 *    its slot never again points into Old. Hence after W3 Old is
 *    unreachable and W4 is safe. Whatever brought the reader to
 *    DISPATCH_LEVEL does not matter: a receive DPC, a PASSIVE sender that
 *    R1 raised, a miniport thread holding a spin lock.
 *
 * 2. Why KeFlushQueuedDpcs alone is not a grace period. It waits for DPCs
 *    already queued when it is called. A reader that is not a DPC (a
 *    PASSIVE sender raised by R1) is in no DPC queue: KeFlushQueuedDpcs
 *    returns while it is in R4 with Old. The model's `flushdpc` variant
 *    finds exactly this trail (docs/rcu.md).
 *
 * 3. Why the writer must be at PASSIVE_LEVEL. At DISPATCH_LEVEL on k, the
 *    DPC queued to k cannot run until the writer lowers IRQL, and the
 *    writer waits for it: a hang. HlRcuExchange + HlRcuFreeDeferred is the
 *    DISPATCH_LEVEL path: the wait moves to a work item.
 *
 * 4. Processors and groups. DPCs are targeted with PROCESSOR_NUMBER
 *    (group + number, KeSetTargetProcessorDpcEx), one per processor index
 *    up to KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS), allocated
 *    at initialization so that a grace period never allocates. A processor
 *    added later is announced by KeRegisterProcessorChangeCallback at
 *    KeProcessorAddStartNotify, before it runs anything: its DPC is
 *    prepared then (or the add is vetoed, if it cannot be). W3 queues a DPC
 *    to each index below KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS)
 *    read after W2: a processor not yet counted there starts after that
 *    read, so its first section is ordered after W2 and cannot see Old.
 *    Active processors have the indexes 0..count-1, so none is skipped.
 *
 * 5. Why a per-CPU cache, not one per module. One module's send and
 *    receive paths run on several processors at once. A single mutable
 *    derived view would be rebuilt by one processor while another uses it
 *    (a mixture of two states, and a pointer the grace period does not
 *    protect: the other reader's R2 saw the old generation). A slot per
 *    processor is written and read only by the one context holding that
 *    processor at DISPATCH_LEVEL, so a rebuild is private. The same
 *    reasoning is why R5 comes before the NDIS call: a loopback on k from
 *    inside that call would re-enter R3 on slot[k] during R4.
 *
 * 6. Why no fence and no interlocked instruction on the read side. R2 and
 *    R3 are acquire loads (plain MOVs on x64, LDAR on ARM64). R2's acquire
 *    pairs with W2's release, so a reader that sees G + 1 sees New at R3
 *    (W1 is before W2): a reader never pairs a generation with an older
 *    pointer. If it sees a newer pointer still (a later writer's W1), its
 *    slot is rebuilt once more next time. The generation is 64 bits.
 *
 * 7. Deferred frees. HlRcuFreeDeferred pushes onto a list under a spin lock
 *    and queues the one NDIS work item if it is not queued. The work item
 *    takes the whole list, runs one grace period (W3, begun after every
 *    push it took), frees the batch, and loops until the list is empty;
 *    only then does it clear WorkQueued, under the same lock, so no push is
 *    ever left without a work item to retire it.
 */
#include "hlrcu.h"

struct _HLRCU_GRACE {
    KEVENT Done;
    volatile LONG Remaining;
    ULONG Count;    /* slots: the maximum processor count */
    PBOOLEAN Ready; /* Ready[i]: Dpc[i] targets processor index i */
    KDPC Dpc[ANYSIZE_ARRAY];
};

static KDEFERRED_ROUTINE HlRcuGraceDpc;
static PROCESSOR_CALLBACK_FUNCTION HlRcuProcessorChange;
static NDIS_IO_WORKITEM_FUNCTION HlRcuDeferredWorker;

_Use_decl_annotations_ static VOID HlRcuGraceDpc(PKDPC Dpc, PVOID DeferredContext,
                                                 PVOID SystemArgument1, PVOID SystemArgument2)
{
    HLRCU_GRACE *Grace = DeferredContext;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    /* Running here at all is the proof (1.); the count only tells the writer when. */
    if (InterlockedDecrement(&Grace->Remaining) == 0)
        KeSetEvent(&Grace->Done, IO_NO_INCREMENT, FALSE);
}

/* Called with GraceMutex held. */
_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS
    HlRcuPrepareDpc(_Inout_ HLRCU_GRACE *Grace, _In_ ULONG Index,
                    _In_ PPROCESSOR_NUMBER Processor)
{
    NTSTATUS Status;

    if (Index >= Grace->Count)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (Grace->Ready[Index])
        return STATUS_SUCCESS;
    KeInitializeDpc(&Grace->Dpc[Index], HlRcuGraceDpc, Grace);
    Status = KeSetTargetProcessorDpcEx(&Grace->Dpc[Index], Processor);
    if (!NT_SUCCESS(Status))
        return Status;
    /* Readers wait for nothing, but the writer's caller does: run ahead of queued work. */
    KeSetImportanceDpc(&Grace->Dpc[Index], HighImportance);
    Grace->Ready[Index] = TRUE;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID NTAPI HlRcuProcessorChange(
    PVOID CallbackContext, PKE_PROCESSOR_CHANGE_NOTIFY_CONTEXT ChangeContext,
    PNTSTATUS OperationStatus)
{
    PHLRCU Rcu = CallbackContext;
    NTSTATUS Status;

    /* Only the start notification may veto; the DPC is prepared before the processor runs (4.). */
    if (ChangeContext->State != KeProcessorAddStartNotify)
        return;
    KeWaitForSingleObject(&Rcu->GraceMutex, Executive, KernelMode, FALSE, NULL);
    Status = HlRcuPrepareDpc(Rcu->Grace, ChangeContext->NtNumber, &ChangeContext->ProcNumber);
    KeReleaseMutex(&Rcu->GraceMutex, FALSE);
    if (!NT_SUCCESS(Status))
        *OperationStatus = Status;
}

_Use_decl_annotations_ NTSTATUS HlRcuInitialize(PHLRCU Rcu, PVOID Initial, LONG64 Generation,
                                                ULONG PoolTag)
{
    ULONG Count = KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS);
    SIZE_T DpcBytes = FIELD_OFFSET(HLRCU_GRACE, Dpc[Count]);
    HLRCU_GRACE *Grace;

    RtlZeroMemory(Rcu, sizeof(*Rcu));
    if (Generation < 1 || Count == 0)
        return STATUS_INVALID_PARAMETER;
    Rcu->Pointer = Initial;
    Rcu->Generation = Generation;
    Rcu->PoolTag = PoolTag;
    KeInitializeSpinLock(&Rcu->PublishLock);
    KeInitializeMutex(&Rcu->GraceMutex, 0);
    KeInitializeSpinLock(&Rcu->DeferredLock);
    KeInitializeEvent(&Rcu->WorkIdle, NotificationEvent, TRUE);

    /* Allocated now so that a grace period, which must not fail, never allocates. */
    Grace = ExAllocatePool2(POOL_FLAG_NON_PAGED, DpcBytes + Count * sizeof(BOOLEAN), PoolTag);
    if (Grace == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeEvent(&Grace->Done, NotificationEvent, FALSE);
    Grace->Count = Count;
    Grace->Ready = (PBOOLEAN)((PUCHAR)Grace + DpcBytes);
    Rcu->Grace = Grace;

    /*
     * Every processor present now is announced at once (ADD_EXISTING), a
     * new one before it starts. A domain that cannot hear of new processors
     * refuses to exist rather than one day miss a reader (4.).
     */
    Rcu->ProcessorCallback = KeRegisterProcessorChangeCallback(HlRcuProcessorChange, Rcu,
                                                               KE_PROCESSOR_CHANGE_ADD_EXISTING);
    if (Rcu->ProcessorCallback == NULL) {
        ExFreePoolWithTag(Grace, PoolTag);
        return STATUS_NOT_SUPPORTED;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS HlRcuEnableDeferredFree(PHLRCU Rcu, NDIS_HANDLE NdisHandle)
{
    if (Rcu->WorkItem != NULL)
        return STATUS_SUCCESS;
    Rcu->WorkItem = NdisAllocateIoWorkItem(NdisHandle);
    return Rcu->WorkItem != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

_Use_decl_annotations_ PVOID HlRcuUninitialize(PHLRCU Rcu)
{
    /* Deferred frees first: the worker needs the grace DPCs. */
    KeWaitForSingleObject(&Rcu->WorkIdle, Executive, KernelMode, FALSE, NULL);
    if (Rcu->WorkItem != NULL)
        NdisFreeIoWorkItem(Rcu->WorkItem);
    KeDeregisterProcessorChangeCallback(Rcu->ProcessorCallback);
    /*
     * The last grace DPC may still be returning from KeSetEvent after its
     * writer woke up: the one wait KeFlushQueuedDpcs is right for (it is a
     * DPC, and it is already queued or running).
     */
    KeFlushQueuedDpcs();
    ExFreePoolWithTag(Rcu->Grace, Rcu->PoolTag);
    Rcu->Grace = NULL;
    return Rcu->Pointer;
}

_Use_decl_annotations_ VOID HlRcuSynchronize(PHLRCU Rcu)
{
    HLRCU_GRACE *Grace = Rcu->Grace;
    ULONG Count;
    ULONG i;

    NT_ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL); /* 3. */
    KeWaitForSingleObject(&Rcu->GraceMutex, Executive, KernelMode, FALSE, NULL);

    /* Read after W2 (the caller's, ordered by the mutex acquisition): 4. */
    Count = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    NT_ASSERT(Count <= Grace->Count);
    KeClearEvent(&Grace->Done);
    InterlockedExchange(&Grace->Remaining, (LONG)Count);
    for (i = 0; i < Count; i++) { /* W3 */
        NT_ASSERT(Grace->Ready[i]); /* prepared when the processor was announced */
        KeInsertQueueDpc(&Grace->Dpc[i], NULL, NULL);
    }
    KeWaitForSingleObject(&Grace->Done, Executive, KernelMode, FALSE, NULL);
    InterlockedIncrement64(&Rcu->GracePeriods);

    KeReleaseMutex(&Rcu->GraceMutex, FALSE);
}

_Use_decl_annotations_ PVOID HlRcuExchange(PHLRCU Rcu, PVOID New)
{
    KIRQL OldIrql;
    PVOID Old;

    KeAcquireSpinLock(&Rcu->PublishLock, &OldIrql);
    Old = Rcu->Pointer; /* only writers store it, under this lock: a plain read */
    WritePointerRelease((PVOID volatile *)&Rcu->Pointer, New); /* W1 */
    WriteRelease64(&Rcu->Generation, Rcu->Generation + 1);     /* W2 */
    KeReleaseSpinLock(&Rcu->PublishLock, OldIrql);
    return Old;
}

_Use_decl_annotations_ PVOID HlRcuPublish(PHLRCU Rcu, PVOID New)
{
    PVOID Old;

    /* Held across W1..W3: two publishers' grace periods never share the DPCs. */
    KeWaitForSingleObject(&Rcu->GraceMutex, Executive, KernelMode, FALSE, NULL);
    Old = HlRcuExchange(Rcu, New); /* W1, W2 */
    HlRcuSynchronize(Rcu);         /* W3 (KMUTEX: the owner may acquire it again) */
    KeReleaseMutex(&Rcu->GraceMutex, FALSE);
    return Old; /* W4 is the caller's */
}

_Use_decl_annotations_ VOID HlRcuFreeDeferred(PHLRCU Rcu, PHLRCU_HEAD Head,
                                              PHLRCU_FREE_ROUTINE Free)
{
    BOOLEAN Queue = FALSE;
    KIRQL OldIrql;

    NT_ASSERT(Rcu->WorkItem != NULL);
    Head->Free = Free;
    KeAcquireSpinLock(&Rcu->DeferredLock, &OldIrql);
    Head->Next = Rcu->Deferred;
    Rcu->Deferred = Head;
    if (!Rcu->WorkQueued) {
        Rcu->WorkQueued = TRUE;
        KeClearEvent(&Rcu->WorkIdle);
        Queue = TRUE;
    }
    KeReleaseSpinLock(&Rcu->DeferredLock, OldIrql);
    /* Only the push that set WorkQueued queues: the work item is never queued twice (7.). */
    if (Queue)
        NdisQueueIoWorkItem(Rcu->WorkItem, HlRcuDeferredWorker, Rcu);
}

_Use_decl_annotations_ static VOID HlRcuDeferredWorker(PVOID WorkItemContext,
                                                       NDIS_HANDLE NdisIoWorkItemHandle)
{
    PHLRCU Rcu = WorkItemContext;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    for (;;) {
        PHLRCU_HEAD Batch;
        KIRQL OldIrql;

        KeAcquireSpinLock(&Rcu->DeferredLock, &OldIrql);
        Batch = Rcu->Deferred;
        Rcu->Deferred = NULL;
        if (Batch == NULL) {
            Rcu->WorkQueued = FALSE;
            KeSetEvent(&Rcu->WorkIdle, IO_NO_INCREMENT, FALSE);
        }
        KeReleaseSpinLock(&Rcu->DeferredLock, OldIrql);
        if (Batch == NULL)
            return;

        HlRcuSynchronize(Rcu); /* begun after every push in Batch: one grace period for all */
        while (Batch != NULL) {
            PHLRCU_HEAD Next = Batch->Next;

            Batch->Free(Batch);
            Batch = Next;
        }
    }
}
