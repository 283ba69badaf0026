/*
 * The watchdog names a deliberately stuck operation (module and the
 * callback it is blocked in, as updated by emu_watch_note), exactly once,
 * and leaves operations that finish in time alone. Then the watches of
 * threads and CPUs: a callback that does not return, a CPU held by a
 * blocked context, a CPU kept at DISPATCH_LEVEL by a spinning one. A
 * custom deadlock handler stands in for the default _exit().
 */
#include "ktest.h"

static atomic_int g_handled;
static atomic_bool g_release;

enum stuck_kind { IN_CALLBACK, AT_DISPATCH_BLOCKED, AT_DISPATCH_SPINNING };

static void *stuck_thread(void *arg)
{
    enum stuck_kind kind = (enum stuck_kind)(intptr_t)arg;
    struct emu_callctx c;
    KIRQL old = PASSIVE_LEVEL;
    if (kind == IN_CALLBACK)
        emu_callctx_push(&c, "drv#0@adapter0", "FilterSendNetBufferLists", NULL);
    else
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    while (!atomic_load(&g_release))
        if (kind != AT_DISPATCH_SPINNING)
            kt_sleep_ms(5);
    if (kind == IN_CALLBACK)
        emu_callctx_pop(&c);
    else
        KeLowerIrql(old);
    return NULL;
}

/* Runs one stuck thread until the watchdog has reported it once. */
static void provoke(enum stuck_kind kind, int handled_before)
{
    pthread_t th;
    atomic_store(&g_release, false);
    CHECK(pthread_create(&th, NULL, stuck_thread, (void *)(intptr_t)kind) == 0);
    CHECK(WAIT_UNTIL(atomic_load(&g_handled) == handled_before + 1, 60000));
    atomic_store(&g_release, true);
    pthread_join(th, NULL);
}

static bool reported(const char *text)
{
    char buf[8192];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    emu_violations_print(f, false);
    fclose(f);
    return strstr(buf, text) != NULL;
}

static void on_deadlock(void *ctx)
{
    CHECK(ctx == (void *)&g_handled);
    atomic_fetch_add(&g_handled, 1);
}

int main(void)
{
    struct emu_watch quick, stuck;
    char buf[2048];
    FILE *f;
    emu_set_deadlock_handler(on_deadlock, &g_handled);
    emu_watchdog_start(300);

    emu_watch_begin(&quick, "pause", "hotlwf#1@adapter0", "FilterPause");
    kt_sleep_ms(50);
    emu_watch_end(&quick);

    emu_watch_begin(&stuck, "detach", "broken#0@adapter1", "FilterPause");
    emu_watch_note(&stuck, "FilterDetach");
    CHECK(WAIT_UNTIL(atomic_load(&g_handled) == 1, 5000));
    kt_sleep_ms(400); /* reported once, not every tick */
    CHECK(atomic_load(&g_handled) == 1);
    emu_watch_end(&stuck);
    emu_watchdog_stop();

    kt_expect_only(EMU_RULE_DEADLOCK, 1);
    f = fmemopen(buf, sizeof(buf), "w");
    emu_violations_print(f, false);
    fclose(f);
    CHECK(strstr(buf, "VIOLATION [deadlock] module=broken#0@adapter1 callback=FilterDetach: "
                      "detach blocked for") != NULL);

    /* Threads and CPUs. The DPC limit is CPU time: the spinner is given a
       wall-time limit long enough for 200 ms of CPU on a very busy host. */
    emu_kernel_init(2);
    emu_violations_reset();
    emu_watchdog_set_dpc_limit(200);
    emu_watchdog_start(300);
    provoke(IN_CALLBACK, 1);
    CHECK(reported("VIOLATION [deadlock] module=drv#0@adapter0 callback=FilterSendNetBufferLists: "
                   "FilterSendNetBufferLists has not returned for"));
    provoke(AT_DISPATCH_BLOCKED, 2);
    CHECK(reported("which is blocked, not running"));
    kt_expect_only(EMU_RULE_DEADLOCK, 2);
    emu_watchdog_stop();
    emu_watchdog_start(60000);
    provoke(AT_DISPATCH_SPINNING, 3);
    CHECK(reported("VIOLATION [dpc-watchdog]") && reported("0x133 parameter 1"));
    CHECK(emu_violation_count_rule(EMU_RULE_DPC_WATCHDOG) == 1 && emu_violation_count() == 3);
    emu_watchdog_stop();
    emu_watchdog_set_dpc_limit(0);
    emu_kernel_shutdown();
    /* Restartable. */
    emu_watchdog_start(0);
    emu_watchdog_stop();
    printf("ok\n");
    return 0;
}
