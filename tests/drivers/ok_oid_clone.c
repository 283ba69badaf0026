/*
 * ok_oid_clone: a filter that answers every OID request asynchronously.
 * FilterOidRequest clones the request (NdisAllocateCloneOidRequest),
 * returns NDIS_STATUS_PENDING and forwards the clone from an NDIS I/O work
 * item; FilterOidRequestComplete (or the work item, when the request
 * completed synchronously below) copies the results back, frees the clone
 * and completes the original with NdisFOidRequestComplete. Each module also
 * issues an OID query of its own every few milliseconds (the emulated
 * protocol issues none): bound twice (--stack ok_oid_clone,ok_oid_clone),
 * the upper module's own queries are the lower one's forwarded requests.
 *
 * Why it is correct (FilterOidRequest, NdisAllocateCloneOidRequest,
 * NdisFOidRequest, FilterOidRequestComplete, NdisFOidRequestComplete,
 * "Filter Module OID Requests" / "Originating OID Requests" in the WDK):
 * - A forwarded request is always a clone; the original is completed exactly
 *   once, after the clone finished: either in FilterOidRequestComplete for
 *   the clone, or in the work item when NdisFOidRequest did not pend, never
 *   both (a status other than PENDING means no completion call follows).
 * - The original (and the module) travel in the clone's SourceReserved
 *   area, which NDIS leaves to the driver that issued the request. Each
 *   forward has a work item of its own, freed by its routine before the
 *   routine does anything else with the request (it never touches it again).
 * - A module's own request is told from clones by its address (it lives in
 *   the module's context) and is never completed upward; only one is
 *   outstanding at a time (a flag claimed by exchange). A filter may issue
 *   OID requests of its own in the Paused, Restarting, Running and Pausing
 *   states but not while Attaching, and the skeleton lists a module before
 *   FilterAttach returns: the thread starts one only for a module it sees
 *   Running, which it can be only after its attach completed (later it may
 *   be Pausing or Paused by the time the request is issued: allowed).
 * - Lifetime: every request the module has outstanding (its own, and the
 *   clones it forwards) is counted under the module's lock, with an event
 *   set exactly when the count is zero; FilterDetach waits for it before it
 *   frees anything. Own queries are started by the driver's thread only for
 *   modules on the skeleton's list (under its lock), which FilterDetach
 *   leaves before it waits, so none starts after detach began.
 */
#include "testlwf.h"

/* A clone's SourceReserved: the original request, then the module. */
#define OC_ORIGINAL(_Clone) (*(PNDIS_OID_REQUEST *)&(_Clone)->SourceReserved[0])
#define OC_MODULE(_Clone) (*(PTL_MODULE *)&(_Clone)->SourceReserved[sizeof(PVOID)])
#define OC_MAX_MODULES 32

typedef struct _OC_MODULE {
    NDIS_OID_REQUEST Own;
    NDIS_HANDLE OwnWorkItem;
    ULONG64 LinkSpeed;
    volatile LONG OwnBusy;
    LONG Outstanding; /* under Module->Lock; Module->Idle is set iff it is 0 */
} OC_MODULE, *POC_MODULE;

static FILTER_OID_REQUEST OcOidRequest;
static FILTER_OID_REQUEST_COMPLETE OcOidRequestComplete;
static NDIS_IO_WORKITEM_FUNCTION OcForward;
static NDIS_IO_WORKITEM_FUNCTION OcIssueOwn;

static VOID OcBegin(PTL_MODULE Module)
{
    POC_MODULE Oc = Module->DriverData;

    NdisAcquireSpinLock(&Module->Lock);
    if (Oc->Outstanding++ == 0)
        KeClearEvent(&Module->Idle);
    NdisReleaseSpinLock(&Module->Lock);
}

/* The last call may let FilterDetach free the module. */
static VOID OcEnd(PTL_MODULE Module)
{
    POC_MODULE Oc = Module->DriverData;

    NdisAcquireSpinLock(&Module->Lock);
    if (--Oc->Outstanding == 0)
        KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
    NdisReleaseSpinLock(&Module->Lock);
}

/* A clone is back: results to the original, which completes upward. */
static VOID OcCloneDone(PTL_MODULE Module, PNDIS_OID_REQUEST Clone, NDIS_STATUS Status)
{
    PNDIS_OID_REQUEST Original = OC_ORIGINAL(Clone);

    switch (Clone->RequestType) {
    case NdisRequestQueryInformation:
    case NdisRequestQueryStatistics:
        Original->DATA.QUERY_INFORMATION.BytesWritten = Clone->DATA.QUERY_INFORMATION.BytesWritten;
        Original->DATA.QUERY_INFORMATION.BytesNeeded = Clone->DATA.QUERY_INFORMATION.BytesNeeded;
        break;
    case NdisRequestSetInformation:
        Original->DATA.SET_INFORMATION.BytesRead = Clone->DATA.SET_INFORMATION.BytesRead;
        Original->DATA.SET_INFORMATION.BytesNeeded = Clone->DATA.SET_INFORMATION.BytesNeeded;
        break;
    default:
        Original->DATA.METHOD_INFORMATION.BytesWritten =
            Clone->DATA.METHOD_INFORMATION.BytesWritten;
        Original->DATA.METHOD_INFORMATION.BytesRead = Clone->DATA.METHOD_INFORMATION.BytesRead;
        Original->DATA.METHOD_INFORMATION.BytesNeeded = Clone->DATA.METHOD_INFORMATION.BytesNeeded;
        break;
    }
    NdisFreeCloneOidRequest(Module->FilterHandle, Clone);
    NdisFOidRequestComplete(Module->FilterHandle, Original, Status);
    OcEnd(Module);
}

/* Its own query is back. */
static VOID OcOwnDone(PTL_MODULE Module)
{
    POC_MODULE Oc = Module->DriverData;

    InterlockedExchange(&Oc->OwnBusy, 0);
    OcEnd(Module);
}

_Use_decl_annotations_ static VOID OcForward(PVOID WorkItemContext,
                                             NDIS_HANDLE NdisIoWorkItemHandle)
{
    PNDIS_OID_REQUEST Clone = WorkItemContext;
    PTL_MODULE Module = OC_MODULE(Clone);
    NDIS_STATUS Status;

    NdisFreeIoWorkItem(NdisIoWorkItemHandle);
    Status = NdisFOidRequest(Module->FilterHandle, Clone);
    if (Status != NDIS_STATUS_PENDING)
        OcCloneDone(Module, Clone, Status);
}

_Use_decl_annotations_ static NDIS_STATUS OcOidRequest(NDIS_HANDLE FilterModuleContext,
                                                       PNDIS_OID_REQUEST OidRequest)
{
    PTL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Clone;
    NDIS_HANDLE WorkItem;
    NDIS_STATUS Status;

    if (Module->DriverData == NULL)
        return NDIS_STATUS_RESOURCES;
    WorkItem = NdisAllocateIoWorkItem(Module->FilterHandle);
    if (WorkItem == NULL)
        return NDIS_STATUS_RESOURCES;
    Status = NdisAllocateCloneOidRequest(Module->FilterHandle, OidRequest, TL_POOL_TAG, &Clone);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreeIoWorkItem(WorkItem);
        return Status;
    }
    Clone->RequestId = OidRequest->RequestId;
    OC_ORIGINAL(Clone) = OidRequest;
    OC_MODULE(Clone) = Module;
    OcBegin(Module);
    NdisQueueIoWorkItem(WorkItem, OcForward, Clone);
    return NDIS_STATUS_PENDING;
}

_Use_decl_annotations_ static VOID OcOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                        PNDIS_OID_REQUEST OidRequest,
                                                        NDIS_STATUS Status)
{
    PTL_MODULE Module = FilterModuleContext;
    POC_MODULE Oc = Module->DriverData;

    if (OidRequest == &Oc->Own)
        OcOwnDone(Module);
    else
        OcCloneDone(Module, OidRequest, Status);
}

_Use_decl_annotations_ static VOID OcIssueOwn(PVOID WorkItemContext,
                                              NDIS_HANDLE NdisIoWorkItemHandle)
{
    PTL_MODULE Module = WorkItemContext;
    POC_MODULE Oc = Module->DriverData;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    NdisZeroMemory(&Oc->Own, sizeof(Oc->Own));
    Oc->Own.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
    Oc->Own.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
    Oc->Own.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
    Oc->Own.RequestType = NdisRequestQueryInformation;
    Oc->Own.DATA.QUERY_INFORMATION.Oid = OID_GEN_LINK_SPEED;
    Oc->Own.DATA.QUERY_INFORMATION.InformationBuffer = &Oc->LinkSpeed;
    Oc->Own.DATA.QUERY_INFORMATION.InformationBufferLength = sizeof(Oc->LinkSpeed);
    if (NdisFOidRequest(Module->FilterHandle, &Oc->Own) != NDIS_STATUS_PENDING)
        OcOwnDone(Module); /* last access when it completed synchronously */
}

/* The driver's thread: one own query per idle module. */
static VOID OcTick(VOID)
{
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    for (Entry = TlModuleList.Flink; Entry != &TlModuleList; Entry = Entry->Flink) {
        PTL_MODULE Module = CONTAINING_RECORD(Entry, TL_MODULE, Link);
        POC_MODULE Oc = Module->DriverData;

        if (Oc == NULL || ReadNoFence(&Module->State) != TlRunning ||
            InterlockedExchange(&Oc->OwnBusy, 1) != 0)
            continue;
        OcBegin(Module);
        NdisQueueIoWorkItem(Oc->OwnWorkItem, OcIssueOwn, Module);
    }
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
}

/* Without its context a module forwards nothing (OIDs fail with RESOURCES). */
static VOID OcAttach(PTL_MODULE Module)
{
    POC_MODULE Oc = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Oc),
                                                      TL_POOL_TAG, NormalPoolPriority);

    if (Oc == NULL)
        return;
    NdisZeroMemory(Oc, sizeof(*Oc));
    Oc->OwnWorkItem = NdisAllocateIoWorkItem(Module->FilterHandle);
    if (Oc->OwnWorkItem == NULL) {
        NdisFreeMemory(Oc, 0, 0);
        return;
    }
    Module->DriverData = Oc; /* Module->Idle starts signalled: nothing outstanding */
}

static VOID OcDetach(PTL_MODULE Module)
{
    POC_MODULE Oc = Module->DriverData;

    if (Oc == NULL)
        return;
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    NdisFreeIoWorkItem(Oc->OwnWorkItem);
    NdisFreeMemory(Oc, 0, 0);
}

static VOID OcCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->OidRequestHandler = OcOidRequest;
    Chars->OidRequestCompleteHandler = OcOidRequestComplete;
    TlOnAttach = OcAttach;
    TlOnDetach = OcDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_oid_clone", OcCustomize, OcTick, 2);
}
