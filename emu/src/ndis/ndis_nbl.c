/*
 * NET_BUFFER_LIST / NET_BUFFER / MDL allocation and the buffer helpers
 * (NdisGetDataBuffer, advance/retreat).
 *
 * Every NBL carries a hidden struct emu_nbl_hdr just in front of it, in the
 * same allocation, so the verifier finds an NBL's owner with pointer
 * arithmetic instead of a shared map that every CPU would contend on.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "handles.h"
#include "resources.h"
#include "kernel.h"

#define EMU_MDL_RETREAT 0x4000 /* MdlFlags bit: allocated by NdisRetreatNetBufferDataStart */

/*
 * `refs`: one per buffer allocated from the pool, plus the pool's own until
 * it is freed; the last one frees it. A pool freed while buffers of it are
 * still allocated so lives on until they are freed, its handle retired.
 *
 * A driver may free a pool while another of its threads allocates from it
 * (a driver race, but ndisemu must report it, not crash): an allocation
 * takes its reference (pool_acquire) only if the count is not yet zero and
 * then checks `freed`; free_pool sets `freed` with one exchange. Either the
 * allocation's reference came first (it is then a buffer still allocated
 * when the pool was freed: nbl-leak) or the free did (stale-handle). The
 * memory of a dead pool waits in a quarantine before it is freed, so a
 * thread that validated the handle just before it died still reads valid
 * memory.
 */
struct emu_nbl_pool {
    bool is_nb_pool;
    _Atomic bool freed;
    struct emu_res_acct *acct;      /* the pool, charged to its allocator (resources.h) */
    struct emu_res_acct *item_acct; /* each NBL (NB) allocated from it */
    NET_BUFFER_LIST_POOL_PARAMETERS p;
    struct emu_party *party;
    _Atomic long refs;
};

struct emu_retreat_mdl {
    MDL mdl;
    PMDL saved_chain;
    UCHAR data[];
};

static struct emu_party *party_for_pool_handle(NDIS_HANDLE h)
{
    return emu_party_from_handle(h);
}

#define POOL_QUARANTINE 1024
static pthread_mutex_t g_quarantine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_nbl_pool *g_quarantine[POOL_QUARANTINE];
static unsigned g_quarantine_at;

/* pool: ndisemu's own pointer, from an NBL's header or an NB's pool handle. */
static void pool_put(struct emu_nbl_pool *pool)
{
    if (pool == NULL || atomic_fetch_sub(&pool->refs, 1) != 1)
        return;
    pthread_mutex_lock(&g_quarantine_lock);
    struct emu_nbl_pool *old = g_quarantine[g_quarantine_at % POOL_QUARANTINE];
    g_quarantine[g_quarantine_at++ % POOL_QUARANTINE] = pool;
    pthread_mutex_unlock(&g_quarantine_lock);
    free(old);
}

/* A pool handle the driver passes to allocate from: live, of the kind the
   API takes, not being freed. The caller holds a reference on success. */
static struct emu_nbl_pool *pool_acquire(NDIS_HANDLE h, bool nb_pool, const char *api)
{
    struct emu_nbl_pool *pool = h;
    if (!emu_handle_check(h, nb_pool ? EMU_HANDLE_NB_POOL : EMU_HANDLE_NBL_POOL, api))
        return NULL;
    long r = atomic_load(&pool->refs);
    do {
        if (r == 0)
            break;
    } while (!atomic_compare_exchange_weak(&pool->refs, &r, r + 1));
    if (r != 0 && !atomic_load(&pool->freed))
        return pool;
    if (r != 0)
        pool_put(pool);
    emu_violation(EMU_RULE_STALE_HANDLE, NULL, api, "%s: pool %p was freed while this call used it",
                  api, h);
    return NULL;
}

static void charge_pool(struct emu_nbl_pool *pool, enum emu_res_kind kind,
                        enum emu_res_kind item_kind, const void *caller)
{
    pool->acct = emu_res_account(kind, pool->p.PoolTag, caller);
    pool->item_acct = emu_res_account(item_kind, pool->p.PoolTag, caller);
    emu_res_charge(pool->acct, pool);
}

NDIS_HANDLE NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle,
                                          PNET_BUFFER_LIST_POOL_PARAMETERS Parameters)
{
    if (emu_fault_should_fail("NdisAllocateNetBufferListPool", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateNetBufferListPool", DISPATCH_LEVEL);
    if (Parameters == NULL || Parameters->Header.Type != NDIS_OBJECT_TYPE_DEFAULT ||
        Parameters->Header.Size < NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1)
        return NULL;
    struct emu_nbl_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    memcpy(&pool->p, Parameters, NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1);
    pool->party = party_for_pool_handle(NdisHandle);
    charge_pool(pool, EMU_RES_NBL_POOL, EMU_RES_NBL, __builtin_return_address(0));
    atomic_init(&pool->refs, 1);
    emu_handle_issue(pool, EMU_HANDLE_NBL_POOL);
    return pool;
}

NDIS_HANDLE NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle,
                                      PNET_BUFFER_POOL_PARAMETERS Parameters)
{
    if (emu_fault_should_fail("NdisAllocateNetBufferPool", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateNetBufferPool", DISPATCH_LEVEL);
    if (Parameters == NULL || Parameters->Header.Type != NDIS_OBJECT_TYPE_DEFAULT)
        return NULL;
    struct emu_nbl_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    pool->is_nb_pool = true;
    pool->p.PoolTag = Parameters->PoolTag;
    pool->p.DataSize = Parameters->DataSize;
    pool->party = party_for_pool_handle(NdisHandle);
    charge_pool(pool, EMU_RES_NB_POOL, EMU_RES_NB, __builtin_return_address(0));
    atomic_init(&pool->refs, 1);
    emu_handle_issue(pool, EMU_HANDLE_NB_POOL);
    return pool;
}

static void free_pool(NDIS_HANDLE PoolHandle, bool nb_pool, const char *api)
{
    struct emu_nbl_pool *pool = pool_acquire(PoolHandle, nb_pool, api);
    if (pool == NULL)
        return;
    if (atomic_exchange(&pool->freed, true)) {
        pool_put(pool);
        emu_violation(EMU_RULE_STALE_HANDLE, NULL, api, "%s: pool %p is being freed twice", api,
                      PoolHandle);
        return;
    }
    emu_handle_retire(pool);
    emu_res_release(pool->acct);
    long n = atomic_load(&pool->refs) - 2; /* less its own and this call's */
    if (n > 0)
        emu_violation(EMU_RULE_NBL_LEAK, NULL, api, "%s with %ld buffers still allocated from it",
                      api, n);
    pool_put(pool);
    pool_put(pool);
}


VOID NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle)
{
    free_pool(PoolHandle, false, "NdisFreeNetBufferListPool");
}

VOID NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle)
{
    free_pool(PoolHandle, true, "NdisFreeNetBufferPool");
}

static void nb_locate(PNET_BUFFER nb)
{
    PMDL m = nb->MdlChain;
    ULONG off = nb->DataOffset;
    while (m != NULL && off >= m->ByteCount && m->Next != NULL) {
        off -= m->ByteCount;
        m = m->Next;
    }
    nb->CurrentMdl = m;
    nb->CurrentMdlOffset = off;
}

static void nb_init(PNET_BUFFER nb, NDIS_HANDLE pool, PMDL chain, ULONG off, SIZE_T len)
{
    nb->NdisPoolHandle = pool;
    nb->MdlChain = chain;
    nb->DataOffset = off;
    nb->DataLength = (ULONG)len;
    nb_locate(nb);
}

static PNET_BUFFER_LIST alloc_nbl(struct emu_nbl_pool *pool, USHORT ctx_size, USHORT backfill,
                                  bool with_nb, PMDL chain, ULONG off, SIZE_T len)
{
    size_t data = 0;
    if (with_nb && chain == NULL && pool->p.DataSize != 0)
        data = pool->p.DataSize;
    size_t base = sizeof(struct emu_nbl_hdr) + sizeof(NET_BUFFER_LIST);
    size_t nb_at = base, mdl_at = nb_at + (with_nb ? sizeof(NET_BUFFER) : 0);
    size_t data_at = mdl_at + (data ? sizeof(MDL) : 0);
    char *blk = calloc(1, data_at + data);
    if (blk == NULL)
        return NULL;
    struct emu_nbl_hdr *h = (struct emu_nbl_hdr *)blk;
    PNET_BUFFER_LIST nbl = (PNET_BUFFER_LIST)(blk + sizeof(*h));
    h->magic = EMU_NBL_MAGIC;
    h->pool = pool;
    nbl->NdisPoolHandle = pool;
    if (ctx_size != 0 || pool->p.ContextSize != 0) {
        USHORT sz = ctx_size + backfill;
        if (pool->p.ContextSize > sz)
            sz = pool->p.ContextSize;
        PNET_BUFFER_LIST_CONTEXT c = calloc(1, sizeof(*c) + sz);
        if (c == NULL) {
            free(blk);
            return NULL;
        }
        c->Size = sz;
        c->Offset = sz - ctx_size;
        nbl->Context = c;
    }
    if (with_nb) {
        PNET_BUFFER nb = (PNET_BUFFER)(blk + nb_at);
        h->flags |= EMU_NBL_NB_INLINE;
        if (data) {
            PMDL m = (PMDL)(blk + mdl_at);
            char *va = blk + data_at;
            m->Size = sizeof(MDL);
            m->MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL | MDL_ALLOCATED_FIXED_SIZE;
            m->MappedSystemVa = va;
            m->StartVa = PAGE_ALIGN(va);
            m->ByteOffset = BYTE_OFFSET(va);
            m->ByteCount = (ULONG)data;
            chain = m;
            h->flags |= EMU_NBL_DATA_INLINE;
        }
        nb_init(nb, pool, chain, off, len);
        nbl->FirstNetBuffer = nb;
    }
    emu_res_charge(pool->item_acct, blk);
    if (nbl->Context != NULL)
        emu_res_charge_part(pool->item_acct, nbl->Context);
    if (emu_ndis_verifying())
        emu_nbl_verify_alloc(nbl, pool->party);
    return nbl;
}

PNET_BUFFER_LIST NdisAllocateNetBufferAndNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                                       USHORT ContextBackFill, PMDL MdlChain,
                                                       ULONG DataOffset, SIZE_T DataLength)
{
    if (emu_fault_should_fail("NdisAllocateNetBufferAndNetBufferList", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateNetBufferAndNetBufferList", DISPATCH_LEVEL);
    struct emu_nbl_pool *pool =
        pool_acquire(PoolHandle, false, "NdisAllocateNetBufferAndNetBufferList");
    PNET_BUFFER_LIST nbl =
        pool == NULL || !pool->p.fAllocateNetBuffer
            ? NULL
            : alloc_nbl(pool, ContextSize, ContextBackFill, true, MdlChain, DataOffset, DataLength);
    if (nbl == NULL)
        pool_put(pool);
    return nbl;
}

PNET_BUFFER_LIST NdisAllocateNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                           USHORT ContextBackFill)
{
    if (emu_fault_should_fail("NdisAllocateNetBufferList", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateNetBufferList", DISPATCH_LEVEL);
    struct emu_nbl_pool *pool = pool_acquire(PoolHandle, false, "NdisAllocateNetBufferList");
    PNET_BUFFER_LIST nbl =
        pool == NULL ? NULL : alloc_nbl(pool, ContextSize, ContextBackFill, false, NULL, 0, 0);
    if (nbl == NULL)
        pool_put(pool);
    return nbl;
}

PNET_BUFFER NdisAllocateNetBuffer(NDIS_HANDLE PoolHandle, PMDL MdlChain, ULONG DataOffset,
                                  SIZE_T DataLength)
{
    if (emu_fault_should_fail("NdisAllocateNetBuffer", __builtin_return_address(0)))
        return NULL;
    emu_irql_require_max("NdisAllocateNetBuffer", DISPATCH_LEVEL);
    struct emu_nbl_pool *pool = pool_acquire(PoolHandle, true, "NdisAllocateNetBuffer");
    if (pool == NULL)
        return NULL;
    PNET_BUFFER nb = calloc(1, sizeof(*nb));
    if (nb == NULL) {
        pool_put(pool);
        return NULL;
    }
    nb_init(nb, pool, MdlChain, DataOffset, DataLength);
    emu_res_charge(pool->item_acct, nb);
    return nb;
}

VOID NdisFreeNetBuffer(PNET_BUFFER NetBuffer)
{
    if (NetBuffer == NULL)
        return;
    struct emu_nbl_pool *pool = NetBuffer->NdisPoolHandle;
    if (pool != NULL)
        emu_res_release(pool->item_acct);
    pool_put(pool);
    free(NetBuffer);
}

VOID NdisFreeNetBufferList(PNET_BUFFER_LIST NetBufferList)
{
    if (NetBufferList == NULL)
        return;
    struct emu_nbl_hdr *h = emu_nbl_hdr(NetBufferList);
    if (h->magic != EMU_NBL_MAGIC) {
        emu_violation(EMU_RULE_STATE, NULL, "NdisFreeNetBufferList",
                      "NBL %p was not allocated by NDIS (or was freed twice)",
                      (void *)NetBufferList);
        return;
    }
    if (emu_ndis_verifying())
        emu_nbl_verify_free(NetBufferList);
    PNET_BUFFER_LIST_CONTEXT c = NetBufferList->Context;
    while (c != NULL) {
        PNET_BUFFER_LIST_CONTEXT next = c->Next;
        free(c);
        c = next;
    }
    emu_res_release(h->pool->item_acct);
    pool_put(h->pool);
    h->magic = 0;
    free(h);
}

NDIS_STATUS NdisAllocateNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize,
                                             USHORT ContextBackFill, ULONG PoolTag)
{
    if (emu_fault_should_fail("NdisAllocateNetBufferListContext", __builtin_return_address(0)))
        return NDIS_STATUS_RESOURCES;
    (void)PoolTag;
    PNET_BUFFER_LIST_CONTEXT c = NetBufferList->Context;
    if (c != NULL && c->Offset >= ContextSize) {
        c->Offset -= ContextSize;
        return NDIS_STATUS_SUCCESS;
    }
    USHORT sz = ContextSize + ContextBackFill;
    PNET_BUFFER_LIST_CONTEXT n = calloc(1, sizeof(*n) + sz);
    if (n == NULL)
        return NDIS_STATUS_RESOURCES;
    n->Size = sz;
    n->Offset = ContextBackFill;
    n->Next = c;
    NetBufferList->Context = n;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFreeNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize)
{
    PNET_BUFFER_LIST_CONTEXT c = NetBufferList->Context;
    if (c == NULL)
        return;
    c->Offset += ContextSize;
    if (c->Offset >= c->Size && c->Next != NULL) {
        NetBufferList->Context = c->Next;
        free(c);
    }
}

/* An MDL of NdisAllocateMdl, with the account it is charged to. */
struct emu_ndis_mdl {
    struct emu_res_acct *acct;
    void *pad;
    MDL mdl;
};

PMDL NdisAllocateMdl(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, UINT Length)
{
    if (emu_fault_should_fail("NdisAllocateMdl", __builtin_return_address(0)))
        return NULL;
    (void)NdisHandle;
    emu_irql_require_max("NdisAllocateMdl", DISPATCH_LEVEL);
    struct emu_ndis_mdl *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->acct = emu_res_account(EMU_RES_MDL, 0, __builtin_return_address(0));
    emu_res_charge(x->acct, x);
    PMDL m = &x->mdl;
    m->Size = sizeof(MDL);
    m->MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL;
    m->MappedSystemVa = VirtualAddress;
    m->StartVa = PAGE_ALIGN(VirtualAddress);
    m->ByteOffset = BYTE_OFFSET(VirtualAddress);
    m->ByteCount = Length;
    return m;
}

VOID NdisFreeMdl(PMDL Mdl)
{
    if (Mdl == NULL)
        return;
    struct emu_ndis_mdl *x = (struct emu_ndis_mdl *)((char *)Mdl - offsetof(struct emu_ndis_mdl, mdl));
    emu_res_release(x->acct);
    free(x);
}

PVOID NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage, UINT AlignMultiple,
                        UINT AlignOffset)
{
    if (BytesNeeded == 0 || BytesNeeded > NetBuffer->DataLength)
        return NULL;
    PMDL m = NetBuffer->CurrentMdl;
    ULONG off = NetBuffer->CurrentMdlOffset;
    while (m != NULL && off >= m->ByteCount) {
        off -= m->ByteCount;
        m = m->Next;
    }
    if (m == NULL)
        return NULL;
    UCHAR *va = (UCHAR *)m->MappedSystemVa + off;
    UINT align = AlignMultiple ? AlignMultiple : 1;
    if (m->ByteCount - off >= BytesNeeded && ((ULONG_PTR)va % align) == AlignOffset % align)
        return va;
    if (Storage == NULL)
        return NULL;
    UCHAR *dst = Storage;
    ULONG left = BytesNeeded;
    while (left != 0 && m != NULL) {
        ULONG n = m->ByteCount - off;
        if (n > left)
            n = left;
        memcpy(dst, (UCHAR *)m->MappedSystemVa + off, n);
        dst += n;
        left -= n;
        m = m->Next;
        off = 0;
    }
    return left == 0 ? Storage : NULL;
}

VOID NdisAdvanceNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta, BOOLEAN FreeMdl,
                                   NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler)
{
    (void)FreeMdlHandler;
    NetBuffer->DataOffset += DataOffsetDelta;
    NetBuffer->DataLength -= DataOffsetDelta;
    /* A retreat MDL that is now entirely before the data goes away, and with it
       the chain it replaced comes back, so the allocator frees its own MDLs. */
    PMDL head = NetBuffer->MdlChain;
    if (FreeMdl && head != NULL && (head->MdlFlags & EMU_MDL_RETREAT) &&
        NetBuffer->DataOffset >= head->ByteCount) {
        struct emu_retreat_mdl *r = (struct emu_retreat_mdl *)head;
        NetBuffer->DataOffset -= head->ByteCount;
        NetBuffer->MdlChain = r->saved_chain;
        NetBuffer->DataOffset += (ULONG)(ULONG_PTR)r->mdl.Process;
        free(r);
    }
    nb_locate(NetBuffer);
}

NDIS_STATUS NdisRetreatNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta,
                                          ULONG DataBackFill,
                                          NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler)
{
    (void)AllocateMdlHandler;
    if (NetBuffer->DataOffset >= DataOffsetDelta) {
        NetBuffer->DataOffset -= DataOffsetDelta;
        NetBuffer->DataLength += DataOffsetDelta;
        nb_locate(NetBuffer);
        return NDIS_STATUS_SUCCESS;
    }
    /* Simplified: the new MDL replaces the whole unused front of the chain, so
       the data must start at an MDL boundary. */
    if (NetBuffer->CurrentMdlOffset != 0)
        return NDIS_STATUS_RESOURCES;
    ULONG size = DataBackFill + DataOffsetDelta;
    struct emu_retreat_mdl *r = calloc(1, sizeof(*r) + size);
    if (r == NULL)
        return NDIS_STATUS_RESOURCES;
    r->mdl.Size = sizeof(MDL);
    r->mdl.MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL | EMU_MDL_RETREAT;
    r->mdl.MappedSystemVa = r->data;
    r->mdl.StartVa = PAGE_ALIGN(r->data);
    r->mdl.ByteOffset = BYTE_OFFSET(r->data);
    r->mdl.ByteCount = size;
    r->mdl.Next = NetBuffer->CurrentMdl;
    r->saved_chain = NetBuffer->MdlChain;
    /* The old offset of the data in the saved chain, to restore on advance. */
    r->mdl.Process = (struct _EPROCESS *)(ULONG_PTR)NetBuffer->DataOffset;
    NetBuffer->MdlChain = &r->mdl;
    NetBuffer->DataOffset = DataBackFill;
    NetBuffer->DataLength += DataOffsetDelta;
    nb_locate(NetBuffer);
    return NDIS_STATUS_SUCCESS;
}

VOID NdisAdvanceNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                       BOOLEAN FreeMdl,
                                       NET_BUFFER_FREE_MDL_HANDLER FreeMdlMdlHandler)
{
    for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != NULL; nb = nb->Next)
        NdisAdvanceNetBufferDataStart(nb, DataOffsetDelta, FreeMdl, FreeMdlMdlHandler);
}

NDIS_STATUS NdisRetreatNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                              ULONG DataBackFill,
                                              NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler,
                                              NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler)
{
    (void)FreeMdlHandler;
    for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != NULL; nb = nb->Next) {
        NDIS_STATUS st =
            NdisRetreatNetBufferDataStart(nb, DataOffsetDelta, DataBackFill, AllocateMdlHandler);
        if (st != NDIS_STATUS_SUCCESS)
            return st;
    }
    return NDIS_STATUS_SUCCESS;
}
