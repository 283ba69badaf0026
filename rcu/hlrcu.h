/*
 * hlrcu: replace a pointer that DISPATCH_LEVEL readers use without locks,
 * and know when nobody can still be using the old one. For an NDIS
 * lightweight filter whose global state is read on every send and receive
 * path and replaced, rarely, by an IOCTL. WDK API only; copy rcu/ into a
 * driver and compile hlrcu.c with it. docs/rcu.md: contract, adoption,
 * pitfalls, cost. The concurrency argument is at the top of hlrcu.c.
 *
 * Readers (FilterSendNetBufferLists, FilterReceiveNetBufferLists, any IRQL
 * <= DISPATCH_LEVEL):
 *     HLRCU_READ Read;
 *     HlRcuReadEnter(&Read, NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags));
 *     State = HlRcuDereference(&Rcu);       // valid until HlRcuReadLeave
 *     ... use State ...
 *     HlRcuReadLeave(&Read);                // before handing the NBLs to NDIS
 * Writer (the IOCTL, PASSIVE_LEVEL):
 *     Old = HlRcuPublish(&Rcu, New);        // no CPU can see Old any more
 *     ExFreePoolWithTag(Old, Tag);
 * Writer that cannot wait (DISPATCH_LEVEL, or in no hurry):
 *     Old = HlRcuExchange(&Rcu, New);
 *     HlRcuFreeDeferred(&Rcu, &Old->RcuHead, FreeRoutine);
 */
#ifndef HLRCU_H
#define HLRCU_H

#include <ndis.h>

struct _HLRCU_HEAD;

/* Frees one object handed to HlRcuFreeDeferred; runs at PASSIVE_LEVEL in a work item. */
typedef _IRQL_requires_(PASSIVE_LEVEL) VOID HLRCU_FREE_ROUTINE(_In_ struct _HLRCU_HEAD *Head);
typedef HLRCU_FREE_ROUTINE *PHLRCU_FREE_ROUTINE;

/* Embed one in each object that may be freed through HlRcuFreeDeferred. */
typedef struct _HLRCU_HEAD {
    struct _HLRCU_HEAD *Next;
    PHLRCU_FREE_ROUTINE Free;
} HLRCU_HEAD, *PHLRCU_HEAD;

typedef struct _HLRCU_GRACE HLRCU_GRACE; /* hlrcu.c */

/*
 * One published pointer and everything needed to retire the previous one.
 * Readers use only Pointer and Generation, through the inline functions
 * below; every other field belongs to hlrcu.c. Non-paged (readers run at
 * DISPATCH_LEVEL); usually a member of the driver's global structure.
 */
typedef struct _HLRCU {
    PVOID volatile Pointer;     /* stored only by HlRcuPublish / HlRcuExchange */
    volatile LONG64 Generation; /* +1 at every store of Pointer; never 0 */

    KSPIN_LOCK PublishLock; /* the Pointer/Generation pair: one writer at a time */
    KMUTEX GraceMutex;      /* one grace period at a time (the DPCs are reused) */
    HLRCU_GRACE *Grace;
    PVOID ProcessorCallback; /* KeRegisterProcessorChangeCallback handle */
    ULONG PoolTag;
    volatile LONG64 GracePeriods; /* completed grace periods, for tests and statistics */

    /* Deferred frees: HlRcuFreeDeferred pushes, the work item retires in batches. */
    NDIS_HANDLE WorkItem; /* NULL: the domain takes no deferred frees */
    KSPIN_LOCK DeferredLock;
    PHLRCU_HEAD Deferred;
    BOOLEAN WorkQueued;
    KEVENT WorkIdle; /* signalled while no deferred work is queued or running */
} HLRCU, *PHLRCU;

typedef struct _HLRCU_READ {
    KIRQL OldIrql;
    BOOLEAN Raised;
} HLRCU_READ, *PHLRCU_READ;

/*
 * Per-CPU cache helper. A reader that derives something from the published
 * object (which of the rules apply to this adapter, a hash of the allow
 * list, ...) keeps it per processor, each slot with one HLRCU_CACHE, zeroed
 * when allocated (generation 0 is never published). Slots are indexed by
 * KeGetCurrentProcessorNumberEx(NULL) and sized by
 * KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS), so that a processor
 * added later has one; one cache line apart, so CPUs share no written line.
 */
typedef struct _HLRCU_CACHE {
    ULONG64 Generation; /* the generation the slot's derived state was built from */
} HLRCU_CACHE, *PHLRCU_CACHE;

/* ---- lifetime ---- */

/*
 * Initial becomes the published pointer (may be NULL) at Generation (>= 1).
 * Call it before anything can read (before NdisFRegisterFilterDriver, whose
 * FilterAttach/FilterRestart may run before it returns). Fails with
 * STATUS_NOT_SUPPORTED when the domain could not be told of processors
 * added later (it would not wait for their readers).
 */
_IRQL_requires_(PASSIVE_LEVEL) _Must_inspect_result_ NTSTATUS
    HlRcuInitialize(_Out_ PHLRCU Rcu, _In_opt_ PVOID Initial, _In_ LONG64 Generation,
                    _In_ ULONG PoolTag);

/*
 * Lets the domain take HlRcuFreeDeferred: allocates its NDIS work item on
 * NdisHandle (the filter driver handle, once NdisFRegisterFilterDriver has
 * returned it). Before the first HlRcuFreeDeferred.
 */
_IRQL_requires_(PASSIVE_LEVEL) _Must_inspect_result_ NTSTATUS
    HlRcuEnableDeferredFree(_Inout_ PHLRCU Rcu, _In_ NDIS_HANDLE NdisHandle);

/*
 * Runs every deferred free still pending (after its grace period), then
 * releases the domain. No reader may be running or start: every filter
 * module is detached. Returns the pointer still published, for the caller
 * to free.
 */
_IRQL_requires_(PASSIVE_LEVEL) PVOID HlRcuUninitialize(_Inout_ PHLRCU Rcu);

/* ---- writers ---- */

/*
 * Publishes New and returns the previous pointer once no processor can be
 * using it: every read section that might have seen it has ended. Waits
 * for one grace period (one DPC run on every active processor). Writers
 * are serialized inside; the caller may hold its own PASSIVE_LEVEL locks
 * (never one a reader takes). Never call it at DISPATCH_LEVEL or from a
 * read section: its own processor's DPC could never run.
 */
_IRQL_requires_(PASSIVE_LEVEL) PVOID HlRcuPublish(_Inout_ PHLRCU Rcu, _In_opt_ PVOID New);

/* A grace period alone: every read section open when it was called has ended. */
_IRQL_requires_(PASSIVE_LEVEL) VOID HlRcuSynchronize(_Inout_ PHLRCU Rcu);

/*
 * Publishes New and returns the previous pointer at once, still possibly
 * in use by readers: retire it with HlRcuFreeDeferred (or free it after a
 * HlRcuSynchronize). For writers at DISPATCH_LEVEL.
 */
_IRQL_requires_max_(DISPATCH_LEVEL) PVOID HlRcuExchange(_Inout_ PHLRCU Rcu, _In_opt_ PVOID New);

/*
 * Free(Head) runs at PASSIVE_LEVEL after a grace period that began after
 * this call. One grace period serves every Head queued before it starts.
 * Requires HlRcuEnableDeferredFree.
 */
_IRQL_requires_max_(DISPATCH_LEVEL) VOID HlRcuFreeDeferred(_Inout_ PHLRCU Rcu,
                                                           _Inout_ PHLRCU_HEAD Head,
                                                           _In_ PHLRCU_FREE_ROUTINE Free);

/* ---- readers (inline: one load on the fast path, no interlocked instruction) ---- */

/*
 * Opens a read section: leaves the caller at DISPATCH_LEVEL, raising when
 * AtDispatch is FALSE (a PASSIVE_LEVEL sender; NDIS's flags say which).
 * Nothing inside may wait, and the section must end before the NBLs are
 * handed to NDIS (a loopback can re-enter on the same processor).
 */
_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL) FORCEINLINE VOID
    HlRcuReadEnter(_Out_ PHLRCU_READ Read, _In_ BOOLEAN AtDispatch)
{
    Read->Raised = !AtDispatch;
    if (!AtDispatch)
        KeRaiseIrql(DISPATCH_LEVEL, &Read->OldIrql); /* R1 */
    else
        Read->OldIrql = DISPATCH_LEVEL;
}

_IRQL_requires_(DISPATCH_LEVEL) FORCEINLINE VOID HlRcuReadLeave(_In_ PHLRCU_READ Read)
{
    if (Read->Raised)
        KeLowerIrql(Read->OldIrql); /* R5 */
}

/* The published pointer; what it points to stays valid until HlRcuReadLeave. */
_IRQL_requires_(DISPATCH_LEVEL) FORCEINLINE PVOID HlRcuDereference(_In_ PHLRCU Rcu)
{
    return ReadPointerAcquire((PVOID const volatile *)&Rcu->Pointer);
}

/* The generation of the published pointer; any IRQL. */
FORCEINLINE LONG64 HlRcuGeneration(_In_ PHLRCU Rcu)
{
    return ReadAcquire64(&Rcu->Generation);
}

/*
 * Inside a read section, on this processor's slot: TRUE when the slot was
 * built from an older generation, with the published pointer in *Current
 * (rebuild the slot from it now, in this section); FALSE when the slot is
 * current (*Current untouched). The slot's generation is updated here.
 */
_IRQL_requires_(DISPATCH_LEVEL) _Must_inspect_result_ FORCEINLINE BOOLEAN
    HlRcuCacheIsStale(_In_ PHLRCU Rcu, _Inout_ PHLRCU_CACHE Cache,
                      _When_(return != FALSE, _Outptr_result_maybenull_) PVOID *Current)
{
    LONG64 Generation = ReadAcquire64(&Rcu->Generation); /* R2 */

    if ((ULONG64)Generation == Cache->Generation)
        return FALSE;
    *Current = ReadPointerAcquire((PVOID const volatile *)&Rcu->Pointer); /* R3 */
    Cache->Generation = (ULONG64)Generation;
    return TRUE;
}

#endif
