/*
 * The NBL-ownership verifier.
 *
 * Every NBL has exactly one owner at a time, kept in its hidden header.
 * Each datapath call moves ownership with one compare-and-swap from the
 * caller to the callee: two CPUs returning the same NBL race on that CAS and
 * exactly one wins, so a concurrent double return is caught, never raced
 * into a double delivery. An NBL whose transfer fails is reported and not
 * passed on (passing it on would hand the same memory to two owners and turn
 * a finding into a crash of the emulator).
 *
 * Per module, `held` counts NBLs it owns that came from someone else and
 * `originated_out` counts its own NBLs that are away. NBLs held inside a
 * datapath callback that is still running are not a violation at pause
 * completion (see check_or_defer).
 */
#include "ndis_internal.h"

#include <string.h>

static const char *party_name(const struct emu_party *p)
{
    return p ? p->name : "(none)";
}

static struct emu_module *as_module(struct emu_party *p)
{
    return (p != NULL && p->kind == EMU_PARTY_MODULE) ? (struct emu_module *)p : NULL;
}

void emu_nbl_verify_alloc(PNET_BUFFER_LIST nbl, struct emu_party *allocator)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    (void)allocator;
    atomic_store_explicit(&h->owner, NULL, memory_order_relaxed);
    h->source = NULL;
    h->sum_valid = 0;
}

void emu_nbl_verify_free(PNET_BUFFER_LIST nbl)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    struct emu_party *owner = atomic_load(&h->owner);
    if (owner != NULL && owner != h->source) {
        const struct emu_callctx *c = emu_callctx_current();
        emu_violation(EMU_RULE_NBL_WRONG_OWNER, NULL, c ? c->callback : "NdisFreeNetBufferList",
                      "NBL %p freed while owned by %s (its source is %s)", (void *)nbl,
                      party_name(owner), party_name(h->source));
        struct emu_module *m = as_module(owner);
        if (m != NULL)
            atomic_fetch_sub(&m->held, 1);
        m = as_module(h->source);
        if (m != NULL)
            atomic_fetch_sub(&m->originated_out, 1);
    }
}

struct emu_party *emu_nbl_owner(PNET_BUFFER_LIST nbl)
{
    return atomic_load(&emu_nbl_hdr(nbl)->owner);
}

/*
 * nbl-modified-after-handoff. When a module hands an NBL on (a send down or
 * an indication up: the NBL leaves its ownership), ndisemu records a
 * checksum of what the module gave away and may not touch again until the
 * NBL comes back: the NBL's SourceHandle and first NET_BUFFER, each
 * NET_BUFFER's Next and DataLength, and the DataLength bytes of data its MDL
 * chain holds from DataOffset on. When the NBL comes back to that module,
 * the checksum is taken again before ownership moves to it.
 *
 * Why a difference proves a write after hand-off that nobody was entitled
 * to make: the first sum is taken inside the module's own hand-off call,
 * before the compare-and-swap that gives the NBL away; the second inside the
 * returning driver's call, before the CAS that gives it back. Between the
 * two the module owned nothing of it. The drivers that did own it in
 * between (those below a send, above a receive) may change only what NDIS
 * lets a non-originator change, and nothing in the sum: the data and the
 * NET_BUFFER geometry belong to the originator (a layer that retreats or
 * advances the data start restores it before giving the NBL back, so
 * DataLength and the data bytes from DataOffset are what they were), and
 * SourceHandle routes the NBL home. NBL->Next, Status, NetBufferListInfo,
 * the reserved areas and the context area are excluded: their owners of the
 * moment may write them. So the write was made while the module did not own
 * the NBL: by the module after it handed it on, or by a driver it handed it
 * to that wrote the originator's data. The finding names the module the NBL
 * came back to and says both.
 *
 * What it cannot see: a write that restores the old bytes, a read after
 * hand-off, and a write after the NBL was freed (use after free needs an
 * ASan build; with --no-recycle the hosts do not reuse an NBL, so a late
 * access of a freed one lands on freed memory that ASan reports).
 * The walks are bounded, so a corrupted chain cannot hang the check.
 */
#define SUM_MAX_NB 256
#define SUM_MAX_MDL 1024

static uint32_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return (uint32_t)(h ^ (h >> 32));
}

static uint32_t nb_data_sum(PNET_BUFFER nb, uint32_t h)
{
    PMDL m = nb->MdlChain;
    ULONG off = nb->DataOffset, left = nb->DataLength;
    unsigned steps = 0;
    for (; m != NULL && left != 0 && steps < SUM_MAX_MDL; m = m->Next, steps++) {
        if (off >= m->ByteCount) {
            off -= m->ByteCount;
            continue;
        }
        const unsigned char *p = (const unsigned char *)m->MappedSystemVa + off;
        ULONG n = m->ByteCount - off;
        if (n > left)
            n = left;
        if (m->MappedSystemVa == NULL)
            break;
        left -= n;
        off = 0;
        uint64_t acc = h;
        for (; n >= 8; n -= 8, p += 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            acc = (acc ^ w) * 0x100000001b3ull;
            acc ^= acc >> 29;
        }
        for (; n != 0; n--, p++)
            acc = (acc ^ *p) * 0x100000001b3ull;
        h = mix(h, acc);
    }
    return mix(h, left);
}

static uint32_t nbl_sum(PNET_BUFFER_LIST nbl)
{
    uint32_t h = mix(0x4e424c53u, (uint64_t)(uintptr_t)nbl->SourceHandle);
    h = mix(h, (uint64_t)(uintptr_t)nbl->FirstNetBuffer);
    unsigned i = 0;
    for (PNET_BUFFER nb = nbl->FirstNetBuffer; nb != NULL && i < SUM_MAX_NB; nb = nb->Next, i++) {
        h = mix(h, (uint64_t)(uintptr_t)nb->Next);
        h = mix(h, nb->DataLength);
        h = nb_data_sum(nb, h);
    }
    return h;
}

/* The module's bit in sum_valid, or -1 for a miniport or protocol. */
static int sum_slot(const struct emu_party *p)
{
    return (p != NULL && p->kind == EMU_PARTY_MODULE && p->pos >= 0 &&
            p->pos < EMU_NDIS_MAX_SLOTS)
               ? p->pos
               : -1;
}

/* `to` takes the NBL back from `from`: compare the sum `to` took, if any. */
static void sum_check(PNET_BUFFER_LIST nbl, struct emu_party *from, struct emu_party *to,
                      const char *api)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    int p = sum_slot(to);
    if (p < 0 || !(h->sum_valid & (1u << p)))
        return;
    h->sum_valid &= ~(1u << p);
    if (nbl_sum(nbl) != h->sums[p])
        emu_violation(EMU_RULE_NBL_MODIFIED_AFTER_HANDOFF, to->name, api,
                      "NBL %p came back to %s from %s changed: its data, NET_BUFFERs or "
                      "SourceHandle were written after %s handed it on (by it, or by a driver "
                      "that did not own them)",
                      (void *)nbl, to->name, party_name(from), to->name);
}

/* `from` hands the NBL on. */
static void sum_take(PNET_BUFFER_LIST nbl, struct emu_party *from)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    int p = sum_slot(from);
    if (p < 0)
        return;
    h->sums[p] = nbl_sum(nbl);
    h->sum_valid |= 1u << p;
}

static bool same_driver(const struct emu_party *a, const struct emu_party *b)
{
    return a != NULL && b != NULL && a->kind == EMU_PARTY_MODULE && b->kind == EMU_PARTY_MODULE &&
           ((const struct emu_module *)a)->drv == ((const struct emu_module *)b)->drv;
}

bool emu_nbl_try_transfer(PNET_BUFFER_LIST nbl, struct emu_party *from, struct emu_party *to,
                          const char *api, bool returning)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    if (h->magic != EMU_NBL_MAGIC) {
        emu_violation(EMU_RULE_NBL_WRONG_OWNER, from ? from->name : NULL, api,
                      "NBL %p was not allocated by NDIS, or was already freed", (void *)nbl);
        return false;
    }
    struct emu_party *cur = atomic_load(&h->owner);
    for (;;) {
        bool fresh = (cur == NULL);
        /* Back at its source, an NBL is its driver's again: any module of that
           driver may originate it anew (a driver-wide pool and free list). */
        bool home = (cur != NULL && cur == h->source &&
                     (cur == from || (!returning && same_driver(cur, from))));
        if (cur != from && !fresh && !home)
            break;
        if (fresh && returning) {
            emu_violation(EMU_RULE_NBL_WRONG_OWNER, from ? from->name : NULL, api,
                          "NBL %p was never handed to %s: it cannot return or complete it",
                          (void *)nbl, party_name(from));
            return false;
        }
        /* SourceHandle routes the NBL home: an originator must name itself,
           and nobody else may change it. Reported at the call that passes on
           the forged value, the first one NDIS sees. */
        if ((fresh || home) && (struct emu_party *)nbl->SourceHandle != from) {
            emu_violation(EMU_RULE_NBL_FORGED_SOURCE, from ? from->name : NULL, api,
                          "NBL %p originated by %s with SourceHandle %p, not its own handle",
                          (void *)nbl, party_name(from), nbl->SourceHandle);
            return false;
        }
        if (!fresh && !home && (struct emu_party *)nbl->SourceHandle != h->source) {
            emu_violation(EMU_RULE_NBL_FORGED_SOURCE, from ? from->name : NULL, api,
                          "NBL %p from %s passed on by %s with its SourceHandle changed to %p",
                          (void *)nbl, party_name(h->source), party_name(from),
                          nbl->SourceHandle);
            return false;
        }
        if (fresh || home)
            h->sum_valid = 0; /* a new journey */
        if (returning)
            sum_check(nbl, from, to, api);
        else
            sum_take(nbl, from);
        if (!atomic_compare_exchange_weak(&h->owner, &cur, to))
            continue;
        struct emu_module *mf = as_module(from), *mt = as_module(to);
        if (fresh || home) {
            h->source = from;
            if (mf != NULL && to != from)
                atomic_fetch_add(&mf->originated_out, 1);
        } else if (mf != NULL) {
            atomic_fetch_sub(&mf->held, 1);
        }
        if (to == h->source) {
            if (mt != NULL && to != from)
                atomic_fetch_sub(&mt->originated_out, 1);
        } else if (mt != NULL) {
            atomic_fetch_add(&mt->held, 1);
        }
        return true;
    }
    if (returning && cur == h->source)
        emu_violation(EMU_RULE_NBL_DOUBLE_RETURN, from ? from->name : NULL, api,
                      "NBL %p is already back at its source %s", (void *)nbl, party_name(cur));
    else
        emu_violation(EMU_RULE_NBL_WRONG_OWNER, from ? from->name : NULL, api,
                      "NBL %p is owned by %s, not by the caller %s", (void *)nbl, party_name(cur),
                      party_name(from));
    return false;
}

/*
 * End of an indication with NDIS_RECEIVE_FLAGS_RESOURCES: the NBLs are the
 * indicator's again the moment the call returns, whatever the receivers did.
 * If the indicator is their source they are home, not outstanding: its
 * originated_out goes back down. (Before, it did not, and every such
 * indication of a module's own NBLs added one to pause-with-outstanding-nbls
 * and nbl-leak.) The sums of the modules above it are dropped: they never
 * get the NBL back.
 */
void emu_nbl_force_owner(PNET_BUFFER_LIST nbl, struct emu_party *to)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    struct emu_party *cur = atomic_exchange(&h->owner, to);
    int p = sum_slot(to);
    h->sum_valid &= p < 0 ? 0u : (1u << p) - 1u;
    if (cur == to)
        return;
    struct emu_module *m = as_module(cur);
    if (m != NULL && cur != h->source)
        atomic_fetch_sub(&m->held, 1);
    m = as_module(to);
    if (m != NULL && to != h->source)
        atomic_fetch_add(&m->held, 1);
    else if (m != NULL)
        atomic_fetch_sub(&m->originated_out, 1);
}

/*
 * nbl-chain-cycle / nbl-count-mismatch. Floyd's walk: the fast pointer
 * moves two links per step, the slow one one; on a chain with a loop they
 * meet within (loop start + loop length) steps, on a finite chain the fast
 * one reaches NULL. Either way the walk ends, and it needs no memory, so it
 * runs before anything else in ndisemu walks the chain.
 *
 * A loop is reported and then cut where it closes (the loop's start is
 * where a pointer from the head and one from the meeting point meet, moving
 * one link each; the NBL whose Next is the start gets NULL): the chain
 * then holds every NBL once, as the driver most likely meant, and the call
 * goes on, so one defect makes one finding instead of a hang and a leak.
 */
void emu_verify_chain(const char *api, PNET_BUFFER_LIST nbls, long count)
{
    PNET_BUFFER_LIST slow = nbls, fast = nbls;
    long n = 0;
    while (fast != NULL) {
        fast = fast->Next;
        n++;
        if (fast == NULL)
            break;
        fast = fast->Next;
        n++;
        slow = slow->Next;
        if (fast == slow) {
            PNET_BUFFER_LIST start = nbls, last;
            while (start != slow) {
                start = start->Next;
                slow = slow->Next;
            }
            for (last = start; last->Next != start;)
                last = last->Next;
            emu_violation(EMU_RULE_NBL_CHAIN_CYCLE, NULL, api,
                          "%s: the chain starting at NBL %p loops: NBL %p links back to NBL %p "
                          "(ndisemu cut the loop there)",
                          api, (void *)nbls, (void *)last, (void *)start);
            last->Next = NULL;
            emu_verify_chain(api, nbls, count);
            return;
        }
    }
    if (count >= 0 && count != n)
        emu_violation(EMU_RULE_NBL_COUNT_MISMATCH, NULL, api,
                      "%s: NumberOfNetBufferLists is %ld but the chain holds %ld NBL(s)", api,
                      count, n);
}

static void report_paused(struct emu_module *m, long held, long out)
{
    if (held > 0)
        emu_violation(EMU_RULE_PAUSE_WITH_OUTSTANDING, m->name, "FilterPause",
                      "pause completed while the module still holds %ld NBL(s) it received", held);
    if (out > 0)
        emu_violation(EMU_RULE_PAUSE_WITH_OUTSTANDING, m->name, "FilterPause",
                      "pause completed with %ld NBL(s) it originated still outstanding", out);
}

/*
 * The counts are judged only at an instant when no datapath callback is in
 * flight in the module: lower layers keep indicating to a Paused module
 * (pause runs top-down), and what a callback holds while it runs is not a
 * violation. `begins` changing, or `inflight` being non-zero around the reads,
 * means a callback overlapped them: the check is then handed to the last
 * callback to leave (check_pending). A check that comes due after the module
 * was restarted is dropped: holding NBLs while Running is legitimate.
 */
static void check_or_defer(struct emu_module *m)
{
    for (;;) {
        long b1 = atomic_load(&m->begins);
        long i1 = atomic_load(&m->inflight);
        long held = atomic_load(&m->held), out = atomic_load(&m->originated_out);
        long i2 = atomic_load(&m->inflight);
        long b2 = atomic_load(&m->begins);
        if (i1 == 0 && i2 == 0 && b1 == b2) {
            if (atomic_load(&m->state) == EMU_MS_PAUSED)
                report_paused(m, held, out);
            return;
        }
        atomic_store(&m->check_pending, true);
        if (atomic_load(&m->inflight) != 0)
            return;
        if (!atomic_exchange(&m->check_pending, false))
            return;
    }
}

void emu_verify_callback_enter(struct emu_module *m)
{
    atomic_fetch_add(&m->inflight, 1);
    atomic_fetch_add(&m->begins, 1);
}

void emu_verify_callback_exit(struct emu_module *m)
{
    if (atomic_fetch_sub(&m->inflight, 1) == 1 && atomic_load(&m->check_pending) &&
        atomic_exchange(&m->check_pending, false))
        check_or_defer(m);
}

void emu_verify_pause_complete(struct emu_module *m)
{
    check_or_defer(m);
}

void emu_verify_detach(struct emu_module *m)
{
    long held = atomic_load(&m->held), out = atomic_load(&m->originated_out);
    if (held > 0)
        emu_violation(EMU_RULE_NBL_LEAK, m->name, "FilterDetach",
                      "%ld NBL(s) received by the module were never passed on or returned", held);
    if (out > 0)
        emu_violation(EMU_RULE_NBL_LEAK, m->name, "FilterDetach",
                      "%ld NBL(s) originated by the module never came back", out);
}
