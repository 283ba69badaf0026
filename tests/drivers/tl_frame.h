/*
 * tl_frame: one small frame of a module's own (an NBL pool, a buffer, its
 * MDL and one NBL + NET_BUFFER describing it), for the test drivers that
 * originate sends or indications. The frame is broadcast, EtherType 0x88b5
 * (IEEE 802 local experimental). Also the NBL pool every testlwf driver of
 * its own NBLs uses (tl_own.c, originate_lwf.c).
 */
#ifndef TL_FRAME_H
#define TL_FRAME_H

#include "testlwf.h"

#define TL_FRAME_LENGTH 60

typedef struct _TL_FRAME {
    NDIS_HANDLE NblPool;
    PMDL Mdl;
    PNET_BUFFER_LIST Nbl;
    UCHAR Data[TL_FRAME_LENGTH];
} TL_FRAME, *PTL_FRAME;

/* An NBL pool of Module's (NBLs with a NET_BUFFER each, DataSize bytes of
   data allocated with each when not 0), or NULL. */
_IRQL_requires_max_(DISPATCH_LEVEL) NDIS_HANDLE TlNblPoolAllocate(_In_ PTL_MODULE Module,
                                                                  _In_ ULONG DataSize);

/* Writes the frame's Ethernet header (broadcast, EtherType 0x88b5) at Data. */
VOID TlFrameHeader(_Out_writes_bytes_(14) PUCHAR Data);

/* NULL when any allocation failed (nothing is left allocated then). */
_IRQL_requires_max_(DISPATCH_LEVEL) PTL_FRAME TlFrameAllocate(_In_ PTL_MODULE Module);
/* Only once the NBL is back with the module. */
_IRQL_requires_max_(DISPATCH_LEVEL) VOID TlFrameFree(_In_ PTL_FRAME Frame);

/* Readies the NBL to be sent or indicated by Module: its own handle as
   SourceHandle, alone in its chain. */
static __inline PNET_BUFFER_LIST TlFrameNbl(PTL_MODULE Module, PTL_FRAME Frame)
{
    Frame->Nbl->SourceHandle = Module->FilterHandle;
    NET_BUFFER_LIST_NEXT_NBL(Frame->Nbl) = NULL;
    return Frame->Nbl;
}

/*
 * A module's one frame, for the drivers that send or indicate it one at a
 * time (ok_own_send, ok_own_indicate): Module->DriverData while attached.
 */
typedef struct _TL_FRAME_CONTEXT {
    PTL_FRAME Frame;
    volatile LONG Away;  /* the frame is on its way, or with another driver */
    volatile LONG Count; /* the driver's own counter (ok_own_send: receives) */
} TL_FRAME_CONTEXT, *PTL_FRAME_CONTEXT;

/* TlOnAttach / TlOnDetach for those drivers. Without its context (an
   allocation failed) a module runs as the skeleton's pass-through. Detach
   frees the frame: it follows a completed pause, so the frame is back. */
_IRQL_requires_(PASSIVE_LEVEL) VOID TlFrameContextAttach(_In_ PTL_MODULE Module);
_IRQL_requires_(PASSIVE_LEVEL) VOID TlFrameContextDetach(_In_ PTL_MODULE Module);

/* Takes the module's own NBLs (its handle as SourceHandle) out of the chain
   at *Nbls, keeping the order of the others; TRUE when there was one. For
   the drivers with one frame, whose own NBL needs nothing but noting. */
_IRQL_requires_max_(DISPATCH_LEVEL) BOOLEAN TlTakeOwn(_In_ PTL_MODULE Module,
                                                     _Inout_ PNET_BUFFER_LIST *Nbls);

/* A send-complete handler for a module with one frame sent at a time,
   counted in Module->Outstanding (set to 1 before the send, Idle cleared):
   its own frame back sets Outstanding to 0 and Idle; the others' NBLs are
   completed up. */
FILTER_SEND_NET_BUFFER_LISTS_COMPLETE TlFrameSendComplete;

#endif
