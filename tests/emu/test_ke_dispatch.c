/*
 * Dispatcher objects and waits: notification vs synchronization events,
 * relative and absolute timeouts, WaitAny / WaitAll, recursive mutexes,
 * semaphores, fast mutex exclusion, and the irql finding for a blocking
 * wait at DISPATCH_LEVEL (a zero-timeout poll there is legal).
 */
#include "ktest.h"

static FAST_MUTEX g_fm;
static long g_shared;
static long g_iters = 20000;

static void *setter(void *arg)
{
    kt_sleep_ms(50);
    KeSetEvent(arg, IO_NO_INCREMENT, FALSE);
    return NULL;
}

static void *fm_worker(void *arg)
{
    long i;
    (void)arg;
    for (i = 0; i < g_iters; i++) {
        ExAcquireFastMutex(&g_fm);
        CHECK(KeGetCurrentIrql() == APC_LEVEL);
        g_shared++;
        ExReleaseFastMutex(&g_fm);
    }
    return NULL;
}

static void *mutex_other(void *arg)
{
    LARGE_INTEGER poll = {.QuadPart = 0};
    /* Owned by the main thread: not available to us. */
    CHECK(KeWaitForSingleObject(arg, Executive, KernelMode, FALSE, &poll) == STATUS_TIMEOUT);
    return NULL;
}

int main(int argc, char **argv)
{
    KEVENT ne, se;
    KMUTEX m;
    KSEMAPHORE s;
    LARGE_INTEGER t;
    pthread_t th[4];
    PVOID objs[2];
    uint64_t t0;
    int i;
    if (kt_stress(argc, argv))
        g_iters = 300000;
    emu_kernel_init(2);

    /* Relative timeout on an unsignalled event. */
    KeInitializeEvent(&ne, NotificationEvent, FALSE);
    t.QuadPart = -50 * 10000LL; /* 50 ms */
    t0 = emu_now_ns();
    CHECK(KeWaitForSingleObject(&ne, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
    CHECK(emu_now_ns() - t0 >= 45000000ull);
    /* Absolute timeout in the past: immediate. */
    KeQuerySystemTime(&t);
    t.QuadPart -= 10000000;
    CHECK(KeWaitForSingleObject(&ne, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
    /* Absolute timeout 30 ms ahead. */
    KeQuerySystemTime(&t);
    t.QuadPart += 30 * 10000LL;
    t0 = emu_now_ns();
    CHECK(KeWaitForSingleObject(&ne, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
    CHECK(emu_now_ns() - t0 >= 25000000ull);

    /* Signalled from another thread; a notification event stays signalled. */
    CHECK(pthread_create(&th[0], NULL, setter, &ne) == 0);
    CHECK(KeWaitForSingleObject(&ne, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
    pthread_join(th[0], NULL);
    CHECK(KeReadStateEvent(&ne) == 1);
    t.QuadPart = 0;
    CHECK(KeWaitForSingleObject(&ne, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS);
    CHECK(KeResetEvent(&ne) == 1 && KeReadStateEvent(&ne) == 0);

    /* A synchronization event satisfies one wait and resets. */
    KeInitializeEvent(&se, SynchronizationEvent, TRUE);
    CHECK(KeWaitForSingleObject(&se, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS);
    CHECK(KeWaitForSingleObject(&se, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);

    /* WaitAny reports the index; WaitAll needs both. */
    objs[0] = &ne;
    objs[1] = &se;
    KeSetEvent(&se, 0, FALSE);
    CHECK(KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, &t, NULL) ==
          STATUS_WAIT_0 + 1);
    KeSetEvent(&se, 0, FALSE);
    CHECK(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &t, NULL) ==
          STATUS_TIMEOUT);
    CHECK(KeReadStateEvent(&se) == 1); /* a failed WaitAll consumes nothing */
    KeSetEvent(&ne, 0, FALSE);
    CHECK(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &t, NULL) ==
          STATUS_SUCCESS);
    CHECK(KeReadStateEvent(&se) == 0 && KeReadStateEvent(&ne) == 1);

    /* KMUTEX: recursive for its owner, unavailable to others. */
    KeInitializeMutex(&m, 0);
    CHECK(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
    CHECK(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
    CHECK(pthread_create(&th[0], NULL, mutex_other, &m) == 0);
    pthread_join(th[0], NULL);
    KeReleaseMutex(&m, FALSE);
    CHECK(KeReadStateMutex(&m) == 0);
    KeReleaseMutex(&m, FALSE);
    CHECK(KeReadStateMutex(&m) == 1);
    CHECK(emu_violation_count() == 0);
    KeReleaseMutex(&m, FALSE); /* not owned: lock-misuse */
    kt_expect_only(EMU_RULE_LOCK_MISUSE, 1);
    emu_violations_reset();

    /* Semaphore counts. */
    KeInitializeSemaphore(&s, 0, 2);
    CHECK(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
    CHECK(KeReleaseSemaphore(&s, 0, 2, FALSE) == 0);
    CHECK(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS);
    CHECK(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS);
    CHECK(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);

    /* Fast mutex under contention. */
    ExInitializeFastMutex(&g_fm);
    for (i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, fm_worker, NULL) == 0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(g_shared == 4 * g_iters);
    CHECK(ExTryToAcquireFastMutex(&g_fm));
    ExReleaseFastMutex(&g_fm);

    /* KeDelayExecutionThread sleeps at least as asked. */
    t.QuadPart = -20 * 10000LL;
    t0 = emu_now_ns();
    CHECK(KeDelayExecutionThread(KernelMode, FALSE, &t) == STATUS_SUCCESS);
    CHECK(emu_now_ns() - t0 >= 19000000ull);
    CHECK(emu_violation_count() == 0);

    /* At DISPATCH_LEVEL: polling is legal, a timed wait is an irql finding. */
    {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        t.QuadPart = 0;
        CHECK(KeWaitForSingleObject(&se, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
        CHECK(emu_violation_count() == 0);
        t.QuadPart = -10000; /* 1 ms */
        CHECK(KeWaitForSingleObject(&se, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT);
        KeLowerIrql(old);
    }
    kt_expect_only(EMU_RULE_IRQL, 1);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
