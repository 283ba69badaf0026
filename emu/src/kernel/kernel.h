/*
 * ndisemu's kernel layer (ke_*.c): emulated CPUs and IRQL, DPCs, dispatcher
 * objects, spin locks, pool, threads, rundown protection and the driver
 * loader. The first part is the interface for the rest of ndisemu; the part
 * marked "internal" is shared among ke_*.c only.
 */
#ifndef NDISEMU_KERNEL_H
#define NDISEMU_KERNEL_H

#include <wdm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* N emulated CPUs (1..64), each with a DPC thread; also starts the worker
   threads of the system work queues. Idempotent per process until shutdown. */
void emu_kernel_init(unsigned ncpus);
void emu_kernel_shutdown(void);
unsigned emu_cpu_count(void);

struct emu_driver;
/* dlopen + DRIVER_OBJECT + DriverEntry. NULL with a message in err on failure. */
struct emu_driver *emu_driver_load(const char *path, char *err, size_t errlen);
/* DriverUnload, pool-leak check of this driver's allocations, dlclose. */
NTSTATUS emu_driver_unload(struct emu_driver *d);
/* unload + load the same file again; d stays valid (same object). */
NTSTATUS emu_driver_reload(struct emu_driver *d);
const char *emu_driver_name(const struct emu_driver *d); /* file base name without .so */
PDRIVER_OBJECT emu_driver_object(struct emu_driver *d);
struct emu_driver *emu_driver_from_object(PDRIVER_OBJECT o);
/* The loaded driver whose code contains addr (a return address, a callback
   pointer), or NULL for ndisemu's own code. */
struct emu_driver *emu_driver_for_address(const void *addr);
/* Its name, or "ndisemu". */
const char *emu_module_for_address(const void *addr);

/* --param NAME=VALUE for one driver (or every driver when driver is NULL). */
bool emu_param_set(const char *driver, const char *name, const char *value); /* false: out of memory */
const char *emu_param_get(const char *driver, const char *name);

/* IRQL check from an API entry: an `irql` finding naming api if violated. */
void emu_irql_require_max(const char *api, KIRQL max);
void emu_irql_require(const char *api, KIRQL exact);

/*
 * Pool for the rest of ndisemu (NdisAllocateMemoryWithTagPriority...):
 * accounted exactly as ExAllocatePoolWithTag would, to the driver containing
 * `caller` (pass __builtin_return_address(0) of the exported API).
 * emu_pool_free checks the tag unless it is 0.
 */
void *emu_pool_alloc(size_t n, ULONG tag, bool zero, void *caller);
void emu_pool_free(void *p, ULONG tag, void *caller);
/* A busy-wait of us microseconds for the API named; stall-too-long past 50. */
void emu_stall(const char *api, ULONG us, void *caller);
/* pool-zero-tag: a finding naming api if tag is 0 (caller as above). */
void emu_pool_check_tag(const char *api, ULONG tag, void *caller);
/* Bytes/allocations outstanding for a driver (NULL = ndisemu itself). */
void emu_pool_outstanding(const struct emu_driver *d, size_t *count, size_t *bytes);

/* The CPU the calling thread holds at DISPATCH_LEVEL, or -1 below it. */
int emu_cpu_current(void);
/*
 * Callback boundaries: emu_callctx_push/pop (verifier.c) call these around
 * every call into driver code, so the check below exists once for every kind
 * of callback. enter notes the caller's IRQL and the spin locks its thread
 * holds; ret reports an `irql` finding naming the callback if it returned at
 * another IRQL or holding a spin lock it acquired, then puts the caller's
 * IRQL back (a bugcheck on Windows; here the report, and ndisemu goes on).
 */
struct emu_callctx;
void ke_callback_enter(struct emu_callctx *c);
void ke_callback_return(const struct emu_callctx *c);

/*
 * For the watchdog (verifier/watchdog.c). A thread's identity is only ever
 * compared, never dereferenced, by the watchdog thread: a system thread's
 * object may be freed while it looks.
 */
struct ke_thread_info {
    const void *id;   /* the calling thread's kernel identity */
    const char *role; /* "the DPC thread", "a system worker", "a system thread",
                         "an ndisemu thread" (a host's, the controlling one...) */
    int home_cpu;     /* a DPC thread's CPU, else -1 */
    clockid_t clock;  /* its CPU-time clock */
};
void ke_thread_info(struct ke_thread_info *out);
/* CPU k at DISPATCH_LEVEL: which context holds it (owner, compared only),
   the count of takes so far (a new stretch has a new count) and, if
   cpu_ns_ok, the holder's CPU time in ns, read consistently with both.
   false if nobody holds CPU k. */
struct ke_cpu_state {
    uint64_t takes;
    const void *owner;
    uint64_t cpu_ns;
    bool cpu_ns_ok;
};
bool ke_cpu_state(unsigned k, struct ke_cpu_state *out);
/* When KeShouldYieldProcessor starts advising a yield: CPU time of one
   DISPATCH_LEVEL stretch (the watchdog sets a tenth of its DPC limit). */
#define KE_YIELD_AFTER_MS_DEFAULT 500u
void ke_cpu_set_yield_after_ms(unsigned ms);

/* Run fn(ctx) at PASSIVE_LEVEL on a system worker thread, under a callback
   context (module, callback). Used by IoQueueWorkItem and NDIS work items. */
void emu_work_queue(void (*fn)(void *ctx), void *ctx, const char *module, const char *callback);
/* Wait until every work item queued so far has run. */
void emu_work_drain(void);

/*
 * The system timer queue (ke_timer.c). A timer is set up once, armed with a
 * KeSetTimer-style due time (negative: relative, 100 ns) and a period in ms
 * (0: one-shot); when it expires, the timer thread calls expire(t, arg)
 * with the timer lock held (the hook queues a DPC; it must not block). A
 * periodic timer stays armed. arm / disarm / remove return whether it was
 * armed (in the queue) just before; after remove, the timer thread never
 * touches t again. Owned by the driver whose code is at `caller`.
 */
struct ke_timer {
    void (*expire)(struct ke_timer *t, PVOID arg);
    const struct emu_driver *drv;
    uint64_t due, period; /* interrupt time, 100 ns; under the timer lock */
    PVOID arg;
    bool armed;
    struct ke_timer *next, *prev;
};
void ke_timer_setup(struct ke_timer *t, void (*expire)(struct ke_timer *t, PVOID arg),
                    const void *caller);
bool ke_timer_arm(struct ke_timer *t, LONGLONG due_time, ULONG period_ms, PVOID arg);
bool ke_timer_disarm(struct ke_timer *t);
bool ke_timer_remove(struct ke_timer *t);
/* After DriverUnload: timer-not-cancelled for the driver's armed timers. */
void ke_timer_check_unload(const struct emu_driver *d, const char *name);

/* ---- internal to ke_*.c ---- */
void ke_timer_start(void);
void ke_timer_stop(void);

/* A thread's kernel identity: one per host thread, created on first use. */
struct _KTHREAD {
    DISPATCHER_HEADER Header; /* signalled when a system thread exits */
    volatile LONG refs;       /* object references (system threads only) */
    bool system;              /* created by PsCreateSystemThread */
    KIRQL irql;
    int cpu;      /* CPU held at DISPATCH_LEVEL, -1 if none */
    int last_cpu; /* where it last ran at DISPATCH (its "current processor") */
    bool in_dpc;  /* a DPC thread while it runs DPC routines */
    bool pinned;  /* a DPC thread: takes exactly last_cpu */
    unsigned apc_disable;
    void (*start)(void *);
    void *start_ctx;
    const char *module;
    const char *role;   /* ke_thread_info(); NULL: "an ndisemu thread" */
    unsigned spinlocks; /* spin locks this context acquired and holds */
    clockid_t clock;    /* this host thread's CPU-time clock */
};
struct _KTHREAD *ke_current_thread(void);
/* Make t the calling thread's identity (a new system thread's first act). */
void ke_thread_adopt(struct _KTHREAD *t);
/* Detach the calling thread from its identity before that object is freed. */
void ke_thread_forget(void);

/* Called by ke_cpu.c when a thread takes / leaves a CPU. */
void ke_cpu_take(struct _KTHREAD *t);
void ke_cpu_give(struct _KTHREAD *t);
/* Which context holds CPU k at DISPATCH_LEVEL (NULL if none): a self-test hook. */
struct _KTHREAD *ke_cpu_owner(unsigned k);
bool ke_cpu_wanted(unsigned k);    /* a raiser is blocked on CPU k */
void ke_cpu_hand_over(unsigned k); /* DPC thread, CPU k just given: let the raiser in */
void ke_dpc_init(unsigned ncpus);
void ke_dpc_shutdown(void);
/* Pending DPCs on cpu: the CPU's next owner should be its DPC thread. */
bool ke_dpc_pending(unsigned cpu);
/* Verifier hook: unqueues a queued DPC whose KDPC lies in [lo, lo + n), or NULL. */
PKDPC ke_dpc_unqueue_in(const void *lo, size_t n);
void ke_work_init(void);
void ke_work_shutdown(void);
/* The dispatcher lock and the one condition every waiter sleeps on. */
void ke_dispatcher_lock(void);
void ke_dispatcher_unlock(void);
void ke_dispatcher_broadcast(void); /* call with the lock held */
/* Pool-leak check at unload: one finding per tag still allocated. */
void ke_pool_check_driver(struct emu_driver *d, const char *name);
/* A pool tag as poolmon shows it: its bytes in memory order. */
void emu_tag_text(ULONG tag, char out[5]);
/* thread-at-unload: the driver's system threads still running; the count. */
unsigned ke_thread_check_unload(const struct emu_driver *d, const char *name);
void ke_loader_shutdown(void);
uint64_t ke_interrupt_time_100ns(void);

/*
 * Called after a driver's DriverUnload returns, while its image is still
 * mapped, with the driver object and name: the NDIS layer sets it (at the
 * first NdisFRegisterFilterDriver) to check that the driver deregistered
 * what it registered. One hook; setting it again replaces it.
 */
void ke_set_unload_check(void (*check)(PDRIVER_OBJECT obj, const char *name));

#endif
