/*
 * Spin locks: mutual exclusion under contention (more threads than CPUs,
 * plain and in-stack queued forms), the IRQL they hold, and the verifier's
 * lock-misuse and irql findings. A recursive acquire must abort (it would
 * hang the CPU on Windows): checked in a child process.
 */
#include "ktest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static KSPIN_LOCK g_lock;
static long g_counter; /* plain: only the lock protects it */
static long g_iters = 20000;

static void *worker(void *arg)
{
    long i;
    bool queued = arg != NULL;
    for (i = 0; i < g_iters; i++) {
        if (queued) {
            KLOCK_QUEUE_HANDLE h;
            KeAcquireInStackQueuedSpinLock(&g_lock, &h);
            CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL);
            g_counter++;
            KeReleaseInStackQueuedSpinLock(&h);
        } else {
            KIRQL old;
            KeAcquireSpinLock(&g_lock, &old);
            g_counter++;
            KeReleaseSpinLock(&g_lock, old);
        }
        CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    }
    return NULL;
}

static void *release_other(void *arg)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeReleaseSpinLockFromDpcLevel(arg);
    KeLowerIrql(old);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[6];
    KIRQL old;
    int i, status;
    pid_t pid;
    if (kt_stress(argc, argv))
        g_iters = 400000;

    /* Recursion, in a child before any thread exists. */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        KSPIN_LOCK l;
        KIRQL o;
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        KeInitializeSpinLock(&l);
        KeAcquireSpinLock(&l, &o);
        KeAcquireSpinLockAtDpcLevel(&l);
        _exit(0); /* not reached */
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

    emu_kernel_init(2);
    KeInitializeSpinLock(&g_lock);
    for (i = 0; i < 6; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (i & 1) ? (void *)1 : NULL) == 0);
    for (i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    CHECK(g_counter == 6 * g_iters);
    CHECK(KeTestSpinLock(&g_lock));
    CHECK(emu_violation_count() == 0);

    /* Try-acquire sees a held lock. */
    KeAcquireSpinLock(&g_lock, &old);
    CHECK(!KeTestSpinLock(&g_lock));
    KeReleaseSpinLock(&g_lock, old);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(KeTryToAcquireSpinLockAtDpcLevel(&g_lock));
    CHECK(!KeTryToAcquireSpinLockAtDpcLevel(&g_lock));
    KeReleaseSpinLockFromDpcLevel(&g_lock);
    KeLowerIrql(old);
    CHECK(emu_violation_count() == 0);

    /* lock-misuse: release of a free lock; release by another thread. */
    KeAcquireSpinLock(&g_lock, &old);
    KeReleaseSpinLock(&g_lock, old);
    KeAcquireSpinLock(&g_lock, &old);
    KeReleaseSpinLockFromDpcLevel(&g_lock);
    KeReleaseSpinLockFromDpcLevel(&g_lock);
    KeLowerIrql(old);
    kt_expect_only(EMU_RULE_LOCK_MISUSE, 1);
    emu_violations_reset();
    KeAcquireSpinLock(&g_lock, &old);
    KeLowerIrql(old); /* hand the CPU back while the lock stays held */
    CHECK(pthread_create(&th[0], NULL, release_other, &g_lock) == 0);
    pthread_join(th[0], NULL);
    kt_expect_only(EMU_RULE_LOCK_MISUSE, 1);
    CHECK(KeTestSpinLock(&g_lock));
    emu_violations_reset();

    /* irql: the AtDpcLevel forms below DISPATCH_LEVEL. */
    KeAcquireSpinLockAtDpcLevel(&g_lock);
    KeReleaseSpinLockFromDpcLevel(&g_lock);
    kt_expect_only(EMU_RULE_IRQL, 2);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
