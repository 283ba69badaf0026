/*
 * A lightweight filter written the way WDK drivers are: role typedefs,
 * SAL 2 annotations on every prototype, _Use_decl_annotations_ definitions,
 * MSVC pragmas, the NDIS6xx project define turned into
 * NDIS_FILTER_MAJOR/MINOR_VERSION, NDIS_DECLARE_*_CONTEXT, NdisInitUnicodeString,
 * <ntstrsafe.h>,
 * a positional NDIS_FILTER_PARTIAL_CHARACTERISTICS initializer (Header, Flags,
 * then the five handlers, as the WDK orders them) and restart-attribute
 * parsing. wdk_style.sh builds it with ndisemu-cc -Wall -Wextra -Werror and
 * runs it: the datapath handlers exist only in the partial characteristics,
 * so traffic flows through them only if that structure's layout is the WDK's.
 * At detach each module prints what it saw (one line, parsed by the script).
 */
#pragma warning(disable : 4201) /* nameless struct/union, as WDK code says */
#include <ndis.h>
#include <ntstrsafe.h>

#define WSL_TAG 'lSdW'
#define WSL_NAME L"wdkstyle"

typedef struct _WSL_MODULE {
    NDIS_HANDLE FilterHandle;
    UCHAR ModuleName[64]; /* copied: attach parameters live only during FilterAttach */
    _Interlocked_ volatile LONG Received;
    _Interlocked_ volatile LONG Sent;
    _Interlocked_ volatile LONG OidsForwarded;
    ULONG MtuSize;
    ULONG RestartCount;
    NDIS_SPIN_LOCK Lock;
    _Guarded_by_(Lock) BOOLEAN Running;
} WSL_MODULE, *PWSL_MODULE;

static NDIS_HANDLE WslDriverHandle;
static LONG WslSetOptionsCalls;
static BOOLEAN WslHandleStoredBySetOptions; /* the out handle was written before FilterSetOptions */
static WCHAR WslServiceName[16];

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD WslUnload;
FILTER_SET_OPTIONS WslSetOptions;
FILTER_SET_MODULE_OPTIONS WslSetModuleOptions;
FILTER_ATTACH WslAttach;
FILTER_DETACH WslDetach;
FILTER_RESTART WslRestart;
FILTER_PAUSE WslPause;
FILTER_SEND_NET_BUFFER_LISTS WslSend;
FILTER_SEND_NET_BUFFER_LISTS_COMPLETE WslSendComplete;
FILTER_CANCEL_SEND_NET_BUFFER_LISTS WslCancelSend;
FILTER_RECEIVE_NET_BUFFER_LISTS WslReceive;
FILTER_RETURN_NET_BUFFER_LISTS WslReturn;
FILTER_OID_REQUEST WslOidRequest;
FILTER_OID_REQUEST_COMPLETE WslOidRequestComplete;
FILTER_STATUS WslStatus;
FILTER_NET_PNP_EVENT WslNetPnPEvent;

_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
    _Acquires_lock_(Module->Lock) static VOID
    WslLock(_Inout_ PWSL_MODULE Module, _In_ BOOLEAN DispatchLevel);
_IRQL_requires_(DISPATCH_LEVEL) _Releases_lock_(Module->Lock) static VOID
    WslUnlock(_Inout_ PWSL_MODULE Module, _In_ BOOLEAN DispatchLevel);
_Must_inspect_result_ _Success_(return != NULL) _IRQL_requires_max_(DISPATCH_LEVEL) static const
    NDIS_RESTART_GENERAL_ATTRIBUTES *WslGeneralAttributes(
        _In_opt_ PNDIS_RESTART_ATTRIBUTES Attributes);
_IRQL_requires_max_(DISPATCH_LEVEL) static ULONG
    WslCopyName(_Out_writes_bytes_to_(Capacity, return + 1) PUCHAR Out, _In_ ULONG Capacity,
                _In_ PCNDIS_STRING Name);

_Use_decl_annotations_ static VOID WslLock(PWSL_MODULE Module, BOOLEAN DispatchLevel)
{
    if (DispatchLevel)
        NdisDprAcquireSpinLock(&Module->Lock);
    else
        NdisAcquireSpinLock(&Module->Lock);
}

_Use_decl_annotations_ static VOID WslUnlock(PWSL_MODULE Module, BOOLEAN DispatchLevel)
{
    if (DispatchLevel)
        NdisDprReleaseSpinLock(&Module->Lock);
    else
        NdisReleaseSpinLock(&Module->Lock);
}

_Use_decl_annotations_ static const NDIS_RESTART_GENERAL_ATTRIBUTES *
WslGeneralAttributes(PNDIS_RESTART_ATTRIBUTES Attributes)
{
    for (PNDIS_RESTART_ATTRIBUTES a = Attributes; a != NULL; a = a->Next) {
        if (a->Oid != OID_GEN_MINIPORT_RESTART_ATTRIBUTES ||
            a->DataLength < NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_1)
            continue;
        const NDIS_RESTART_GENERAL_ATTRIBUTES *g = (const void *)a->Data;
        if (g->Header.Type == NDIS_OBJECT_TYPE_RESTART_GENERAL_ATTRIBUTES)
            return g;
    }
    return NULL;
}

_Use_decl_annotations_ static ULONG WslCopyName(PUCHAR Out, ULONG Capacity, PCNDIS_STRING Name)
{
    ULONG n = min((ULONG)Name->Length / sizeof(WCHAR), Capacity - 1);
    for (ULONG i = 0; i < n; i++)
        Out[i] = (UCHAR)Name->Buffer[i];
    Out[n] = 0;
    return n;
}

_Use_decl_annotations_ NDIS_STATUS WslSetOptions(NDIS_HANDLE NdisDriverHandle,
                                                 NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);
    /* Like Microsoft's sample, compare with the handle NdisFRegisterFilterDriver
       stores: NDIS has stored it before it calls FilterSetOptions. */
    WslSetOptionsCalls++;
    WslHandleStoredBySetOptions = NdisDriverHandle != NULL && NdisDriverHandle == WslDriverHandle;
    return NDIS_STATUS_SUCCESS;
}

/* The datapath lives only here: positional, Flags second, as in the WDK. */
_Use_decl_annotations_ NDIS_STATUS WslSetModuleOptions(NDIS_HANDLE FilterModuleContext)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    NDIS_FILTER_PARTIAL_CHARACTERISTICS partial = {
        {NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS,
         NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1,
         NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1},
        0,
        WslSend,
        WslSendComplete,
        WslCancelSend,
        WslReceive,
        WslReturn,
    };
    return NdisSetOptionalHandlers(module->FilterHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&partial);
}

_Use_decl_annotations_ NDIS_STATUS WslAttach(NDIS_HANDLE NdisFilterHandle,
                                             NDIS_HANDLE FilterDriverContext,
                                             PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters)
{
    NDIS_FILTER_ATTRIBUTES attributes;
    PWSL_MODULE module;
    UNREFERENCED_PARAMETER(FilterDriverContext);
    NDIS_DECLARE_FILTER_MODULE_CONTEXT(WSL_MODULE);

    if (AttachParameters->MiniportMediaType != NdisMedium802_3 &&
        AttachParameters->MiniportMediaType != NdisMediumNative802_11)
        return NDIS_STATUS_INVALID_PARAMETER;
    module = NdisAllocateMemoryWithTagPriority(WslDriverHandle, sizeof(*module), WSL_TAG,
                                               NormalPoolPriority);
    if (module == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(module, sizeof(*module));
    module->FilterHandle = NdisFilterHandle;
    if (AttachParameters->FilterModuleGuidName != NULL)
        WslCopyName(module->ModuleName, sizeof(module->ModuleName),
                    AttachParameters->FilterModuleGuidName);
    NdisAllocateSpinLock(&module->Lock);

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    attributes.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    attributes.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    NDIS_STATUS status = NdisFSetAttributes(NdisFilterHandle, module, &attributes);
    if (status != NDIS_STATUS_SUCCESS) {
        NdisFreeSpinLock(&module->Lock);
        NdisFreeMemoryWithTagPriority(WslDriverHandle, module, WSL_TAG);
    }
    return status;
}

_Use_decl_annotations_ VOID WslDetach(NDIS_HANDLE FilterModuleContext)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    DbgPrint("wdkstyle: module '%s' rx=%ld tx=%ld oids=%ld restarts=%lu mtu=%lu\n",
             (char *)module->ModuleName,
             (LONG)module->Received, (LONG)module->Sent, (LONG)module->OidsForwarded,
             module->RestartCount, module->MtuSize);
    NdisFreeSpinLock(&module->Lock);
    NdisFreeMemoryWithTagPriority(WslDriverHandle, module, WSL_TAG);
}

_Use_decl_annotations_ NDIS_STATUS WslRestart(NDIS_HANDLE FilterModuleContext,
                                              PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    const NDIS_RESTART_GENERAL_ATTRIBUTES *general =
        WslGeneralAttributes(RestartParameters->RestartAttributes);
    if (general != NULL)
        module->MtuSize = general->MtuSize;
    module->RestartCount++;
    WslLock(module, FALSE);
    module->Running = TRUE;
    WslUnlock(module, FALSE);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ NDIS_STATUS WslPause(NDIS_HANDLE FilterModuleContext,
                                            PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    UNREFERENCED_PARAMETER(PauseParameters);
    WslLock(module, FALSE);
    module->Running = FALSE;
    WslUnlock(module, FALSE);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID WslSend(NDIS_HANDLE FilterModuleContext, PNET_BUFFER_LIST NetBufferLists,
                                    NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        InterlockedIncrement(&module->Sent);
    NdisFSendNetBufferLists(module->FilterHandle, NetBufferLists, PortNumber, SendFlags);
}

_Use_decl_annotations_ VOID WslSendComplete(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG SendCompleteFlags)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    NdisFSendNetBufferListsComplete(module->FilterHandle, NetBufferLists, SendCompleteFlags);
}

_Use_decl_annotations_ VOID WslCancelSend(NDIS_HANDLE FilterModuleContext, PVOID CancelId)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    NdisFCancelSendNetBufferLists(module->FilterHandle, CancelId);
}

_Use_decl_annotations_ VOID WslReceive(NDIS_HANDLE FilterModuleContext,
                                       PNET_BUFFER_LIST NetBufferLists, NDIS_PORT_NUMBER PortNumber,
                                       ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    InterlockedExchangeAdd(&module->Received, (LONG)NumberOfNetBufferLists);
    NdisFIndicateReceiveNetBufferLists(module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
}

_Use_decl_annotations_ VOID WslReturn(NDIS_HANDLE FilterModuleContext,
                                      PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    NdisFReturnNetBufferLists(module->FilterHandle, NetBufferLists, ReturnFlags);
}

/* OIDs go down as clones; the original is completed from the clone. */
_Use_decl_annotations_ NDIS_STATUS WslOidRequest(NDIS_HANDLE FilterModuleContext,
                                                 PNDIS_OID_REQUEST Request)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    PNDIS_OID_REQUEST clone;
    NDIS_STATUS status = NdisAllocateCloneOidRequest(module->FilterHandle, Request, WSL_TAG, &clone);
    if (status != NDIS_STATUS_SUCCESS)
        return status;
    *(PNDIS_OID_REQUEST *)clone->SourceReserved = Request;
    clone->RequestId = Request->RequestId;
    InterlockedIncrement(&module->OidsForwarded);
    status = NdisFOidRequest(module->FilterHandle, clone);
    if (status != NDIS_STATUS_PENDING)
        WslOidRequestComplete(module, clone, status);
    return NDIS_STATUS_PENDING;
}

_Use_decl_annotations_ VOID WslOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_OID_REQUEST Request, NDIS_STATUS Status)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    PNDIS_OID_REQUEST original = *(PNDIS_OID_REQUEST *)Request->SourceReserved;
    switch (Request->RequestType) {
    case NdisRequestMethod:
        original->DATA.METHOD_INFORMATION.OutputBufferLength =
            Request->DATA.METHOD_INFORMATION.OutputBufferLength;
        original->DATA.METHOD_INFORMATION.BytesRead = Request->DATA.METHOD_INFORMATION.BytesRead;
        original->DATA.METHOD_INFORMATION.BytesNeeded =
            Request->DATA.METHOD_INFORMATION.BytesNeeded;
        original->DATA.METHOD_INFORMATION.BytesWritten =
            Request->DATA.METHOD_INFORMATION.BytesWritten;
        break;
    case NdisRequestSetInformation:
        original->DATA.SET_INFORMATION.BytesRead = Request->DATA.SET_INFORMATION.BytesRead;
        original->DATA.SET_INFORMATION.BytesNeeded = Request->DATA.SET_INFORMATION.BytesNeeded;
        break;
    default:
        original->DATA.QUERY_INFORMATION.BytesWritten =
            Request->DATA.QUERY_INFORMATION.BytesWritten;
        original->DATA.QUERY_INFORMATION.BytesNeeded = Request->DATA.QUERY_INFORMATION.BytesNeeded;
        break;
    }
    NdisFreeCloneOidRequest(module->FilterHandle, Request);
    NdisFOidRequestComplete(module->FilterHandle, original, Status);
}

_Use_decl_annotations_ VOID WslStatus(NDIS_HANDLE FilterModuleContext,
                                      PNDIS_STATUS_INDICATION StatusIndication)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    if (StatusIndication->StatusCode == NDIS_STATUS_LINK_STATE &&
        StatusIndication->StatusBufferSize >= sizeof(NDIS_LINK_STATE)) {
        const NDIS_LINK_STATE *link = StatusIndication->StatusBuffer;
        _Analysis_assume_(link != NULL);
        if (link->MediaConnectState == MediaConnectStateDisconnected)
            DbgPrint("wdkstyle: link down\n");
    }
    NdisFIndicateStatus(module->FilterHandle, StatusIndication);
}

_Use_decl_annotations_ NDIS_STATUS WslNetPnPEvent(NDIS_HANDLE FilterModuleContext,
                                                  PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    PWSL_MODULE module = (PWSL_MODULE)FilterModuleContext;
    return NdisFNetPnPEvent(module->FilterHandle, NetPnPEventNotification);
}

_Use_decl_annotations_ VOID WslUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("wdkstyle: unload set_options=%ld handle_stored=%d\n", WslSetOptionsCalls,
             (int)WslHandleStoredBySetOptions);
    NdisFDeregisterFilterDriver(WslDriverHandle);
}

#pragma NDIS_INIT_FUNCTION(DriverEntry)

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS chars;
    UNREFERENCED_PARAMETER(RegistryPath);
    NDIS_DECLARE_FILTER_DRIVER_CONTEXT(DRIVER_OBJECT);

    NdisZeroMemory(&chars, sizeof(chars));
    chars.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
#if NDIS_SUPPORT_NDIS61
    chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_2;
    chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_2;
#else
    chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
#endif
    chars.MajorNdisVersion = NDIS_FILTER_MAJOR_VERSION;
    chars.MinorNdisVersion = NDIS_FILTER_MINOR_VERSION;
    chars.MajorDriverVersion = 1;
    NdisInitUnicodeString(&chars.FriendlyName, L"WDK-style test filter");
    NdisInitUnicodeString(&chars.UniqueName, L"{6f0e1c52-2b8a-4d0e-9a51-3c1f7d2e8b40}");
    if (!NT_SUCCESS(RtlStringCbCopyW(WslServiceName, sizeof(WslServiceName), WSL_NAME)))
        return STATUS_INTERNAL_ERROR;
    NdisInitUnicodeString(&chars.ServiceName, WslServiceName);
    chars.SetOptionsHandler = WslSetOptions;
    chars.SetFilterModuleOptionsHandler = WslSetModuleOptions;
    chars.AttachHandler = WslAttach;
    chars.DetachHandler = WslDetach;
    chars.RestartHandler = WslRestart;
    chars.PauseHandler = WslPause;
    chars.OidRequestHandler = WslOidRequest;
    chars.OidRequestCompleteHandler = WslOidRequestComplete;
    chars.StatusHandler = WslStatus;
    chars.NetPnPEventHandler = WslNetPnPEvent;
    DriverObject->DriverUnload = WslUnload;
    return NdisFRegisterFilterDriver(DriverObject, (NDIS_HANDLE)DriverObject, &chars,
                                     &WslDriverHandle);
}
