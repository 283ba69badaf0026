/*
 * An emulation run (session.h). The controlling thread owns every control
 * operation except churn; the churn thread and the controlling thread never
 * operate on stacks at the same time, because stop joins the churn thread
 * before it pauses anything, and adapter.h serializes control operations on
 * one adapter anyway.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "device.h"
#include "fault.h"
#include "kernel.h"
#include "session.h"
#include "verifier.h"

#define SESSION_MAX_ADAPTERS 64

struct emu_session {
    struct emu_session_config cfg;
    unsigned cpus;
    struct emu_traffic *traffic;
    struct emu_driver *drivers[EMU_SESSION_MAX_DRIVERS];
    unsigned ndrivers;
    struct emu_host *hosts[SESSION_MAX_ADAPTERS];
    char names[SESSION_MAX_ADAPTERS][24];
    struct emu_host_figures final[SESSION_MAX_ADAPTERS];
    /* Set (release) once final[] holds every adapter's figures: the deadlock
       handler reads figures from the watchdog thread while stop may be
       running (and hung) on the controlling thread. */
    atomic_bool have_final;
    unsigned nhosts;
    bool started, stopped, kernel_up, devsock_up;
    uint64_t start_ns, stop_ns;

    pthread_t churn;
    bool churn_running;
    _Atomic uint64_t churn_events;
    pthread_mutex_t mu; /* samples, churn stop */
    pthread_cond_t cv;
    bool quit;

    struct emu_session_sample *samples;
    size_t nsamples, cap;
    uint64_t last_rx, last_orig, last_tx;
    uint64_t next_sample_ns;
};

void emu_session_config_init(struct emu_session_config *c)
{
    memset(c, 0, sizeof(*c));
    c->adapters = 1;
    c->traffic = "gen";
    c->tx = true;
    c->batch = 32;
    c->split = "none";
    c->seconds = 5;
    c->verifier = true;
    c->recycle = true;
    c->seed = 1;
}

static unsigned host_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* [driver:]Name=Value, whole: a copy as long as the argument, never truncated. */
static bool apply_param(const char *p)
{
    char *buf = strdup(p), *driver = NULL, *name = buf;
    bool ok = true;
    if (buf == NULL)
        return false;
    char *eq = strchr(buf, '=');
    if (eq) {
        *eq = 0;
        char *colon = strchr(buf, ':');
        if (colon) {
            *colon = 0;
            driver = buf;
            name = colon + 1;
        }
        ok = emu_param_set(driver, name, eq + 1);
    }
    free(buf);
    return ok;
}

static bool default_stack(struct emu_session *s, char *out, size_t len)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned i = 0; i < s->ndrivers; i++) {
        int w = snprintf(out + n, len - n, "%s%s", i ? "," : "", emu_driver_name(s->drivers[i]));
        if (w < 0 || (size_t)w >= len - n)
            return false;
        n += (size_t)w;
    }
    return true;
}

struct emu_session *emu_session_create(const struct emu_session_config *c, char *err, size_t errlen)
{
    struct emu_split split;
    char spec[1024], serr[256];

    if (!emu_split_parse(c->split ? c->split : "none", &split)) {
        snprintf(err, errlen, "bad split pattern '%s' (none|half|random|every:N)", c->split);
        return NULL;
    }
    if (c->adapters < 1 || c->adapters > SESSION_MAX_ADAPTERS) {
        snprintf(err, errlen, "adapters must be 1..%d", SESSION_MAX_ADAPTERS);
        return NULL;
    }
    if (c->batch < 1 || c->batch > 256) {
        snprintf(err, errlen, "batch must be 1..256");
        return NULL;
    }
    if (c->ndrivers > EMU_SESSION_MAX_DRIVERS || c->nparams > EMU_SESSION_MAX_PARAMS) {
        snprintf(err, errlen, "too many drivers or parameters");
        return NULL;
    }
    /* Before any driver loads: DriverEntry's allocations are injected too. */
    if (!emu_fault_configure(c->fault_injection, err, errlen))
        return NULL;
    struct emu_session *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->cpus = c->cpus ? (c->cpus > 64 ? 64 : c->cpus) : host_cores();

    const char *t = c->traffic ? c->traffic : "gen";
    bool gen = !strcmp(t, "gen") || !strcmp(t, "mtu");
    s->traffic = !strcmp(t, "gen")   ? emu_traffic_generate(4096, c->seed)
                 : !strcmp(t, "mtu") ? emu_traffic_generate_mtu(1024, c->seed)
                                     : emu_traffic_load_pcap(t, serr, sizeof(serr));
    if (!s->traffic) {
        snprintf(err, errlen, "traffic: %s", gen ? "out of memory" : serr);
        goto fail;
    }

    emu_kernel_init(s->cpus);
    s->kernel_up = true;
    emu_verifier_set_enabled(c->verifier);
    emu_watchdog_set_dpc_limit(c->dpc_watchdog_ms);
    emu_watchdog_start(c->watchdog_ms);
    for (unsigned i = 0; i < c->nparams; i++) {
        if (!apply_param(c->params[i])) {
            snprintf(err, errlen, "--param: out of memory");
            goto fail;
        }
    }

    for (unsigned i = 0; i < c->ndrivers; i++) {
        s->drivers[i] = emu_driver_load(c->drivers[i], serr, sizeof(serr));
        if (!s->drivers[i]) {
            snprintf(err, errlen, "%s: %s", c->drivers[i], serr);
            goto fail;
        }
        s->ndrivers = i + 1;
    }
    if (!c->stack && !default_stack(s, spec, sizeof(spec))) {
        snprintf(err, errlen, "stack spec too long");
        goto fail;
    }
    if (!emu_stack_set_spec(c->stack ? c->stack : spec, serr, sizeof(serr))) {
        snprintf(err, errlen, "stack: %s", serr);
        goto fail;
    }

    unsigned queues = c->rx_queues ? c->rx_queues : (s->cpus < 4 ? s->cpus : 4);
    for (unsigned i = 0; i < c->adapters; i++) {
        struct emu_host_config hc = {
            .traffic = s->traffic,
            .split = split,
            .rx_pps = c->rate,
            .tx_pps = c->tx_rate,
            .tx = c->tx,
            .batch = c->batch,
            .cpus = s->cpus,
            .first_cpu = (i * queues) % s->cpus,
            .rx_queues = queues,
            .seed = c->seed,
            .recycle = c->recycle,
        };
        s->hosts[i] = emu_host_create(i, &hc, serr, sizeof(serr));
        if (!s->hosts[i]) {
            snprintf(err, errlen, "%s", serr);
            goto fail;
        }
        snprintf(s->names[i], sizeof(s->names[i]), "ndisemu%u", i);
        s->nhosts = i + 1;
    }
    return s;
fail:
    emu_session_stop(s);
    emu_session_destroy(s);
    return NULL;
}

static void sample(struct emu_session *s, uint64_t now)
{
    uint64_t rx = 0, orig = 0, tx = 0;
    for (unsigned i = 0; i < s->nhosts; i++) {
        struct emu_host_figures f;
        emu_host_figures(s->hosts[i], &f);
        rx += f.v[EMU_RX_DELIVERED];
        orig += f.v[EMU_RX_ORIGINATED];
        tx += f.v[EMU_TX_COMPLETED];
    }
    pthread_mutex_lock(&s->mu);
    if (s->nsamples == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->samples, cap * sizeof(*s->samples));
        if (!p) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->samples = p;
        s->cap = cap;
    }
    s->samples[s->nsamples++] = (struct emu_session_sample){
        .t = (double)(now - s->start_ns) / 1e9,
        .rx_delivered = rx - s->last_rx,
        .rx_originated = orig - s->last_orig,
        .tx_completed = tx - s->last_tx,
        .findings = emu_violation_count(),
    };
    pthread_mutex_unlock(&s->mu);
    s->last_rx = rx, s->last_orig = orig, s->last_tx = tx;
}

static const char *const churn_names[] = {"restart", "detach", "oid",   "status",
                                           "pnp",     "reset",  "cancel"};

bool emu_churn_parse(const char *list, unsigned *out)
{
    char *buf = strdup(list), *save = NULL;
    unsigned bits = 0;
    bool ok = buf != NULL;
    for (char *tok = ok ? strtok_r(buf, ",", &save) : NULL; tok && ok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned i = 0, n = sizeof(churn_names) / sizeof(churn_names[0]);
        if (strcmp(tok, "all") == 0) {
            bits |= EMU_CHURN_ALL;
            continue;
        }
        while (i < n && strcmp(tok, churn_names[i]) != 0)
            i++;
        ok = i < n;
        bits |= ok ? 1u << i : 0;
    }
    free(buf);
    *out = bits;
    return ok && bits != 0;
}

/* One churn event of kind `bit` on host h; r supplies the random choices. */
static void churn_one(struct emu_host *h, unsigned bit, uint64_t r)
{
    struct emu_adapter *ad = emu_host_adapter(h);
    unsigned slots = emu_adapter_slot_count(ad);
    if (bit == EMU_CHURN_DETACH && slots == 0)
        bit = EMU_CHURN_RESTART; /* no module to detach */
    switch (bit) {
    case EMU_CHURN_DETACH: {
        unsigned slot = (unsigned)(r % slots);
        emu_adapter_detach_module(ad, slot);
        emu_adapter_attach_module(ad, slot);
        break;
    }
    case EMU_CHURN_RESTART:
        emu_adapter_pause(ad);
        emu_adapter_restart(ad);
        break;
    case EMU_CHURN_OID:
        emu_host_oid_burst(h);
        break;
    case EMU_CHURN_STATUS:
        emu_host_link(h, false);
        emu_host_link(h, true);
        break;
    case EMU_CHURN_PNP:
        emu_host_power_cycle(h);
        break;
    case EMU_CHURN_RESET:
        emu_host_reset(h);
        break;
    default:
        emu_host_cancel_sends(h);
        break;
    }
}

/* Churn: at exponentially distributed moments (a Poisson process of the
   requested rate, deterministic from the seed) one event of the chosen mix
   on a random adapter. */
static void *churn_thread(void *arg)
{
    struct emu_session *s = arg;
    uint64_t rng = s->cfg.seed ^ 0xc4c4c4c4ull;
    unsigned mix = s->cfg.churn_mix ? s->cfg.churn_mix : EMU_CHURN_DEFAULT;
    unsigned kinds[8], nkinds = 0;
    for (unsigned b = 0; b < 8; b++)
        if (mix & (1u << b))
            kinds[nkinds++] = 1u << b;

    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        double u = (double)(emu_rng_next(&rng) >> 11) / (double)(1ull << 53);
        double wait = -log(1.0 - u) / s->cfg.churn;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)(wait * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        while (!s->quit && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
            ;
        if (s->quit)
            break;
        pthread_mutex_unlock(&s->mu);
        uint64_t r = emu_rng_next(&rng);
        churn_one(s->hosts[r % s->nhosts], kinds[(r >> 32) % nkinds], r >> 40);
        atomic_fetch_add(&s->churn_events, 1);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

bool emu_session_start(struct emu_session *s, char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->nhosts; i++)
        emu_adapter_start(emu_host_adapter(s->hosts[i]));
    if (s->cfg.device_socket) {
        if (!emu_devsock_start(s->cfg.device_socket, err, errlen))
            return false;
        s->devsock_up = true;
    }
    s->start_ns = emu_now_ns();
    s->next_sample_ns = s->start_ns + 1000000000u;
    s->started = true;
    for (unsigned i = 0; i < s->nhosts; i++)
        emu_host_start_traffic(s->hosts[i]);
    if (s->cfg.churn > 0 && pthread_create(&s->churn, NULL, churn_thread, s) == 0)
        s->churn_running = true;
    return true;
}

void emu_session_run_for(struct emu_session *s, double seconds, volatile sig_atomic_t *interrupt,
                         void (*progress)(struct emu_session *s, double elapsed, void *ctx),
                         void *ctx)
{
    uint64_t begin = emu_now_ns();
    uint64_t end = begin + (uint64_t)(seconds * 1e9);
    while (!(interrupt && *interrupt)) {
        uint64_t now = emu_now_ns();
        if (now >= s->next_sample_ns) {
            sample(s, now);
            s->next_sample_ns += 1000000000u;
            if (progress)
                progress(s, (double)(now - s->start_ns) / 1e9, ctx);
        }
        if (now >= end)
            break;
        uint64_t step = end - now < 50000000u ? end - now : 50000000u;
        struct timespec ts = {0, (long)step};
        nanosleep(&ts, NULL);
    }
}

void emu_session_stop_traffic(struct emu_session *s)
{
    for (unsigned i = 0; i < s->nhosts; i++)
        emu_host_stop_traffic(s->hosts[i]);
}

void emu_session_stop(struct emu_session *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    if (s->churn_running) {
        pthread_mutex_lock(&s->mu);
        s->quit = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->churn, NULL);
        s->churn_running = false;
    }
    s->stop_ns = emu_now_ns();
    /* The documented order: traffic, then stacks (a paused stack has every
       NBL back at its source), then drivers, whose DriverUnload must
       deregister; the loader checks their pool, NDIS their NBLs. */
    emu_session_stop_traffic(s);
    if (s->started)
        for (unsigned i = 0; i < s->nhosts; i++)
            emu_adapter_pause(emu_host_adapter(s->hosts[i]));
    for (unsigned i = 0; i < s->nhosts; i++)
        emu_host_figures(s->hosts[i], &s->final[i]);
    atomic_store_explicit(&s->have_final, true, memory_order_release);
    if (s->devsock_up) {
        emu_devsock_stop();
        s->devsock_up = false;
    }
    for (unsigned i = s->ndrivers; i-- > 0;)
        emu_driver_unload(s->drivers[i]);
    if (s->ndrivers && emu_device_count())
        emu_violation(EMU_RULE_STATE, NULL, "DriverUnload",
                      "%u control device(s) still registered after every driver unloaded "
                      "(DriverUnload must call NdisDeregisterDeviceEx)",
                      emu_device_count());
    s->ndrivers = 0;
    for (unsigned i = 0; i < s->nhosts; i++)
        emu_host_destroy(s->hosts[i]);
}

void emu_session_destroy(struct emu_session *s)
{
    if (!s)
        return;
    emu_session_stop(s);
    if (s->kernel_up) {
        /* Watched to the end: joining the DPC and worker threads waits for
           whatever driver routine they may still be stuck in. */
        emu_kernel_shutdown();
        emu_watchdog_stop();
    }
    emu_traffic_free(s->traffic);
    free(s->samples);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

unsigned emu_session_cpus(const struct emu_session *s)
{
    return s->cpus;
}

double emu_session_elapsed(const struct emu_session *s)
{
    uint64_t end = s->stop_ns ? s->stop_ns : emu_now_ns();
    return s->start_ns ? (double)(end - s->start_ns) / 1e9 : 0;
}

unsigned emu_session_adapter_count(const struct emu_session *s)
{
    return s->nhosts;
}

const char *emu_session_adapter_name(const struct emu_session *s, unsigned i)
{
    return i < s->nhosts ? s->names[i] : NULL;
}

void emu_session_figures(const struct emu_session *s, unsigned i, struct emu_host_figures *out)
{
    if (i >= s->nhosts) {
        memset(out, 0, sizeof(*out));
        return;
    }
    if (atomic_load_explicit(&s->have_final, memory_order_acquire))
        *out = s->final[i];
    else
        emu_host_figures(s->hosts[i], out);
}

size_t emu_session_samples(const struct emu_session *s, const struct emu_session_sample **out)
{
    *out = s->samples;
    return s->nsamples;
}

uint64_t emu_session_churn_events(const struct emu_session *s)
{
    return atomic_load(&((struct emu_session *)s)->churn_events);
}

struct emu_host *emu_session_host(const struct emu_session *s, unsigned i)
{
    return i < s->nhosts ? s->hosts[i] : NULL;
}

double emu_session_rate(const struct emu_session *s)
{
    return s->nsamples ? (double)s->samples[s->nsamples - 1].rx_delivered : 0;
}
