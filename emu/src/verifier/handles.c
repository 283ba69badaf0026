/*
 * The handle table (handles.h): open addressing with linear probing over a
 * fixed array. Each slot is one 64-bit word, (address << 16) | (kind << 8)
 * | state, so a reader sees a handle's address, kind and state together,
 * never one handle's address with another's state.
 *
 * Why lock-free reads are exact for any handle whose issue or retirement
 * happened before the lookup (the only ones a driver can rightly use or
 * misuse): issue and retire store the slot word with release order under
 * g_lock, the reader loads it with acquire order. A slot once used is never
 * emptied (retired slots keep their address, or are reused for a new
 * handle), so a probe sequence that held a handle at issue time still leads
 * to it: readers stop only at an empty slot, and no slot before it empties.
 * A lookup racing with the handle's own issue or retirement is a race in
 * the driver (it uses a handle it is being given or is freeing) and may see
 * either state.
 *
 * If the table is ever full, new handles go untracked and every lookup that
 * misses answers "valid": a false alarm is worse than a miss.
 */
#include "handles.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "verifier.h"

#define SLOTS (1u << 15)
#define LIVE 1u
#define RETIRED 2u

static _Atomic uint64_t g_slots[SLOTS];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool g_overflow;

static const char *const g_kind_names[EMU_HANDLE_KIND_END] = {
    [EMU_HANDLE_PARTY] = "NDIS filter module (or miniport/protocol) handle",
    [EMU_HANDLE_FILTER_DRIVER] = "filter driver handle",
    [EMU_HANDLE_NBL_POOL] = "NET_BUFFER_LIST pool handle",
    [EMU_HANDLE_NB_POOL] = "NET_BUFFER pool handle",
    [EMU_HANDLE_IO_WORKITEM] = "NDIS I/O work item handle",
    [EMU_HANDLE_DEVICE] = "NDIS device handle",
    [EMU_HANDLE_GENERIC_OBJECT] = "NDIS generic object",
    [EMU_HANDLE_TIMER] = "NDIS timer object handle",
};

static unsigned slot_of(uintptr_t a)
{
    a >>= 3;
    a ^= a >> 17;
    a *= 0x9e3779b97f4a7c15ull;
    return (unsigned)(a >> 40) & (SLOTS - 1);
}

static uint64_t word(const void *h, unsigned kind, unsigned state)
{
    return ((uint64_t)(uintptr_t)h << 16) | (kind << 8) | state;
}

static uintptr_t addr_of(uint64_t w)
{
    return (uintptr_t)(w >> 16);
}

/* The slot word for h, or 0. */
static uint64_t lookup(const void *h)
{
    unsigned i = slot_of((uintptr_t)h), n;
    for (n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
        uint64_t w = atomic_load_explicit(&g_slots[i], memory_order_acquire);
        if (w == 0)
            return 0;
        if (addr_of(w) == (uintptr_t)h)
            return w;
    }
    return 0;
}

void emu_handle_issue(const void *h, enum emu_handle_kind kind)
{
    unsigned i = slot_of((uintptr_t)h), n;
    int reuse = -1;
    if (h == NULL)
        return;
    if (((uintptr_t)h >> 48) != 0) { /* cannot be packed: untracked, checks partial */
        atomic_store(&g_overflow, true);
        return;
    }
    pthread_mutex_lock(&g_lock);
    for (n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
        uint64_t w = atomic_load_explicit(&g_slots[i], memory_order_relaxed);
        if (w == 0 || addr_of(w) == (uintptr_t)h) {
            if (reuse < 0 || addr_of(w) == (uintptr_t)h)
                reuse = (int)i;
            break;
        }
        if ((w & 0xff) == RETIRED && reuse < 0)
            reuse = (int)i;
    }
    if (reuse >= 0)
        atomic_store_explicit(&g_slots[reuse], word(h, kind, LIVE), memory_order_release);
    else if (!atomic_exchange(&g_overflow, true))
        fprintf(stderr, "ndisemu: handle table full: stale-handle checks are now partial\n");
    pthread_mutex_unlock(&g_lock);
}

void emu_handle_retire(const void *h)
{
    unsigned i = slot_of((uintptr_t)h), n;
    pthread_mutex_lock(&g_lock);
    for (n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
        uint64_t w = atomic_load_explicit(&g_slots[i], memory_order_relaxed);
        if (w == 0)
            break;
        if (addr_of(w) == (uintptr_t)h && (w & 0xff) == LIVE) {
            atomic_store_explicit(&g_slots[i], (w & ~(uint64_t)0xff) | RETIRED,
                                  memory_order_release);
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
}

bool emu_handle_valid(const void *h, enum emu_handle_kind kind)
{
    uint64_t w = h != NULL ? lookup(h) : 0;
    if (w != 0)
        return (w & 0xff) == LIVE && ((w >> 8) & 0xff) == kind;
    return h != NULL && atomic_load_explicit(&g_overflow, memory_order_relaxed);
}

bool emu_handle_check(const void *h, enum emu_handle_kind kind, const char *api)
{
    uint64_t w;
    unsigned k;
    if (emu_handle_valid(h, kind))
        return true;
    w = h != NULL ? lookup(h) : 0;
    k = (unsigned)(w >> 8) & 0xff;
    if (w == 0)
        emu_violation(EMU_RULE_STALE_HANDLE, NULL, api, "%s: %p is not a %s: NDIS never issued it",
                      api, h, g_kind_names[kind]);
    else if ((w & 0xff) == RETIRED)
        emu_violation(EMU_RULE_STALE_HANDLE, NULL, api,
                      "%s: %p is a %s that was already freed", api, h,
                      k < EMU_HANDLE_KIND_END ? g_kind_names[k] : "handle");
    else
        emu_violation(EMU_RULE_STALE_HANDLE, NULL, api, "%s: %p is a %s, not a %s", api, h,
                      k < EMU_HANDLE_KIND_END ? g_kind_names[k] : "handle", g_kind_names[kind]);
    return false;
}
