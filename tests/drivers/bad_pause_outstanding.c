/*
 * bad_pause_outstanding: completes FilterPause while it still holds receive
 * NBLs.
 *
 * The bug: a "receive coalescing" filter holds received frames and indicates
 * them up in batches, every BP_BATCH frames or on its flush tick, whichever
 * comes first. FilterPause stops new queueing and returns success at once,
 * "the flush tick will hand the rest back": but a pause is complete only
 * when the module owns no NBL that came from below.
 *
 * On Windows: NDIS goes on to pause the miniport, which may then free the
 * receive buffers the filter still points at; when the tick returns them,
 * NDIS bugchecks (0x7C BUGCODE_NDIS_DRIVER, or a use-after-free in the
 * miniport's return handler).
 *
 * Expected finding: pause-with-outstanding-nbls in FilterPause.
 */
#include "testlwf.h"

#define BP_BATCH 64
#define BP_TICK_MS 50

static FILTER_RECEIVE_NET_BUFFER_LISTS BpReceive;
static FILTER_PAUSE BpPause;

/*
 * A batch goes up while Running, back down otherwise: after FilterPause
 * nothing may be indicated, but returning is always allowed. The state check
 * and the indication happen under the module lock, which BpPause takes to
 * change the state: a flush that saw Running has indicated before the pause
 * completes, so this driver's one bug is the one it is named for.
 */
_IRQL_requires_(DISPATCH_LEVEL) static VOID BpFlush(PTL_MODULE Module)
{
    PNET_BUFFER_LIST Batch;
    ULONG Count;

    NdisDprAcquireSpinLock(&Module->Lock);
    Batch = Module->QueueHead;
    Count = Module->QueueDepth;
    Module->QueueHead = NULL;
    Module->QueueTail = &Module->QueueHead;
    Module->QueueDepth = 0;
    if (Batch != NULL) {
        if (ReadNoFence(&Module->State) == TlRunning)
            NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, Batch,
                                               NDIS_DEFAULT_PORT_NUMBER, Count,
                                               NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
        else
            NdisFReturnNetBufferLists(Module->FilterHandle, Batch,
                                      NDIS_RETURN_FLAGS_DISPATCH_LEVEL);
    }
    NdisDprReleaseSpinLock(&Module->Lock);
}

_Use_decl_annotations_ static VOID BpReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Last;
    BOOLEAN Full;
    KIRQL OldIrql;

    if (ReadNoFence(&Module->State) != TlRunning || NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags) ||
        PortNumber != NDIS_DEFAULT_PORT_NUMBER) {
        TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                      ReceiveFlags);
        return;
    }
    for (Last = NetBufferLists; NET_BUFFER_LIST_NEXT_NBL(Last) != NULL;
         Last = NET_BUFFER_LIST_NEXT_NBL(Last))
        ;
    NdisAcquireSpinLock(&Module->Lock);
    *Module->QueueTail = NetBufferLists;
    Module->QueueTail = &NET_BUFFER_LIST_NEXT_NBL(Last);
    Module->QueueDepth += NumberOfNetBufferLists;
    Full = Module->QueueDepth >= BP_BATCH;
    NdisReleaseSpinLock(&Module->Lock);
    if (Full) {
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
        BpFlush(Module);
        KeLowerIrql(OldIrql);
    }
}

_Use_decl_annotations_ static NDIS_STATUS BpPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    NdisAcquireSpinLock(&Module->Lock);
    InterlockedExchange(&Module->State, TlPaused);
    NdisReleaseSpinLock(&Module->Lock);
    /* BUG: the queue still holds NBLs; the tick will return them later. */
    return NDIS_STATUS_SUCCESS;
}

static VOID BpTick(VOID)
{
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    for (Entry = TlModuleList.Flink; Entry != &TlModuleList; Entry = Entry->Flink)
        BpFlush(CONTAINING_RECORD(Entry, TL_MODULE, Link));
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
}

static VOID BpCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = BpReceive;
    Chars->PauseHandler = BpPause;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_pause_outstanding", BpCustomize, BpTick, BP_TICK_MS);
}
