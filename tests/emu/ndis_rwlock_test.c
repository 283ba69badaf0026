/*
 * NDIS_RW_LOCK_EX: readers on different CPUs run together, a writer runs
 * alone. The protected pair (a, b) is read and written with plain accesses,
 * so under ThreadSanitizer a reader overlapping a writer is a reported race,
 * not just a wrong sum. Also: nested reads, NDIS_RWL_AT_DISPATCH_LEVEL, and
 * the lock-misuse finding for a write acquisition inside a read section.
 *
 * argv[1] = seconds to run (default 1: the unit tier; the stress tier passes more).
 */
#include "ndis_test_util.h"

#include <pthread.h>
#include <time.h>

static PNDIS_RW_LOCK_EX lock;
static long a, b;
static _Atomic long inside, max_inside, writes, reads;
static _Atomic bool stop;

static void spin_us(unsigned us)
{
    uint64_t end = emu_now_ns() + us * 1000ull;
    while (emu_now_ns() < end)
        YieldProcessor();
}

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        LOCK_STATE_EX st;
        NdisAcquireRWLockRead(lock, &st, 0);
        long n = atomic_fetch_add(&inside, 1) + 1;
        long m = atomic_load(&max_inside);
        while (n > m && !atomic_compare_exchange_weak(&max_inside, &m, n))
            ;
        CHECK(a == b);
        /* Nested read on the same CPU while a writer may be waiting. */
        LOCK_STATE_EX st2;
        NdisAcquireRWLockRead(lock, &st2, NDIS_RWL_AT_DISPATCH_LEVEL);
        CHECK(a == b);
        NdisReleaseRWLock(lock, &st2);
        spin_us(20);
        atomic_fetch_sub(&inside, 1);
        NdisReleaseRWLock(lock, &st);
        atomic_fetch_add(&reads, 1);
        CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        LOCK_STATE_EX st;
        NdisAcquireRWLockWrite(lock, &st, 0);
        CHECK(atomic_load(&inside) == 0);
        a++;
        spin_us(5);
        b++;
        NdisReleaseRWLock(lock, &st);
        atomic_fetch_add(&writes, 1);
        spin_us(50);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    emu_kernel_init(2);
    lock = NdisAllocateRWLock(NULL);
    CHECK(lock != NULL);

    pthread_t r[3], w;
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, reader, NULL);
    pthread_create(&w, NULL, writer, NULL);
    struct timespec ts = {secs, 0};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    pthread_join(w, NULL);
    CHECK(a == b && a == atomic_load(&writes));
    CHECK(atomic_load(&writes) > 0 && atomic_load(&reads) > 0);
    /* Two emulated CPUs: two readers must have been inside together. */
    CHECK(atomic_load(&max_inside) >= 2);
    fprintf(stderr, "rwlock: %ld reads, %ld writes, max %ld readers together\n",
            atomic_load(&reads), atomic_load(&writes), atomic_load(&max_inside));

    /* Write inside a read section on the same CPU deadlocks on Windows. */
    emu_violations_reset();
    LOCK_STATE_EX rs, ws;
    NdisAcquireRWLockRead(lock, &rs, 0);
    NdisAcquireRWLockWrite(lock, &ws, NDIS_RWL_AT_DISPATCH_LEVEL);
    CHECK_RULE(EMU_RULE_LOCK_MISUSE, 1);
    NdisReleaseRWLock(lock, &ws);
    NdisReleaseRWLock(lock, &rs);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);

    NdisFreeRWLock(lock);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_rwlock_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
