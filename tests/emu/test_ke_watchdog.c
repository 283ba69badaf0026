/*
 * The watchdog names a deliberately stuck operation (module and the
 * callback it is blocked in, as updated by emu_watch_note), exactly once,
 * and leaves operations that finish in time alone. A custom deadlock
 * handler stands in for the default _exit().
 */
#include "ktest.h"

static atomic_int g_handled;

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
    /* Restartable. */
    emu_watchdog_start(0);
    emu_watchdog_stop();
    printf("ok\n");
    return 0;
}
