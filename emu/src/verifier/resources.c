/*
 * resource-leak accounting (resources.h). Accounts are found under a lock
 * (once per pool, MDL or work item), counted with atomics (per NBL: the
 * pool keeps its NBL account), and never freed: an object may outlive its
 * driver, and its account must stay valid for the late release.
 *
 * At unload the count is read after DriverUnload returned and the DPC and
 * work queues were drained: what the driver freed before then was released
 * before the read, so a non-zero count is objects the driver never freed.
 */
#include "resources.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kernel.h"
#include "verifier.h"

/* gcc says __SANITIZE_ADDRESS__, clang says __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define EMU_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_LSAN 1
#endif
#endif
#ifdef EMU_LSAN
#include <sanitizer/lsan_interface.h>
#endif

struct emu_res_acct {
    const struct emu_driver *drv;
    enum emu_res_kind kind;
    uint32_t tag;
    bool retired;
    _Atomic long count;
    struct emu_res_acct *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_res_acct *g_accts;

static const char *const g_kind_names[EMU_RES_KIND_COUNT] = {
    [EMU_RES_NBL_POOL] = "NET_BUFFER_LIST pool(s)",
    [EMU_RES_NB_POOL] = "NET_BUFFER pool(s)",
    [EMU_RES_NBL] = "NET_BUFFER_LIST(s)",
    [EMU_RES_NB] = "NET_BUFFER(s)",
    [EMU_RES_MDL] = "MDL(s) from NdisAllocateMdl",
    [EMU_RES_WORKITEM] = "NDIS I/O work item(s)",
    [EMU_RES_CONFIG] = ("configuration handle(s) from NdisOpenConfigurationEx, never closed "
                        "(SDV NdisOpenConfigurationEx)"),
    [EMU_RES_GENERIC_OBJECT] = "generic object(s) from NdisAllocateGenericObject",
    [EMU_RES_TIMER] = "timer object(s) from NdisAllocateTimerObject",
};

struct emu_res_acct *emu_res_account(enum emu_res_kind kind, uint32_t tag, const void *caller)
{
    const struct emu_driver *drv = emu_driver_for_address(caller);
    struct emu_res_acct *a;
    pthread_mutex_lock(&g_lock);
    for (a = g_accts; a != NULL; a = a->next)
        if (a->drv == drv && a->kind == kind && a->tag == tag && !a->retired)
            break;
    if (a == NULL && (a = calloc(1, sizeof(*a))) != NULL) {
        a->drv = drv;
        a->kind = kind;
        a->tag = tag;
        a->next = g_accts;
        g_accts = a;
    }
    pthread_mutex_unlock(&g_lock);
    return a;
}

void emu_res_charge_part(struct emu_res_acct *a, const void *block)
{
#ifdef EMU_LSAN
    if (a != NULL && a->drv != NULL)
        __lsan_ignore_object(block);
#else
    (void)a, (void)block;
#endif
}

void emu_res_charge(struct emu_res_acct *a, const void *obj)
{
    if (a == NULL)
        return;
    atomic_fetch_add_explicit(&a->count, 1, memory_order_relaxed);
    emu_res_charge_part(a, obj);
}

void emu_res_release(struct emu_res_acct *a)
{
    if (a != NULL)
        atomic_fetch_sub_explicit(&a->count, 1, memory_order_release);
}

void emu_resources_check_driver(const struct emu_driver *d, const char *name)
{
    struct leak {
        enum emu_res_kind kind;
        uint32_t tag;
        long count;
    } leaks[64];
    unsigned n = 0, i;
    struct emu_res_acct *a;
    if (d == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    for (a = g_accts; a != NULL; a = a->next) {
        if (a->drv != d || a->retired)
            continue;
        long c = atomic_load_explicit(&a->count, memory_order_acquire);
        if (c > 0 && n < 64)
            leaks[n++] = (struct leak){a->kind, a->tag, c};
        a->retired = true;
    }
    pthread_mutex_unlock(&g_lock);
    for (i = 0; i < n; i++) {
        char t[5];
        emu_tag_text(leaks[i].tag, t);
        if (leaks[i].kind == EMU_RES_CONFIG)
            emu_violation(EMU_RULE_RESOURCE_LEAK, name, "DriverUnload", "%ld %s", leaks[i].count,
                          g_kind_names[leaks[i].kind]);
        else
            emu_violation(EMU_RULE_RESOURCE_LEAK, name, "DriverUnload",
                          "%ld %s with tag '%s' never freed", leaks[i].count,
                          g_kind_names[leaks[i].kind], t);
    }
}
