/*
 * Receive path: classify each NBL the miniport (or a filter below)
 * indicates, pass it up or drop it.
 *
 * Two ownership regimes, decided per indication by NDIS_RECEIVE_FLAGS_RESOURCES:
 * - Without it, hotlwf owns the NBLs until it indicates or returns them: the
 *   chain is split, the passed part indicated with its count adjusted and
 *   the dropped part returned down with NdisFReturnNetBufferLists.
 * - With it, the indicator gets the whole chain back the moment this
 *   handler returns: nothing may be retained or returned. The passed NBLs
 *   are indicated as a sub-chain with the same flags, and the original
 *   links are restored before returning, so the indicator finds its chain
 *   exactly as it gave it.
 */
#include "strategy.h"

/*
 * With RESOURCES the original links are saved on the stack to be restored,
 * so the chain is handled this many NBLs at a time (one read section each).
 */
#define HL_RESOURCES_CHUNK 32u

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    HlReceiveOwned(_In_ PHL_MODULE Module, _In_ PNET_BUFFER_LIST NetBufferLists,
                   _In_ NDIS_PORT_NUMBER PortNumber, _In_ ULONG ReceiveFlags)
{
    BOOLEAN AtDispatch = NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags);
    PNET_BUFFER_LIST PassHead = NULL, DropHead = NULL;
    PNET_BUFFER_LIST *PassTail = &PassHead, *DropTail = &DropHead;
    ULONG PassCount = 0, DropCount = 0;
    PNET_BUFFER_LIST Nbl, Next;
    HL_READ_CONTEXT Context;
    const struct hl_view *View;

    View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        ULONG Rule;
        UCHAR Action;

        if (HlStrategy->PerPacket && Nbl != NetBufferLists) {
            HlStrategy->ReadLeave(Module, &Context);
            View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
        }
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        Action = HlClassifyNbl(View, HL_DIR_IN, Nbl, &Rule);
        hl_stats_hit(Context.Snapshot, Context.Cpu, Rule, HL_DIR_IN);
        if (Action == HL_ACTION_DROP) {
            *DropTail = Nbl;
            DropTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
            DropCount++;
        } else {
            *PassTail = Nbl;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
            PassCount++;
        }
    }
    HlCounterAdd(&Context.Slice->RxSeen, PassCount + DropCount);
    HlCounterAdd(&Context.Slice->RxDropped, DropCount);
    HlStrategy->ReadLeave(Module, &Context);

    if (PassHead != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, PassHead, PortNumber, PassCount,
                                           ReceiveFlags);
    if (DropHead != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, DropHead,
                                  AtDispatch ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    HlReceiveResources(_In_ PHL_MODULE Module, _In_ PNET_BUFFER_LIST NetBufferLists,
                       _In_ NDIS_PORT_NUMBER PortNumber, _In_ ULONG ReceiveFlags)
{
    BOOLEAN AtDispatch = NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags);
    PNET_BUFFER_LIST Nbl = NetBufferLists;

    while (Nbl != NULL) {
        PNET_BUFFER_LIST Chunk[HL_RESOURCES_CHUNK];
        BOOLEAN Pass[HL_RESOURCES_CHUNK];
        PNET_BUFFER_LIST PassHead = NULL;
        PNET_BUFFER_LIST *PassTail = &PassHead;
        ULONG Count = 0, PassCount = 0, i;
        HL_READ_CONTEXT Context;
        const struct hl_view *View;

        while (Nbl != NULL && Count < HL_RESOURCES_CHUNK) {
            Chunk[Count++] = Nbl;
            Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }

        View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
        for (i = 0; i < Count; i++) {
            ULONG Rule;

            if (HlStrategy->PerPacket && i != 0) {
                HlStrategy->ReadLeave(Module, &Context);
                View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
            }
            Pass[i] = HlClassifyNbl(View, HL_DIR_IN, Chunk[i], &Rule) != HL_ACTION_DROP;
            hl_stats_hit(Context.Snapshot, Context.Cpu, Rule, HL_DIR_IN);
            PassCount += Pass[i];
        }
        HlCounterAdd(&Context.Slice->RxSeen, Count);
        HlCounterAdd(&Context.Slice->RxDropped, Count - PassCount);
        HlStrategy->ReadLeave(Module, &Context);

        if (PassCount == 0)
            continue;
        for (i = 0; i < Count; i++) {
            if (Pass[i]) {
                *PassTail = Chunk[i];
                PassTail = &NET_BUFFER_LIST_NEXT_NBL(Chunk[i]);
            }
        }
        *PassTail = NULL;

        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, PassHead, PortNumber, PassCount,
                                           ReceiveFlags);

        /* The upper driver could not keep them either (same flags): relink as they came. */
        for (i = 0; i + 1 < Count; i++)
            NET_BUFFER_LIST_NEXT_NBL(Chunk[i]) = Chunk[i + 1];
        NET_BUFFER_LIST_NEXT_NBL(Chunk[Count - 1]) = Nbl;
    }
}

_Use_decl_annotations_ VOID HlFilterReceiveNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                          PNET_BUFFER_LIST NetBufferLists,
                                                          NDIS_PORT_NUMBER PortNumber,
                                                          ULONG NumberOfNetBufferLists,
                                                          ULONG ReceiveFlags)
{
    PHL_MODULE Module = FilterModuleContext;
    BOOLEAN AtDispatch = NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags);

    /*
     * Pausing, Paused and Restarting modules still get indications from
     * below (Pause runs top-down): refuse them at once, indicate nothing.
     */
    if (ReadNoFence(&Module->State) != HlModuleRunning) {
        HlCountRefused(Module, AtDispatch, HL_DIR_IN, NumberOfNetBufferLists);
        if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
            NdisFReturnNetBufferLists(Module->FilterHandle, NetBufferLists,
                                      AtDispatch ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
        return;
    }

    if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        HlReceiveResources(Module, NetBufferLists, PortNumber, ReceiveFlags);
    else
        HlReceiveOwned(Module, NetBufferLists, PortNumber, ReceiveFlags);
}

_Use_decl_annotations_ VOID HlFilterReturnNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                         PNET_BUFFER_LIST NetBufferLists,
                                                         ULONG ReturnFlags)
{
    PHL_MODULE Module = FilterModuleContext;

    /* hotlwf originates no receive: everything coming back belongs below. */
    NdisFReturnNetBufferLists(Module->FilterHandle, NetBufferLists, ReturnFlags);
}
