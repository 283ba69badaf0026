/*
 * ndisemu's verifier: the one place findings are reported, the per-thread
 * record of which driver callback is running (so a finding names its
 * culprit), and the watchdog that turns a blocked control operation into a
 * `deadlock` finding instead of a hang.
 *
 * Every part of ndisemu reports through emu_violation(); nothing else prints
 * findings. Rule ids are a stable, documented set (docs/verifier.md).
 */
#ifndef NDISEMU_VERIFIER_H
#define NDISEMU_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"

/* EMU_RULE_NBL_LEAK, ...: one per line of EMU_RULES (rules.h). */
enum emu_rule {
#define EMU_RULE_ENUM(name, id, windows, what) EMU_RULE_##name,
    EMU_RULES(EMU_RULE_ENUM)
#undef EMU_RULE_ENUM
    EMU_RULE_COUNT
};

/* rules.c: the table behind the report. */
const char *emu_rule_id(enum emu_rule rule);
const char *emu_rule_windows(enum emu_rule rule);
const char *emu_rule_description(enum emu_rule rule);


/*
 * Records one finding. module and callback may be NULL: the current callback
 * context (below) then supplies them. Thread-safe, callable at any emulated
 * IRQL; it never blocks on anything a driver could hold.
 */
void emu_violation(enum emu_rule rule, const char *module, const char *callback, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Bookkeeping switch: off for benchmarks (DESIGN.md "Measuring"). On by default. */
bool emu_verifier_enabled(void);
void emu_verifier_set_enabled(bool on);

size_t emu_violation_count(void);
size_t emu_violation_count_rule(enum emu_rule rule);
/*
 * Human-readable lines, or a JSON array of the kept findings, each
 * {rule, windows, module, callback, message}. Kept: the first
 * EMU_KEEP_PER_RULE findings of each rule (so a flood of one rule never
 * hides another); every finding is counted.
 */
#define EMU_KEEP_PER_RULE 50
void emu_violations_print(FILE *f, bool json);
/*
 * JSON object with one member per rule that has findings:
 * "rule-id": {"total": N, "kept": K, "windows": "...", "description": "..."}.
 */
void emu_violations_print_totals(FILE *f);
void emu_violations_reset(void);

/*
 * Callback context: pushed by ndisemu around every call into driver code
 * (FilterPause, FilterReceiveNetBufferLists, a DPC routine, a work item,
 * DriverEntry...), popped when it returns. Thread-local, nests.
 * `party` is ndisemu's own object for the caller (a filter module, ...).
 */
struct emu_handoff; /* <wdm/ke.h> */
struct emu_callctx {
    const char *module;   /* "hotlwf#1@adapter0", or the driver name */
    const char *callback; /* "FilterPause" */
    void *party;
    uint64_t cookie;      /* free for the pusher, e.g. the module's run epoch */
    uint64_t start_ns;    /* when the decision chain of this thread's outermost
                             context began: its start, or for a DPC or work item
                             the queuer's start_ns (emu_now_ns; 0 while the
                             verifier is off) */
    const struct emu_handoff *from; /* outermost only: who queued this routine */
    unsigned char irql;   /* the caller's IRQL and spin locks: checked on return */
    unsigned spinlocks;
    struct emu_callctx *outer;
};
void emu_callctx_push(struct emu_callctx *c, const char *module, const char *callback, void *party);
/*
 * A hand-off: the queueing of a DPC (KeInsertQueueDpc) or a work item
 * happens before its routine runs, so the routine can act on whatever the
 * queueing context decided. emu_handoff_capture records, at a successful
 * queueing, the current context's nearest frames and start_ns (nothing while
 * the verifier is off); emu_callctx_push_from pushes the routine's context
 * as if it were nested in them (ndis_verify_state.c says what that excuses).
 */
void emu_handoff_capture(struct emu_handoff *h);
void emu_callctx_push_from(struct emu_callctx *c, const char *module, const char *callback,
                           void *party, const struct emu_handoff *from);
void emu_callctx_pop(struct emu_callctx *c);
const struct emu_callctx *emu_callctx_current(void);

/*
 * Watchdog (watchdog.c): nothing that a driver can block or spin in runs
 * unwatched. It checks, every 100 ms:
 *  - control operations (Attach, Pause, Restart, Detach, unload, IOCTL,
 *    deregistration), watched from emu_watch_begin to emu_watch_end: one
 *    that lasts longer than the limit is a `deadlock` naming the operation,
 *    its module and the callback it is blocked in (emu_watch_note() moves
 *    that along);
 *  - every thread inside a driver callback (emu_callctx_push/pop tell it):
 *    a callback that has not returned within the limit is a `deadlock`
 *    (a `dpc-watchdog` if it was spinning at DISPATCH_LEVEL) naming the
 *    callback, its module, the thread and its CPU. A system
 *    thread's start routine is exempt: it may run as long as the driver
 *    lives (a callback it makes is not);
 *  - every emulated CPU: one unbroken stretch at DISPATCH_LEVEL longer than
 *    the DPC limit, counted in the holder's own CPU time (so a busy or
 *    sanitized host, which only stretches wall time, cannot trip it), is a
 *    `dpc-watchdog` (0x133); a CPU held past the limit in wall time while
 *    its holder is blocked, not running, is a `deadlock`.
 * Then the deadlock handler runs: a hung emulated kernel cannot be unwound.
 */
struct emu_watch {
    const char *operation;
    const char *module;
    const char *callback;
    uint64_t start_ns;
    bool reported;
    void *thread; /* the watchdog's record of the thread that began it */
    struct emu_watch *next, *prev;
};
void emu_watch_begin(struct emu_watch *w, const char *operation, const char *module,
                     const char *callback);
void emu_watch_note(struct emu_watch *w, const char *callback);
void emu_watch_end(struct emu_watch *w);
/* Called by emu_callctx_push/pop only. */
void emu_watch_thread_enter(const struct emu_callctx *c);
void emu_watch_thread_leave(const struct emu_callctx *popped);
/* limit_ms 0 = default (10000). Starts the watchdog thread. */
void emu_watchdog_start(unsigned limit_ms);
/* The DISPATCH_LEVEL stretch limit in CPU-time ms; 0 = default (5000). */
void emu_watchdog_set_dpc_limit(unsigned limit_ms);
void emu_watchdog_stop(void);
/*
 * Runs on the watchdog thread after a deadlock or dpc-watchdog finding.
 * Default: print every finding and _exit(EMU_EXIT_DEADLOCK).
 */
#define EMU_EXIT_VIOLATION 1
#define EMU_EXIT_USAGE 2
#define EMU_EXIT_DEADLOCK 3
void emu_set_deadlock_handler(void (*handler)(void *ctx), void *ctx);

uint64_t emu_now_ns(void); /* CLOCK_MONOTONIC */

#endif
