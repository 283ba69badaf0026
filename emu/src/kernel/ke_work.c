/*
 * System work queues: passive worker threads running queued items in
 * order. IoQueueWorkItem, ExQueueWorkItem and NDIS work items all land
 * here. Items are dequeued before they run, so a routine may queue its own
 * item again (the documented re-queue pattern).
 *
 * The pool grows when every worker is busy and items wait, as Windows adds
 * dynamic worker threads: a routine may block until another queued item has
 * run (NDIS's own restart work for NdisFRestartFilter pauses a module whose
 * FilterPause waits for the module's work item), and with a fixed pool of
 * busy workers that item would never run. Growth is decided under g_lock:
 * a new worker is started when the items waiting outnumber the idle workers
 * that will take them.
 */
#include "kernel.h"
#include "fault.h"
#include "verifier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 2      /* started at init */
#define MAX_WORKERS 32 /* the pool never grows beyond this */

struct work {
    void (*fn)(void *ctx);
    void *ctx;
    const char *module;
    const char *callback;
    struct emu_handoff from; /* who queued it */
    struct work *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static struct work *g_head, **g_tail = &g_head;
static uint64_t g_queued, g_finished;
static bool g_stop;
static unsigned g_nworkers, g_idle, g_waiting; /* workers; idle ones; items queued */
static pthread_t g_workers[MAX_WORKERS];

static void *worker(void *arg)
{
    (void)arg;
    ke_current_thread()->module = "ndisemu";
    ke_current_thread()->role = "a system worker";
    pthread_mutex_lock(&g_lock);
    for (;;) {
        struct work *w;
        struct emu_callctx ctx;
        while (!g_stop && g_head == NULL) {
            g_idle++;
            pthread_cond_wait(&g_wake, &g_lock);
            g_idle--;
        }
        if (g_head == NULL)
            break;
        w = g_head;
        g_waiting--;
        g_head = w->next;
        if (g_head == NULL)
            g_tail = &g_head;
        pthread_mutex_unlock(&g_lock);

        /* The pop checks the IRQL and spin locks the item returned with. */
        emu_callctx_push_from(&ctx, w->module, w->callback, w->ctx, &w->from);
        w->fn(w->ctx);
        emu_callctx_pop(&ctx);
        free(w);

        pthread_mutex_lock(&g_lock);
        g_finished++;
        pthread_cond_broadcast(&g_done);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

void ke_work_init(void)
{
    unsigned i;
    pthread_mutex_lock(&g_lock);
    g_stop = false;
    pthread_mutex_unlock(&g_lock);
    for (i = 0; i < WORKERS; i++)
        if (pthread_create(&g_workers[i], NULL, worker, NULL) == 0)
            g_nworkers = i + 1;
}

void ke_work_shutdown(void)
{
    unsigned i;
    pthread_mutex_lock(&g_lock);
    g_stop = true;
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_lock);
    for (i = 0; i < g_nworkers; i++)
        pthread_join(g_workers[i], NULL);
    g_nworkers = 0;
}

void emu_work_queue(void (*fn)(void *ctx), void *ctx, const char *module, const char *callback)
{
    struct work *w = malloc(sizeof(*w));
    if (w == NULL) {
        fprintf(stderr, "ndisemu: out of memory queueing a work item\n");
        abort();
    }
    if (emu_cpu_count() == 0)
        emu_kernel_init(2);
    w->fn = fn;
    w->ctx = ctx;
    w->module = module ? module : "ndisemu";
    w->callback = callback ? callback : "WorkItem";
    emu_handoff_capture(&w->from); /* the worker reads it after g_lock hands it w */
    w->next = NULL;
    pthread_mutex_lock(&g_lock);
    *g_tail = w;
    g_tail = &w->next;
    g_queued++;
    g_waiting++;
    if (g_waiting > g_idle && g_nworkers != 0 && g_nworkers < MAX_WORKERS && !g_stop &&
        pthread_create(&g_workers[g_nworkers], NULL, worker, NULL) == 0)
        g_nworkers++;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
}

void emu_work_drain(void)
{
    uint64_t target;
    pthread_mutex_lock(&g_lock);
    target = g_queued;
    while (g_finished < target && g_nworkers != 0)
        pthread_cond_wait(&g_done, &g_lock);
    pthread_mutex_unlock(&g_lock);
}

/* I/O work items. */
struct _IO_WORKITEM {
    PDEVICE_OBJECT device;
    PIO_WORKITEM_ROUTINE routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex;
    PVOID context;
    volatile LONG queued;
    const char *module;
};

#define IO_WORKITEM_TAG 0x6b576f49 /* 'kWoI' */

PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    if (emu_fault_should_fail("IoAllocateWorkItem", __builtin_return_address(0)))
        return NULL;
    struct _IO_WORKITEM *w;
    emu_irql_require_max("IoAllocateWorkItem", DISPATCH_LEVEL);
    w = emu_pool_alloc(sizeof(*w), IO_WORKITEM_TAG, true, __builtin_return_address(0));
    if (w)
        w->device = DeviceObject;
    return w;
}

VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    emu_irql_require_max("IoFreeWorkItem", DISPATCH_LEVEL);
    if (IoWorkItem->queued)
        emu_violation(EMU_RULE_STATE, NULL, NULL, "IoFreeWorkItem of a queued work item %p",
                      (void *)IoWorkItem);
    emu_pool_free(IoWorkItem, IO_WORKITEM_TAG, __builtin_return_address(0));
}

ULONG NTAPI IoSizeofWorkItem(void)
{
    return sizeof(struct _IO_WORKITEM);
}

static void run_io_item(void *arg)
{
    struct _IO_WORKITEM *w = arg;
    PIO_WORKITEM_ROUTINE routine = w->routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex = w->routine_ex;
    PVOID context = w->context;
    __atomic_store_n(&w->queued, 0, __ATOMIC_SEQ_CST);
    if (routine_ex)
        routine_ex(w->device, context, w);
    else
        routine(w->device, context);
}

static void queue_io(PIO_WORKITEM w, PIO_WORKITEM_ROUTINE r, PIO_WORKITEM_ROUTINE_EX rx,
                     PVOID Context, const void *fnaddr)
{
    emu_irql_require_max("IoQueueWorkItem", DISPATCH_LEVEL);
    if (InterlockedExchange(&w->queued, 1) != 0) {
        emu_violation(EMU_RULE_STATE, NULL, NULL,
                      "IoQueueWorkItem of work item %p that is already queued", (void *)w);
        return;
    }
    w->routine = r;
    w->routine_ex = rx;
    w->context = Context;
    w->module = emu_module_for_address(fnaddr);
    emu_work_queue(run_io_item, w, w->module, "IoWorkItemRoutine");
}

VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                           WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    (void)QueueType;
    queue_io(IoWorkItem, WorkerRoutine, NULL, Context, (const void *)WorkerRoutine);
}

VOID NTAPI IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                             WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    (void)QueueType;
    queue_io(IoWorkItem, NULL, WorkerRoutine, Context, (const void *)WorkerRoutine);
}

static void run_ex_item(void *arg)
{
    PWORK_QUEUE_ITEM item = arg;
    item->List.Flink = NULL;
    item->WorkerRoutine(item->Parameter);
}

VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    (void)QueueType;
    emu_irql_require_max("ExQueueWorkItem", DISPATCH_LEVEL);
    emu_work_queue(run_ex_item, WorkItem,
                   emu_module_for_address((const void *)WorkItem->WorkerRoutine), "WorkerRoutine");
}
