/*
 * ok_rx_queue: receives are queued by FilterReceiveNetBufferLists and
 * indicated up later, in a batch, by another context. Built twice:
 *   ok_rx_queue_dpc     drains from a per-module DPC (DISPATCH_LEVEL)
 *   ok_rx_queue_thread  drains from the driver's system thread (PASSIVE_LEVEL,
 *                       every millisecond: OK_RX_FROM_THREAD)
 *
 * Why it is correct (FilterReceiveNetBufferLists, "Pausing a Filter
 * Module", NDIS_RECEIVE_FLAGS_RESOURCES in the WDK), with ok_gate.h:
 * - Only receives the module may keep are queued: a RESOURCES indication
 *   (or one on another port) is passed on inside the call.
 * - A non-empty queue holds one gate reference (taken by the receive that
 *   made it non-empty, under the queue lock, while that receive's own
 *   reference is held) until a drain has taken and passed on its contents,
 *   so the pause stays pending while anything sits in the queue and is
 *   completed (NdisFPauseComplete) by the drain that hands on the last NBL.
 * - The drain passes a batch up only if the module is still Running when it
 *   decides; once FilterPause has published Pausing, every later decision
 *   returns the batch down instead, as a Pausing module must. A decision
 *   taken while Running may finish after FilterPause began: the pause is not
 *   complete until it has (the queue's reference).
 * - Each drain owns exactly the chain it took from the queue under the lock;
 *   the NBL count it indicates is the count queued with that chain.
 * - Flags match the context: DISPATCH_LEVEL flags from the DPC, none from the
 *   thread at PASSIVE_LEVEL.
 * - Lifetime: the DPC variant flushes queued DPCs in FilterDetach (the last
 *   drain may still be returning from the DPC routine); the thread finds
 *   modules on the skeleton's list under its lock and takes their batch
 *   there, and the queue's reference keeps the module from completing its
 *   pause, hence from being detached, until the thread is done with it.
 */
#include "ok_gate.h"

typedef struct _RQ_BATCH {
    PTL_MODULE Module;
    PNET_BUFFER_LIST Head;
    ULONG Count;
} RQ_BATCH, *PRQ_BATCH;

static FILTER_PAUSE RqPause;
static FILTER_RECEIVE_NET_BUFFER_LISTS RqReceive;

_Use_decl_annotations_ static NDIS_STATUS RqPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(PauseParameters);
    Status = OkGateClose(Module);
#ifndef OK_RX_FROM_THREAD
    /* What is queued goes back down now rather than with the next receive. */
    if (Status == NDIS_STATUS_PENDING)
        KeInsertQueueDpc(&Module->Dpc, NULL, NULL);
#endif
    return Status;
}

/* Takes the module's queue under its lock; the caller owns what it took. */
static VOID RqTake(PTL_MODULE Module, PRQ_BATCH Batch)
{
    NdisAcquireSpinLock(&Module->Lock);
    Batch->Module = Module;
    Batch->Head = Module->QueueHead;
    Batch->Count = Module->QueueDepth;
    Module->QueueHead = NULL;
    Module->QueueTail = &Module->QueueHead;
    Module->QueueDepth = 0;
    NdisReleaseSpinLock(&Module->Lock);
}

/* Hands a taken batch on: up while Running, else back down. */
static VOID RqHandOn(PRQ_BATCH Batch, ULONG ReceiveFlags, ULONG ReturnFlags)
{
    PTL_MODULE Module = Batch->Module;

    if (Batch->Head == NULL)
        return;
    if (ReadNoFence(&Module->State) == TlRunning)
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Batch->Head,
                                           NDIS_DEFAULT_PORT_NUMBER, Batch->Count, ReceiveFlags);
    else
        NdisFReturnNetBufferLists(Module->FilterHandle, Batch->Head, ReturnFlags);
    /* The queue's reference: only now may the pause complete, and from here
       on the module may be detached. */
    OkGateLeave(Module);
}

#ifdef OK_RX_FROM_THREAD
#define RQ_MAX_MODULES 32

static VOID RqTick(VOID)
{
    RQ_BATCH Batch[RQ_MAX_MODULES];
    ULONG Taken = 0, i;
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    for (Entry = TlModuleList.Flink; Entry != &TlModuleList && Taken < RQ_MAX_MODULES;
         Entry = Entry->Flink) {
        RqTake(CONTAINING_RECORD(Entry, TL_MODULE, Link), &Batch[Taken]);
        if (Batch[Taken].Head != NULL)
            Taken++;
    }
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
    for (i = 0; i < Taken; i++)
        RqHandOn(&Batch[i], 0, 0);
}

static VOID RqKick(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module); /* the thread polls */
}
#else
static KDEFERRED_ROUTINE RqDrainDpc;

_Use_decl_annotations_ static VOID RqDrainDpc(PKDPC Dpc, PVOID DeferredContext,
                                              PVOID SystemArgument1, PVOID SystemArgument2)
{
    RQ_BATCH Batch;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    RqTake(DeferredContext, &Batch);
    RqHandOn(&Batch, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, NDIS_RETURN_FLAGS_DISPATCH_LEVEL);
}

static VOID RqKick(PTL_MODULE Module)
{
    KeInsertQueueDpc(&Module->Dpc, NULL, NULL);
}

static VOID RqAttach(PTL_MODULE Module)
{
    KeInitializeDpc(&Module->Dpc, RqDrainDpc, Module);
}

static VOID RqDetach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    KeFlushQueuedDpcs();
}
#endif

_Use_decl_annotations_ static VOID RqReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Last;

    if (!OkGateEnter(Module)) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags) || PortNumber != NDIS_DEFAULT_PORT_NUMBER) {
        NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                           NumberOfNetBufferLists, ReceiveFlags);
        OkGateLeave(Module);
        return;
    }
    for (Last = NetBufferLists; NET_BUFFER_LIST_NEXT_NBL(Last) != NULL;
         Last = NET_BUFFER_LIST_NEXT_NBL(Last))
        ;
    NdisAcquireSpinLock(&Module->Lock);
    if (Module->QueueHead == NULL)
        OkGateAddRef(Module); /* the queue's reference, dropped by the drain */
    *Module->QueueTail = NetBufferLists;
    Module->QueueTail = &NET_BUFFER_LIST_NEXT_NBL(Last);
    Module->QueueDepth += NumberOfNetBufferLists;
    NdisReleaseSpinLock(&Module->Lock);
    RqKick(Module);
    OkGateLeave(Module);
}

static VOID RqCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OkGateRestart;
    Chars->PauseHandler = RqPause;
    Chars->ReceiveNetBufferListsHandler = RqReceive;
#ifndef OK_RX_FROM_THREAD
    TlOnAttach = RqAttach;
    TlOnDetach = RqDetach;
#endif
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
#ifdef OK_RX_FROM_THREAD
    return TlRegister(DriverObject, L"ok_rx_queue_thread", RqCustomize, RqTick, 1);
#else
    return TlRegister(DriverObject, L"ok_rx_queue_dpc", RqCustomize, NULL, 0);
#endif
}
