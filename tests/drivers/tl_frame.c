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

_Use_decl_annotations_ VOID TlFrameContextAttach(PTL_MODULE Module)
{
    PTL_FRAME_CONTEXT Context = NdisAllocateMemoryWithTagPriority(
        Module->FilterHandle, sizeof(*Context), TL_POOL_TAG, NormalPoolPriority);

    if (Context == NULL)
        return;
    NdisZeroMemory(Context, sizeof(*Context));
    Context->Frame = TlFrameAllocate(Module);
    if (Context->Frame == NULL) {
        NdisFreeMemory(Context, 0, 0);
        return;
    }
    Module->DriverData = Context;
}

_Use_decl_annotations_ VOID TlFrameContextDetach(PTL_MODULE Module)
{
    PTL_FRAME_CONTEXT Context = Module->DriverData;

    if (Context == NULL)
        return;
    TlFrameFree(Context->Frame);
    NdisFreeMemory(Context, 0, 0);
}

_Use_decl_annotations_ BOOLEAN TlTakeOwn(PTL_MODULE Module, PNET_BUFFER_LIST *Nbls)
{
    PNET_BUFFER_LIST Theirs = NULL, *Tail = &Theirs, Nbl, Next;
    BOOLEAN Ours = FALSE;

    for (Nbl = *Nbls; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (Nbl->SourceHandle == Module->FilterHandle) {
            Ours = TRUE;
        } else {
            *Tail = Nbl;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    *Nbls = Theirs;
    return Ours;
}

_Use_decl_annotations_ VOID TlFrameSendComplete(NDIS_HANDLE FilterModuleContext,
                                                PNET_BUFFER_LIST NetBufferLists,
                                                ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (TlTakeOwn(Module, &NetBufferLists)) {
        InterlockedExchange(&Module->Outstanding, 0);
        KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
    }
    if (NetBufferLists != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, NetBufferLists, SendCompleteFlags);
}
