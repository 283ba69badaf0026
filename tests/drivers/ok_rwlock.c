/*
 * ok_rwlock: a driver-wide per-EtherType counter table under an NDIS
 * RW lock (NDIS_RW_LOCK_EX), taken for reading on the datapath at whatever
 * IRQL it runs (PASSIVE for the protocol's sends, DISPATCH for receives),
 * for writing at PASSIVE_LEVEL by the driver's system thread (every
 * millisecond) and at DISPATCH_LEVEL by a DPC that thread queues.
 *
 * Why it is correct (NdisAllocateRWLock, NdisAcquireRWLockRead,
 * NdisAcquireRWLockWrite, NdisReleaseRWLock in the WDK):
 * - Each acquisition passes NDIS_RWL_AT_DISPATCH_LEVEL exactly when the
 *   caller runs at DISPATCH_LEVEL (asked with KeGetCurrentIrql, not guessed
 *   from a flag), and every acquisition is released with the LOCK_STATE_EX
 *   it was taken with, on the same path, before the function returns.
 * - No NDIS call and no wait is made while the lock is held: readers only
 *   bump counters (interlocked, since readers run concurrently), writers
 *   fold the live counters into the totals and clear them.
 * - The lock and the DPC are driver-wide: the lock is allocated with the
 *   filter driver handle right after registration and published with
 *   release order (users read it with acquire order and skip their work
 *   while it is not there yet), and freed in DriverUnload after NdisFDeregisterFilterDriver
 *   (no module is left to read it), the thread has been stopped (no new DPC
 *   is queued) and KeFlushQueuedDpcs (the last DPC has returned).
 */
#include "testlwf.h"

#define RW_BUCKETS 16

/* Published once, after registration (NdisAllocateRWLock wants the filter
   driver handle), with release order; modules may attach and the thread
   ticks before that, and simply count nothing until it is there. */
static PVOID volatile RwLock;
static volatile LONG RwLive[RW_BUCKETS]; /* readers add, under the read lock */
static LONG64 RwTotal[RW_BUCKETS];       /* writers fold, under the write lock */
static KDPC RwDpc;
static volatile LONG RwDpcQueued;

static FILTER_RECEIVE_NET_BUFFER_LISTS RwReceive;
static FILTER_SEND_NET_BUFFER_LISTS RwSend;
static KDEFERRED_ROUTINE RwFoldDpc;
static DRIVER_UNLOAD RwUnload;

static UCHAR RwCurrentFlags(VOID)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_RWL_AT_DISPATCH_LEVEL : 0;
}

static ULONG RwBucket(PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER Nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    UCHAR Storage[14];
    PUCHAR Header;

    if (Nb == NULL || NET_BUFFER_DATA_LENGTH(Nb) < sizeof(Storage))
        return 0;
    Header = NdisGetDataBuffer(Nb, sizeof(Storage), Storage, 1, 0);
    return Header == NULL ? 0 : (ULONG)(Header[12] ^ Header[13]) % RW_BUCKETS;
}

static VOID RwCount(PNET_BUFFER_LIST Nbls)
{
    PNDIS_RW_LOCK_EX Lock = ReadPointerAcquire(&RwLock);
    LOCK_STATE_EX LockState;

    if (Lock == NULL)
        return;
    NdisAcquireRWLockRead(Lock, &LockState, RwCurrentFlags());
    for (; Nbls != NULL; Nbls = NET_BUFFER_LIST_NEXT_NBL(Nbls))
        InterlockedIncrement(&RwLive[RwBucket(Nbls)]);
    NdisReleaseRWLock(Lock, &LockState);
}

static VOID RwFold(VOID)
{
    PNDIS_RW_LOCK_EX Lock = ReadPointerAcquire(&RwLock);
    LOCK_STATE_EX LockState;
    ULONG i;

    if (Lock == NULL)
        return;
    NdisAcquireRWLockWrite(Lock, &LockState, RwCurrentFlags());
    for (i = 0; i < RW_BUCKETS; i++) {
        RwTotal[i] += RwLive[i];
        RwLive[i] = 0;
    }
    NdisReleaseRWLock(Lock, &LockState);
}

_Use_decl_annotations_ static VOID RwFoldDpc(PKDPC Dpc, PVOID DeferredContext,
                                             PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(DeferredContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    InterlockedExchange(&RwDpcQueued, 0);
    RwFold();
}

/* The system thread: a PASSIVE_LEVEL writer, then a DISPATCH_LEVEL one. */
static VOID RwTick(VOID)
{
    RwFold();
    if (InterlockedExchange(&RwDpcQueued, 1) == 0)
        KeInsertQueueDpc(&RwDpc, NULL, NULL);
}

_Use_decl_annotations_ static VOID RwReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    RwCount(NetBufferLists);
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
}

_Use_decl_annotations_ static VOID RwSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectSend(Module, NetBufferLists, SendFlags);
        return;
    }
    RwCount(NetBufferLists);
    NdisFSendNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber, SendFlags);
}

_Use_decl_annotations_ static VOID RwUnload(PDRIVER_OBJECT DriverObject)
{
    TlDriverUnload(DriverObject); /* deregisters, then stops the thread */
    KeFlushQueuedDpcs();
    if (RwLock != NULL)
        NdisFreeRWLock(RwLock);
}

static VOID RwCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = RwReceive;
    Chars->SendNetBufferListsHandler = RwSend;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NTSTATUS Status;
    PNDIS_RW_LOCK_EX Lock;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeDpc(&RwDpc, RwFoldDpc, NULL);
    Status = TlRegister(DriverObject, L"ok_rwlock", RwCustomize, RwTick, 1);
    if (!NT_SUCCESS(Status))
        return Status;
    DriverObject->DriverUnload = RwUnload;
    Lock = NdisAllocateRWLock(TlFilterDriverHandle);
    if (Lock == NULL) {
        RwUnload(DriverObject);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    WritePointerRelease(&RwLock, Lock);
    return STATUS_SUCCESS;
}
