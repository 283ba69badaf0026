/*
 * ok_restart_self: the module asks NDIS to restart itself
 * (NdisFRestartFilter) from an NDIS I/O work item that its receive path
 * queues every OK_RESTART_EVERY receive calls, as a filter that picked up a
 * new configuration would. Much more often than a real one: so that NDIS's
 * restart work and the module's own work item, which that restart's pause
 * waits for, keep meeting in the system work queue (ndisemu once ran both
 * on two fixed workers and deadlocked; its pool now grows as Windows' does).
 *
 * Why it is correct (NdisFRestartFilter, NdisQueueIoWorkItem, "Pausing a
 * Filter Module" in the WDK), with ok_gate.h:
 * - NdisFRestartFilter may be called at IRQL <= DISPATCH_LEVEL with the
 *   module's own handle; it only schedules a pause and a restart, so calling
 *   it from a work item (PASSIVE_LEVEL) cannot deadlock with that pause.
 * - It is called only on a module that is Running, and the queued work item
 *   holds a gate reference from the receive that queued it (taken while
 *   that receive's own reference was held) until the routine has finished:
 *   a pause pends until then, so the module is never detached while the
 *   item is queued or its routine runs, and FilterDetach may free the item.
 * - The item is queued at most once at a time (a flag claimed with one
 *   exchange); the routine clears the flag before it drops its reference,
 *   its last access to the module.
 */
#include "ok_gate.h"

#define OK_RESTART_EVERY 8

typedef struct _OSR_MODULE {
    NDIS_HANDLE WorkItem;
    volatile LONG Receives;
    volatile LONG Queued; /* the work item is queued or its routine runs */
} OSR_MODULE, *POSR_MODULE;

static FILTER_RECEIVE_NET_BUFFER_LISTS OsrReceive;
static NDIS_IO_WORKITEM_FUNCTION OsrRestartSelf;

_Use_decl_annotations_ static VOID OsrRestartSelf(PVOID WorkItemContext,
                                                  NDIS_HANDLE NdisIoWorkItemHandle)
{
    PTL_MODULE Module = WorkItemContext;
    POSR_MODULE Osr = Module->DriverData;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    if (ReadNoFence(&Module->State) == TlRunning)
        NdisFRestartFilter(Module->FilterHandle);
    InterlockedExchange(&Osr->Queued, 0);
    OkGateLeave(Module); /* last access */
}

_Use_decl_annotations_ static VOID OsrReceive(NDIS_HANDLE FilterModuleContext,
                                              PNET_BUFFER_LIST NetBufferLists,
                                              NDIS_PORT_NUMBER PortNumber,
                                              ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    POSR_MODULE Osr = Module->DriverData;

    if (!OkGateEnter(Module)) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    if (Osr != NULL && (ULONG)InterlockedIncrement(&Osr->Receives) % OK_RESTART_EVERY == 0 &&
        InterlockedExchange(&Osr->Queued, 1) == 0) {
        OkGateAddRef(Module); /* the work item's reference */
        NdisQueueIoWorkItem(Osr->WorkItem, OsrRestartSelf, Module);
    }
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
    OkGateLeave(Module);
}

/* Without its work item a module runs as a plain pass-through. */
static VOID OsrAttach(PTL_MODULE Module)
{
    POSR_MODULE Osr = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Osr),
                                                        TL_POOL_TAG, NormalPoolPriority);

    if (Osr == NULL)
        return;
    NdisZeroMemory(Osr, sizeof(*Osr));
    Osr->WorkItem = NdisAllocateIoWorkItem(Module->FilterHandle);
    if (Osr->WorkItem == NULL) {
        NdisFreeMemory(Osr, 0, 0);
        return;
    }
    Module->DriverData = Osr;
}

static VOID OsrDetach(PTL_MODULE Module)
{
    POSR_MODULE Osr = Module->DriverData;

    if (Osr == NULL)
        return;
    NdisFreeIoWorkItem(Osr->WorkItem);
    NdisFreeMemory(Osr, 0, 0);
}

static VOID OsrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OkGateRestart;
    Chars->PauseHandler = OkGatePause;
    Chars->ReceiveNetBufferListsHandler = OsrReceive;
    TlOnAttach = OsrAttach;
    TlOnDetach = OsrDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_restart_self", OsrCustomize, NULL, 0);
}
