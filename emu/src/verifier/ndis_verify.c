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
        bool home = (cur != NULL && cur == h->source && cur == from);
        if (cur != from && !fresh)
            break;
        if (fresh && returning) {
            emu_violation(EMU_RULE_NBL_WRONG_OWNER, from ? from->name : NULL, api,
                          "NBL %p was never handed to %s: it cannot return or complete it",
                          (void *)nbl, party_name(from));
            return false;
        }
        if (fresh && (struct emu_party *)nbl->SourceHandle != from) {
            emu_violation(EMU_RULE_NBL_WRONG_OWNER, from ? from->name : NULL, api,
                          "NBL %p originated by %s with SourceHandle %p, not its own handle",
                          (void *)nbl, party_name(from), nbl->SourceHandle);
            return false;
        }
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

void emu_nbl_force_owner(PNET_BUFFER_LIST nbl, struct emu_party *to)
{
    struct emu_nbl_hdr *h = emu_nbl_hdr(nbl);
    struct emu_party *cur = atomic_exchange(&h->owner, to);
    struct emu_module *m = as_module(cur);
    if (m != NULL && cur != h->source)
        atomic_fetch_sub(&m->held, 1);
    m = as_module(to);
    if (m != NULL && to != h->source)
        atomic_fetch_add(&m->held, 1);
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
