/*
 * testlwf: a correct, minimal filter that the broken drivers start from.
 * See testlwf.h for why they share it.
 */
#include "testlwf.h"

NDIS_HANDLE TlFilterDriverHandle;
LIST_ENTRY TlModuleList;
KSPIN_LOCK TlModuleListLock;
VOID (*TlOnAttach)(PTL_MODULE Module);
VOID (*TlOnDetach)(PTL_MODULE Module);
static volatile LONG TlAttachCount;

static TL_TICK *TlTick;
static ULONG TlTickPeriodMs;
static KEVENT TlTickerStop;
static PVOID TlTickerThread;

/* The clone carries the original request in its SourceReserved area, which
   NDIS reserves for exactly this: the driver that issued the request. */
#define TL_ORIGINAL_REQUEST(_Clone) (*(PNDIS_OID_REQUEST *)&(_Clone)->SourceReserved[0])

_Use_decl_annotations_ NDIS_STATUS TlFilterAttach(NDIS_HANDLE NdisFilterHandle,
                                                  NDIS_HANDLE FilterDriverContext,
                                                  PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters)
{
    NDIS_FILTER_ATTRIBUTES Attributes;
    PTL_MODULE Module;
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(FilterDriverContext);
    UNREFERENCED_PARAMETER(AttachParameters);

    Module = NdisAllocateMemoryWithTagPriority(NdisFilterHandle, sizeof(*Module), TL_POOL_TAG,
                                               NormalPoolPriority);
    if (Module == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(Module, sizeof(*Module));
    Module->FilterHandle = NdisFilterHandle;
    Module->State = TlPaused;
    Module->Index = (ULONG)InterlockedIncrement(&TlAttachCount) - 1;
    Module->QueueTail = &Module->QueueHead;
    NdisAllocateSpinLock(&Module->Lock);
    KeInitializeEvent(&Module->Idle, NotificationEvent, TRUE);

    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    Status = NdisFSetAttributes(NdisFilterHandle, Module, &Attributes);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreeSpinLock(&Module->Lock);
        NdisFreeMemory(Module, 0, 0);
        return Status;
    }
    if (TlOnAttach != NULL)
        TlOnAttach(Module);
    KIRQL OldIrql;
    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    InsertTailList(&TlModuleList, &Module->Link);
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID TlFilterDetach(NDIS_HANDLE FilterModuleContext)
{
    PTL_MODULE Module = FilterModuleContext;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    RemoveEntryList(&Module->Link);
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
    if (TlOnDetach != NULL)
        TlOnDetach(Module);
    NdisFreeSpinLock(&Module->Lock);
    NdisFreeMemory(Module, 0, 0);
}

_Use_decl_annotations_ NDIS_STATUS
TlFilterRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(RestartParameters);
    InterlockedExchange(&Module->State, TlRunning);
    return NDIS_STATUS_SUCCESS;
}

/* The skeleton originates nothing and queues nothing, so there is nothing to
   wait for: once the new state is visible, later calls bounce and the pause
   is complete. */
_Use_decl_annotations_ NDIS_STATUS TlFilterPause(NDIS_HANDLE FilterModuleContext,
                                                 PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID TlRejectReceive(PTL_MODULE Module, PNET_BUFFER_LIST Nbls,
                                            ULONG ReceiveFlags)
{
    /* With RESOURCES the NBLs are ours only until we return from the
       indication; handing them back explicitly would return them twice. */
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        return;
    NdisFReturnNetBufferLists(
        Module->FilterHandle, Nbls,
        NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

static VOID TlWorkItemAttach(PTL_MODULE Module)
{
    Module->DriverData = NdisAllocateIoWorkItem(Module->FilterHandle);
}

static VOID TlWorkItemDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        NdisFreeIoWorkItem(Module->DriverData);
}

VOID TlUseWorkItems(VOID)
{
    TlOnAttach = TlWorkItemAttach;
    TlOnDetach = TlWorkItemDetach;
}

_Use_decl_annotations_ NDIS_STATUS TlPendToWorkItem(PTL_MODULE Module, TL_STATE State,
                                                    NDIS_IO_WORKITEM_FUNCTION *Routine)
{
    InterlockedExchange(&Module->State, State);
    NdisQueueIoWorkItem(Module->DriverData, Routine, Module);
    return NDIS_STATUS_PENDING;
}

_Use_decl_annotations_ VOID TlRejectSend(PTL_MODULE Module, PNET_BUFFER_LIST Nbls, ULONG SendFlags)
{
    PNET_BUFFER_LIST Nbl;

    for (Nbl = Nbls; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl))
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PAUSED;
    NdisFSendNetBufferListsComplete(
        Module->FilterHandle, Nbls,
        NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_ VOID TlFilterSendNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                       PNET_BUFFER_LIST NetBufferLists,
                                                       NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectSend(Module, NetBufferLists, SendFlags);
        return;
    }
    NdisFSendNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber, SendFlags);
}

_Use_decl_annotations_ VOID TlFilterSendNetBufferListsComplete(NDIS_HANDLE FilterModuleContext,
                                                               PNET_BUFFER_LIST NetBufferLists,
                                                               ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    NdisFSendNetBufferListsComplete(Module->FilterHandle, NetBufferLists, SendCompleteFlags);
}

_Use_decl_annotations_ VOID TlFilterReceiveNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                          PNET_BUFFER_LIST NetBufferLists,
                                                          NDIS_PORT_NUMBER PortNumber,
                                                          ULONG NumberOfNetBufferLists,
                                                          ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
}

_Use_decl_annotations_ VOID TlFilterReturnNetBufferLists(NDIS_HANDLE FilterModuleContext,
                                                         PNET_BUFFER_LIST NetBufferLists,
                                                         ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    NdisFReturnNetBufferLists(Module->FilterHandle, NetBufferLists, ReturnFlags);
}

_Use_decl_annotations_ NDIS_STATUS TlFilterOidRequest(NDIS_HANDLE FilterModuleContext,
                                                      PNDIS_OID_REQUEST OidRequest)
{
    PTL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Clone;
    NDIS_STATUS Status;

    Status = NdisAllocateCloneOidRequest(Module->FilterHandle, OidRequest, TL_POOL_TAG, &Clone);
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;
    Clone->RequestId = OidRequest->RequestId;
    TL_ORIGINAL_REQUEST(Clone) = OidRequest;
    Status = NdisFOidRequest(Module->FilterHandle, Clone);
    if (Status != NDIS_STATUS_PENDING) {
        TlFilterOidRequestComplete(Module, Clone, Status);
        Status = NDIS_STATUS_PENDING;
    }
    return Status;
}

_Use_decl_annotations_ VOID TlFilterOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                       PNDIS_OID_REQUEST OidRequest,
                                                       NDIS_STATUS Status)
{
    PTL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Original = TL_ORIGINAL_REQUEST(OidRequest);

    switch (OidRequest->RequestType) {
    case NdisRequestQueryInformation:
    case NdisRequestQueryStatistics:
        Original->DATA.QUERY_INFORMATION.BytesWritten =
            OidRequest->DATA.QUERY_INFORMATION.BytesWritten;
        Original->DATA.QUERY_INFORMATION.BytesNeeded =
            OidRequest->DATA.QUERY_INFORMATION.BytesNeeded;
        break;
    case NdisRequestSetInformation:
        Original->DATA.SET_INFORMATION.BytesRead = OidRequest->DATA.SET_INFORMATION.BytesRead;
        Original->DATA.SET_INFORMATION.BytesNeeded = OidRequest->DATA.SET_INFORMATION.BytesNeeded;
        break;
    default:
        Original->DATA.METHOD_INFORMATION.BytesWritten =
            OidRequest->DATA.METHOD_INFORMATION.BytesWritten;
        Original->DATA.METHOD_INFORMATION.BytesRead = OidRequest->DATA.METHOD_INFORMATION.BytesRead;
        Original->DATA.METHOD_INFORMATION.BytesNeeded =
            OidRequest->DATA.METHOD_INFORMATION.BytesNeeded;
        break;
    }
    NdisFreeCloneOidRequest(Module->FilterHandle, OidRequest);
    NdisFOidRequestComplete(Module->FilterHandle, Original, Status);
}

static KSTART_ROUTINE TlTickerMain;

_Use_decl_annotations_ static VOID TlTickerMain(PVOID StartContext)
{
    LARGE_INTEGER Period;

    UNREFERENCED_PARAMETER(StartContext);
    Period.QuadPart = -(LONGLONG)TlTickPeriodMs * 10000; /* relative, 100 ns units */
    while (KeWaitForSingleObject(&TlTickerStop, Executive, KernelMode, FALSE, &Period) ==
           STATUS_TIMEOUT)
        TlTick();
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS TlStartTicker(VOID)
{
    HANDLE Thread;
    NTSTATUS Status;

    KeInitializeEvent(&TlTickerStop, NotificationEvent, FALSE);
    Status = PsCreateSystemThread(&Thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, TlTickerMain, NULL);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObReferenceObjectByHandle(Thread, SYNCHRONIZE, *PsThreadType, KernelMode,
                                       &TlTickerThread, NULL);
    ZwClose(Thread);
    return Status;
}

static VOID TlStopTicker(VOID)
{
    if (TlTickerThread != NULL) {
        KeSetEvent(&TlTickerStop, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(TlTickerThread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(TlTickerThread);
        TlTickerThread = NULL;
    }
}

_Use_decl_annotations_ VOID TlDriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Deregistration detaches every module first, so once the ticker is told
       to stop it has no module left to touch. */
    NdisFDeregisterFilterDriver(TlFilterDriverHandle);
    TlStopTicker();
}

/*
 * Every filter driver has a GUID of its own for UniqueName (on Windows its
 * INF's NetCfgInstanceId). Each test driver derives its GUID from its service
 * name (FNV-1a), so no two of them share one.
 */
static WCHAR TlUniqueNameBuffer[39];

static VOID TlMakeUniqueName(PCWSTR ServiceName, PUNICODE_STRING UniqueName)
{
    static const char Layout[] = "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
    static const char Hex[] = "0123456789abcdef";
    ULONG64 Hash = 14695981039346656037ull;
    ULONG i;

    for (i = 0; ServiceName[i] != 0; i++) {
        Hash ^= ServiceName[i];
        Hash *= 1099511628211ull;
    }
    for (i = 0; Layout[i] != 0; i++) {
        if (Layout[i] == 'x') {
            TlUniqueNameBuffer[i] = (WCHAR)Hex[Hash & 0xf];
            Hash = (Hash >> 4) | (Hash << 60);
        } else {
            TlUniqueNameBuffer[i] = (WCHAR)Layout[i];
        }
    }
    TlUniqueNameBuffer[i] = 0;
    RtlInitUnicodeString(UniqueName, TlUniqueNameBuffer);
}

_Use_decl_annotations_ NTSTATUS TlRegister(PDRIVER_OBJECT DriverObject, PCWSTR ServiceName,
                                           TL_CUSTOMIZE *Customize, TL_TICK *Tick, ULONG PeriodMs)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS Chars;
    NDIS_STATUS Status;
    NTSTATUS NtStatus;

    InitializeListHead(&TlModuleList);
    KeInitializeSpinLock(&TlModuleListLock);
    if (Tick != NULL) {
        TlTick = Tick;
        TlTickPeriodMs = PeriodMs;
        NtStatus = TlStartTicker();
        if (!NT_SUCCESS(NtStatus))
            return NtStatus;
    }

    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_2;
    Chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_2;
    Chars.MajorNdisVersion = 6;
    Chars.MinorNdisVersion = 20;
    Chars.MajorDriverVersion = 1;
    Chars.MinorDriverVersion = 0;
    RtlInitUnicodeString(&Chars.FriendlyName, ServiceName);
    TlMakeUniqueName(ServiceName, &Chars.UniqueName);
    RtlInitUnicodeString(&Chars.ServiceName, ServiceName);
    Chars.AttachHandler = TlFilterAttach;
    Chars.DetachHandler = TlFilterDetach;
    Chars.RestartHandler = TlFilterRestart;
    Chars.PauseHandler = TlFilterPause;
    Chars.SendNetBufferListsHandler = TlFilterSendNetBufferLists;
    Chars.SendNetBufferListsCompleteHandler = TlFilterSendNetBufferListsComplete;
    Chars.ReceiveNetBufferListsHandler = TlFilterReceiveNetBufferLists;
    Chars.ReturnNetBufferListsHandler = TlFilterReturnNetBufferLists;
    Chars.OidRequestHandler = TlFilterOidRequest;
    Chars.OidRequestCompleteHandler = TlFilterOidRequestComplete;
    if (Customize != NULL)
        Customize(&Chars);

    DriverObject->DriverUnload = TlDriverUnload;
    Status = NdisFRegisterFilterDriver(DriverObject, (NDIS_HANDLE)DriverObject, &Chars,
                                       &TlFilterDriverHandle);
    if (Status == NDIS_STATUS_SUCCESS)
        return STATUS_SUCCESS;
    TlStopTicker();
    return STATUS_UNSUCCESSFUL;
}
