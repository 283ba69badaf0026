/*
 * Emulated CPUs and IRQL (the usersim model).
 *
 * IRQL is a property of the calling thread. Each emulated CPU is a mutex:
 * a thread that raises from below DISPATCH_LEVEL to DISPATCH_LEVEL or above
 * takes one and keeps it until it lowers below DISPATCH_LEVEL. Hence at any
 * moment at most one context runs at DISPATCH_LEVEL on a CPU, and a CPU's
 * DPC thread (ke_dpc.c), which runs DPCs holding that same mutex, cannot run
 * a DPC there while another context is at DISPATCH_LEVEL on it. That is the
 * property a DPC-based grace period relies on: once a DPC has run on CPU k,
 * every DISPATCH_LEVEL section that was running on CPU k has ended.
 *
 * Below DISPATCH_LEVEL a thread holds no CPU (it could be preempted and
 * migrate on Windows too); its "current processor" is the last one it held.
 */
#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct emu_cpu {
    pthread_mutex_t lock;
    struct _KTHREAD *_Atomic owner; /* checked, never trusted: exclusivity self-test */
    atomic_uint waiters;            /* raising threads blocked on this CPU (ke_cpu_wanted) */
    /* For the watchdog (ke_cpu_state): bumped by every take and every give,
       so odd = held, and an unchanged count = one unbroken stretch; the
       holder's CPU-time clock. Written by the holder only. */
    _Atomic uint64_t takes;
    _Atomic clockid_t clock;
    /* For KeShouldYieldProcessor: the stretch (takes) its first call saw,
       and the holder's CPU time then. Only the holder reads or writes them,
       so the CPU's mutex orders them between successive holders. */
    uint64_t yield_takes, yield_from_ns;
} DECLSPEC_CACHEALIGN;

static struct emu_cpu g_cpus[MAXIMUM_PROCESSORS];
static _Atomic uint64_t g_yield_after_ns = KE_YIELD_AFTER_MS_DEFAULT * 1000000ull;
static _Atomic unsigned g_ncpus;
static _Atomic unsigned g_next_home;
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_exit_key;

static __thread struct _KTHREAD *tls_thread;
static __thread struct _KTHREAD tls_thread_storage;

/* A host thread that ends while holding a CPU would leave it locked forever. */
static void thread_exit_check(void *p)
{
    struct _KTHREAD *t = p;
    if (t->cpu >= 0) {
        emu_violation(EMU_RULE_IRQL, t->module, NULL, "thread exited at IRQL %u holding CPU %d",
                      t->irql, t->cpu);
        t->in_dpc = false;
        ke_cpu_give(t);
    }
    t->irql = PASSIVE_LEVEL;
}

static void make_key(void)
{
    pthread_key_create(&g_exit_key, thread_exit_check);
}

unsigned emu_cpu_count(void)
{
    return g_ncpus;
}

static void ensure_init(void)
{
    if (g_ncpus == 0)
        emu_kernel_init(2);
}

void ke_thread_adopt(struct _KTHREAD *t)
{
    pthread_once(&g_key_once, make_key);
    if (g_ncpus)
        t->last_cpu = (int)(g_next_home++ % g_ncpus);
    t->cpu = -1;
    if (pthread_getcpuclockid(pthread_self(), &t->clock) != 0)
        t->clock = (clockid_t)-1;
    tls_thread = t;
    pthread_setspecific(g_exit_key, t);
}

void ke_thread_forget(void)
{
    pthread_setspecific(g_exit_key, NULL);
    tls_thread = NULL;
}

struct _KTHREAD *ke_current_thread(void)
{
    struct _KTHREAD *t = tls_thread;
    if (__builtin_expect(t != NULL, 1))
        return t;
    t = &tls_thread_storage;
    t->Header.Type = EMU_OBJ_THREAD;
    InitializeListHead(&t->Header.WaitListHead);
    t->irql = PASSIVE_LEVEL;
    ke_thread_adopt(t);
    return t;
}

int emu_cpu_current(void)
{
    return ke_current_thread()->cpu;
}

void ke_cpu_take(struct _KTHREAD *t)
{
    unsigned n, k, i;
    ensure_init();
    n = g_ncpus;
    k = (unsigned)t->last_cpu % n;
    if (t->pinned) {
        pthread_mutex_lock(&g_cpus[k].lock);
    } else if (pthread_mutex_trylock(&g_cpus[k].lock) != 0) {
        for (i = 1; i < n; i++) {
            unsigned c = (k + i) % n;
            if (pthread_mutex_trylock(&g_cpus[c].lock) == 0) {
                k = c;
                break;
            }
        }
        if (i == n) {
            atomic_fetch_add(&g_cpus[k].waiters, 1);
            pthread_mutex_lock(&g_cpus[k].lock);
            atomic_fetch_sub(&g_cpus[k].waiters, 1);
        }
    }
    if (atomic_load(&g_cpus[k].owner) != NULL) {
        fprintf(stderr, "ndisemu: internal error: CPU %u given to two contexts\n", k);
        abort();
    }
    atomic_store(&g_cpus[k].owner, t);
    atomic_store(&g_cpus[k].clock, t->clock);
    atomic_store(&g_cpus[k].takes, atomic_load_explicit(&g_cpus[k].takes, memory_order_relaxed) + 1);
    t->cpu = (int)k;
    t->last_cpu = (int)k;
}

void ke_cpu_give(struct _KTHREAD *t)
{
    int k = t->cpu;
    int spins;
    atomic_store(&g_cpus[k].takes, atomic_load_explicit(&g_cpus[k].takes, memory_order_relaxed) + 1);
    atomic_store(&g_cpus[k].owner, NULL);
    t->cpu = -1;
    pthread_mutex_unlock(&g_cpus[k].lock);
    /*
     * On Windows, DPCs queued on a CPU run as soon as its IRQL drops below
     * DISPATCH_LEVEL. A host mutex is not fair, so a thread that raises and
     * lowers in a loop could keep retaking the CPU ahead of the DPC thread
     * waiting for it; yielding while DPCs are pending hands it over.
     */
    if (!t->pinned)
        for (spins = 0; spins < 64 && ke_dpc_pending((unsigned)k); spins++)
            sched_yield();
}

/*
 * A DPC thread draining a queue that refills as fast as it drains (an
 * unpaced receive DPC) would otherwise keep its CPU for good, and a passive
 * thread blocked in KeRaiseIrql on every CPU would never send: Windows'
 * scheduler would run it on some CPU between two DPCs. So a DPC thread asks
 * this after each DPC and, while a raiser waits, hands the CPU over between
 * two DPCs (ke_dpc.c). Any interleaving at a DPC boundary is one Windows
 * allows, since a DPC routine runs whole.
 */
bool ke_cpu_wanted(unsigned k)
{
    return atomic_load_explicit(&g_cpus[k].waiters, memory_order_relaxed) != 0;
}

/* After ke_cpu_give by a DPC thread: lets a waiting raiser take CPU k first. */
void ke_cpu_hand_over(unsigned k)
{
    for (int spins = 0; spins < 1000 && ke_cpu_wanted(k) && atomic_load(&g_cpus[k].owner) == NULL;
         spins++)
        sched_yield();
}

/* A clock's reading in ns; false if there is no such clock (-1) or it fails. */
static bool clock_ns(clockid_t clk, uint64_t *ns)
{
    struct timespec ts;
    if (clk == (clockid_t)-1 || clock_gettime(clk, &ts) != 0)
        return false;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return true;
}

/*
 * KeShouldYieldProcessor: TRUE once the DISPATCH_LEVEL stretch the caller is
 * in (one unbroken hold of its CPU: a DPC queue drained back to back, or a
 * raised thread) has used g_yield_after_ns of the caller's CPU time, counted
 * from the first call in that stretch. The DPC watchdog (verifier/watchdog.c)
 * judges the same stretch by the same clock, and the advice comes at a tenth
 * of its limit, so a loop that yields when told never meets it; the emulated
 * miniport's receive DPC does (hosts/host_miniport.c). Without a CPU-time
 * clock, wall time stands in: it only ever advises a yield earlier. Below
 * DISPATCH_LEVEL there is no stretch to break: FALSE.
 */
LOGICAL NTAPI KeShouldYieldProcessor(void)
{
    struct _KTHREAD *t = ke_current_thread();
    struct emu_cpu *c;
    uint64_t takes, now = 0;
    if (t->cpu < 0)
        return FALSE;
    c = &g_cpus[t->cpu];
    takes = atomic_load_explicit(&c->takes, memory_order_relaxed);
    if (!clock_ns(t->clock, &now))
        clock_ns(CLOCK_MONOTONIC, &now);
    if (c->yield_takes != takes) {
        c->yield_takes = takes;
        c->yield_from_ns = now;
        return FALSE;
    }
    return now - c->yield_from_ns >= atomic_load_explicit(&g_yield_after_ns, memory_order_relaxed);
}

void ke_cpu_set_yield_after_ms(unsigned ms)
{
    atomic_store(&g_yield_after_ns, (uint64_t)ms * 1000000u);
}

/*
 * The watchdog's view of CPU k, taken without the CPU's lock. Between two
 * reads of the same odd count no take or give happened (the count only
 * grows), and owner and clock were stored before that count, so they are
 * the holder's of that one stretch and the CPU time was read while it held
 * the CPU.
 */
bool ke_cpu_state(unsigned k, struct ke_cpu_state *out)
{
    uint64_t t1;
    if (k >= g_ncpus)
        return false;
    t1 = atomic_load(&g_cpus[k].takes);
    if (t1 % 2 == 0)
        return false;
    out->owner = atomic_load(&g_cpus[k].owner);
    out->cpu_ns = 0;
    out->cpu_ns_ok = clock_ns(atomic_load(&g_cpus[k].clock), &out->cpu_ns);
    out->takes = t1;
    return atomic_load(&g_cpus[k].takes) == t1;
}

void ke_thread_info(struct ke_thread_info *out)
{
    struct _KTHREAD *t = ke_current_thread();
    out->id = t;
    out->role = t->role ? t->role : "an ndisemu thread";
    out->home_cpu = t->pinned ? t->last_cpu : -1;
    out->clock = t->clock;
}

static const char *irql_name(KIRQL l, char *buf, size_t n)
{
    static const char *const names[] = {"PASSIVE_LEVEL", "APC_LEVEL", "DISPATCH_LEVEL"};
    if (l < 3)
        return names[l];
    snprintf(buf, n, "IRQL %u", l);
    return buf;
}

void ke_callback_enter(struct emu_callctx *c)
{
    struct _KTHREAD *t = ke_current_thread();
    c->irql = t->irql;
    c->spinlocks = t->spinlocks;
}

/*
 * Every callback is entered and left through emu_callctx_push/pop, so this
 * is the one IRQL-on-return check for all of them (attach to DriverUnload).
 * A DPC thread cannot get here below DISPATCH_LEVEL (KeLowerIrql refuses it
 * inside a DPC), so restoring never has to take a CPU for it.
 */
void ke_callback_return(const struct emu_callctx *c)
{
    struct _KTHREAD *t = ke_current_thread();
    char b1[16], b2[16];
    if (__builtin_expect(t->irql == c->irql && t->spinlocks == c->spinlocks, 1))
        return;
    if (t->spinlocks > c->spinlocks && emu_verifier_enabled())
        emu_violation(EMU_RULE_IRQL, c->module, c->callback,
                      "returned holding %u spin lock(s) it acquired, at %s, called at %s",
                      t->spinlocks - c->spinlocks, irql_name(t->irql, b1, sizeof(b1)),
                      irql_name(c->irql, b2, sizeof(b2)));
    else if (t->irql != c->irql && emu_verifier_enabled())
        emu_violation(EMU_RULE_IRQL, c->module, c->callback, "returned at %s, called at %s",
                      irql_name(t->irql, b1, sizeof(b1)), irql_name(c->irql, b2, sizeof(b2)));
    /* Reported once: the callers further out did not take these locks. */
    t->spinlocks = c->spinlocks;
    if (t->irql > c->irql)
        KeLowerIrql(c->irql);
    else if (t->irql < c->irql)
        KfRaiseIrql(c->irql);
}

struct _KTHREAD *ke_cpu_owner(unsigned k)
{
    return k < g_ncpus ? atomic_load(&g_cpus[k].owner) : NULL;
}

void emu_kernel_init(unsigned ncpus)
{
    unsigned i;
    pthread_mutex_lock(&g_init_lock);
    if (g_ncpus == 0) {
        if (ncpus == 0)
            ncpus = 1;
        if (ncpus > MAXIMUM_PROCESSORS)
            ncpus = MAXIMUM_PROCESSORS;
        for (i = 0; i < ncpus; i++)
            pthread_mutex_init(&g_cpus[i].lock, NULL);
        g_ncpus = ncpus;
        ke_dpc_init(ncpus);
        ke_work_init();
        ke_timer_start();
    }
    pthread_mutex_unlock(&g_init_lock);
}

void emu_kernel_shutdown(void)
{
    pthread_mutex_lock(&g_init_lock);
    if (g_ncpus != 0) {
        ke_timer_stop();
        ke_work_shutdown();
        ke_dpc_shutdown();
        g_ncpus = 0;
    }
    pthread_mutex_unlock(&g_init_lock);
}

KIRQL NTAPI KeGetCurrentIrql(void)
{
    return ke_current_thread()->irql;
}

KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql)
{
    struct _KTHREAD *t = ke_current_thread();
    KIRQL old = t->irql;
    if (NewIrql < old) {
        emu_violation(EMU_RULE_IRQL, NULL, NULL, "KeRaiseIrql to %u below the current IRQL %u",
                      NewIrql, old);
        return old;
    }
    if (old < DISPATCH_LEVEL && NewIrql >= DISPATCH_LEVEL)
        ke_cpu_take(t);
    t->irql = NewIrql;
    return old;
}

VOID NTAPI KeLowerIrql(KIRQL NewIrql)
{
    struct _KTHREAD *t = ke_current_thread();
    KIRQL old = t->irql;
    if (NewIrql > old) {
        emu_violation(EMU_RULE_IRQL, NULL, NULL, "KeLowerIrql to %u above the current IRQL %u",
                      NewIrql, old);
        return;
    }
    if (old >= DISPATCH_LEVEL && NewIrql < DISPATCH_LEVEL) {
        if (t->in_dpc) {
            emu_violation(EMU_RULE_IRQL, NULL, NULL,
                          "KeLowerIrql to %u inside a DPC routine (must stay at DISPATCH_LEVEL)",
                          NewIrql);
            return;
        }
        ke_cpu_give(t);
    }
    t->irql = NewIrql;
}

KIRQL NTAPI KeRaiseIrqlToDpcLevel(void)
{
    return KfRaiseIrql(DISPATCH_LEVEL);
}

KIRQL NTAPI KeRaiseIrqlToSynchLevel(void)
{
    return KfRaiseIrql(12);
}

void emu_irql_require_max(const char *api, KIRQL max)
{
    KIRQL now = ke_current_thread()->irql;
    if (now > max && emu_verifier_enabled())
        emu_violation(EMU_RULE_IRQL, NULL, NULL, "%s called at IRQL %u (maximum %u)", api, now,
                      max);
}

void emu_irql_require(const char *api, KIRQL exact)
{
    KIRQL now = ke_current_thread()->irql;
    if (now != exact && emu_verifier_enabled())
        emu_violation(EMU_RULE_IRQL, NULL, NULL, "%s called at IRQL %u (must be %u)", api, now,
                      exact);
}

ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    ensure_init();
    return (GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS) ? g_ncpus : 0;
}

ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber)
{
    return KeQueryActiveProcessorCountEx(GroupNumber);
}

ULONG NTAPI KeQueryMaximumProcessorCount(void)
{
    return KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
}

USHORT NTAPI KeQueryActiveGroupCount(void)
{
    return 1;
}

KAFFINITY NTAPI KeQueryActiveProcessors(void)
{
    ULONG n = KeQueryActiveProcessorCountEx(0);
    return n >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << n) - 1);
}

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    if (ActiveProcessors)
        *ActiveProcessors = KeQueryActiveProcessors();
    return KeQueryActiveProcessorCountEx(0);
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    struct _KTHREAD *t = ke_current_thread();
    int k = t->cpu >= 0 ? t->cpu : t->last_cpu;
    if (ProcNumber) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)k;
        ProcNumber->Reserved = 0;
    }
    return (ULONG)k;
}

ULONG NTAPI KeGetCurrentProcessorNumber(void)
{
    return KeGetCurrentProcessorNumberEx(NULL);
}

NTSTATUS NTAPI KeGetProcessorNumberFromIndex(ULONG ProcIndex, PPROCESSOR_NUMBER ProcNumber)
{
    if (ProcIndex >= KeQueryActiveProcessorCountEx(0))
        return STATUS_INVALID_PARAMETER;
    ProcNumber->Group = 0;
    ProcNumber->Number = (UCHAR)ProcIndex;
    ProcNumber->Reserved = 0;
    return STATUS_SUCCESS;
}

ULONG NTAPI KeGetProcessorIndexFromNumber(PPROCESSOR_NUMBER ProcNumber)
{
    if (ProcNumber->Group != 0 || ProcNumber->Number >= KeQueryActiveProcessorCountEx(0))
        return 0xffffffffu; /* INVALID_PROCESSOR_INDEX */
    return ProcNumber->Number;
}
