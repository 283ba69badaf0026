/*
 * NBL / NET_BUFFER / MDL: accessors, NdisGetDataBuffer across MDL splits,
 * advance / retreat, NBL contexts, pool accounting.
 */
#include "ndis_test_util.h"

static UCHAR frame[200];

/* The frame split into MDLs of the given sizes (0-terminated). */
static PMDL split(const unsigned *sizes)
{
    PMDL head = NULL, *tail = &head;
    unsigned at = 0;
    for (; *sizes; sizes++) {
        PMDL m = NdisAllocateMdl(NULL, frame + at, *sizes);
        at += *sizes;
        *tail = m;
        tail = &m->Next;
    }
    return head;
}

static void free_chain(PMDL m)
{
    while (m) {
        PMDL n = m->Next;
        NdisFreeMdl(m);
        m = n;
    }
}

static void test_accessors(NDIS_HANDLE pool)
{
    static const unsigned sizes[] = {14, 20, 100, 0};
    PMDL chain = split(sizes);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 16, 32, chain, 10, 120);
    CHECK(nbl != NULL);
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    CHECK(NET_BUFFER_LIST_NEXT_NBL(nbl) == NULL);
    CHECK(NET_BUFFER_NEXT_NB(nb) == NULL);
    CHECK(NET_BUFFER_FIRST_MDL(nb) == chain);
    CHECK(NET_BUFFER_DATA_OFFSET(nb) == 10);
    CHECK(NET_BUFFER_DATA_LENGTH(nb) == 120);
    CHECK(NET_BUFFER_CURRENT_MDL(nb) == chain);
    CHECK(NET_BUFFER_CURRENT_MDL_OFFSET(nb) == 10);
    CHECK(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl) >= 16);
    PUCHAR ctx = NET_BUFFER_LIST_CONTEXT_DATA_START(nbl);
    memset(ctx, 0xab, 16);

    PVOID va;
    ULONG len, off;
    NdisQueryMdl(chain->Next, &va, &len, NormalPagePriority | MdlMappingNoExecute);
    CHECK(va == frame + 14 && len == 20);
    NdisQueryMdlOffset(chain->Next, &off, &len);
    CHECK(off == BYTE_OFFSET(frame + 14) && len == 20);
    CHECK(MmGetMdlVirtualAddress(chain->Next) == frame + 14);
    CHECK(MmGetMdlByteCount(chain) == 14);
    CHECK(MmGetSystemAddressForMdlSafe(chain, NormalPagePriority) == frame);

    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_PAUSED;
    CHECK(nbl->Status == NDIS_STATUS_PAUSED);
    NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo) = (PVOID)5;
    CHECK(nbl->NetBufferListInfo[Ieee8021QNetBufferListInfo] == (PVOID)5);
    NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[1] = nbl;
    NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[3] = nbl;
    CHECK(nbl->MiniportReserved[1] == nbl && nbl->ProtocolReserved[3] == nbl);

    ULONG f = 0;
    NDIS_SET_SEND_COMPLETE_FLAG(f, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
    CHECK(NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(f));
    CHECK(NDIS_TEST_SEND_AT_DISPATCH_LEVEL(NDIS_SEND_FLAGS_DISPATCH_LEVEL));
    CHECK(!NDIS_TEST_RECEIVE_CAN_PEND(NDIS_RECEIVE_FLAGS_RESOURCES));
    CHECK(NDIS_TEST_RECEIVE_CAN_PEND(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL));
    CHECK(NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL));
    f = 0;
    NDIS_SET_RETURN_FLAG(f, NDIS_RETURN_FLAGS_DISPATCH_LEVEL);
    CHECK(NDIS_TEST_RETURN_AT_DISPATCH_LEVEL(f));

    CHECK(NdisAllocateNetBufferListContext(nbl, 32, 0, 'xtcT') == NDIS_STATUS_SUCCESS);
    CHECK(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl)[32] == 0xab);
    NdisFreeNetBufferListContext(nbl, 32);
    CHECK(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl) == ctx);
    NdisFreeNetBufferList(nbl);
    free_chain(chain);
}

static void test_get_data_buffer(NDIS_HANDLE pool)
{
    static const unsigned sizes[] = {14, 6, 1, 179, 0};
    for (unsigned i = 0; i < sizeof(frame); i++)
        frame[i] = (UCHAR)i;
    PMDL chain = split(sizes);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chain, 0, 200);
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    UCHAR storage[64];

    /* Inside the first MDL: a pointer into it, not a copy. */
    CHECK(NdisGetDataBuffer(nb, 14, storage, 1, 0) == frame);
    /* Across three MDLs: a copy, or NULL without storage. */
    PUCHAR p = NdisGetDataBuffer(nb, 24, storage, 1, 0);
    CHECK(p == storage);
    for (unsigned i = 0; i < 24; i++)
        CHECK(p[i] == i);
    CHECK(NdisGetDataBuffer(nb, 24, NULL, 1, 0) == NULL);
    CHECK(NdisGetDataBuffer(nb, 201, storage, 1, 0) == NULL);

    /* Advance into the middle of the chain, then look again. */
    NdisAdvanceNetBufferDataStart(nb, 14, FALSE, NULL);
    CHECK(NET_BUFFER_DATA_LENGTH(nb) == 186 && NET_BUFFER_DATA_OFFSET(nb) == 14);
    CHECK(NET_BUFFER_CURRENT_MDL(nb) == chain->Next);
    CHECK(NET_BUFFER_CURRENT_MDL_OFFSET(nb) == 0);
    p = NdisGetDataBuffer(nb, 8, storage, 1, 0);
    CHECK(p == storage && p[0] == 14 && p[7] == 21);
    NdisAdvanceNetBufferDataStart(nb, 9, FALSE, NULL);
    CHECK(NET_BUFFER_CURRENT_MDL(nb) == chain->Next->Next->Next);
    CHECK(NET_BUFFER_CURRENT_MDL_OFFSET(nb) == 2);
    p = NdisGetDataBuffer(nb, 4, storage, 1, 0);
    CHECK(p == frame + 23);

    /* Retreat into the unused front space. */
    CHECK(NdisRetreatNetBufferDataStart(nb, 23, 0, NULL) == NDIS_STATUS_SUCCESS);
    CHECK(NET_BUFFER_DATA_OFFSET(nb) == 0 && NET_BUFFER_DATA_LENGTH(nb) == 200);
    CHECK(NET_BUFFER_CURRENT_MDL(nb) == chain);
    /* Retreat beyond it: a new MDL in front, given back by the advance. */
    CHECK(NdisRetreatNetBufferDataStart(nb, 8, 16, NULL) == NDIS_STATUS_SUCCESS);
    CHECK(NET_BUFFER_DATA_LENGTH(nb) == 208);
    CHECK(NET_BUFFER_FIRST_MDL(nb) != chain);
    memset(NdisGetDataBuffer(nb, 8, NULL, 1, 0), 0xee, 8);
    p = NdisGetDataBuffer(nb, 10, storage, 1, 0);
    CHECK(p == storage && p[7] == 0xee && p[8] == 0 && p[9] == 1);
    NdisAdvanceNetBufferDataStart(nb, 8, TRUE, NULL);
    CHECK(NET_BUFFER_FIRST_MDL(nb) == chain);
    CHECK(NET_BUFFER_DATA_OFFSET(nb) == 0 && NET_BUFFER_DATA_LENGTH(nb) == 200);
    NdisFreeNetBufferList(nbl);
    free_chain(chain);
}

static void test_separate_nb(NDIS_HANDLE pool)
{
    NET_BUFFER_POOL_PARAMETERS bp = {{NDIS_OBJECT_TYPE_DEFAULT,
                                      NET_BUFFER_POOL_PARAMETERS_REVISION_1,
                                      NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1},
                                     'bnTT',
                                     0};
    NDIS_HANDLE nbpool = NdisAllocateNetBufferPool(NULL, &bp);
    CHECK(nbpool != NULL);
    PMDL m = NdisAllocateMdl(NULL, frame, 64);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    PNET_BUFFER a = NdisAllocateNetBuffer(nbpool, m, 0, 64),
                b = NdisAllocateNetBuffer(nbpool, m, 4, 60);
    NET_BUFFER_LIST_FIRST_NB(nbl) = a;
    NET_BUFFER_NEXT_NB(a) = b;
    CHECK(NET_BUFFER_CURRENT_MDL_OFFSET(b) == 4);
    NdisFreeNetBuffer(b);
    NdisFreeNetBuffer(a);
    NdisFreeNetBufferList(nbl);
    NdisFreeMdl(m);
    emu_violations_reset();
    NdisFreeNetBufferPool(nbpool);
    CHECK_RULE(EMU_RULE_NBL_LEAK, 0);
}

int main(void)
{
    emu_kernel_init(2);
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = 'lbNT';
    NDIS_HANDLE pool = NdisAllocateNetBufferListPool(NULL, &pp);
    CHECK(pool != NULL);
    test_accessors(pool);
    test_get_data_buffer(pool);
    test_separate_nb(pool);

    /* A pool freed with an NBL still out is a leak the verifier names. */
    PNET_BUFFER_LIST left = NdisAllocateNetBufferList(pool, 0, 0);
    emu_violations_reset();
    NdisFreeNetBufferListPool(pool);
    CHECK_RULE(EMU_RULE_NBL_LEAK, 1);
    NdisFreeNetBufferList(left);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_nbl_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
