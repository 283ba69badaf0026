/*
 * Pool. Each allocation carries a header naming its tag, size and the
 * account it is charged to: one account per (driver, tag), the driver being
 * the one whose code called the allocator. At unload, whatever a driver's
 * accounts still hold is a `pool-leak` finding per tag, as Driver Verifier's
 * pool tracking reports on Windows.
 *
 * Accounts are never freed: an allocation can outlive its driver (leaked,
 * or freed later by another module), and its header must still point at a
 * valid account. A reloaded driver gets fresh accounts.
 *
 * A free is checked against the set of live blocks (a hash of their
 * addresses) before anything at the pointer is read: a block freed twice,
 * or a pointer that never was a block, is a `pool-double-free` finding and
 * the free is ignored, as Windows would bugcheck 0xC2 there instead of
 * corrupting the pool. The last FREED_RING freed blocks are held back from
 * malloc (a quarantine, as Windows' special pool delays reuse), so their
 * addresses cannot belong to a new block yet: a second free of one of them
 * is told apart as a double free for certain, and never frees another
 * driver's block. A double free later than that may meet the address in
 * use again and cannot be told from a free of the new block (an ASan
 * build, whose own quarantine is larger, reports it).
 */
#include "kernel.h"
#include "fault.h"
#include "verifier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool_acct {
    const struct emu_driver *drv; /* NULL: ndisemu itself */
    ULONG tag;
    bool retired; /* its driver unloaded */
    size_t count, bytes;
    struct pool_acct *next;
};

struct pool_hdr {
    ULONG tag;
    ULONG paged;
    size_t size;
    struct pool_acct *acct;
    /* Every live block is on g_live: a leaked block stays reachable, as
       on Windows, so LeakSanitizer leaves the report to the verifier. */
    struct pool_hdr *next, *prev;
    struct pool_hdr *hnext; /* its bucket of g_buckets */
};
_Static_assert(sizeof(struct pool_hdr) % 16 == 0, "pool blocks stay 16-byte aligned");

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_acct *g_accts;
static struct pool_hdr g_live = {.next = &g_live, .prev = &g_live};

/* Live blocks by address, and the quarantine of freed ones; under g_lock. */
#define BUCKETS 65536u
#define FREED_RING 4096u
static struct pool_hdr *g_buckets[BUCKETS];
static struct pool_hdr *g_freed[FREED_RING];
static unsigned g_freed_at;

static unsigned bucket_of(const void *p)
{
    uintptr_t a = (uintptr_t)p >> 4;
    return (unsigned)((a ^ (a >> 16) ^ (a >> 32)) % BUCKETS);
}

static bool live_remove(struct pool_hdr *h)
{
    struct pool_hdr **pp;
    for (pp = &g_buckets[bucket_of(h)]; *pp != NULL; pp = &(*pp)->hnext)
        if (*pp == h) {
            *pp = h->hnext;
            return true;
        }
    return false;
}

static bool recently_freed(const void *h)
{
    unsigned i;
    for (i = 0; i < FREED_RING; i++)
        if (g_freed[i] == h)
            return true;
    return false;
}

static struct pool_acct *account(const struct emu_driver *drv, ULONG tag)
{
    struct pool_acct *a;
    for (a = g_accts; a; a = a->next)
        if (a->drv == drv && a->tag == tag && !a->retired)
            return a;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->drv = drv;
    a->tag = tag;
    a->next = g_accts;
    g_accts = a;
    return a;
}

/* Pool tags read as poolmon shows them: the bytes in memory order. */
void emu_tag_text(ULONG tag, char out[5])
{
    int i;
    for (i = 0; i < 4; i++) {
        char c = (char)((tag >> (8 * i)) & 0xff);
        out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out[4] = 0;
}

static void *alloc(size_t n, ULONG tag, bool zero, bool paged, void *caller)
{
    struct pool_hdr *h;
    struct pool_acct *a;
    if (n > SIZE_MAX - sizeof(*h))
        return NULL;
    h = zero ? calloc(1, sizeof(*h) + n) : malloc(sizeof(*h) + n);
    if (h == NULL)
        return NULL;
    h->tag = tag;
    h->paged = paged;
    h->size = n;
    pthread_mutex_lock(&g_lock);
    a = account(emu_driver_for_address(caller), tag);
    if (a) {
        a->count++;
        a->bytes += n;
    }
    h->acct = a;
    h->next = &g_live;
    h->prev = g_live.prev;
    g_live.prev->next = h;
    g_live.prev = h;
    h->hnext = g_buckets[bucket_of(h)];
    g_buckets[bucket_of(h)] = h;
    pthread_mutex_unlock(&g_lock);
    return h + 1;
}

void *emu_pool_alloc(size_t n, ULONG tag, bool zero, void *caller)
{
    return alloc(n, tag, zero, false, caller);
}

/*
 * object-freed-while-queued: a KDPC still queued inside the block being
 * freed. The queue would link freed memory and the routine would run on
 * it (Windows: bugcheck 0xC7 TIMER_OR_DPC_INVALID, from the pool checks on
 * free). The DPC is taken off its queue before the memory goes, so the
 * finding is all that happens. A DPC whose insertion happened before this
 * free (the only kind the driver can know about) is found: the queues are
 * searched under their locks.
 */
static void check_queued_in(void *p, size_t n, void *caller)
{
    PKDPC dpc;
    while ((dpc = ke_dpc_unqueue_in(p, n)) != NULL)
        emu_violation(EMU_RULE_OBJECT_FREED_WHILE_QUEUED, emu_module_for_address(caller), NULL,
                      "pool block %p freed while the KDPC %p inside it (routine %p) is queued "
                      "(0xC7, 0x1); ndisemu took it off the queue",
                      p, (void *)dpc, (void *)dpc->DeferredRoutine);
}

void emu_pool_free(void *p, ULONG tag, void *caller)
{
    struct pool_hdr *h = p != NULL ? (struct pool_hdr *)p - 1 : NULL;
    struct pool_hdr *evicted;
    bool twice;
    pthread_mutex_lock(&g_lock);
    if (h != NULL && live_remove(h)) {
        if (h->acct) {
            h->acct->count--;
            h->acct->bytes -= h->size;
        }
        h->prev->next = h->next;
        h->next->prev = h->prev;
        pthread_mutex_unlock(&g_lock);
    } else {
        twice = h != NULL && recently_freed(h);
        pthread_mutex_unlock(&g_lock);
        emu_violation(EMU_RULE_POOL_DOUBLE_FREE, emu_module_for_address(caller), NULL,
                      twice ? "ExFreePool(%p): the block was already freed (0xC2, 0x7)"
                            : "ExFreePool(%p): not a pool block (0xC2, 0x46)",
                      p);
        return;
    }
    /* The block is off every list: nobody else can free it now. */
    check_queued_in(p, h->size, caller);
    if (tag != 0 && (tag & 0x7fffffffu) != (h->tag & 0x7fffffffu)) {
        char want[5], got[5];
        emu_tag_text(h->tag, want);
        emu_tag_text(tag, got);
        emu_violation(EMU_RULE_POOL_WRONG_TAG, emu_module_for_address(caller), NULL,
                      "ExFreePoolWithTag(%p, '%s'): block was allocated with tag '%s' (0xC2, 0xA)",
                      p, got, want);
    }
    if (h->paged)
        emu_irql_require_max("ExFreePoolWithTag (paged pool)", APC_LEVEL);
    else
        emu_irql_require_max("ExFreePoolWithTag", DISPATCH_LEVEL);
    pthread_mutex_lock(&g_lock);
    evicted = g_freed[g_freed_at % FREED_RING];
    g_freed[g_freed_at++ % FREED_RING] = h;
    pthread_mutex_unlock(&g_lock);
    free(evicted);
}

void emu_pool_outstanding(const struct emu_driver *d, size_t *count, size_t *bytes)
{
    struct pool_acct *a;
    size_t c = 0, b = 0;
    pthread_mutex_lock(&g_lock);
    for (a = g_accts; a; a = a->next)
        if (a->drv == d && !a->retired) {
            c += a->count;
            b += a->bytes;
        }
    pthread_mutex_unlock(&g_lock);
    if (count)
        *count = c;
    if (bytes)
        *bytes = b;
}

void ke_pool_check_driver(struct emu_driver *d, const char *name)
{
    struct pool_acct *a;
    struct leak {
        ULONG tag;
        size_t count, bytes;
    } leaks[64];
    unsigned n = 0, i;
    pthread_mutex_lock(&g_lock);
    for (a = g_accts; a; a = a->next) {
        if (a->drv != d || a->retired)
            continue;
        if (a->count != 0 && n < 64)
            leaks[n++] = (struct leak){a->tag, a->count, a->bytes};
        a->retired = true;
    }
    pthread_mutex_unlock(&g_lock);
    /* Reported outside the lock: emu_violation may print. */
    for (i = 0; i < n; i++) {
        char t[5];
        emu_tag_text(leaks[i].tag, t);
        emu_violation(EMU_RULE_POOL_LEAK, name, "DriverUnload",
                      "%zu allocation(s), %zu bytes with tag '%s' still allocated at unload",
                      leaks[i].count, leaks[i].bytes, t);
    }
}

static bool is_paged(POOL_TYPE t)
{
    return (t & 1) != 0; /* PagedPool, PagedPoolCacheAligned, PagedPoolSession */
}

static void check_alloc_irql(bool paged)
{
    if (paged)
        emu_irql_require_max("ExAllocatePool (paged pool)", APC_LEVEL);
    else
        emu_irql_require_max("ExAllocatePool", DISPATCH_LEVEL);
}

/*
 * pool-zero-tag: the tag is an argument of the call, so the rule is decided
 * by the call alone. Windows' Driver Verifier stops a zero tag at the
 * allocation (0xC2, 0x9B: the block could be told from no other); SDV's
 * NdisAllocateMemoryWithTagPriority rule asks the same of NDIS drivers.
 * ndisemu reports it and allocates anyway, charged to tag 0.
 */
void emu_pool_check_tag(const char *api, ULONG tag, void *caller)
{
    if (tag == 0)
        emu_violation(EMU_RULE_POOL_ZERO_TAG, emu_module_for_address(caller), NULL,
                      "%s with the tag 0 (0xC2, 0x9B): give every allocation a tag of its own",
                      api);
}

static PVOID pool_type_alloc(const char *api, POOL_TYPE PoolType, SIZE_T n, ULONG Tag, bool zero,
                             void *caller)
{
    if (emu_fault_should_fail("ExAllocatePool*", caller))
        return NULL;
    emu_pool_check_tag(api, Tag, caller);
    bool paged = is_paged(PoolType);
    check_alloc_irql(paged);
    return alloc(n, Tag, zero, paged, caller);
}

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return pool_type_alloc("ExAllocatePoolWithTag", PoolType, NumberOfBytes, Tag, false,
                           __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                          EX_POOL_PRIORITY Priority)
{
    (void)Priority;
    return pool_type_alloc("ExAllocatePoolWithTagPriority", PoolType, NumberOfBytes, Tag, false,
                           __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return pool_type_alloc("ExAllocatePoolZero", PoolType, NumberOfBytes, Tag, true,
                           __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return pool_type_alloc("ExAllocatePoolUninitialized", PoolType, NumberOfBytes, Tag, false,
                           __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return pool_type_alloc("ExAllocatePool", PoolType, NumberOfBytes, 0x656e6f4e /* 'enoN' */,
                           false, __builtin_return_address(0));
}

/* Exactly one of NON_PAGED, NON_PAGED_EXECUTE, PAGED; zeroed unless
   POOL_FLAG_UNINITIALIZED. An invalid combination fails, as documented. */
PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    if (emu_fault_should_fail("ExAllocatePool2", __builtin_return_address(0)))
        return NULL;
    POOL_FLAGS kind = Flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
    bool paged = kind == POOL_FLAG_PAGED;
    PVOID p;
    if (kind == 0 || (kind & (kind - 1)) != 0 || Tag == 0)
        return NULL;
    check_alloc_irql(paged);
    p = alloc(NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED), paged,
              __builtin_return_address(0));
    if (p == NULL && (Flags & POOL_FLAG_RAISE_ON_FAILURE))
        KeBugCheckEx(0x1E, (ULONG_PTR)(ULONG)STATUS_INSUFFICIENT_RESOURCES, NumberOfBytes, Tag, 0);
    return p;
}

VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    emu_pool_free(P, Tag, __builtin_return_address(0));
}

VOID NTAPI ExFreePool(PVOID P)
{
    emu_pool_free(P, 0, __builtin_return_address(0));
}

VOID NTAPI ExFreePool2(PVOID P, ULONG Tag, PVOID ExtendedParameters, ULONG ExtendedParametersCount)
{
    (void)ExtendedParameters, (void)ExtendedParametersCount;
    emu_pool_free(P, Tag, __builtin_return_address(0));
}
