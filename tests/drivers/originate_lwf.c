/*
 * originate_lwf: a correct filter that originates traffic of its own from
 * inside its datapath callbacks. Every 4th receive it passes up is followed
 * by a small frame of its own indicated up, every 4th send it passes down by
 * a frame of its own sent down; all from the callback that NDIS called.
 *
 * It is correct, and its tests expect zero findings under heavy churn: the
 * datapath is not serialized against FilterPause, so many of these
 * originations happen after NDIS has begun the pause but before the
 * driver's FilterPause has run. The driver cannot know about the pause then,
 * and neither can a verifier that judges by what the driver could observe.
 *
 * The pause argument: an own frame is taken from the free list only under
 * Module->Lock and only while the module's state is Running, and is counted in
 * Outstanding in the same critical section. FilterPause publishes Pausing
 * under the same lock, so every frame either was counted before (and
 * FilterPause waits until it is back) or sees Pausing and is not sent.
 */
#include "tl_frame.h"

#define OWN_FRAMES 32
#define OWN_EVERY 4

typedef struct _OWN_MODULE {
    NDIS_HANDLE NblPool;
    PNET_BUFFER_LIST Free; /* under Module->Lock */
    LONG Outstanding;      /* under Module->Lock: own frames away */
    PMDL Mdls[OWN_FRAMES];
    PNET_BUFFER_LIST Nbls[OWN_FRAMES];
    volatile LONG Sent, Received;
    UCHAR Frame[TL_FRAME_LENGTH];
} OWN_MODULE, *POWN_MODULE;

static FILTER_PAUSE OwnPause;
static FILTER_SEND_NET_BUFFER_LISTS OwnSend;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE OwnSendComplete;
static FILTER_RECEIVE_NET_BUFFER_LISTS OwnReceive;
static FILTER_RETURN_NET_BUFFER_LISTS OwnReturn;

/* An own frame, counted as outstanding, or NULL when not Running. */
static PNET_BUFFER_LIST OwnTake(PTL_MODULE Module)
{
    POWN_MODULE Own = Module->DriverData;
    PNET_BUFFER_LIST Nbl = NULL;

    if (Own == NULL)
        return NULL;
    NdisAcquireSpinLock(&Module->Lock);
    if (ReadNoFence(&Module->State) == TlRunning && Own->Free != NULL) {
        Nbl = Own->Free;
        Own->Free = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
        Own->Outstanding++;
    }
    NdisReleaseSpinLock(&Module->Lock);
    if (Nbl != NULL) {
        Nbl->SourceHandle = Module->FilterHandle;
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_SUCCESS;
    }
    return Nbl;
}

/* An own frame is back: the last one back during a pause lets it finish. */
static VOID OwnPut(PTL_MODULE Module, PNET_BUFFER_LIST Nbl)
{
    POWN_MODULE Own = Module->DriverData;

    NdisAcquireSpinLock(&Module->Lock);
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = Own->Free;
    Own->Free = Nbl;
    if (--Own->Outstanding == 0 && ReadNoFence(&Module->State) == TlPausing)
        KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
    NdisReleaseSpinLock(&Module->Lock);
}

/* Splits a chain coming back into own frames (put back) and others (returned). */
static PNET_BUFFER_LIST OwnSort(PTL_MODULE Module, PNET_BUFFER_LIST Nbls)
{
    PNET_BUFFER_LIST Theirs = NULL, *Tail = &Theirs, Next;

    for (; Nbls != NULL; Nbls = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbls);
        NET_BUFFER_LIST_NEXT_NBL(Nbls) = NULL;
        if (Nbls->SourceHandle == Module->FilterHandle) {
            OwnPut(Module, Nbls);
        } else {
            *Tail = Nbls;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(Nbls);
        }
    }
    return Theirs;
}

static BOOLEAN AtDispatch(VOID)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL;
}

_Use_decl_annotations_ static VOID OwnReceive(NDIS_HANDLE FilterModuleContext,
                                              PNET_BUFFER_LIST NetBufferLists,
                                              NDIS_PORT_NUMBER PortNumber,
                                              ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    POWN_MODULE Own = Module->DriverData;
    PNET_BUFFER_LIST Nbl;
    LONG Count;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
    if (Own == NULL)
        return;
    Count = InterlockedIncrement(&Own->Received);
    if (Count % OWN_EVERY != 0 || (Nbl = OwnTake(Module)) == NULL)
        return;
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Nbl, NDIS_DEFAULT_PORT_NUMBER, 1,
                                       AtDispatch() ? NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ static VOID OwnReturn(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Theirs = OwnSort(Module, NetBufferLists);

    if (Theirs != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, Theirs, ReturnFlags);
}

_Use_decl_annotations_ static VOID OwnSend(NDIS_HANDLE FilterModuleContext,
                                           PNET_BUFFER_LIST NetBufferLists,
                                           NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    POWN_MODULE Own = Module->DriverData;
    PNET_BUFFER_LIST Nbl;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectSend(Module, NetBufferLists, SendFlags);
        return;
    }
    NdisFSendNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber, SendFlags);
    if (Own == NULL)
        return;
    if (InterlockedIncrement(&Own->Sent) % OWN_EVERY != 0 || (Nbl = OwnTake(Module)) == NULL)
        return;
    NdisFSendNetBufferLists(Module->FilterHandle, Nbl, NDIS_DEFAULT_PORT_NUMBER,
                            AtDispatch() ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ static VOID OwnSendComplete(NDIS_HANDLE FilterModuleContext,
                                                   PNET_BUFFER_LIST NetBufferLists,
                                                   ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Theirs = OwnSort(Module, NetBufferLists);

    if (Theirs != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, Theirs, SendCompleteFlags);
}

_Use_decl_annotations_ static NDIS_STATUS OwnPause(NDIS_HANDLE FilterModuleContext,
                                                   PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    POWN_MODULE Own = Module->DriverData;

    UNREFERENCED_PARAMETER(PauseParameters);
    /* Some work comes first (think: saving statistics), so for a while the
       datapath still sees Running and originates: legal, since nothing has
       told it about the pause yet. */
    NdisMSleep(200);
    NdisAcquireSpinLock(&Module->Lock);
    InterlockedExchange(&Module->State, TlPausing);
    if (Own != NULL && Own->Outstanding != 0)
        KeClearEvent(&Module->Idle);
    else
        KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
    NdisReleaseSpinLock(&Module->Lock);
    /* Its own frames come back from drivers that are still running: below,
       the stack pauses after this module; above, NDIS hands back what it
       indicates to a Paused module at once. */
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

static VOID OwnFree(POWN_MODULE Own)
{
    ULONG i;

    for (i = 0; i < OWN_FRAMES; i++) {
        if (Own->Nbls[i] != NULL)
            NdisFreeNetBufferList(Own->Nbls[i]);
        if (Own->Mdls[i] != NULL)
            NdisFreeMdl(Own->Mdls[i]);
    }
    if (Own->NblPool != NULL)
        NdisFreeNetBufferListPool(Own->NblPool);
    NdisFreeMemory(Own, 0, 0);
}

static VOID OwnAttach(PTL_MODULE Module)
{
    POWN_MODULE Own;
    ULONG i;

    Own = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Own), TL_POOL_TAG,
                                            NormalPoolPriority);
    if (Own == NULL)
        return;
    NdisZeroMemory(Own, sizeof(*Own));
    TlFrameHeader(Own->Frame); /* all the frames share one buffer */
    Own->NblPool = TlNblPoolAllocate(Module, 0);
    for (i = 0; Own->NblPool != NULL && i < OWN_FRAMES; i++) {
        Own->Mdls[i] = NdisAllocateMdl(Module->FilterHandle, Own->Frame, sizeof(Own->Frame));
        if (Own->Mdls[i] == NULL)
            break;
        Own->Nbls[i] = NdisAllocateNetBufferAndNetBufferList(Own->NblPool, 0, 0, Own->Mdls[i], 0,
                                                             sizeof(Own->Frame));
        if (Own->Nbls[i] == NULL)
            break;
        NET_BUFFER_LIST_NEXT_NBL(Own->Nbls[i]) = Own->Free;
        Own->Free = Own->Nbls[i];
    }
    if (Own->NblPool == NULL || i < OWN_FRAMES) {
        OwnFree(Own);
        return;
    }
    Module->DriverData = Own;
}

/* The last pause waited for every own frame: all are on the free list. */
static VOID OwnDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        OwnFree(Module->DriverData);
}

static VOID OwnCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = OwnPause;
    Chars->SendNetBufferListsHandler = OwnSend;
    Chars->SendNetBufferListsCompleteHandler = OwnSendComplete;
    Chars->ReceiveNetBufferListsHandler = OwnReceive;
    Chars->ReturnNetBufferListsHandler = OwnReturn;
    TlOnAttach = OwnAttach;
    TlOnDetach = OwnDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"originate_lwf", OwnCustomize, NULL, 0);
}
