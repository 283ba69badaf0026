/*
 * The verifier's store of findings and the per-thread callback context
 * (verifier.h); the watchdog is in watchdog.c.
 *
 * emu_violation() may be called from any context, including a thread that
 * holds an emulated CPU or a driver's spin lock; it takes only the store's
 * own host mutex, which is never held across a call out, so it cannot wait
 * on anything a driver holds.
 */
#define _GNU_SOURCE
#include "verifier.h"
#include "kernel.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEPT_MAX 1000

struct finding {
    enum emu_rule rule;
    char module[96];
    char callback[64];
    char message[320];
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct finding *g_kept; /* KEPT_MAX entries, allocated on first use */
static size_t g_nkept;
static size_t g_kept_rule[EMU_RULE_COUNT]; /* under g_lock */
static atomic_size_t g_count[EMU_RULE_COUNT];
static atomic_bool g_enabled = true;
static __thread struct emu_callctx *tls_ctx;

uint64_t emu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool emu_verifier_enabled(void)
{
    return atomic_load_explicit(&g_enabled, memory_order_relaxed);
}

void emu_verifier_set_enabled(bool on)
{
    atomic_store(&g_enabled, on);
}

static void print_one(FILE *f, const struct finding *x)
{
    fprintf(f, "VIOLATION [%s] module=%s callback=%s: %s (Windows: %s)\n", emu_rule_id(x->rule),
            x->module, x->callback, x->message, emu_rule_windows(x->rule));
}

void emu_violation(enum emu_rule rule, const char *module, const char *callback, const char *fmt,
                   ...)
{
    struct finding x;
    const struct emu_callctx *c = tls_ctx;
    const char *trace;
    va_list ap;
    if ((unsigned)rule >= EMU_RULE_COUNT)
        rule = EMU_RULE_STATE;
    if (module == NULL)
        module = c && c->module ? c->module : "ndisemu";
    if (callback == NULL)
        callback = c && c->callback ? c->callback : "-";
    x.rule = rule;
    snprintf(x.module, sizeof(x.module), "%s", module);
    snprintf(x.callback, sizeof(x.callback), "%s", callback);
    va_start(ap, fmt);
    vsnprintf(x.message, sizeof(x.message), fmt, ap);
    va_end(ap);

    atomic_fetch_add(&g_count[rule], 1);
    pthread_mutex_lock(&g_lock);
    if (g_kept == NULL)
        g_kept = calloc(KEPT_MAX, sizeof(*g_kept));
    if (g_kept && g_nkept < KEPT_MAX && g_kept_rule[rule] < EMU_KEEP_PER_RULE) {
        g_kept[g_nkept++] = x;
        g_kept_rule[rule]++;
    }
    pthread_mutex_unlock(&g_lock);
    trace = getenv("NDISEMU_TRACE_VIOLATIONS");
    if (trace && *trace && *trace != '0')
        print_one(stderr, &x);
}

size_t emu_violation_count(void)
{
    size_t n = 0;
    unsigned i;
    for (i = 0; i < EMU_RULE_COUNT; i++)
        n += atomic_load(&g_count[i]);
    return n;
}

size_t emu_violation_count_rule(enum emu_rule rule)
{
    return (unsigned)rule < EMU_RULE_COUNT ? atomic_load(&g_count[rule]) : 0;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void emu_violations_print(FILE *f, bool json)
{
    size_t i, total = emu_violation_count();
    pthread_mutex_lock(&g_lock);
    if (json) {
        fputc('[', f);
        for (i = 0; i < g_nkept; i++) {
            fputs(i ? ",\n {\"rule\": " : "{\"rule\": ", f);
            json_str(f, emu_rule_id(g_kept[i].rule));
            fputs(", \"windows\": ", f);
            json_str(f, emu_rule_windows(g_kept[i].rule));
            fputs(", \"module\": ", f);
            json_str(f, g_kept[i].module);
            fputs(", \"callback\": ", f);
            json_str(f, g_kept[i].callback);
            fputs(", \"message\": ", f);
            json_str(f, g_kept[i].message);
            fputc('}', f);
        }
        fputs("]\n", f);
    } else {
        unsigned r;
        for (i = 0; i < g_nkept; i++)
            print_one(f, &g_kept[i]);
        for (r = 0; r < EMU_RULE_COUNT && total > g_nkept; r++) {
            size_t n = atomic_load(&g_count[r]);
            if (n > g_kept_rule[r])
                fprintf(f, "... %zu more [%s] finding(s) not kept\n", n - g_kept_rule[r],
                        emu_rule_id((enum emu_rule)r));
        }
    }
    pthread_mutex_unlock(&g_lock);
    fflush(f);
}

void emu_violations_print_totals(FILE *f)
{
    unsigned r;
    bool first = true;
    pthread_mutex_lock(&g_lock);
    fputc('{', f);
    for (r = 0; r < EMU_RULE_COUNT; r++) {
        size_t n = atomic_load(&g_count[r]);
        if (n == 0)
            continue;
        fputs(first ? "" : ",\n ", f);
        first = false;
        json_str(f, emu_rule_id((enum emu_rule)r));
        fprintf(f, ": {\"total\": %zu, \"kept\": %zu, \"windows\": ", n, g_kept_rule[r]);
        json_str(f, emu_rule_windows((enum emu_rule)r));
        fputs(", \"description\": ", f);
        json_str(f, emu_rule_description((enum emu_rule)r));
        fputc('}', f);
    }
    fputc('}', f);
    pthread_mutex_unlock(&g_lock);
    fflush(f);
}

void emu_violations_reset(void)
{
    unsigned i;
    pthread_mutex_lock(&g_lock);
    g_nkept = 0;
    for (i = 0; i < EMU_RULE_COUNT; i++) {
        atomic_store(&g_count[i], 0);
        g_kept_rule[i] = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

/* The one entry and exit of every callback: the IRQL check on return
   (kernel.h) and the watchdog's record of where this thread is. */
void emu_callctx_push(struct emu_callctx *c, const char *module, const char *callback, void *party)
{
    emu_callctx_push_from(c, module, callback, party, NULL);
}

void emu_handoff_capture(struct emu_handoff *h)
{
    const struct emu_callctx *c = tls_ctx, *outermost = NULL;
    unsigned n = 0;
    h->start_ns = 0; /* nothing carried: emu_callctx_push_from ignores the rest */
    if (c == NULL || !atomic_load(&g_enabled))
        return;
    h->start_ns = c->start_ns;
    h->queued_ns = emu_now_ns();
    for (; c != NULL; c = c->outer) {
        outermost = c;
        if (n < EMU_HANDOFF_FRAMES) {
            h->frame[n].party = c->party;
            h->frame[n].callback = c->callback;
            h->frame[n].cookie = c->cookie;
            n++;
        }
    }
    /* A routine queued by a routine: its queuer's frames come next. */
    for (unsigned i = 0; outermost->from != NULL && i < EMU_HANDOFF_FRAMES && n < EMU_HANDOFF_FRAMES;
         i++)
        if (outermost->from->frame[i].party != NULL)
            h->frame[n++] = outermost->from->frame[i];
    for (; n < EMU_HANDOFF_FRAMES; n++)
        h->frame[n].party = NULL;
}

void emu_callctx_push_from(struct emu_callctx *c, const char *module, const char *callback,
                           void *party, const struct emu_handoff *from)
{
    c->module = module;
    c->callback = callback;
    c->party = party;
    c->cookie = 0;
    /* A nested context belongs to the decision of the outermost one, and a
       routine queued by a context to that context's decision. */
    c->from = tls_ctx == NULL && from != NULL && from->start_ns != 0 ? from : NULL;
    c->start_ns = tls_ctx != NULL           ? tls_ctx->start_ns
                  : c->from != NULL         ? from->start_ns
                  : atomic_load(&g_enabled) ? emu_now_ns()
                                            : 0;
    c->outer = tls_ctx;
    ke_callback_enter(c);
    tls_ctx = c;
    emu_watch_thread_enter(c);
}

void emu_callctx_pop(struct emu_callctx *c)
{
    if (tls_ctx != c) {
        fprintf(stderr, "ndisemu: internal error: callback context popped out of order (%s)\n",
                c->callback ? c->callback : "?");
        abort();
    }
    ke_callback_return(c);
    tls_ctx = c->outer;
    emu_watch_thread_leave(c);
}

const struct emu_callctx *emu_callctx_current(void)
{
    return tls_ctx;
}
