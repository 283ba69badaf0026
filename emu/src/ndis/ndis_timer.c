/*
 * NDIS timer objects (NdisAllocateTimerObject, NdisSetTimerObject,
 * NdisCancelTimerObject, NdisFreeTimerObject) over the kernel's timer queue
 * (ke_timer.c): a timer is a deferred DPC. When it expires, its DPC is
 * queued to the CPU it was set from and NetTimerCallback runs there at
 * DISPATCH_LEVEL, once per expiry (a periodic timer whose previous callback
 * is still queued skips that period, as a KTIMER's DPC would).
 *
 * Lifetime: a timer object holds one reference for its allocation and one
 * while its DPC is queued or running (taken by the expire hook before the
 * DPC is inserted, dropped when the callback returns). The driver may free
 * the object while its callback is queued or running (it must not, on
 * Windows, without its own synchronization; then its own context is what
 * dies): ndisemu's memory stays valid until the callback is over.
 *
 * The verifier's rules here:
 *  - irql (SDV Irql_Timer_Function): allocate, set and free at
 *    <= DISPATCH_LEVEL; cancel at <= DISPATCH_LEVEL, or at PASSIVE_LEVEL
 *    exactly if the timer's last NdisSetTimerObject gave a period (SDV
 *    PeriodicTimer: that cancel waits for a running callback);
 *  - timer-not-cancelled (SDV CancelTimerObject): NdisFreeTimerObject of a
 *    timer still set (in the timer queue: a one-shot not yet expired, or a
 *    periodic one never cancelled); the same at unload (ke_timer.c). The
 *    driver can know: it set the timer and saw no cancel succeed (a one-shot
 *    that expired is no longer set, and is no finding);
 *  - pool-zero-tag: AllocationTag 0 ("you must provide this tag");
 *  - resource-leak: a timer object never freed, by its AllocationTag;
 *  - stale-handle: a handle that is not a live timer object.
 */
#include "ndis_internal.h"

#include <stdlib.h>

#include "fault.h"
#include "kernel.h"
#include "resources.h"

struct ndis_timer {
    KDPC dpc;
    struct ke_timer kt;
    PNDIS_TIMER_FUNCTION func;
    PVOID default_ctx;
    const char *module;
    struct emu_res_acct *acct;
    _Atomic unsigned refs;
    _Atomic bool periodic; /* the last NdisSetTimerObject gave a period */
};

static void put(struct ndis_timer *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        free(t);
}

static VOID timer_dpc(PKDPC Dpc, PVOID Context, PVOID FunctionContext, PVOID a2)
{
    struct ndis_timer *t = Context;
    struct emu_callctx c;
    (void)Dpc, (void)a2;
    emu_callctx_push(&c, t->module, "NetTimerCallback", t);
    t->func(NULL, FunctionContext, NULL, NULL);
    emu_callctx_pop(&c);
    put(t);
}

/* The timer thread, timer lock held: the reference is taken before the DPC
   can run, and given back if it was still queued from the last expiry. */
static void timer_expire(struct ke_timer *kt, PVOID arg)
{
    struct ndis_timer *t = (struct ndis_timer *)((char *)kt - offsetof(struct ndis_timer, kt));
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    if (!KeInsertQueueDpc(&t->dpc, arg, NULL))
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed); /* the allocation's stays */
}

NDIS_STATUS NdisAllocateTimerObject(NDIS_HANDLE NdisHandle,
                                    PNDIS_TIMER_CHARACTERISTICS TimerCharacteristics,
                                    PNDIS_HANDLE pTimerObject)
{
    void *caller = __builtin_return_address(0);
    PNDIS_TIMER_CHARACTERISTICS c = TimerCharacteristics;
    emu_irql_require_max("NdisAllocateTimerObject", DISPATCH_LEVEL);
    if (emu_fault_should_fail("NdisAllocateTimerObject", caller))
        return NDIS_STATUS_RESOURCES;
    if (NdisHandle == NULL || pTimerObject == NULL)
        return NDIS_STATUS_FAILURE;
    if (c == NULL || c->Header.Type != NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS ||
        c->Header.Revision < NDIS_TIMER_CHARACTERISTICS_REVISION_1 ||
        c->Header.Size < NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1 || c->TimerFunction == NULL)
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    emu_pool_check_tag("NdisAllocateTimerObject (AllocationTag)", c->AllocationTag, caller);
    struct ndis_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NDIS_STATUS_RESOURCES;
    t->func = c->TimerFunction;
    t->default_ctx = c->FunctionContext;
    t->module = emu_module_for_address((const void *)c->TimerFunction);
    atomic_init(&t->refs, 1);
    atomic_init(&t->periodic, false);
    KeInitializeDpc(&t->dpc, timer_dpc, t);
    t->dpc.EmuModule = t->module;
    ke_timer_setup(&t->kt, timer_expire, caller);
    t->acct = emu_res_account(EMU_RES_TIMER, c->AllocationTag, caller);
    emu_res_charge(t->acct, t);
    emu_handle_issue(t, EMU_HANDLE_TIMER);
    *pTimerObject = t;
    return NDIS_STATUS_SUCCESS;
}

BOOLEAN NdisSetTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime, LONG MillisecondsPeriod,
                           PVOID FunctionContext)
{
    struct ndis_timer *t = TimerObject;
    emu_irql_require_max("NdisSetTimerObject", DISPATCH_LEVEL);
    if (!emu_handle_check(TimerObject, EMU_HANDLE_TIMER, "NdisSetTimerObject"))
        return FALSE;
    if (MillisecondsPeriod < 0) {
        emu_violation(EMU_RULE_STATE, emu_module_for_address(__builtin_return_address(0)), NULL,
                      "NdisSetTimerObject: MillisecondsPeriod %ld is negative",
                      (long)MillisecondsPeriod);
        return FALSE;
    }
    /* Windows runs a timer's DPC on a CPU of its choosing; ndisemu picks
       the one the timer was set from. */
    KeSetTargetProcessorDpc(&t->dpc, (CCHAR)KeGetCurrentProcessorNumberEx(NULL));
    atomic_store(&t->periodic, MillisecondsPeriod != 0);
    return ke_timer_arm(&t->kt, DueTime.QuadPart, (ULONG)MillisecondsPeriod,
                        FunctionContext != NULL ? FunctionContext : t->default_ctx);
}

BOOLEAN NdisCancelTimerObject(NDIS_HANDLE TimerObject)
{
    struct ndis_timer *t = TimerObject;
    if (!emu_handle_check(TimerObject, EMU_HANDLE_TIMER, "NdisCancelTimerObject"))
        return FALSE;
    bool periodic = atomic_load(&t->periodic);
    if (periodic)
        emu_irql_require("NdisCancelTimerObject of a periodic timer (SDV PeriodicTimer)",
                         PASSIVE_LEVEL);
    else
        emu_irql_require_max("NdisCancelTimerObject", DISPATCH_LEVEL);
    BOOLEAN was = ke_timer_disarm(&t->kt);
    /* The WDK: cancelling a periodic timer also waits until its callback
       is not running (a flush of the DPC queues), so the caller needs no
       synchronization of its own. */
    if (periodic && KeGetCurrentIrql() == PASSIVE_LEVEL)
        KeFlushQueuedDpcs();
    return was;
}

VOID NdisFreeTimerObject(NDIS_HANDLE TimerObject)
{
    struct ndis_timer *t = TimerObject;
    emu_irql_require_max("NdisFreeTimerObject", DISPATCH_LEVEL);
    if (!emu_handle_check(TimerObject, EMU_HANDLE_TIMER, "NdisFreeTimerObject"))
        return;
    emu_handle_retire(TimerObject);
    if (ke_timer_remove(&t->kt))
        emu_violation(EMU_RULE_TIMER_NOT_CANCELLED,
                      emu_module_for_address(__builtin_return_address(0)), NULL,
                      "NdisFreeTimerObject(%p): the %s timer is still set (no "
                      "NdisCancelTimerObject before the free); ndisemu cancelled it",
                      TimerObject, atomic_load(&t->periodic) ? "periodic" : "one-shot");
    emu_res_release(t->acct);
    put(t);
}
