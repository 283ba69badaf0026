/*
 * Send path: classify each NBL a protocol (or a filter above) sends, send it
 * down or complete it.
 *
 * A dropped send is completed back to its sender with
 * NET_BUFFER_LIST_STATUS = NDIS_STATUS_FAILURE. A firewall could pretend
 * success instead, but a sender that counts errors (TCP retransmission
 * statistics, a VPN's health check) should learn that the packet did not
 * leave: failure is the honest answer, and it is what the WFP-era filters
 * report for blocked sends too. Passed NBLs go down in their original order.
 */
#include "strategy.h"

_Use_decl_annotations_ VOID HlFilterSendNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                       PNET_BUFFER_LIST NetBufferLists,
                                                       NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PHL_MODULE Module = FilterModuleContext;
    BOOLEAN AtDispatch = NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags);
    ULONG CompleteFlags = AtDispatch ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
    PNET_BUFFER_LIST PassHead = NULL, DropHead = NULL;
    PNET_BUFFER_LIST *PassTail = &PassHead, *DropTail = &DropHead;
    ULONG PassCount = 0, DropCount = 0;
    PNET_BUFFER_LIST Nbl, Next;
    HL_READ_CONTEXT Context;
    const struct hl_view *View;

    /* Sends from drivers above that are not paused yet reach a Pausing module. */
    if (ReadNoFence(&Module->State) != HlModuleRunning) {
        ULONG Count = 0;

        for (Nbl = NetBufferLists; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl)) {
            NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PAUSED;
            Count++;
        }
        HlCountRefused(Module, AtDispatch, HL_DIR_OUT, Count);
        NdisFSendNetBufferListsComplete(Module->FilterHandle, NetBufferLists, CompleteFlags);
        return;
    }

    View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        ULONG Rule;

        if (HlStrategy->PerPacket && Nbl != NetBufferLists) {
            HlStrategy->ReadLeave(Module, &Context);
            View = HlStrategy->ReadEnter(Module, AtDispatch, &Context);
        }
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (HlClassifyNbl(View, HL_DIR_OUT, Nbl, &Rule) == HL_ACTION_DROP) {
            NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_FAILURE;
            *DropTail = Nbl;
            DropTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
            DropCount++;
        } else {
            *PassTail = Nbl;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
            PassCount++;
        }
        hl_stats_hit(Context.Snapshot, Context.Cpu, Rule, HL_DIR_OUT);
    }
    HlCounterAdd(&Context.Slice->TxSeen, PassCount + DropCount);
    HlCounterAdd(&Context.Slice->TxDropped, DropCount);
    HlStrategy->ReadLeave(Module, &Context);

    if (PassHead != NULL)
        NdisFSendNetBufferLists(Module->FilterHandle, PassHead, PortNumber, SendFlags);
    if (DropHead != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, DropHead, CompleteFlags);
}

_Use_decl_annotations_ VOID HlFilterSendNetBufferListsComplete(NDIS_HANDLE FilterModuleContext,
                                                               PNET_BUFFER_LIST NetBufferLists,
                                                               ULONG SendCompleteFlags)
{
    PHL_MODULE Module = FilterModuleContext;

    /* hotlwf originates no send: every completion goes back up to its sender. */
    NdisFSendNetBufferListsComplete(Module->FilterHandle, NetBufferLists, SendCompleteFlags);
}
