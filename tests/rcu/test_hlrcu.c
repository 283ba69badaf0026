/*
 * rcu/hlrcu.c on ndisemu's kernel: the contract of each call, checked.
 *   publish      returns the old pointer, bumps the generation, one grace period
 *   holds        HlRcuPublish does not return while a raised PASSIVE reader
 *                (the case KeFlushQueuedDpcs misses) is inside its section
 *   cache        HlRcuCacheIsStale: stale once per generation, with the new pointer
 *   deferred     HlRcuFreeDeferred from DISPATCH_LEVEL: nothing freed while a
 *                reader that could see it is open; every head freed once; the
 *                batch shares its grace periods (at most 2 for 100 frees)
 * Checks that a broken mechanism could pass by luck only in one direction
 * (a wait that should block is observed for a while): none can fail a correct one.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hlrcu.h"
#include "kernel.h"
#include "verifier.h"

#define CHECK(e)                                                                                   \
    do {                                                                                           \
        if (!(e)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #e);                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define NFREES 100

static HLRCU Rcu;
static int A, B, C;
static atomic_int reader_in, reader_release, publish_done;
static PVOID publish_old;

struct item {
    HLRCU_HEAD Head;
    atomic_int freed;
};
static struct item items[NFREES];
static atomic_int freed_total;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A protocol sending at PASSIVE_LEVEL: HlRcuReadEnter raises, the section stays open. */
static void *passive_reader(void *arg)
{
    HLRCU_READ Read;
    (void)arg;
    HlRcuReadEnter(&Read, FALSE);
    CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL);
    CHECK(HlRcuDereference(&Rcu) != NULL);
    atomic_store(&reader_in, 1);
    while (!atomic_load(&reader_release))
        ; /* at DISPATCH_LEVEL: spinning is what a section does */
    HlRcuReadLeave(&Read);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    return NULL;
}

static void *publisher(void *arg)
{
    publish_old = HlRcuPublish(&Rcu, arg);
    atomic_store(&publish_done, 1);
    return NULL;
}

static VOID free_item(PHLRCU_HEAD Head)
{
    struct item *it = CONTAINING_RECORD(Head, struct item, Head);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    CHECK(atomic_fetch_add(&it->freed, 1) == 0);
    atomic_fetch_add(&freed_total, 1);
}

static void start_reader(pthread_t *t)
{
    atomic_store(&reader_in, 0);
    atomic_store(&reader_release, 0);
    pthread_create(t, NULL, passive_reader, NULL);
    while (!atomic_load(&reader_in))
        sleep_ms(1);
}

int main(void)
{
    pthread_t r, w;
    HLRCU_CACHE Cache = {0};
    HLRCU_READ Read;
    PVOID Current = NULL;
    LONG64 g0;

    emu_kernel_init(3);
    CHECK(NT_SUCCESS(HlRcuInitialize(&Rcu, &A, 5, 'tRlH')));
    CHECK(NT_SUCCESS(HlRcuEnableDeferredFree(&Rcu, (NDIS_HANDLE)&Rcu)));
    g0 = HlRcuGeneration(&Rcu);
    CHECK(g0 == 5);

    /* publish */
    CHECK(HlRcuPublish(&Rcu, &B) == &A);
    CHECK(HlRcuGeneration(&Rcu) == g0 + 1 && Rcu.GracePeriods == 1);

    /* holds */
    start_reader(&r);
    pthread_create(&w, NULL, publisher, &C);
    sleep_ms(100);
    CHECK(!atomic_load(&publish_done)); /* the reader may still hold &B */
    atomic_store(&reader_release, 1);
    pthread_join(r, NULL);
    pthread_join(w, NULL);
    CHECK(publish_old == &B && HlRcuGeneration(&Rcu) == g0 + 2);

    /* cache */
    HlRcuReadEnter(&Read, FALSE);
    CHECK(HlRcuCacheIsStale(&Rcu, &Cache, &Current) && Current == &C);
    CHECK(!HlRcuCacheIsStale(&Rcu, &Cache, &Current));
    CHECK(HlRcuExchange(&Rcu, &A) == &C); /* a writer at DISPATCH_LEVEL */
    CHECK(HlRcuCacheIsStale(&Rcu, &Cache, &Current) && Current == &A);
    CHECK(Cache.Generation == (ULONG64)g0 + 3);
    HlRcuReadLeave(&Read);

    /* deferred */
    LONG64 graces = Rcu.GracePeriods;
    start_reader(&r);
    HlRcuReadEnter(&Read, FALSE);
    for (unsigned i = 0; i < NFREES; i++)
        HlRcuFreeDeferred(&Rcu, &items[i].Head, free_item);
    HlRcuReadLeave(&Read);
    sleep_ms(100);
    CHECK(atomic_load(&freed_total) == 0); /* the open section may hold any of them */
    atomic_store(&reader_release, 1);
    pthread_join(r, NULL);
    CHECK(HlRcuUninitialize(&Rcu) == &A); /* waits for the deferred work */
    CHECK(atomic_load(&freed_total) == NFREES);
    printf("deferred: %d frees, %lld grace period(s)\n", NFREES,
           (long long)(Rcu.GracePeriods - graces));
    CHECK(Rcu.GracePeriods - graces >= 1 && Rcu.GracePeriods - graces <= 2);

    CHECK(emu_violation_count() == 0);
    emu_kernel_shutdown();
    printf("hlrcu: ok\n");
    return 0;
}
