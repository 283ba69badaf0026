/*
 * The central claim of DESIGN.md ("The swap", 4.), shown deterministically:
 * a reader that is NOT a DPC -- a thread at PASSIVE_LEVEL that raised IRQL
 * to DISPATCH_LEVEL, as a protocol sending at PASSIVE_LEVEL does through
 * ReadEnter's R1 -- and that is inside its read section:
 *
 *   holds  (epoch):    keeps SET_CONFIG from completing until it lowers
 *                      IRQL, and the snapshot it holds is not freed meanwhile;
 *   frees  (flushdpc,  SET_CONFIG completes while it is still inside, and
 *           unsafe):   the snapshot it holds is already freed.
 *
 * usage: test_grace HOTLWF.so STRATEGY holds|frees
 * The expected outcome is an argument so that the same test shows it can
 * fail: `test_grace hotlwf.so flushdpc holds` must fail (and does).
 *
 * Why the reader calls the strategy's ReadEnter/ReadLeave itself instead of
 * sending through the stack: a real batch leaves its read section (R5)
 * before it hands the NBLs to NDIS, and nothing between R1 and R5 calls out
 * of hotlwf, so no host callback can stop a real send inside the section.
 * Calling the very functions FilterSendNetBufferLists calls, on a real
 * attached module, from a host thread that ndisemu sees at PASSIVE_LEVEL, is
 * the same reader with a controllable end. It is deterministic in both
 * directions: "holds" is observed only once the grace DPC is queued to the
 * reader's CPU (the writer has reached W3 and can go no further), and
 * "frees" only once the pool shows the reader's snapshot gone while the
 * reader still owns its CPU at DISPATCH_LEVEL. Neither is a timing guess;
 * the timeouts only bound how long a broken build takes to say so.
 *
 * "Freed" is read from ndisemu's pool accounting, not from a crash: the old
 * configuration is made much larger than the new one, so its release shows
 * as a drop of the driver's outstanding bytes that no other event explains.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "kernel.h"
#include "strategy.h"

#define BIG_RULES 256
#define MAX_SETS 256     /* unsafe frees 64 publishes late; bounded anyway */
#define HOLD_MS 300      /* how long "holds" must keep holding */
#define GIVE_UP_MS 20000 /* only a broken build waits this long */

static struct emu_driver *drv;
static const HL_STRATEGY *const *strategy_ptr; /* &HlStrategy in hotlwf.so */
static HL_GLOBALS *globals;                    /* &HlGlobal in hotlwf.so */
static uint8_t *small_blob;
static size_t small_len;
static size_t freed_threshold; /* outstanding bytes at or below this: the big snapshot is gone */

/* Reader <-> main handshake (host primitives: the reader must not lower IRQL to wait). */
static pthread_mutex_t hs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hs_cond = PTHREAD_COND_INITIALIZER;
static int reader_inside, reader_go;
static int reader_cpu = -1;
static struct hl_snapshot *reader_snapshot;
static atomic_int writer_sets, writer_done;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t pool_bytes(void)
{
    size_t bytes = 0;
    emu_pool_outstanding(drv, NULL, &bytes);
    return bytes;
}

static bool big_freed(void)
{
    return pool_bytes() <= freed_threshold;
}

static PHL_MODULE first_module(void)
{
    PLIST_ENTRY e = globals->ModuleList.Flink;
    return e == &globals->ModuleList ? NULL : CONTAINING_RECORD(e, HL_MODULE, Link);
}

static void *reader(void *arg)
{
    PHL_MODULE module = arg;
    HL_READ_CONTEXT ctx;

    /* A host thread is a PASSIVE_LEVEL system thread to ndisemu: a passive sender. */
    HLT_CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL, "reader starts at IRQL %u", KeGetCurrentIrql());
    memset(&ctx, 0, sizeof(ctx));
    (*strategy_ptr)->ReadEnter(module, FALSE, &ctx);

    pthread_mutex_lock(&hs_lock);
    reader_cpu = emu_cpu_current();
    reader_snapshot = ctx.Snapshot;
    reader_inside = 1;
    pthread_cond_broadcast(&hs_cond);
    while (!reader_go)
        pthread_cond_wait(&hs_cond, &hs_lock);
    pthread_mutex_unlock(&hs_lock);

    /* Still the same reader on the same CPU: whatever main saw happened while it was inside. */
    HLT_CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL && emu_cpu_current() == reader_cpu,
              "reader left DISPATCH_LEVEL / CPU %d early (IRQL %u, CPU %d)", reader_cpu,
              KeGetCurrentIrql(), emu_cpu_current());
    /* The snapshot is not touched here: under flushdpc it is already freed. */
    (*strategy_ptr)->ReadLeave(module, &ctx);
    HLT_CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL, "ReadLeave left IRQL %u", KeGetCurrentIrql());
    return NULL;
}

/* Replaces the big configuration until it is freed; a grace period that waits stops it at once. */
static void *writer(void *arg)
{
    struct hl_set_config_result r;
    (void)arg;
    for (int i = 0; i < MAX_SETS && !big_freed(); i++) {
        NTSTATUS st = hlt_set_config(small_blob, small_len, &r);
        HLT_CHECK(st == 0 && r.status == HL_OK, "SET_CONFIG: 0x%08x %d", (unsigned)st, r.status);
        atomic_fetch_add(&writer_sets, 1);
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

static uint8_t *big_config(size_t *len)
{
    static struct hlt_rule rules[BIG_RULES];
    static char exprs[BIG_RULES][32];
    for (unsigned i = 0; i < BIG_RULES; i++) {
        snprintf(exprs[i], sizeof(exprs[i]), "udp port %u", 10000 + i);
        rules[i] = (struct hlt_rule){HL_ACTION_PASS, HL_DIR_BOTH, exprs[i], {0}};
    }
    return hlt_blob(rules, BIG_RULES, HL_ACTION_PASS, len);
}

int main(int argc, char **argv)
{
    struct hl_set_config_result r;
    pthread_t rt, wt;
    size_t big_len, b_small, b_big;
    uint8_t *big_blob;
    bool expect_holds;
    const char *outcome = "neither";
    void *dl;

    if (argc < 4 || (strcmp(argv[3], "holds") != 0 && strcmp(argv[3], "frees") != 0)) {
        fprintf(stderr, "usage: %s HOTLWF.so STRATEGY holds|frees\n", argv[0]);
        return 2;
    }
    expect_holds = strcmp(argv[3], "holds") == 0;

    /* Two CPUs: the reader pins one, the writer and the other DPC thread keep the other. */
    drv = hlt_boot(2, argv[1], "hotlwf", argv[2]);
    dl = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    if (dl == NULL) {
        fprintf(stderr, "dlopen(NOLOAD) %s: %s\n", argv[1], dlerror());
        return 2;
    }
    strategy_ptr = dlsym(dl, "HlStrategy");
    globals = dlsym(dl, "HlGlobal");
    if (strategy_ptr == NULL || globals == NULL) {
        fprintf(stderr, "HlStrategy/HlGlobal not found in %s\n", argv[1]);
        return 2;
    }
    struct hlt_probe *probe = hlt_probe_create(0);
    PHL_MODULE module = first_module();
    HLT_CHECK(module != NULL && *strategy_ptr != NULL, "no module attached / no strategy");
    if (module == NULL || *strategy_ptr == NULL)
        return 1;

    small_blob = hlt_blob(NULL, 0, HL_ACTION_PASS, &small_len);
    big_blob = big_config(&big_len);

    /*
     * Fill any delayed-free ring (unsafe keeps the last 64 retired snapshots)
     * with small snapshots first, so that from here on every publish frees as
     * many bytes as it allocates except the one that frees the big snapshot.
     */
    for (int i = 0; i < 80; i++)
        HLT_CHECK(hlt_set_config(small_blob, small_len, &r) == 0 && r.status == HL_OK,
                  "warm-up SET_CONFIG");
    b_small = pool_bytes();
    HLT_CHECK(hlt_set_config(big_blob, big_len, &r) == 0 && r.status == HL_OK, "big SET_CONFIG");
    b_big = pool_bytes();
    HLT_CHECK(b_big > b_small + 4096, "big snapshot not big enough: %zu -> %zu bytes", b_small,
              b_big);
    /* Outstanding bytes can only fall to b_small if the big snapshot's bytes went back. */
    freed_threshold = b_small + (b_big - b_small) / 2;

    pthread_create(&rt, NULL, reader, module);
    pthread_mutex_lock(&hs_lock);
    while (!reader_inside)
        pthread_cond_wait(&hs_cond, &hs_lock);
    pthread_mutex_unlock(&hs_lock);
    HLT_CHECK(reader_snapshot == globals->Config.Pointer, "reader holds %p, running snapshot is %p",
              (void *)reader_snapshot, (void *)globals->Config.Pointer);
    HLT_CHECK(reader_cpu >= 0 && ke_cpu_owner((unsigned)reader_cpu) != NULL,
              "reader holds no CPU (%d)", reader_cpu);

    pthread_create(&wt, NULL, writer, NULL);

    uint64_t start = now_ms();
    while (now_ms() - start < GIVE_UP_MS) {
        if (big_freed() && atomic_load(&writer_sets) > 0) {
            outcome = "frees";
            break;
        }
        if (reader_cpu >= 0 && ke_dpc_pending((unsigned)reader_cpu)) {
            /*
             * A DPC is queued to the CPU the reader holds and cannot run there
             * until the reader lowers IRQL: the writer is in its grace period.
             * It must stay there, with the old snapshot alive, for as long as
             * the reader stays inside.
             */
            size_t sets_before = (size_t)atomic_load(&writer_sets);
            sleep_ms(HOLD_MS);
            HLT_CHECK(!big_freed(), "snapshot freed while its reader is inside (%zu bytes)",
                      pool_bytes());
            HLT_CHECK((size_t)atomic_load(&writer_sets) == sets_before &&
                          !atomic_load(&writer_done),
                      "SET_CONFIG completed while the reader is inside");
            outcome = "holds";
            break;
        }
        sleep_ms(1);
    }
    printf("%s: SET_CONFIGs completed while the reader was inside: %d; outcome: %s\n", argv[2],
           atomic_load(&writer_sets), outcome);
    if (expect_holds)
        HLT_CHECK(strcmp(outcome, "holds") == 0,
                  "%s: expected SET_CONFIG to wait for the raised reader, outcome %s", argv[2],
                  outcome);
    else
        HLT_CHECK(strcmp(outcome, "frees") == 0,
                  "%s: expected SET_CONFIG to complete and free under the raised reader, outcome "
                  "%s (an emulated KeFlushQueuedDpcs stronger than Windows'?)",
                  argv[2], outcome);

    pthread_mutex_lock(&hs_lock);
    reader_go = 1;
    pthread_cond_broadcast(&hs_cond);
    pthread_mutex_unlock(&hs_lock);
    pthread_join(rt, NULL);
    pthread_join(wt, NULL);

    /* Once the reader is gone every strategy must have completed and freed. */
    HLT_CHECK(atomic_load(&writer_sets) > 0 && big_freed(),
              "after the reader left: %d SET_CONFIGs, %zu bytes (freed at <= %zu)",
              atomic_load(&writer_sets), pool_bytes(), freed_threshold);

    hlt_probe_destroy(probe);
    free(small_blob);
    free(big_blob);
    dlclose(dl);
    hlt_shutdown(drv);
    printf("%ld checks, %d failed\n", (long)hlt_checks, (int)hlt_failures);
    return hlt_failures ? 1 : 0;
}
