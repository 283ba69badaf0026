/*
 * Dispatcher objects (events, mutexes, semaphores, threads), waits and time.
 *
 * One dispatcher lock guards every object's state and one condition wakes
 * every waiter; a waiter re-evaluates its own wait condition. That is slower
 * than per-object wait lists but makes WaitAll atomic for free (all objects
 * are tested and consumed under the one lock), and waits are rare on the
 * paths ndisemu measures.
 */
#include "kernel.h"
#include "verifier.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t g_disp = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_once_t g_cv_once = PTHREAD_ONCE_INIT;

static void cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &a);
    pthread_condattr_destroy(&a);
}

void ke_dispatcher_lock(void)
{
    pthread_once(&g_cv_once, cv_init);
    pthread_mutex_lock(&g_disp);
}

void ke_dispatcher_unlock(void)
{
    pthread_mutex_unlock(&g_disp);
}

void ke_dispatcher_broadcast(void)
{
    pthread_cond_broadcast(&g_cv);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ke_interrupt_time_100ns(void)
{
    return mono_ns() / 100;
}

static LONGLONG system_time_100ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((LONGLONG)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

static void init_header(DISPATCHER_HEADER *h, UCHAR type, LONG state)
{
    h->Type = type;
    h->Signalling = 0;
    h->Size = 0;
    h->Reserved1 = 0;
    __atomic_store_n(&h->SignalState, state, __ATOMIC_RELAXED);
    InitializeListHead(&h->WaitListHead);
}

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    init_header(&Event->Header,
                Type == NotificationEvent ? EMU_OBJ_EVENT_NOTIFICATION
                                          : EMU_OBJ_EVENT_SYNCHRONIZATION,
                State ? 1 : 0);
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    LONG prev;
    (void)Increment, (void)Wait;
    emu_irql_require_max("KeSetEvent", DISPATCH_LEVEL);
    ke_dispatcher_lock();
    prev = Event->Header.SignalState;
    __atomic_store_n(&Event->Header.SignalState, 1, __ATOMIC_RELAXED);
    ke_dispatcher_broadcast();
    ke_dispatcher_unlock();
    return prev;
}

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
    LONG prev;
    emu_irql_require_max("KeResetEvent", DISPATCH_LEVEL);
    ke_dispatcher_lock();
    prev = Event->Header.SignalState;
    __atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_RELAXED);
    ke_dispatcher_unlock();
    return prev;
}

VOID NTAPI KeClearEvent(PRKEVENT Event)
{
    (void)KeResetEvent(Event);
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
    return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_ACQUIRE);
}

VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    (void)Level;
    init_header(&Mutex->Header, EMU_OBJ_MUTANT, 1);
    InitializeListHead(&Mutex->MutantListEntry);
    Mutex->OwnerThread = NULL;
    Mutex->Abandoned = FALSE;
    Mutex->ApcDisable = 1;
}

LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    LONG prev;
    (void)Wait;
    emu_irql_require_max("KeReleaseMutex", DISPATCH_LEVEL);
    ke_dispatcher_lock();
    prev = Mutex->Header.SignalState;
    if (Mutex->OwnerThread != KeGetCurrentThread()) {
        ke_dispatcher_unlock();
        emu_violation(
            EMU_RULE_LOCK_MISUSE, NULL, NULL,
            "KeReleaseMutex of a mutex the caller does not own (STATUS_MUTANT_NOT_OWNED)");
        return prev;
    }
    Mutex->Header.SignalState = prev + 1;
    if (prev + 1 == 1) {
        Mutex->OwnerThread = NULL;
        ke_current_thread()->apc_disable--;
        ke_dispatcher_broadcast();
    }
    ke_dispatcher_unlock();
    return prev;
}

LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex)
{
    return __atomic_load_n(&Mutex->Header.SignalState, __ATOMIC_ACQUIRE);
}

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    init_header(&Semaphore->Header, EMU_OBJ_SEMAPHORE, Count);
    Semaphore->Limit = Limit;
}

LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                              BOOLEAN Wait)
{
    LONG prev;
    (void)Increment, (void)Wait;
    emu_irql_require_max("KeReleaseSemaphore", DISPATCH_LEVEL);
    ke_dispatcher_lock();
    prev = Semaphore->Header.SignalState;
    if (Adjustment <= 0 || prev > Semaphore->Limit - Adjustment) {
        ke_dispatcher_unlock();
        /* Windows raises STATUS_SEMAPHORE_LIMIT_EXCEEDED: fatal in a driver. */
        KeBugCheckEx(0x1E /* KMODE_EXCEPTION_NOT_HANDLED */,
                     (ULONG_PTR)(ULONG)STATUS_SEMAPHORE_LIMIT_EXCEEDED, (ULONG_PTR)Semaphore,
                     (ULONG_PTR)Adjustment, 0);
    }
    __atomic_store_n(&Semaphore->Header.SignalState, prev + Adjustment, __ATOMIC_RELAXED);
    ke_dispatcher_broadcast();
    ke_dispatcher_unlock();
    return prev;
}

LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return __atomic_load_n(&Semaphore->Header.SignalState, __ATOMIC_ACQUIRE);
}

/* With the dispatcher lock held. */
static bool ready(DISPATCHER_HEADER *h, PKTHREAD t)
{
    switch (h->Type) {
    case EMU_OBJ_EVENT_NOTIFICATION:
    case EMU_OBJ_EVENT_SYNCHRONIZATION:
    case EMU_OBJ_SEMAPHORE:
    case EMU_OBJ_THREAD:
        return h->SignalState > 0;
    case EMU_OBJ_MUTANT:
        return h->SignalState > 0 || ((PKMUTEX)h)->OwnerThread == t;
    default:
        KeBugCheckEx(0x1E, (ULONG_PTR)(ULONG)STATUS_OBJECT_TYPE_MISMATCH, (ULONG_PTR)h, h->Type, 0);
    }
}

static void consume(DISPATCHER_HEADER *h, PKTHREAD t)
{
    switch (h->Type) {
    case EMU_OBJ_EVENT_SYNCHRONIZATION:
        __atomic_store_n(&h->SignalState, 0, __ATOMIC_RELAXED);
        break;
    case EMU_OBJ_SEMAPHORE:
        __atomic_store_n(&h->SignalState, h->SignalState - 1, __ATOMIC_RELAXED);
        break;
    case EMU_OBJ_MUTANT:
        if (((PKMUTEX)h)->OwnerThread != t)
            t->apc_disable++;
        ((PKMUTEX)h)->OwnerThread = t;
        __atomic_store_n(&h->SignalState, h->SignalState - 1, __ATOMIC_RELAXED);
        break;
    default:
        break;
    }
}

/* Deadline on CLOCK_MONOTONIC in ns; 0 = poll, UINT64_MAX = forever. */
static uint64_t deadline_of(PLARGE_INTEGER Timeout)
{
    LONGLONG d;
    if (Timeout == NULL)
        return UINT64_MAX;
    if (Timeout->QuadPart == 0)
        return 0;
    if (Timeout->QuadPart < 0)
        d = -Timeout->QuadPart;
    else
        d = Timeout->QuadPart - system_time_100ns();
    if (d <= 0)
        return 0;
    return mono_ns() + (uint64_t)d * 100u;
}

static void check_wait_irql(const char *api, PLARGE_INTEGER Timeout)
{
    /* A zero timeout only polls and is allowed at DISPATCH_LEVEL; anything
       else would block a CPU and is documented as IRQL <= APC_LEVEL. */
    if (Timeout != NULL && Timeout->QuadPart == 0)
        emu_irql_require_max(api, DISPATCH_LEVEL);
    else
        emu_irql_require_max(api, APC_LEVEL);
}

static NTSTATUS wait_objects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                             PLARGE_INTEGER Timeout)
{
    PKTHREAD t = ke_current_thread();
    uint64_t deadline = deadline_of(Timeout);
    NTSTATUS st;
    ULONG i;
    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS)
        KeBugCheckEx(0x0C /* MAXIMUM_WAIT_OBJECTS_EXCEEDED */, Count, 0, 0, 0);
    ke_dispatcher_lock();
    for (;;) {
        if (WaitType == WaitAny) {
            for (i = 0; i < Count; i++) {
                if (ready(Object[i], t)) {
                    consume(Object[i], t);
                    st = STATUS_WAIT_0 + (NTSTATUS)i;
                    goto out;
                }
            }
        } else {
            for (i = 0; i < Count && ready(Object[i], t); i++)
                ;
            if (i == Count) {
                for (i = 0; i < Count; i++)
                    consume(Object[i], t);
                st = STATUS_SUCCESS;
                goto out;
            }
        }
        if (deadline == 0) {
            st = STATUS_TIMEOUT;
            goto out;
        }
        if (deadline == UINT64_MAX) {
            pthread_cond_wait(&g_cv, &g_disp);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                                  .tv_nsec = (long)(deadline % 1000000000u)};
            if (pthread_cond_timedwait(&g_cv, &g_disp, &ts) == ETIMEDOUT)
                deadline = 0; /* one last look, then time out */
        }
    }
out:
    ke_dispatcher_unlock();
    return st;
}

/* Wait blocks are not needed: every waiter sleeps on the dispatcher condition.
   A wait at DISPATCH_LEVEL is reported and then performed as asked, holding
   the CPU, which is what would hang or crash a real machine. */
NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray)
{
    (void)WaitReason, (void)WaitMode, (void)Alertable, (void)WaitBlockArray;
    check_wait_irql("KeWaitForMultipleObjects", Timeout);
    return wait_objects(Count, Object, WaitType, Timeout);
}

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout)
{
    PVOID objs[1] = {Object};
    (void)WaitReason, (void)WaitMode, (void)Alertable;
    check_wait_irql("KeWaitForSingleObject", Timeout);
    return wait_objects(1, objs, WaitAny, Timeout);
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                      PLARGE_INTEGER Interval)
{
    uint64_t deadline, now;
    (void)WaitMode, (void)Alertable;
    emu_irql_require_max("KeDelayExecutionThread", APC_LEVEL);
    deadline = deadline_of(Interval);
    if (deadline == UINT64_MAX)
        return STATUS_INVALID_PARAMETER;
    while ((now = mono_ns()) < deadline) {
        struct timespec ts = {.tv_sec = (time_t)((deadline - now) / 1000000000u),
                              .tv_nsec = (long)((deadline - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
    return STATUS_SUCCESS;
}

ULONGLONG NTAPI KeQueryInterruptTime(void)
{
    return ke_interrupt_time_100ns();
}

ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp)
{
    ULONGLONG t = ke_interrupt_time_100ns();
    if (QpcTimeStamp)
        *QpcTimeStamp = t;
    return t;
}

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = system_time_100ns();
}

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = system_time_100ns();
}

/* The default 15.625 ms clock tick. */
ULONG NTAPI KeQueryTimeIncrement(void)
{
    return 156250;
}

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    CurrentCount->QuadPart = (LONGLONG)(ke_interrupt_time_100ns() / KeQueryTimeIncrement());
}

/* A 10 MHz performance counter: the interrupt-time clock itself. */
LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER v;
    if (PerformanceFrequency)
        PerformanceFrequency->QuadPart = 10000000;
    v.QuadPart = (LONGLONG)ke_interrupt_time_100ns();
    return v;
}

/*
 * stall-too-long: the length is an argument of the call, so the rule is
 * decided by the call alone, whatever the stall then takes on a busy host.
 * The WDK caps a stall at 50 microseconds (SDV's NdisStallExecution_Delay;
 * longer waits belong to NdisMSleep / KeDelayExecutionThread). ndisemu
 * reports it and stalls the full time, as Windows would.
 */
#define EMU_STALL_MAX_US 50u

void emu_stall(const char *api, ULONG MicroSeconds, void *caller)
{
    if (MicroSeconds > EMU_STALL_MAX_US)
        emu_violation(EMU_RULE_STALL_TOO_LONG, emu_module_for_address(caller), NULL,
                      "%s(%lu): more than %u microseconds; wait with NdisMSleep or "
                      "KeDelayExecutionThread at PASSIVE_LEVEL instead",
                      api, (unsigned long)MicroSeconds, EMU_STALL_MAX_US);
    uint64_t end = mono_ns() + (uint64_t)MicroSeconds * 1000u;
    while (mono_ns() < end)
        YieldProcessor();
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    emu_stall("KeStallExecutionProcessor", MicroSeconds, __builtin_return_address(0));
}
