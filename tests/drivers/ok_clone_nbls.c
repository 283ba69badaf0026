/*
 * ok_clone_nbls: a filter that sends nothing and indicates nothing it was
 * given. Every send is cloned into NBLs and NET_BUFFERs of the module's own
 * pools that share the original's MDLs (the original is completed when its
 * clone comes back); every receive is copied into an NBL of its own with a
 * buffer of its own (the original is returned at once, the copy indicated).
 *
 * Why it is correct (NdisAllocateNetBufferList, NdisAllocateNetBuffer,
 * NdisAllocateNetBufferAndNetBufferList, "Cloning and Fragmenting
 * NET_BUFFER_LIST structures", FilterSendNetBufferListsComplete,
 * FilterReturnNetBufferLists, NDIS_RECEIVE_FLAGS_RESOURCES in the WDK), with
 * ok_gate.h:
 * - Every NBL it sends or indicates comes from its own pool and carries its
 *   own handle as SourceHandle; a clone records its original in
 *   ParentNetBufferList, and the original is completed (with the clone's
 *   status) only after the clone is back, so the MDLs they share stay valid
 *   while anyone below can read them.
 * - Its own NBLs come back only through its own completion and return
 *   handlers, which tell them from the others by SourceHandle, free them
 *   there, and never pass them on.
 * - A received original is handed back at once (never with RESOURCES: then
 *   returning from the call is the return), after its data was copied.
 *   The copy is indicated without RESOURCES and freed when it is returned.
 * - Each clone and copy holds a gate reference until it is back, taken
 *   inside a datapath call that entered the gate while Running: the pause
 *   stays pending until every NBL of its own is back, and no new one starts
 *   once Pausing is visible. An NBL that cannot be cloned or copied (pool
 *   empty) goes on unchanged, which is always allowed.
 * - Detach frees the pools: it follows a completed pause, so every NBL of
 *   the module's own is back and freed.
 */
#include "ok_gate.h"

typedef struct _CN_POOLS {
    NDIS_HANDLE CloneNblPool; /* NBLs without NET_BUFFERs: send clones */
    NDIS_HANDLE NbPool;       /* the clones' NET_BUFFERs */
    NDIS_HANDLE CopyNblPool;  /* NBL + NET_BUFFER: receive copies */
} CN_POOLS, *PCN_POOLS;

/* A receive copy's buffer: its MDL describes Data, so the copy's NBL leads
   back to it without borrowing any reserved field of the NBL. */
typedef struct _CN_COPY {
    PMDL Mdl;
    UCHAR Data[ANYSIZE_ARRAY];
} CN_COPY, *PCN_COPY;

#define CN_COPY_OF(_Nbl)                                                                           \
    CONTAINING_RECORD(                                                                             \
        MmGetMdlVirtualAddress(NET_BUFFER_FIRST_MDL(NET_BUFFER_LIST_FIRST_NB(_Nbl))), CN_COPY,     \
        Data)

static FILTER_SEND_NET_BUFFER_LISTS CnSend;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE CnSendComplete;
static FILTER_RECEIVE_NET_BUFFER_LISTS CnReceive;
static FILTER_RETURN_NET_BUFFER_LISTS CnReturn;

static VOID CnFreeClone(PNET_BUFFER_LIST Clone)
{
    PNET_BUFFER Nb, Next;

    for (Nb = NET_BUFFER_LIST_FIRST_NB(Clone); Nb != NULL; Nb = Next) {
        Next = NET_BUFFER_NEXT_NB(Nb);
        NdisFreeNetBuffer(Nb);
    }
    NET_BUFFER_LIST_FIRST_NB(Clone) = NULL;
    NdisFreeNetBufferList(Clone);
}

/* A clone of Original sharing its MDLs, or NULL. */
static PNET_BUFFER_LIST CnClone(PTL_MODULE Module, PNET_BUFFER_LIST Original)
{
    PCN_POOLS Pools = Module->DriverData;
    PNET_BUFFER_LIST Clone;
    PNET_BUFFER Nb, *Tail;

    Clone = NdisAllocateNetBufferList(Pools->CloneNblPool, 0, 0);
    if (Clone == NULL)
        return NULL;
    Tail = &NET_BUFFER_LIST_FIRST_NB(Clone);
    for (Nb = NET_BUFFER_LIST_FIRST_NB(Original); Nb != NULL; Nb = NET_BUFFER_NEXT_NB(Nb)) {
        PNET_BUFFER Copy =
            NdisAllocateNetBuffer(Pools->NbPool, NET_BUFFER_CURRENT_MDL(Nb),
                                  NET_BUFFER_CURRENT_MDL_OFFSET(Nb), NET_BUFFER_DATA_LENGTH(Nb));
        if (Copy == NULL) {
            CnFreeClone(Clone);
            return NULL;
        }
        *Tail = Copy;
        Tail = &NET_BUFFER_NEXT_NB(Copy);
    }
    Clone->SourceHandle = Module->FilterHandle;
    Clone->ParentNetBufferList = Original;
    return Clone;
}

_Use_decl_annotations_ static VOID CnSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Out = NULL, *Tail = &Out, Nbl, Next, Clone;

    if (!OkGateEnter(Module)) {
        TlRejectSend(Module, NetBufferLists, SendFlags);
        return;
    }
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        Clone = CnClone(Module, Nbl);
        if (Clone != NULL)
            OkGateAddRef(Module); /* the clone's reference, until it is back */
        else
            Clone = Nbl;
        *Tail = Clone;
        Tail = &NET_BUFFER_LIST_NEXT_NBL(Clone);
    }
    NdisFSendNetBufferLists(Module->FilterHandle, Out, PortNumber, SendFlags);
    OkGateLeave(Module);
}

_Use_decl_annotations_ static VOID CnSendComplete(NDIS_HANDLE FilterModuleContext,
                                                  PNET_BUFFER_LIST NetBufferLists,
                                                  ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Up = NULL, *Tail = &Up, Nbl, Next, Original;
    ULONG Mine = 0;

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        Original = Nbl;
        if (Nbl->SourceHandle == Module->FilterHandle) {
            Original = Nbl->ParentNetBufferList;
            NET_BUFFER_LIST_STATUS(Original) = NET_BUFFER_LIST_STATUS(Nbl);
            CnFreeClone(Nbl);
            Mine++;
        }
        *Tail = Original;
        Tail = &NET_BUFFER_LIST_NEXT_NBL(Original);
    }
    NdisFSendNetBufferListsComplete(Module->FilterHandle, Up, SendCompleteFlags);
    while (Mine-- != 0)
        OkGateLeave(Module); /* the last one may end the pause */
}

/* A copy of the first NET_BUFFER of Original in an NBL of our own, or NULL. */
static PNET_BUFFER_LIST CnCopy(PTL_MODULE Module, PNET_BUFFER_LIST Original)
{
    PCN_POOLS Pools = Module->DriverData;
    PNET_BUFFER Nb = NET_BUFFER_LIST_FIRST_NB(Original);
    ULONG Length = NET_BUFFER_DATA_LENGTH(Nb);
    PNET_BUFFER_LIST Copy;
    PCN_COPY Buffer;
    PVOID Data;

    if (NET_BUFFER_NEXT_NB(Nb) != NULL || Length == 0)
        return NULL; /* only single-frame NBLs are copied */
    Buffer = NdisAllocateMemoryWithTagPriority(Module->FilterHandle,
                                               FIELD_OFFSET(CN_COPY, Data) + Length, TL_POOL_TAG,
                                               NormalPoolPriority);
    if (Buffer == NULL)
        return NULL;
    Data = NdisGetDataBuffer(Nb, Length, Buffer->Data, 1, 0);
    if (Data != NULL && Data != Buffer->Data)
        NdisMoveMemory(Buffer->Data, Data, Length);
    Buffer->Mdl = NdisAllocateMdl(Module->FilterHandle, Buffer->Data, Length);
    Copy = Buffer->Mdl == NULL ? NULL
                               : NdisAllocateNetBufferAndNetBufferList(Pools->CopyNblPool, 0, 0,
                                                                       Buffer->Mdl, 0, Length);
    if (Data == NULL || Copy == NULL) {
        if (Copy != NULL)
            NdisFreeNetBufferList(Copy);
        if (Buffer->Mdl != NULL)
            NdisFreeMdl(Buffer->Mdl);
        NdisFreeMemory(Buffer, 0, 0);
        return NULL;
    }
    Copy->SourceHandle = Module->FilterHandle;
    return Copy;
}

static VOID CnFreeCopy(PNET_BUFFER_LIST Copy)
{
    PCN_COPY Buffer = CN_COPY_OF(Copy);

    NdisFreeNetBufferList(Copy);
    NdisFreeMdl(Buffer->Mdl);
    NdisFreeMemory(Buffer, 0, 0);
}

_Use_decl_annotations_ static VOID CnReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Copies = NULL, *CopyTail = &Copies;
    PNET_BUFFER_LIST Kept = NULL, *KeptTail = &Kept;
    PNET_BUFFER_LIST Done = NULL, *DoneTail = &Done;
    PNET_BUFFER_LIST Nbl, Next, Copy;
    ULONG NCopies = 0, NKept = 0;

    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (!OkGateEnter(Module)) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        Copy = CnCopy(Module, Nbl);
        if (Copy != NULL) {
            OkGateAddRef(Module); /* the copy's reference, until it is returned */
            *CopyTail = Copy;
            CopyTail = &NET_BUFFER_LIST_NEXT_NBL(Copy);
            NCopies++;
            *DoneTail = Nbl;
            DoneTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        } else {
            *KeptTail = Nbl;
            KeptTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
            NKept++;
        }
    }
    /* The originals that were copied are done with: back down, unless
       RESOURCES, where returning from this call gives them back. */
    if (Done != NULL && !NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisFReturnNetBufferLists(Module->FilterHandle, Done,
                                  NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                      ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                      : 0);
    if (Copies != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Copies, PortNumber, NCopies,
                                           ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    if (Kept != NULL)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Kept, PortNumber, NKept,
                                           ReceiveFlags);
    OkGateLeave(Module);
}

_Use_decl_annotations_ static VOID CnReturn(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Down = NULL, *Tail = &Down, Nbl, Next;
    ULONG Mine = 0;

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        if (Nbl->SourceHandle == Module->FilterHandle) {
            CnFreeCopy(Nbl);
            Mine++;
        } else {
            *Tail = Nbl;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    if (Down != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Down, ReturnFlags);
    while (Mine-- != 0)
        OkGateLeave(Module); /* the last one may end the pause */
}

static VOID CnFreePools(PCN_POOLS Pools)
{
    if (Pools->CloneNblPool != NULL)
        NdisFreeNetBufferListPool(Pools->CloneNblPool);
    if (Pools->NbPool != NULL)
        NdisFreeNetBufferPool(Pools->NbPool);
    if (Pools->CopyNblPool != NULL)
        NdisFreeNetBufferListPool(Pools->CopyNblPool);
}

/* Without its pools a module runs as the skeleton's pass-through. */
static VOID CnAttach(PTL_MODULE Module)
{
    NET_BUFFER_LIST_POOL_PARAMETERS NblParameters;
    NET_BUFFER_POOL_PARAMETERS NbParameters;
    PCN_POOLS Pools;

    Pools = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Pools), TL_POOL_TAG,
                                              NormalPoolPriority);
    if (Pools == NULL)
        return;
    NdisZeroMemory(Pools, sizeof(*Pools));
    NdisZeroMemory(&NblParameters, sizeof(NblParameters));
    NblParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    NblParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    NblParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    NblParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    NblParameters.PoolTag = TL_POOL_TAG;
    NblParameters.fAllocateNetBuffer = FALSE;
    Pools->CloneNblPool = NdisAllocateNetBufferListPool(Module->FilterHandle, &NblParameters);
    NblParameters.fAllocateNetBuffer = TRUE;
    Pools->CopyNblPool = NdisAllocateNetBufferListPool(Module->FilterHandle, &NblParameters);
    NdisZeroMemory(&NbParameters, sizeof(NbParameters));
    NbParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    NbParameters.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    NbParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    NbParameters.PoolTag = TL_POOL_TAG;
    Pools->NbPool = NdisAllocateNetBufferPool(Module->FilterHandle, &NbParameters);
    if (Pools->CloneNblPool == NULL || Pools->CopyNblPool == NULL || Pools->NbPool == NULL) {
        CnFreePools(Pools);
        NdisFreeMemory(Pools, 0, 0);
        return;
    }
    Module->DriverData = Pools;
}

static VOID CnDetach(PTL_MODULE Module)
{
    if (Module->DriverData == NULL)
        return;
    CnFreePools(Module->DriverData);
    NdisFreeMemory(Module->DriverData, 0, 0);
}

static VOID CnCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OkGateRestart;
    Chars->PauseHandler = OkGatePause;
    Chars->SendNetBufferListsHandler = CnSend;
    Chars->SendNetBufferListsCompleteHandler = CnSendComplete;
    Chars->ReceiveNetBufferListsHandler = CnReceive;
    Chars->ReturnNetBufferListsHandler = CnReturn;
    TlOnAttach = CnAttach;
    TlOnDetach = CnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_clone_nbls", CnCustomize, NULL, 0);
}
