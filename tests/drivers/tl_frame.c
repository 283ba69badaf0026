/*
 * tl_frame: see tl_frame.h.
 */
#include "tl_frame.h"

_Use_decl_annotations_ NDIS_HANDLE TlNblPoolAllocate(PTL_MODULE Module, ULONG DataSize)
{
    NET_BUFFER_LIST_POOL_PARAMETERS Params;

    NdisZeroMemory(&Params, sizeof(Params));
    Params.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    Params.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    Params.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    Params.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    Params.fAllocateNetBuffer = TRUE;
    Params.DataSize = DataSize;
    Params.PoolTag = TL_POOL_TAG;
    return NdisAllocateNetBufferListPool(Module->FilterHandle, &Params);
}

_Use_decl_annotations_ VOID TlFrameHeader(PUCHAR Data)
{
    NdisFillMemory(Data, 12, 0xff); /* to and from ff:ff:ff:ff:ff:ff */
    Data[12] = 0x88;
    Data[13] = 0xb5;
}

_Use_decl_annotations_ PTL_FRAME TlFrameAllocate(PTL_MODULE Module)
{
    PTL_FRAME Frame;

    Frame = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Frame), TL_POOL_TAG,
                                              NormalPoolPriority);
    if (Frame == NULL)
        return NULL;
    NdisZeroMemory(Frame, sizeof(*Frame));
    TlFrameHeader(Frame->Data);
    Frame->NblPool = TlNblPoolAllocate(Module, 0);
    if (Frame->NblPool != NULL)
        Frame->Mdl = NdisAllocateMdl(Module->FilterHandle, Frame->Data, sizeof(Frame->Data));
    if (Frame->Mdl != NULL)
        Frame->Nbl = NdisAllocateNetBufferAndNetBufferList(Frame->NblPool, 0, 0, Frame->Mdl, 0,
                                                           sizeof(Frame->Data));
    if (Frame->Nbl == NULL) {
        if (Frame->Mdl != NULL)
            NdisFreeMdl(Frame->Mdl);
        if (Frame->NblPool != NULL)
            NdisFreeNetBufferListPool(Frame->NblPool);
        NdisFreeMemory(Frame, 0, 0);
        return NULL;
    }
    return Frame;
}

_Use_decl_annotations_ VOID TlFrameFree(PTL_FRAME Frame)
{
    NdisFreeNetBufferList(Frame->Nbl);
    NdisFreeMdl(Frame->Mdl);
    NdisFreeNetBufferListPool(Frame->NblPool);
    NdisFreeMemory(Frame, 0, 0);
}

_Use_decl_annotations_ VOID TlFrameSendComplete(NDIS_HANDLE FilterModuleContext,
                                                PNET_BUFFER_LIST NetBufferLists,
                                                ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Theirs = NULL, *Tail = &Theirs, Next;

    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        if (NetBufferLists->SourceHandle == Module->FilterHandle) {
            InterlockedExchange(&Module->Outstanding, 0);
            KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
        } else {
            *Tail = NetBufferLists;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        }
    }
    if (Theirs != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, Theirs, SendCompleteFlags);
}
