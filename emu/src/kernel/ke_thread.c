/*
 * System threads, thread objects and handles, critical regions.
 *
 * A thread handle is the thread object's address holding one reference;
 * the running thread holds another. The object is a dispatcher object,
 * signalled when the thread ends, so a driver's unload can wait for its
 * thread exactly as on Windows: ObReferenceObjectByHandle, ZwClose,
 * KeWaitForSingleObject, ObDereferenceObject.
 */
#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct _OBJECT_TYPE {
    const char *name;
};
static struct _OBJECT_TYPE g_thread_type = {"Thread"};
static struct _OBJECT_TYPE g_event_type = {"Event"};
static POBJECT_TYPE g_thread_type_ptr = &g_thread_type;
static POBJECT_TYPE g_event_type_ptr = &g_event_type;
POBJECT_TYPE *PsThreadType = &g_thread_type_ptr;
POBJECT_TYPE *ExEventObjectType = &g_event_type_ptr;

/*
 * Running system threads by driver, for thread-at-unload (ke_thread_check_unload).
 * A thread is on the list from before pthread_create until thread_finish,
 * which takes it off before it signals the thread object: so a driver
 * whose unload waited for its thread's object finds it gone, and a thread
 * still on the list at the check is one whose start routine (driver code)
 * has not ended.
 */
#define RUNNING_MAX 256
static pthread_mutex_t g_running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct running {
    struct _KTHREAD *t;
    const struct emu_driver *drv;
} g_running[RUNNING_MAX];

static void running_add(struct _KTHREAD *t, const struct emu_driver *drv)
{
    unsigned i;
    pthread_mutex_lock(&g_running_lock);
    for (i = 0; i < RUNNING_MAX; i++)
        if (g_running[i].t == NULL) {
            g_running[i] = (struct running){t, drv};
            break;
        }
    pthread_mutex_unlock(&g_running_lock);
}

static void running_remove(struct _KTHREAD *t)
{
    unsigned i;
    pthread_mutex_lock(&g_running_lock);
    for (i = 0; i < RUNNING_MAX; i++)
        if (g_running[i].t == t)
            g_running[i].t = NULL;
    pthread_mutex_unlock(&g_running_lock);
}

unsigned ke_thread_check_unload(const struct emu_driver *d, const char *name)
{
    unsigned i, n = 0;
    pthread_mutex_lock(&g_running_lock);
    for (i = 0; i < RUNNING_MAX; i++)
        n += g_running[i].t != NULL && g_running[i].drv == d;
    pthread_mutex_unlock(&g_running_lock);
    if (n != 0)
        emu_violation(EMU_RULE_THREAD_AT_UNLOAD, name, "DriverUnload",
                      "%u system thread(s) of the driver still running after DriverUnload "
                      "returned (0xCE); ndisemu keeps the image mapped for them",
                      n);
    return n;
}

static void thread_deref(struct _KTHREAD *t)
{
    if (InterlockedDecrement(&t->refs) == 0)
        free(t);
}

static void thread_finish(void *arg)
{
    struct _KTHREAD *t = arg;
    if (t->irql != PASSIVE_LEVEL) {
        emu_violation(EMU_RULE_IRQL, t->module, "SystemThread",
                      "system thread terminated at IRQL %u", t->irql);
        t->in_dpc = false;
        if (t->cpu >= 0)
            ke_cpu_give(t);
        t->irql = PASSIVE_LEVEL;
    }
    /* After the signal a waiter may drop the last reference and free t:
       nothing of this thread may touch it any more, TSD destructor included. */
    running_remove(t);
    ke_thread_forget();
    ke_dispatcher_lock();
    t->Header.SignalState = 1;
    ke_dispatcher_broadcast();
    ke_dispatcher_unlock();
    thread_deref(t);
}

static void *thread_main(void *arg)
{
    struct _KTHREAD *t = arg;
    struct emu_callctx ctx;
    ke_thread_adopt(t);
    pthread_cleanup_push(thread_finish, t);
    emu_callctx_push(&ctx, t->module, "SystemThread", t);
    t->start(t->start_ctx);
    emu_callctx_pop(&ctx);
    pthread_cleanup_pop(1);
    return NULL;
}

NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext)
{
    struct _KTHREAD *t;
    pthread_t th;
    pthread_attr_t attr;
    (void)DesiredAccess, (void)ObjectAttributes, (void)ProcessHandle;
    emu_irql_require("PsCreateSystemThread", PASSIVE_LEVEL);
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    t->Header.Type = EMU_OBJ_THREAD;
    InitializeListHead(&t->Header.WaitListHead);
    t->refs = 2; /* the handle, the running thread */
    t->system = true;
    t->role = "a system thread";
    t->irql = PASSIVE_LEVEL;
    t->cpu = -1;
    t->start = StartRoutine;
    t->start_ctx = StartContext;
    t->module = emu_module_for_address((const void *)StartRoutine);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    running_add(t, emu_driver_for_address((const void *)StartRoutine));
    if (pthread_create(&th, &attr, thread_main, t) != 0) {
        running_remove(t);
        pthread_attr_destroy(&attr);
        free(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    pthread_attr_destroy(&attr);
    if (ClientId) {
        ClientId->UniqueProcess = (HANDLE)(ULONG_PTR)4;
        ClientId->UniqueThread = (HANDLE)t;
    }
    *ThreadHandle = (HANDLE)t;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    (void)ExitStatus;
    if (!ke_current_thread()->system)
        KeBugCheckEx(0x90 /* THREAD_NOT_MUTEX_OWNER-ish: not a system thread */, 0, 0, 0, 0);
    pthread_exit(NULL);
}

PKTHREAD NTAPI KeGetCurrentThread(void)
{
    return ke_current_thread();
}

PETHREAD NTAPI PsGetCurrentThread(void)
{
    return ke_current_thread();
}

HANDLE NTAPI PsGetCurrentThreadId(void)
{
    return (HANDLE)ke_current_thread();
}

HANDLE NTAPI PsGetCurrentProcessId(void)
{
    return (HANDLE)(ULONG_PTR)4; /* the System process */
}

BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread)
{
    return Thread->system;
}

KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    (void)Thread, (void)Priority;
    return 8;
}

NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                         PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    struct _KTHREAD *t = Handle;
    (void)DesiredAccess, (void)AccessMode;
    emu_irql_require("ObReferenceObjectByHandle", PASSIVE_LEVEL);
    if (t == NULL || t->Header.Type != EMU_OBJ_THREAD || !t->system)
        return STATUS_INVALID_HANDLE;
    if (ObjectType != NULL && ObjectType != *PsThreadType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    InterlockedIncrement(&t->refs);
    *Object = t;
    if (HandleInformation) {
        HandleInformation->HandleAttributes = 0;
        HandleInformation->GrantedAccess = THREAD_ALL_ACCESS;
    }
    return STATUS_SUCCESS;
}

/* Only thread objects are reference counted here; other objects a driver
   may reference (device objects) live as long as their owner says. */
LONG_PTR FASTCALL ObfReferenceObject(PVOID Object)
{
    struct _KTHREAD *t = Object;
    if (t && t->Header.Type == EMU_OBJ_THREAD && t->system)
        return InterlockedIncrement(&t->refs);
    return 1;
}

LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object)
{
    struct _KTHREAD *t = Object;
    LONG left;
    if (!(t && t->Header.Type == EMU_OBJ_THREAD && t->system))
        return 1;
    left = InterlockedDecrement(&t->refs);
    if (left == 0)
        free(t);
    else if (left < 0)
        emu_violation(EMU_RULE_STATE, NULL, NULL, "ObDereferenceObject of a released object %p",
                      Object);
    return left;
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
    struct _KTHREAD *t = Handle;
    emu_irql_require("ZwClose", PASSIVE_LEVEL);
    if (t == NULL || t->Header.Type != EMU_OBJ_THREAD || !t->system)
        return STATUS_INVALID_HANDLE;
    thread_deref(t);
    return STATUS_SUCCESS;
}

VOID NTAPI KeEnterCriticalRegion(void)
{
    emu_irql_require_max("KeEnterCriticalRegion", APC_LEVEL);
    ke_current_thread()->apc_disable++;
}

VOID NTAPI KeLeaveCriticalRegion(void)
{
    struct _KTHREAD *t = ke_current_thread();
    emu_irql_require_max("KeLeaveCriticalRegion", APC_LEVEL);
    if (t->apc_disable == 0)
        emu_violation(EMU_RULE_STATE, NULL, NULL,
                      "KeLeaveCriticalRegion without KeEnterCriticalRegion");
    else
        t->apc_disable--;
}

VOID NTAPI KeEnterGuardedRegion(void)
{
    KeEnterCriticalRegion();
}

VOID NTAPI KeLeaveGuardedRegion(void)
{
    KeLeaveCriticalRegion();
}

BOOLEAN NTAPI KeAreApcsDisabled(void)
{
    struct _KTHREAD *t = ke_current_thread();
    return t->apc_disable != 0 || t->irql >= APC_LEVEL;
}

BOOLEAN NTAPI KeAreAllApcsDisabled(void)
{
    return ke_current_thread()->irql >= APC_LEVEL;
}
