/*
 * passthru: the smallest complete NDIS 6 lightweight filter, written from
 * the WDK documentation the way a Windows driver developer would write it.
 * It forwards everything and originates nothing, so the only thing it must
 * get right is the module state machine: while a module is not Running, new
 * receives go straight back down and new sends are completed with
 * NDIS_STATUS_PAUSED, because NDIS pauses a stack top-down and a Pausing or
 * Paused module keeps being called from the drivers around it.
 *
 * It is the baseline of ndisemu's acceptance test: any finding against it is
 * a false alarm of the emulator.
 */
#include <ndis.h>

#define PT_POOL_TAG 'tPmE' /* "EmPt" */
#define PT_NDIS_MAJOR 6
#define PT_NDIS_MINOR 20

typedef enum _PT_STATE {
    PtPaused = 0,
    PtRestarting,
    PtRunning,
    PtPausing,
} PT_STATE;

typedef struct _PT_FILTER {
    NDIS_HANDLE FilterHandle;
    /* Written at PASSIVE_LEVEL by Restart/Pause, read without a lock by the
       datapath on any CPU. A stale read is harmless: a call that saw Running
       just before the pause began is "in flight", which the contract allows;
       NDIS does not call FilterPause's successor steps until we return. */
    volatile LONG State;
    NET_IFINDEX IfIndex;
} PT_FILTER, *PPT_FILTER;

/* The clone's SourceReserved area is the issuer's: it remembers the request
   that came from above while the clone travels below. */
#define PT_ORIGINAL_REQUEST(_Clone) (*(PNDIS_OID_REQUEST *)&(_Clone)->SourceReserved[0])

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD PtUnload;
FILTER_ATTACH PtAttach;
FILTER_DETACH PtDetach;
FILTER_RESTART PtRestart;
FILTER_PAUSE PtPause;
FILTER_SEND_NET_BUFFER_LISTS PtSend;
FILTER_SEND_NET_BUFFER_LISTS_COMPLETE PtSendComplete;
FILTER_RECEIVE_NET_BUFFER_LISTS PtReceive;
FILTER_RETURN_NET_BUFFER_LISTS PtReturn;
FILTER_OID_REQUEST PtOidRequest;
FILTER_OID_REQUEST_COMPLETE PtOidRequestComplete;
FILTER_CANCEL_OID_REQUEST PtCancelOidRequest;
FILTER_CANCEL_SEND_NET_BUFFER_LISTS PtCancelSend;

static NDIS_HANDLE PtDriverHandle;

_Use_decl_annotations_ NDIS_STATUS PtAttach(NDIS_HANDLE NdisFilterHandle,
                                            NDIS_HANDLE FilterDriverContext,
                                            PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters)
{
    NDIS_FILTER_ATTRIBUTES Attributes;
    PPT_FILTER Filter;
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(FilterDriverContext);

    Filter = NdisAllocateMemoryWithTagPriority(NdisFilterHandle, sizeof(*Filter), PT_POOL_TAG,
                                               NormalPoolPriority);
    if (Filter == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(Filter, sizeof(*Filter));
    Filter->FilterHandle = NdisFilterHandle;
    Filter->State = PtPaused;
    Filter->IfIndex = AttachParameters->BaseMiniportIfIndex;

    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    Status = NdisFSetAttributes(NdisFilterHandle, Filter, &Attributes);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreeMemory(Filter, 0, 0);
        return Status;
    }
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID PtDetach(NDIS_HANDLE FilterModuleContext)
{
    NdisFreeMemory(FilterModuleContext, 0, 0);
}

_Use_decl_annotations_ NDIS_STATUS PtRestart(NDIS_HANDLE FilterModuleContext,
                                             PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PPT_FILTER Filter = FilterModuleContext;

    UNREFERENCED_PARAMETER(RestartParameters);
    InterlockedExchange(&Filter->State, PtRestarting);
    InterlockedExchange(&Filter->State, PtRunning);
    return NDIS_STATUS_SUCCESS;
}

/*
 * Nothing to wait for: this filter neither originates NBLs nor keeps any.
 * Every NBL it forwarded belongs to a driver above or below, and that driver
 * waits for its own in its own pause. Completing synchronously is therefore
 * correct, and it is what keeps a top-down stack pause moving.
 */
_Use_decl_annotations_ NDIS_STATUS PtPause(NDIS_HANDLE FilterModuleContext,
                                           PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PPT_FILTER Filter = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Filter->State, PtPausing);
    InterlockedExchange(&Filter->State, PtPaused);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID PtSend(NDIS_HANDLE FilterModuleContext, PNET_BUFFER_LIST NetBufferLists,
                                   NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PPT_FILTER Filter = FilterModuleContext;
    PNET_BUFFER_LIST Nbl;

    if (ReadNoFence(&Filter->State) == PtRunning) {
        NdisFSendNetBufferLists(Filter->FilterHandle, NetBufferLists, PortNumber, SendFlags);
        return;
    }
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl))
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PAUSED;
    NdisFSendNetBufferListsComplete(
        Filter->FilterHandle, NetBufferLists,
        NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ VOID PtSendComplete(NDIS_HANDLE FilterModuleContext,
                                           PNET_BUFFER_LIST NetBufferLists, ULONG SendCompleteFlags)
{
    PPT_FILTER Filter = FilterModuleContext;

    /* Completions are owed to whoever sent: forward them in every state. */
    NdisFSendNetBufferListsComplete(Filter->FilterHandle, NetBufferLists, SendCompleteFlags);
}

_Use_decl_annotations_ VOID PtReceive(NDIS_HANDLE FilterModuleContext,
                                      PNET_BUFFER_LIST NetBufferLists, NDIS_PORT_NUMBER PortNumber,
                                      ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PPT_FILTER Filter = FilterModuleContext;

    if (ReadNoFence(&Filter->State) == PtRunning) {
        NdisFIndicateReceiveNetBufferLists(Filter->FilterHandle, NetBufferLists, PortNumber,
                                           NumberOfNetBufferLists, ReceiveFlags);
        return;
    }
    /* With RESOURCES the miniport takes the NBLs back when we return: a
       return call here would hand them back twice. */
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        return;
    NdisFReturnNetBufferLists(
        Filter->FilterHandle, NetBufferLists,
        NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ VOID PtReturn(NDIS_HANDLE FilterModuleContext,
                                     PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PPT_FILTER Filter = FilterModuleContext;

    NdisFReturnNetBufferLists(Filter->FilterHandle, NetBufferLists, ReturnFlags);
}

_Use_decl_annotations_ VOID PtCancelSend(NDIS_HANDLE FilterModuleContext, PVOID CancelId)
{
    PPT_FILTER Filter = FilterModuleContext;

    NdisFCancelSendNetBufferLists(Filter->FilterHandle, CancelId);
}

_Use_decl_annotations_ NDIS_STATUS PtOidRequest(NDIS_HANDLE FilterModuleContext,
                                                PNDIS_OID_REQUEST OidRequest)
{
    PPT_FILTER Filter = FilterModuleContext;
    PNDIS_OID_REQUEST Clone;
    NDIS_STATUS Status;

    Status = NdisAllocateCloneOidRequest(Filter->FilterHandle, OidRequest, PT_POOL_TAG, &Clone);
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;
    Clone->RequestId = OidRequest->RequestId;
    PT_ORIGINAL_REQUEST(Clone) = OidRequest;

    Status = NdisFOidRequest(Filter->FilterHandle, Clone);
    if (Status == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    /* Completed below synchronously: finish it through the same path, so the
       original sees one completion whichever way the miniport answered. */
    PtOidRequestComplete(Filter, Clone, Status);
    return NDIS_STATUS_PENDING;
}

_Use_decl_annotations_ VOID PtOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                 PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    PPT_FILTER Filter = FilterModuleContext;
    PNDIS_OID_REQUEST Original = PT_ORIGINAL_REQUEST(OidRequest);

    switch (OidRequest->RequestType) {
    case NdisRequestSetInformation:
        Original->DATA.SET_INFORMATION.BytesRead = OidRequest->DATA.SET_INFORMATION.BytesRead;
        Original->DATA.SET_INFORMATION.BytesNeeded = OidRequest->DATA.SET_INFORMATION.BytesNeeded;
        break;
    case NdisRequestMethod:
        Original->DATA.METHOD_INFORMATION.OutputBufferLength =
            OidRequest->DATA.METHOD_INFORMATION.OutputBufferLength;
        Original->DATA.METHOD_INFORMATION.BytesWritten =
            OidRequest->DATA.METHOD_INFORMATION.BytesWritten;
        Original->DATA.METHOD_INFORMATION.BytesRead = OidRequest->DATA.METHOD_INFORMATION.BytesRead;
        Original->DATA.METHOD_INFORMATION.BytesNeeded =
            OidRequest->DATA.METHOD_INFORMATION.BytesNeeded;
        break;
    default: /* queries and statistics */
        Original->DATA.QUERY_INFORMATION.BytesWritten =
            OidRequest->DATA.QUERY_INFORMATION.BytesWritten;
        Original->DATA.QUERY_INFORMATION.BytesNeeded =
            OidRequest->DATA.QUERY_INFORMATION.BytesNeeded;
        break;
    }
    NdisFreeCloneOidRequest(Filter->FilterHandle, OidRequest);
    NdisFOidRequestComplete(Filter->FilterHandle, Original, Status);
}

/* The clone carries the caller's RequestId, so the id cancels it below too. */
_Use_decl_annotations_ VOID PtCancelOidRequest(NDIS_HANDLE FilterModuleContext, PVOID RequestId)
{
    PPT_FILTER Filter = FilterModuleContext;

    NdisFCancelOidRequest(Filter->FilterHandle, RequestId);
}

_Use_decl_annotations_ VOID PtUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Returns only after NDIS has detached every module of this driver. */
    NdisFDeregisterFilterDriver(PtDriverHandle);
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS Chars;
    NDIS_STRING FriendlyName = RTL_CONSTANT_STRING(L"Pass-through test filter");
    NDIS_STRING UniqueName = RTL_CONSTANT_STRING(L"{5cbf81bd-5055-47cd-9055-a76b2b4e3697}");
    NDIS_STRING ServiceName = RTL_CONSTANT_STRING(L"passthru");
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(RegistryPath);

    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_2;
    Chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_2;
    Chars.MajorNdisVersion = PT_NDIS_MAJOR;
    Chars.MinorNdisVersion = PT_NDIS_MINOR;
    Chars.MajorDriverVersion = 1;
    Chars.MinorDriverVersion = 0;
    Chars.Flags = 0;
    Chars.FriendlyName = FriendlyName;
    Chars.UniqueName = UniqueName;
    Chars.ServiceName = ServiceName;
    Chars.AttachHandler = PtAttach;
    Chars.DetachHandler = PtDetach;
    Chars.RestartHandler = PtRestart;
    Chars.PauseHandler = PtPause;
    Chars.SendNetBufferListsHandler = PtSend;
    Chars.SendNetBufferListsCompleteHandler = PtSendComplete;
    Chars.CancelSendNetBufferListsHandler = PtCancelSend;
    Chars.ReceiveNetBufferListsHandler = PtReceive;
    Chars.ReturnNetBufferListsHandler = PtReturn;
    Chars.OidRequestHandler = PtOidRequest;
    Chars.OidRequestCompleteHandler = PtOidRequestComplete;
    Chars.CancelOidRequestHandler = PtCancelOidRequest;
    /* Status, PnP and direct-OID handlers stay NULL: NDIS then passes those
       through on the filter's behalf, which is all a pass-through would do. */

    DriverObject->DriverUnload = PtUnload;
    Status =
        NdisFRegisterFilterDriver(DriverObject, (NDIS_HANDLE)DriverObject, &Chars, &PtDriverHandle);
    return Status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
