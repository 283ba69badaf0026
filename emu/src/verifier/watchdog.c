/*
 * The watchdog (verifier.h): control operations, threads inside driver
 * callbacks, and emulated CPUs at DISPATCH_LEVEL, checked every 100 ms by
 * one thread that never waits on anything a driver can hold.
 *
 * Locks: g_wlock guards the watched operations, the list of thread records
 * and the handler; it is never held across a call out, and emu_violation
 * takes only the findings lock, never g_wlock. The handler runs without it.
 */
#define _GNU_SOURCE
#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 100000000ull
#define DEFAULT_LIMIT_MS 10000u
#define DEFAULT_DPC_LIMIT_MS 5000u

/*
 * Where one thread is: a seqlock the thread writes at every callback entry
 * and exit (odd while it writes) and the watchdog reads. The strings are the
 * callback context's, valid while the thread is inside that callback; the
 * watchdog copies them only once the same sequence number has stood for the
 * whole limit, i.e. while the thread is stuck in that very callback.
 */
struct thread_watch {
    _Atomic uint64_t seq;
    const char *_Atomic module;   /* innermost callback, or the last one left */
    const char *_Atomic callback;
    _Atomic unsigned depth;       /* callbacks this thread is inside */
    uint64_t nseq;                /* the thread's own copy of seq */
    struct ke_thread_info info;   /* fixed at registration */
    /* The watchdog thread's own bookkeeping (under g_wlock). */
    uint64_t seen_seq, seen_ns, seen_cpu_ns, reported_seq;
    struct thread_watch *next, *prev;
};

struct thread_view {
    uint64_t seq;
    const char *module, *callback;
    unsigned depth;
};

/* Per CPU, the watchdog's view of the current DISPATCH_LEVEL stretch. */
struct cpu_watch {
    uint64_t takes; /* 0: not held at the last tick */
    uint64_t wall0_ns, cpu0_ns;
    bool cpu0_ok, reported;
    uint64_t owner_seq; /* the holder's thread seq when the stretch was first seen */
    bool named;         /* module/callback: where a tick last saw the holder, inside */
    char module[96], callback[64];
};

static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wcv;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_tw_key;
static struct emu_watch g_watched = {.next = &g_watched, .prev = &g_watched};
static struct thread_watch g_threads = {.next = &g_threads, .prev = &g_threads};
static struct cpu_watch g_cpu[MAXIMUM_PROCESSORS];
static unsigned g_limit_ms = DEFAULT_LIMIT_MS;
static unsigned g_dpc_limit_ms = DEFAULT_DPC_LIMIT_MS;
static bool g_running, g_stop;
static pthread_t g_thread;
static void (*g_handler)(void *);
static void *g_handler_ctx;
static __thread struct thread_watch *tls_tw;

static void thread_watch_free(void *p)
{
    struct thread_watch *tw = p;
    pthread_mutex_lock(&g_wlock);
    tw->prev->next = tw->next;
    tw->next->prev = tw->prev;
    pthread_mutex_unlock(&g_wlock);
    tls_tw = NULL;
    free(tw);
}

static void once_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_wcv, &a);
    pthread_condattr_destroy(&a);
    pthread_key_create(&g_tw_key, thread_watch_free);
}

/* Once per thread, at its first callback: slow path. */
static struct thread_watch *thread_watch_self(void)
{
    struct thread_watch *tw = tls_tw;
    if (tw != NULL)
        return tw;
    pthread_once(&g_once, once_init);
    tw = calloc(1, sizeof(*tw));
    if (tw == NULL)
        return NULL; /* the thread goes unwatched; nothing else breaks */
    ke_thread_info(&tw->info);
    pthread_mutex_lock(&g_wlock);
    tw->next = &g_threads;
    tw->prev = g_threads.prev;
    g_threads.prev->next = tw;
    g_threads.prev = tw;
    pthread_mutex_unlock(&g_wlock);
    pthread_setspecific(g_tw_key, tw);
    tls_tw = tw;
    return tw;
}

static void thread_watch_write(struct thread_watch *tw, const char *module, const char *callback,
                               unsigned depth)
{
    uint64_t s = tw->nseq;
    atomic_store_explicit(&tw->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&tw->module, module, memory_order_relaxed);
    atomic_store_explicit(&tw->callback, callback, memory_order_relaxed);
    atomic_store_explicit(&tw->depth, depth, memory_order_relaxed);
    atomic_store_explicit(&tw->seq, s + 2, memory_order_release);
    tw->nseq = s + 2;
}

void emu_watch_thread_enter(const struct emu_callctx *c)
{
    struct thread_watch *tw = thread_watch_self();
    if (tw != NULL)
        thread_watch_write(tw, c->module, c->callback, tw->depth + 1);
}

void emu_watch_thread_leave(const struct emu_callctx *popped)
{
    struct thread_watch *tw = tls_tw;
    const struct emu_callctx *o = popped->outer;
    if (tw == NULL)
        return;
    if (o != NULL)
        thread_watch_write(tw, o->module, o->callback, tw->depth - 1);
    else
        thread_watch_write(tw, popped->module, popped->callback, 0);
}

static bool thread_view(struct thread_watch *tw, struct thread_view *v)
{
    uint64_t s1 = atomic_load_explicit(&tw->seq, memory_order_acquire);
    if (s1 % 2)
        return false;
    v->module = atomic_load_explicit(&tw->module, memory_order_relaxed);
    v->callback = atomic_load_explicit(&tw->callback, memory_order_relaxed);
    v->depth = atomic_load_explicit(&tw->depth, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    v->seq = s1;
    return atomic_load_explicit(&tw->seq, memory_order_relaxed) == s1;
}

/*
 * Copies the view's strings. They belong to the callback the thread is in
 * (a module's name lives while a callback of it runs), so they are read only
 * for a view inside a callback, and only trusted if the thread has not moved
 * while they were copied.
 */
static bool copy_names(struct thread_watch *tw, const struct thread_view *v, char *module,
                       size_t mn, char *callback, size_t cn)
{
    if (v->depth == 0)
        return false;
    snprintf(module, mn, "%s", v->module ? v->module : "-");
    snprintf(callback, cn, "%s", v->callback ? v->callback : "-");
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&tw->seq, memory_order_relaxed) == v->seq;
}

/* The CPU a thread holds at DISPATCH_LEVEL, or -1: compared by identity. */
static int cpu_of(const struct thread_watch *tw)
{
    struct ke_cpu_state cs;
    for (unsigned k = 0; k < emu_cpu_count(); k++)
        if (ke_cpu_state(k, &cs) && cs.owner == tw->info.id)
            return (int)k;
    return -1;
}

static struct thread_watch *thread_of(const void *id)
{
    for (struct thread_watch *tw = g_threads.next; tw != &g_threads; tw = tw->next)
        if (tw->info.id == id)
            return tw;
    return NULL;
}

/* "the DPC thread of CPU 1, at DISPATCH_LEVEL on CPU 1" */
static void describe(const struct thread_watch *tw, char *buf, size_t n)
{
    int k = cpu_of(tw);
    int w;
    if (tw->info.home_cpu >= 0)
        w = snprintf(buf, n, "%s of CPU %d", tw->info.role, tw->info.home_cpu);
    else
        w = snprintf(buf, n, "%s", tw->info.role);
    if (w < 0 || (size_t)w >= n)
        return;
    if (k >= 0)
        snprintf(buf + w, n - (size_t)w, ", at DISPATCH_LEVEL on CPU %d", k);
    else
        snprintf(buf + w, n - (size_t)w, ", below DISPATCH_LEVEL");
}

void emu_watch_begin(struct emu_watch *w, const char *operation, const char *module,
                     const char *callback)
{
    pthread_once(&g_once, once_init);
    w->operation = operation;
    w->module = module;
    w->callback = callback;
    w->start_ns = emu_now_ns();
    w->reported = false;
    w->thread = thread_watch_self();
    pthread_mutex_lock(&g_wlock);
    w->next = &g_watched;
    w->prev = g_watched.prev;
    g_watched.prev->next = w;
    g_watched.prev = w;
    pthread_mutex_unlock(&g_wlock);
}

void emu_watch_note(struct emu_watch *w, const char *callback)
{
    pthread_mutex_lock(&g_wlock);
    w->callback = callback;
    pthread_mutex_unlock(&g_wlock);
}

void emu_watch_end(struct emu_watch *w)
{
    pthread_mutex_lock(&g_wlock);
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->next = w->prev = w;
    pthread_mutex_unlock(&g_wlock);
}

static void default_handler(void *ctx)
{
    (void)ctx;
    emu_violations_print(stderr, false);
    fprintf(stderr, "ndisemu: deadlock: exiting with status %d\n", EMU_EXIT_DEADLOCK);
    _exit(EMU_EXIT_DEADLOCK);
}

void emu_set_deadlock_handler(void (*handler)(void *ctx), void *ctx)
{
    pthread_once(&g_once, once_init);
    pthread_mutex_lock(&g_wlock);
    g_handler = handler;
    g_handler_ctx = ctx;
    pthread_mutex_unlock(&g_wlock);
}

static unsigned long long ms_of(uint64_t ns)
{
    return (unsigned long long)(ns / 1000000u);
}

static uint64_t thread_cpu_ns(const struct thread_watch *tw)
{
    struct timespec ts;
    if (tw->info.clock == (clockid_t)-1 || clock_gettime(tw->info.clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A context stuck at DISPATCH_LEVEL past the wall-time limit is a DPC
 * watchdog case if it was running (spinning) and a deadlock if it was
 * blocked. A host too busy to give it the CPU time the DPC limit counts can
 * only slow a spinner down, never stop it, while a blocked context uses next
 * to none: 1/20 of the wall time tells them apart.
 */
static bool was_running(uint64_t cpu_ns, uint64_t wall_ns)
{
    return cpu_ns * 20 > wall_ns;
}

/* Control operations past the limit. Their threads are marked reported:
   the operation's finding already names where they are stuck. */
static unsigned check_operations(uint64_t now)
{
    unsigned found = 0;
    for (struct emu_watch *w = g_watched.next; w != &g_watched; w = w->next) {
        struct thread_watch *tw = w->thread;
        struct thread_view v;
        char where[96] = "";
        if (w->reported || now - w->start_ns <= (uint64_t)g_limit_ms * 1000000u)
            continue;
        w->reported = true;
        found++;
        if (tw != NULL && thread_view(tw, &v)) {
            tw->reported_seq = v.seq;
            describe(tw, where, sizeof(where));
        }
        emu_violation(EMU_RULE_DEADLOCK, w->module, w->callback,
                      "%s blocked for %llu ms (limit %u ms) in %s%s%s", w->operation,
                      ms_of(now - w->start_ns), g_limit_ms, w->callback ? w->callback : "-",
                      *where ? ", on " : "", where);
    }
    return found;
}

/* Threads inside one callback for longer than the limit. */
static unsigned check_threads(uint64_t now)
{
    unsigned found = 0;
    for (struct thread_watch *tw = g_threads.next; tw != &g_threads; tw = tw->next) {
        struct thread_view v;
        char where[96], module[96], callback[64];
        uint64_t cpu;
        if (!thread_view(tw, &v) || v.depth == 0) {
            tw->seen_seq = 0;
            continue;
        }
        if (v.seq != tw->seen_seq) {
            tw->seen_seq = v.seq;
            tw->seen_ns = now;
            tw->seen_cpu_ns = thread_cpu_ns(tw);
            continue;
        }
        if (tw->reported_seq == v.seq || now - tw->seen_ns <= (uint64_t)g_limit_ms * 1000000u)
            continue;
        /* A system thread's start routine runs for as long as its driver
           wants; what it calls into is watched like any callback. */
        if (!copy_names(tw, &v, module, sizeof(module), callback, sizeof(callback)) ||
            strcmp(callback, "SystemThread") == 0)
            continue;
        tw->reported_seq = v.seq;
        found++;
        describe(tw, where, sizeof(where));
        cpu = thread_cpu_ns(tw) - tw->seen_cpu_ns;
        if (cpu_of(tw) >= 0 && was_running(cpu, now - tw->seen_ns))
            emu_violation(EMU_RULE_DPC_WATCHDOG, module, callback,
                          "one call of %s has run at DISPATCH_LEVEL for %llu ms (limit %u ms), "
                          "%llu ms of it on a host CPU, on %s (0x133 parameter 0: single DPC "
                          "timeout)",
                          callback, ms_of(now - tw->seen_ns), g_limit_ms, ms_of(cpu), where);
        else
            emu_violation(EMU_RULE_DEADLOCK, module, callback,
                          "%s has not returned for %llu ms (limit %u ms), on %s", callback,
                          ms_of(now - tw->seen_ns), g_limit_ms, where);
    }
    return found;
}

/*
 * DISPATCH_LEVEL stretches. The CPU time of the holder, not wall time, is
 * what a stretch costs the emulated CPU: a host too busy to run the holder
 * only lengthens wall time, and that is never the driver's doing. It is
 * measured from the first tick that saw the stretch, so it is a lower
 * bound. One callback that spans the whole measured stretch is Windows'
 * single-DPC timeout (0x133 parameter 0); anything else, a DPC queue that
 * never drains or a thread that raised and never lowered, its cumulative
 * one (parameter 1). A holder that uses no CPU time yet keeps the CPU for
 * the deadlock limit is blocked at DISPATCH_LEVEL: a deadlock.
 */
static unsigned check_cpus(uint64_t now)
{
    unsigned found = 0;
    for (unsigned k = 0; k < emu_cpu_count() && k < MAXIMUM_PROCESSORS; k++) {
        struct cpu_watch *c = &g_cpu[k];
        struct ke_cpu_state cs;
        struct thread_watch *tw;
        struct thread_view v = {0};
        bool have_view, inside;
        char where[96] = "a thread ndisemu does not watch", in[128] = "";
        char module[sizeof(c->module)], callback[sizeof(c->callback)];
        if (!ke_cpu_state(k, &cs)) {
            c->takes = 0;
            continue;
        }
        tw = thread_of(cs.owner);
        have_view = tw != NULL && thread_view(tw, &v);
        if (cs.takes != c->takes)
            *c = (struct cpu_watch){.takes = cs.takes, .wall0_ns = now, .cpu0_ns = cs.cpu_ns,
                                    .cpu0_ok = cs.cpu_ns_ok, .owner_seq = have_view ? v.seq : 0};
        /* The stretch is named after the last driver callback a tick saw in
           it. ndisemu's own DPCs (the emulated miniport's, which yield:
           KeShouldYieldProcessor) may be what runs at the tick that finds
           the stretch too long, but what kept the CPU is the driver's. */
        inside = have_view && copy_names(tw, &v, module, sizeof(module), callback,
                                         sizeof(callback)) &&
                 strcmp(module, "ndisemu") != 0;
        if (inside) {
            memcpy(c->module, module, sizeof(c->module));
            memcpy(c->callback, callback, sizeof(c->callback));
            c->named = true;
        }
        if (c->wall0_ns == now || c->reported || (have_view && tw->reported_seq == v.seq))
            continue;
        if (tw != NULL)
            describe(tw, where, sizeof(where));
        if (c->named)
            snprintf(in, sizeof(in), ", %s %s of %s", inside ? "in" : "last seen in", c->callback,
                     c->module);
        if (c->cpu0_ok && cs.cpu_ns_ok &&
            cs.cpu_ns - c->cpu0_ns > (uint64_t)g_dpc_limit_ms * 1000000u) {
            c->reported = true;
            found++;
            if (inside && v.seq == c->owner_seq)
                emu_violation(EMU_RULE_DPC_WATCHDOG, c->module, c->callback,
                              "one call of %s ran at DISPATCH_LEVEL on CPU %u for %llu ms of "
                              "CPU time (limit %u ms), on %s (0x133 parameter 0: single DPC "
                              "timeout)",
                              c->callback, k, ms_of(cs.cpu_ns - c->cpu0_ns), g_dpc_limit_ms,
                              where);
            else
                emu_violation(EMU_RULE_DPC_WATCHDOG, c->named ? c->module : NULL,
                              c->named ? c->callback : NULL,
                              "CPU %u stayed at DISPATCH_LEVEL for %llu ms of CPU time without "
                              "dropping below it (limit %u ms), held by %s%s (0x133 parameter "
                              "1: cumulative DPC timeout)",
                              k, ms_of(cs.cpu_ns - c->cpu0_ns), g_dpc_limit_ms, where, in);
        } else if (now - c->wall0_ns > (uint64_t)g_limit_ms * 1000000u) {
            /* A holder still making progress is judged by its CPU time alone
               (the branch above): on a busy or sanitized host a CPU may sit
               at DISPATCH_LEVEL for long in wall time while its holder is
               starved of the host, which is no fault of the driver. Only a
               holder that is blocked is a deadlock. */
            uint64_t cpu = c->cpu0_ok && cs.cpu_ns_ok ? cs.cpu_ns - c->cpu0_ns : 0;
            if (was_running(cpu, now - c->wall0_ns))
                continue;
            c->reported = true;
            found++;
            emu_violation(EMU_RULE_DEADLOCK, c->named ? c->module : NULL,
                          c->named ? c->callback : NULL,
                          "CPU %u held at DISPATCH_LEVEL for %llu ms (limit %u ms) by %s%s, "
                          "which is blocked, not running",
                          k, ms_of(now - c->wall0_ns), g_limit_ms, where, in);
        }
    }
    return found;
}

/* For the person reading the report: every thread inside a driver. */
static void print_threads(void)
{
    bool any = false;
    for (struct thread_watch *tw = g_threads.next; tw != &g_threads; tw = tw->next) {
        struct thread_view v;
        char where[96], module[96], callback[64];
        if (!thread_view(tw, &v) ||
            !copy_names(tw, &v, module, sizeof(module), callback, sizeof(callback)))
            continue;
        describe(tw, where, sizeof(where));
        if (!any)
            fprintf(stderr, "ndisemu: threads inside driver callbacks when the watchdog fired:\n");
        any = true;
        fprintf(stderr, "  %s: %s of %s%s\n", where, callback, module,
                tw->seen_seq == v.seq ? "" : " (moving)");
    }
}

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_wlock);
    while (!g_stop) {
        struct timespec ts;
        uint64_t now = emu_now_ns(), wake = now + TICK_NS;
        unsigned found = check_operations(now);
        found += check_threads(now);
        found += check_cpus(now);
        if (found) {
            void (*h)(void *) = g_handler ? g_handler : default_handler;
            void *hctx = g_handler_ctx;
            print_threads();
            pthread_mutex_unlock(&g_wlock);
            h(hctx);
            pthread_mutex_lock(&g_wlock);
            continue;
        }
        ts.tv_sec = (time_t)(wake / 1000000000u);
        ts.tv_nsec = (long)(wake % 1000000000u);
        pthread_cond_timedwait(&g_wcv, &g_wlock, &ts);
    }
    pthread_mutex_unlock(&g_wlock);
    return NULL;
}

void emu_watchdog_start(unsigned limit_ms)
{
    pthread_once(&g_once, once_init);
    pthread_mutex_lock(&g_wlock);
    g_limit_ms = limit_ms ? limit_ms : DEFAULT_LIMIT_MS;
    if (!g_running) {
        g_stop = false;
        memset(g_cpu, 0, sizeof(g_cpu));
        if (pthread_create(&g_thread, NULL, watchdog, NULL) == 0)
            g_running = true;
    }
    pthread_mutex_unlock(&g_wlock);
}

void emu_watchdog_set_dpc_limit(unsigned limit_ms)
{
    pthread_once(&g_once, once_init);
    pthread_mutex_lock(&g_wlock);
    g_dpc_limit_ms = limit_ms ? limit_ms : DEFAULT_DPC_LIMIT_MS;
    ke_cpu_set_yield_after_ms(g_dpc_limit_ms / 10 ? g_dpc_limit_ms / 10 : 1);
    pthread_mutex_unlock(&g_wlock);
}

void emu_watchdog_stop(void)
{
    bool join;
    pthread_once(&g_once, once_init);
    pthread_mutex_lock(&g_wlock);
    join = g_running;
    g_stop = true;
    pthread_cond_broadcast(&g_wcv);
    pthread_mutex_unlock(&g_wlock);
    if (join)
        pthread_join(g_thread, NULL);
    pthread_mutex_lock(&g_wlock);
    g_running = false;
    pthread_mutex_unlock(&g_wlock);
}
