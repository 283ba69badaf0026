/*
 * NDIS synchronization and services: NDIS_RW_LOCK_EX, NDIS_SPIN_LOCK,
 * NDIS_EVENT, NDIS memory, NDIS I/O work items, time.
 *
 * NDIS_RW_LOCK_EX, the argument. A reader runs at DISPATCH_LEVEL for the
 * whole read section, and in ndisemu a CPU at DISPATCH_LEVEL runs exactly one
 * context until it lowers IRQL. So the per-CPU reader count of the CPU a
 * reader runs on can only be changed by that reader (and by readers it
 * nests): readers never write a cache line another CPU's readers write.
 *
 *   reader: count[cpu]++ (seq_cst);  if writer flag set: count[cpu]--, spin
 *           until the flag clears, retry.
 *   writer: set writer flag (CAS, seq_cst; writers exclude each other);
 *           wait until every count[i] == 0.
 *
 * Both sides store then load with sequentially consistent atomics (Dekker):
 * either the reader sees the writer's flag and backs off, or the writer sees
 * the reader's count and waits for it. A nested read on a CPU whose count is
 * already non-zero proceeds without looking at the flag: the count is its
 * own outer section's, which the writer waits for anyway, so backing off
 * would deadlock it against the writer.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kernel.h"
#include "resources.h"

#define RWL_MAGIC 0x52574c58u /* 'RWLX' */
#define RWL_READ 1
#define RWL_WRITE 2

struct rwl_cpu {
    _Atomic long readers;
} __attribute__((aligned(64)));

struct _NDIS_RW_LOCK_EX {
    uint32_t magic;
    unsigned ncpu;
    _Atomic int writer;
    struct rwl_cpu cpu[];
};

PNDIS_RW_LOCK_EX NdisAllocateRWLock(NDIS_HANDLE NdisHandle)
{
    if (emu_fault_should_fail("NdisAllocateRWLock", __builtin_return_address(0)))
        return NULL;
    (void)NdisHandle;
    emu_irql_require_max("NdisAllocateRWLock", DISPATCH_LEVEL);
    unsigned n = emu_cpu_count();
    if (n == 0)
        n = 1;
    size_t sz = sizeof(struct _NDIS_RW_LOCK_EX) + n * sizeof(struct rwl_cpu);
    sz = (sz + 63) & ~(size_t)63;
    PNDIS_RW_LOCK_EX l = aligned_alloc(64, sz);
    if (l == NULL)
        return NULL;
    memset(l, 0, sz);
    l->magic = RWL_MAGIC;
    l->ncpu = n;
    return l;
}

VOID NdisFreeRWLock(PNDIS_RW_LOCK_EX Lock)
{
    if (Lock == NULL)
        return;
    Lock->magic = 0;
    free(Lock);
}

static void rwl_raise(PLOCK_STATE_EX st, UCHAR flags, const char *api)
{
    st->Flags = flags;
    if (flags & NDIS_RWL_AT_DISPATCH_LEVEL) {
        emu_irql_require(api, DISPATCH_LEVEL);
        st->OldIrql = DISPATCH_LEVEL;
    } else {
        emu_irql_require_max(api, DISPATCH_LEVEL);
        KeRaiseIrql(DISPATCH_LEVEL, &st->OldIrql);
    }
}

static struct rwl_cpu *rwl_mine(PNDIS_RW_LOCK_EX l)
{
    int cpu = emu_cpu_current();
    return &l->cpu[(unsigned)(cpu < 0 ? 0 : cpu) % l->ncpu];
}

VOID NdisAcquireRWLockRead(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags)
{
    rwl_raise(LockState, Flags, "NdisAcquireRWLockRead");
    struct rwl_cpu *c = rwl_mine(Lock);
    LockState->LockState = RWL_READ;
    if (atomic_load_explicit(&c->readers, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&c->readers, 1, memory_order_relaxed);
        return;
    }
    for (;;) {
        atomic_fetch_add(&c->readers, 1);
        if (!atomic_load(&Lock->writer))
            return;
        atomic_fetch_sub(&c->readers, 1);
        while (atomic_load_explicit(&Lock->writer, memory_order_relaxed))
            YieldProcessor();
    }
}

VOID NdisAcquireRWLockWrite(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags)
{
    rwl_raise(LockState, Flags, "NdisAcquireRWLockWrite");
    struct rwl_cpu *own = rwl_mine(Lock);
    bool misuse = atomic_load_explicit(&own->readers, memory_order_relaxed) > 0;
    if (misuse)
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, "NdisAcquireRWLockWrite",
                      "write acquisition of RW lock %p while this CPU holds it for read "
                      "(deadlocks on Windows)",
                      (void *)Lock);
    int expected = 0;
    while (!atomic_compare_exchange_weak(&Lock->writer, &expected, 1)) {
        expected = 0;
        YieldProcessor();
    }
    for (unsigned i = 0; i < Lock->ncpu; i++) {
        if (misuse && &Lock->cpu[i] == own)
            continue;
        while (atomic_load(&Lock->cpu[i].readers) != 0)
            YieldProcessor();
    }
    LockState->LockState = RWL_WRITE;
}

VOID NdisReleaseRWLock(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState)
{
    if (LockState->LockState == RWL_WRITE)
        atomic_store_explicit(&Lock->writer, 0, memory_order_release);
    else if (LockState->LockState == RWL_READ)
        atomic_fetch_sub_explicit(&rwl_mine(Lock)->readers, 1, memory_order_release);
    else
        emu_violation(EMU_RULE_LOCK_MISUSE, NULL, "NdisReleaseRWLock",
                      "release of RW lock %p with a LOCK_STATE_EX that holds nothing",
                      (void *)Lock);
    LockState->LockState = 0;
    if (!(LockState->Flags & NDIS_RWL_AT_DISPATCH_LEVEL))
        KeLowerIrql(LockState->OldIrql);
}

VOID NdisAllocateSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KeInitializeSpinLock(&SpinLock->SpinLock);
    SpinLock->OldIrql = PASSIVE_LEVEL;
}

VOID NdisFreeSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    (void)SpinLock;
}

VOID NdisAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KIRQL old;
    KeAcquireSpinLock(&SpinLock->SpinLock, &old);
    SpinLock->OldIrql = old;
}

VOID NdisReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KeReleaseSpinLock(&SpinLock->SpinLock, SpinLock->OldIrql);
}

VOID NdisDprAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KeAcquireSpinLockAtDpcLevel(&SpinLock->SpinLock);
}

VOID NdisDprReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KeReleaseSpinLockFromDpcLevel(&SpinLock->SpinLock);
}

VOID NdisInitializeEvent(PNDIS_EVENT Event)
{
    KeInitializeEvent(&Event->Event, NotificationEvent, FALSE);
}

VOID NdisSetEvent(PNDIS_EVENT Event)
{
    KeSetEvent(&Event->Event, 0, FALSE);
}

VOID NdisResetEvent(PNDIS_EVENT Event)
{
    KeClearEvent(&Event->Event);
}

BOOLEAN NdisWaitEvent(PNDIS_EVENT Event, UINT MsToWait)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)MsToWait * 10000;
    NTSTATUS st =
        KeWaitForSingleObject(&Event->Event, Executive, KernelMode, FALSE, MsToWait ? &t : NULL);
    return st == STATUS_SUCCESS;
}

PVOID NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
                                        EX_POOL_PRIORITY Priority)
{
    if (emu_fault_should_fail("NdisAllocateMemoryWithTagPriority", __builtin_return_address(0)))
        return NULL;
    (void)NdisHandle;
    (void)Priority;
    emu_irql_require_max("NdisAllocateMemoryWithTagPriority", DISPATCH_LEVEL);
    emu_pool_check_tag("NdisAllocateMemoryWithTagPriority", Tag, __builtin_return_address(0));
    return emu_pool_alloc(Length, Tag, false, __builtin_return_address(0));
}

VOID NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag)
{
    (void)NdisHandle;
    emu_pool_free(VirtualAddress, Tag, __builtin_return_address(0));
}

VOID NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags)
{
    (void)Length;
    (void)MemoryFlags;
    emu_pool_free(VirtualAddress, 0, __builtin_return_address(0));
}

VOID NdisGetCurrentSystemTime(PLARGE_INTEGER pSystemTime)
{
    KeQuerySystemTime(pSystemTime);
}

VOID NdisMSleep(ULONG MicrosecondsToSleep)
{
    LARGE_INTEGER t;
    emu_irql_require("NdisMSleep", PASSIVE_LEVEL);
    t.QuadPart = -(LONGLONG)MicrosecondsToSleep * 10;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

VOID NdisStallExecution(ULONG MicrosecondsToStall)
{
    emu_stall("NdisStallExecution", MicrosecondsToStall, __builtin_return_address(0));
}

ULONG NdisSystemProcessorCount(VOID)
{
    return emu_cpu_count();
}

/* I/O work items run on ndisemu's system worker threads at PASSIVE_LEVEL. */
/*
 * A work item freed while queued is orphaned, not freed: one atomic
 * exchange on `queued` decides whether the worker took it first (then the
 * free is of an item whose routine has started, which is legal, and frees
 * it) or the free came first (then it is an `object-freed-while-queued`
 * finding, bugcheck 0xE4 on Windows, and the worker frees it instead of
 * running a routine its driver has given up on). Either way the memory is
 * freed exactly once and never read after.
 */
enum { WI_IDLE, WI_QUEUED, WI_ORPHANED };
struct ndis_work_item {
    NDIS_HANDLE owner;
    struct emu_res_acct *acct; /* resource-leak (resources.h) */
    NDIS_IO_WORKITEM_ROUTINE routine;
    PVOID context;
    _Atomic int queued; /* WI_IDLE, WI_QUEUED, WI_ORPHANED */
};

NDIS_HANDLE NdisAllocateIoWorkItem(NDIS_HANDLE NdisObjectHandle)
{
    if (emu_fault_should_fail("NdisAllocateIoWorkItem", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateIoWorkItem", DISPATCH_LEVEL);
    struct ndis_work_item *wi = calloc(1, sizeof(*wi));
    if (wi == NULL)
        return NULL;
    wi->owner = NdisObjectHandle;
    wi->acct = emu_res_account(EMU_RES_WORKITEM, 0, __builtin_return_address(0));
    emu_res_charge(wi->acct, wi);
    emu_handle_issue(wi, EMU_HANDLE_IO_WORKITEM);
    return wi;
}

static void run_work_item(void *arg)
{
    struct ndis_work_item *wi = arg;
    NDIS_IO_WORKITEM_ROUTINE r = wi->routine;
    PVOID ctx = wi->context;
    /* Cleared before the routine runs: it may queue itself again. */
    if (atomic_exchange(&wi->queued, WI_IDLE) == WI_ORPHANED) {
        free(wi);
        return;
    }
    r(ctx, wi);
}

VOID NdisQueueIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle, NDIS_IO_WORKITEM_ROUTINE Routine,
                         PVOID WorkItemContext)
{
    struct ndis_work_item *wi = NdisIoWorkItemHandle;
    emu_irql_require_max("NdisQueueIoWorkItem", DISPATCH_LEVEL);
    if (!emu_handle_check(wi, EMU_HANDLE_IO_WORKITEM, "NdisQueueIoWorkItem"))
        return;
    if (atomic_exchange(&wi->queued, WI_QUEUED) != WI_IDLE) {
        emu_violation(EMU_RULE_STATE, NULL, "NdisQueueIoWorkItem",
                      "work item %p is already queued", NdisIoWorkItemHandle);
        return;
    }
    wi->routine = Routine;
    wi->context = WorkItemContext;
    emu_work_queue(run_work_item, wi, emu_module_for_address((const void *)Routine),
                   "NDIS_IO_WORKITEM_ROUTINE");
}

VOID NdisFreeIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle)
{
    struct ndis_work_item *wi = NdisIoWorkItemHandle;
    if (!emu_handle_check(wi, EMU_HANDLE_IO_WORKITEM, "NdisFreeIoWorkItem"))
        return;
    emu_handle_retire(wi);
    emu_res_release(wi->acct);
    int queued = WI_QUEUED;
    if (atomic_compare_exchange_strong(&wi->queued, &queued, WI_ORPHANED)) {
        emu_violation(EMU_RULE_OBJECT_FREED_WHILE_QUEUED, NULL, "NdisFreeIoWorkItem",
                      "NDIS I/O work item %p freed while still queued (0xE4)",
                      NdisIoWorkItemHandle);
        return;
    }
    free(wi);
}
