/*
 * ok_frame: one small frame of a module's own (an NBL pool, a buffer, its
 * MDL and one NBL + NET_BUFFER describing it), for the cry-wolf drivers
 * that originate sends or indications. The frame is broadcast, EtherType
 * 0x88b5 (IEEE 802 local experimental).
 */
#ifndef OK_FRAME_H
#define OK_FRAME_H

#include "testlwf.h"

#define OK_FRAME_LENGTH 60

typedef struct _OK_FRAME {
    NDIS_HANDLE NblPool;
    PMDL Mdl;
    PNET_BUFFER_LIST Nbl;
    UCHAR Data[OK_FRAME_LENGTH];
} OK_FRAME, *POK_FRAME;

/* NULL when any allocation failed (nothing is left allocated then). */
_IRQL_requires_max_(DISPATCH_LEVEL) POK_FRAME OkFrameAllocate(_In_ PTL_MODULE Module);
/* Only once the NBL is back with the module. */
_IRQL_requires_max_(DISPATCH_LEVEL) VOID OkFrameFree(_In_ POK_FRAME Frame);

/* Readies the NBL to be sent or indicated by Module: its own handle as
   SourceHandle, alone in its chain. */
static __inline PNET_BUFFER_LIST OkFrameNbl(PTL_MODULE Module, POK_FRAME Frame)
{
    Frame->Nbl->SourceHandle = Module->FilterHandle;
    NET_BUFFER_LIST_NEXT_NBL(Frame->Nbl) = NULL;
    return Frame->Nbl;
}

#endif
