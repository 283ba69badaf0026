/*
 * ok_frame: see ok_frame.h.
 */
#include "ok_frame.h"

_Use_decl_annotations_ POK_FRAME OkFrameAllocate(PTL_MODULE Module)
{
    NET_BUFFER_LIST_POOL_PARAMETERS PoolParameters;
    POK_FRAME Frame;

    Frame = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Frame), TL_POOL_TAG,
                                              NormalPoolPriority);
    if (Frame == NULL)
        return NULL;
    NdisZeroMemory(Frame, sizeof(*Frame));
    NdisFillMemory(Frame->Data, 6, 0xff);
    Frame->Data[12] = 0x88;
    Frame->Data[13] = 0xb5;

    NdisZeroMemory(&PoolParameters, sizeof(PoolParameters));
    PoolParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    PoolParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    PoolParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    PoolParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    PoolParameters.fAllocateNetBuffer = TRUE;
    PoolParameters.PoolTag = TL_POOL_TAG;
    Frame->NblPool = NdisAllocateNetBufferListPool(Module->FilterHandle, &PoolParameters);
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

_Use_decl_annotations_ VOID OkFrameFree(POK_FRAME Frame)
{
    NdisFreeNetBufferList(Frame->Nbl);
    NdisFreeMdl(Frame->Mdl);
    NdisFreeNetBufferListPool(Frame->NblPool);
    NdisFreeMemory(Frame, 0, 0);
}
