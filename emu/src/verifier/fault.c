/*
 * Fault injection (fault.h). The fast path, injection off, is one atomic
 * load. Configure it while no driver allocates (before the run, or from the
 * one thread a test drives). The per-API counts and the first failures are under g_lock, which
 * is held for a few stores only and never across a call out, so it is safe
 * at any emulated IRQL.
 */
#include "fault.h"
#include "kernel.h"
#include "verifier.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_APIS 32
#define KEEP_FIRST 8

struct first_failure {
    const char *api;
    uint64_t call;
    char module[96];
    char callback[64];
};

static atomic_bool g_active;
static atomic_bool g_configured;
static char g_spec[64];
static uint64_t g_every, g_seed;
static double g_rate;
static _Atomic uint64_t g_calls;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const char *api;
    uint64_t failed;
} g_api[MAX_APIS];
static unsigned g_napi;
static struct first_failure g_first[KEEP_FIRST];
static unsigned g_nfirst;
static uint64_t g_failed;

static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
    char *e;
    unsigned long long v;
    if (s == end || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &e, 10);
    if (e != end || errno)
        return false;
    *out = v;
    return true;
}

bool emu_fault_configure(const char *spec, char *err, size_t errlen)
{
    uint64_t every = 0, seed = 1;
    double rate = 0;
    const char *comma, *end;
    if (spec == NULL || *spec == 0) {
        atomic_store(&g_active, false);
        pthread_mutex_lock(&g_lock);
        g_configured = false;
        pthread_mutex_unlock(&g_lock);
        return true;
    }
    end = spec + strlen(spec);
    if ((size_t)(end - spec) >= sizeof(g_spec)) { /* kept whole for the report */
        snprintf(err, errlen, "--fault-injection: longer than %zu characters", sizeof(g_spec) - 1);
        return false;
    }
    comma = strchr(spec, ',');
    if (comma != NULL) {
        if (strncmp(comma + 1, "seed=", 5) != 0 || !parse_u64(comma + 6, end, &seed)) {
            snprintf(err, errlen, "--fault-injection: after the comma only seed=S (a number)");
            return false;
        }
        end = comma;
    }
    if (strncmp(spec, "every=", 6) == 0) {
        if (!parse_u64(spec + 6, end, &every) || every == 0) {
            snprintf(err, errlen, "--fault-injection: every=N needs N >= 1");
            return false;
        }
    } else {
        char *e;
        rate = strtod(spec, &e);
        if (e != end || !(rate > 0 && rate <= 1)) {
            snprintf(err, errlen,
                     "--fault-injection needs RATE (0 < RATE <= 1) or every=N, then "
                     "optionally ,seed=S; not '%s'",
                     spec);
            return false;
        }
    }
    atomic_store(&g_active, false);
    pthread_mutex_lock(&g_lock);
    snprintf(g_spec, sizeof(g_spec), "%s", spec);
    g_every = every;
    g_rate = rate;
    g_seed = seed;
    g_napi = g_nfirst = 0;
    g_failed = 0;
    atomic_store(&g_calls, 0);
    g_configured = true;
    pthread_mutex_unlock(&g_lock);
    atomic_store(&g_active, true);
    return true;
}

void emu_fault_set_active(bool on)
{
    atomic_store(&g_active, on && g_configured);
}

bool emu_fault_configured(void)
{
    return g_configured;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void record(const char *api, uint64_t n)
{
    const struct emu_callctx *c = emu_callctx_current();
    unsigned i;
    pthread_mutex_lock(&g_lock);
    g_failed++;
    for (i = 0; i < g_napi && strcmp(g_api[i].api, api) != 0; i++)
        ;
    if (i == g_napi && g_napi < MAX_APIS)
        g_api[g_napi++].api = api;
    if (i < MAX_APIS)
        g_api[i].failed++;
    if (g_nfirst < KEEP_FIRST) {
        struct first_failure *f = &g_first[g_nfirst++];
        f->api = api;
        f->call = n;
        snprintf(f->module, sizeof(f->module), "%s", c && c->module ? c->module : "-");
        snprintf(f->callback, sizeof(f->callback), "%s", c && c->callback ? c->callback : "-");
    }
    pthread_mutex_unlock(&g_lock);
}

bool emu_fault_should_fail(const char *api, const void *caller)
{
    uint64_t n;
    bool fail;
    /* Acquire: the parameters were stored before injection was switched on. */
    if (!atomic_load_explicit(&g_active, memory_order_acquire))
        return false;
    if (emu_driver_for_address(caller) == NULL)
        return false; /* ndisemu's own allocation */
    n = atomic_fetch_add(&g_calls, 1) + 1;
    if (g_every)
        fail = n % g_every == 0;
    else
        fail = (double)(mix(g_seed ^ mix(n)) >> 11) * 0x1.0p-53 < g_rate;
    if (fail)
        record(api, n);
    return fail;
}

uint64_t emu_fault_failed(const char *api)
{
    uint64_t n = 0;
    pthread_mutex_lock(&g_lock);
    if (api == NULL)
        n = g_failed;
    else
        for (unsigned i = 0; i < g_napi; i++)
            if (strcmp(g_api[i].api, api) == 0)
                n = g_api[i].failed;
    pthread_mutex_unlock(&g_lock);
    return n;
}

void emu_fault_print(FILE *f, bool json)
{
    unsigned i;
    pthread_mutex_lock(&g_lock);
    if (!g_configured) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    if (json) {
        fprintf(f, "{\"spec\":\"%s\",\"eligible_calls\":%llu,\"failed\":%llu,\"per_api\":{",
                g_spec, (unsigned long long)atomic_load(&g_calls), (unsigned long long)g_failed);
        for (i = 0; i < g_napi; i++)
            fprintf(f, "%s\"%s\":%llu", i ? "," : "", g_api[i].api,
                    (unsigned long long)g_api[i].failed);
        fputs("},\"first\":[", f);
        for (i = 0; i < g_nfirst; i++)
            fprintf(f, "%s{\"api\":\"%s\",\"call\":%llu,\"module\":\"%s\",\"callback\":\"%s\"}",
                    i ? "," : "", g_first[i].api, (unsigned long long)g_first[i].call,
                    g_first[i].module, g_first[i].callback);
        fputs("]}", f);
    } else {
        fprintf(f, "fault injection (%s): %llu of %llu driver allocation call(s) failed\n", g_spec,
                (unsigned long long)g_failed, (unsigned long long)atomic_load(&g_calls));
        for (i = 0; i < g_napi; i++)
            fprintf(f, "  %-40s %llu failed\n", g_api[i].api, (unsigned long long)g_api[i].failed);
        for (i = 0; i < g_nfirst; i++)
            fprintf(f, "  call %llu: %s failed in %s of %s\n",
                    (unsigned long long)g_first[i].call, g_first[i].api, g_first[i].callback,
                    g_first[i].module);
    }
    pthread_mutex_unlock(&g_lock);
}
