/*
 * The system timer queue. An armed ke_timer expires at its due time on
 * ndisemu's timer thread, which calls the timer's expire hook (the NDIS
 * timer object queues its DPC there, so a timer callback is a DPC like any
 * other: DISPATCH_LEVEL, on an emulated CPU, under the DPC watchdog). A
 * periodic timer is armed again for its next period as it expires, so it
 * stays set until cancelled, as on Windows.
 *
 * Every field a timer's state is made of (due, period, arg, armed, the
 * list) is read and written under g_lock only, and the expire hook runs
 * under it too. So "armed" has one answer at any moment: arm, disarm and
 * remove each see the timer either still queued (and take it off, the
 * hook not having run for that expiry) or already expired (the hook ran,
 * whole). ke_timer_remove unlinks the timer under the lock, so once it
 * returns the timer thread never touches that memory again.
 *
 * Lock order: g_lock, then what the expire hook takes (a DPC queue's
 * lock). Nothing takes g_lock while holding a DPC queue's lock, and no
 * driver code runs under it.
 */
#include "kernel.h"
#include "verifier.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake;
static struct ke_timer g_list = {.next = &g_list, .prev = &g_list};
static pthread_t g_thread;
static bool g_running, g_stop;

static void unlink_timer(struct ke_timer *t)
{
    if (t->next != NULL) {
        t->prev->next = t->next;
        t->next->prev = t->prev;
        t->next = t->prev = NULL;
    }
}

void ke_timer_setup(struct ke_timer *t, void (*expire)(struct ke_timer *t, PVOID arg),
                    const void *caller)
{
    t->expire = expire;
    t->drv = emu_driver_for_address(caller);
    t->armed = false;
    pthread_mutex_lock(&g_lock);
    t->next = &g_list;
    t->prev = g_list.prev;
    g_list.prev->next = t;
    g_list.prev = t;
    pthread_mutex_unlock(&g_lock);
}

/* DueTime as KeSetTimer reads it: negative is relative, in 100 ns; positive
   is an absolute system time, which becomes interrupt time here. */
static uint64_t due_of(LONGLONG due_time)
{
    uint64_t now = ke_interrupt_time_100ns();
    if (due_time < 0)
        return now + (uint64_t)(-due_time);
    LARGE_INTEGER sys;
    KeQuerySystemTime(&sys);
    return due_time > sys.QuadPart ? now + (uint64_t)(due_time - sys.QuadPart) : now;
}

bool ke_timer_arm(struct ke_timer *t, LONGLONG due_time, ULONG period_ms, PVOID arg)
{
    uint64_t due = due_of(due_time);
    bool was;
    pthread_mutex_lock(&g_lock);
    was = t->armed;
    t->due = due;
    t->period = (uint64_t)period_ms * 10000u;
    t->arg = arg;
    t->armed = t->next != NULL;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
    return was;
}

bool ke_timer_disarm(struct ke_timer *t)
{
    bool was;
    pthread_mutex_lock(&g_lock);
    was = t->armed;
    t->armed = false;
    pthread_mutex_unlock(&g_lock);
    return was;
}

bool ke_timer_remove(struct ke_timer *t)
{
    bool was;
    pthread_mutex_lock(&g_lock);
    was = t->armed;
    t->armed = false;
    unlink_timer(t);
    pthread_mutex_unlock(&g_lock);
    return was;
}

/*
 * timer-not-cancelled at unload: called after DriverUnload returned and
 * before the DPC queues are flushed, while the image is still mapped. A
 * timer of this driver still armed then was set and neither cancelled nor
 * (one-shot) expired, which the driver could have known: it set it and
 * never saw NdisCancelTimerObject succeed or the callback run (SDV's
 * CancelTimerObject: every timer cancelled when the driver is done). It is
 * disarmed, so it cannot fire into an unmapped image, and every timer of
 * the driver is unlinked (one never freed is a resource-leak, reported by
 * its kind).
 */
void ke_timer_check_unload(const struct emu_driver *d, const char *name)
{
    unsigned set = 0, periodic = 0;
    struct ke_timer *t, *n;
    if (d == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    for (t = g_list.next; t != &g_list; t = n) {
        n = t->next;
        if (t->drv != d)
            continue;
        if (t->armed) {
            set++;
            periodic += t->period != 0;
        }
        t->armed = false;
        unlink_timer(t);
    }
    pthread_mutex_unlock(&g_lock);
    if (set != 0)
        emu_violation(EMU_RULE_TIMER_NOT_CANCELLED, name, "DriverUnload",
                      "%u timer(s) still set when the driver unloaded (%u periodic); ndisemu "
                      "cancelled them (on Windows the callback would run in an unloaded image)",
                      set, periodic);
}

static void *timer_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_lock);
    while (!g_stop) {
        struct ke_timer *first = NULL, *t;
        for (t = g_list.next; t != &g_list; t = t->next)
            if (t->armed && (first == NULL || t->due < first->due))
                first = t;
        if (first == NULL) {
            pthread_cond_wait(&g_wake, &g_lock);
            continue;
        }
        uint64_t now = ke_interrupt_time_100ns();
        if (first->due > now) {
            uint64_t ns = first->due * 100u;
            struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                                  .tv_nsec = (long)(ns % 1000000000u)};
            pthread_cond_timedwait(&g_wake, &g_lock, &ts);
            continue;
        }
        if (first->period != 0) {
            first->due += first->period;
            if (first->due <= now) /* the thread was late: no burst of catch-up expiries */
                first->due = now + first->period;
        } else {
            first->armed = false;
        }
        first->expire(first, first->arg);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

void ke_timer_start(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_wake, &a);
    pthread_condattr_destroy(&a);
    g_stop = false;
    if (pthread_create(&g_thread, NULL, timer_thread, NULL) != 0) {
        fprintf(stderr, "ndisemu: cannot start the timer thread\n");
        abort();
    }
    g_running = true;
}

void ke_timer_stop(void)
{
    if (!g_running)
        return;
    pthread_mutex_lock(&g_lock);
    g_stop = true;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
    pthread_join(g_thread, NULL);
    pthread_cond_destroy(&g_wake);
    g_running = false;
}
