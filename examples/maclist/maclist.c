/*
 * maclist: a minimal NDIS 6 lightweight filter whose global state, a MAC
 * allow-list and two settings (MACLIST_SETTINGS), is shared by every filter
 * module and replaced by an IOCTL while traffic runs on every CPU: the
 * question hotlwf answers, with the answer reduced to rcu/hlrcu.h. No lock
 * on the datapath, no pause, no detach. docs/rcu.md walks through it.
 *
 * Where each hlrcu call sits:
 *   DriverEntry           HlRcuInitialize (the first settings: allow all)
 *                         before NdisFRegisterFilterDriver, which may attach
 *                         and restart modules before it returns; then
 *                         HlRcuEnableDeferredFree on the filter driver handle
 *   FilterReceive/Send    HlRcuReadEnter / HlRcuDereference / HlRcuReadLeave,
 *                         once per batch, left before the NBLs go to NDIS
 *   IOCTL_MACLIST_SET     HlRcuPublish, then free the old settings
 *   IOCTL_MACLIST_SET_NOWAIT   HlRcuExchange + HlRcuFreeDeferred
 *   DriverUnload          HlRcuUninitialize, after every module is detached
 */
#include <ndis.h>
#include <wdmsec.h>

#include "hlrcu.h"
#include "maclist.h"

#define ML_TAG 'tsLM' /* "MLst" */
#define ML_RESOURCES_CHUNK 32u

typedef struct _ML_STATE {
    HLRCU_HEAD RcuHead; /* for HlRcuFreeDeferred */
    MACLIST_SETTINGS Settings;
} ML_STATE, *PML_STATE;

typedef struct _ML_FILTER {
    NDIS_HANDLE FilterHandle;
    volatile LONG Running; /* Restart sets it, Pause clears it; the datapath reads it */
} ML_FILTER, *PML_FILTER;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD MlUnload;
static DRIVER_DISPATCH MlDispatch;
static FILTER_ATTACH MlAttach;
static FILTER_DETACH MlDetach;
static FILTER_RESTART MlRestart;
static FILTER_PAUSE MlPause;
static FILTER_SEND_NET_BUFFER_LISTS MlSend;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE MlSendComplete;
static FILTER_RECEIVE_NET_BUFFER_LISTS MlReceive;
static FILTER_RETURN_NET_BUFFER_LISTS MlReturn;
static HLRCU_FREE_ROUTINE MlFreeState;

static NDIS_HANDLE MlDriverHandle;
static NDIS_HANDLE MlDeviceHandle;
static HLRCU MlConfig; /* MlConfig.Pointer: the running ML_STATE */

/* ---- the datapath ---- */

/* TRUE when the frame may go on. Inside a read section: State stays valid. */
_IRQL_requires_(DISPATCH_LEVEL) static BOOLEAN
    MlAllowed(_In_ const ML_STATE *State, _In_ PNET_BUFFER_LIST Nbl, _In_ BOOLEAN Receive)
{
    ULONG Drop = Receive ? MACLIST_FLAG_DROP_UNKNOWN_RX : MACLIST_FLAG_DROP_UNKNOWN_TX;
    UCHAR Storage[12];
    PUCHAR Header;
    PUCHAR Mac;
    ULONG i;

    if (!(State->Settings.Flags & Drop))
        return TRUE;
    Header = NdisGetDataBuffer(NET_BUFFER_LIST_FIRST_NB(Nbl), sizeof(Storage), Storage, 1, 0);
    if (Header == NULL)
        return FALSE; /* shorter than two addresses: not a frame we allow */
    Mac = Receive ? Header + 6 : Header; /* receive: the source; send: the destination */
    for (i = 0; i < State->Settings.Count; i++)
        if (RtlEqualMemory(State->Settings.Addresses[i], Mac, 6))
            return TRUE;
    return FALSE;
}

_Use_decl_annotations_ static VOID MlReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PML_FILTER Filter = FilterModuleContext;
    BOOLEAN AtDispatch = NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags);
    ULONG ReturnFlags = AtDispatch ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
    PNET_BUFFER_LIST Nbl = NetBufferLists;

    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (!ReadNoFence(&Filter->Running)) {
        /* Pausing, Paused or Restarting: hand them back (with RESOURCES, returning is ours to skip). */
        if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
            NdisFReturnNetBufferLists(Filter->FilterHandle, NetBufferLists, ReturnFlags);
        return;
    }

    /*
     * Chunks of ML_RESOURCES_CHUNK: with RESOURCES the indicator takes the
     * chain back when we return, so the original links are kept here and
     * restored. Each chunk is one read section, left before NDIS is called.
     */
    while (Nbl != NULL) {
        PNET_BUFFER_LIST Chunk[ML_RESOURCES_CHUNK];
        PNET_BUFFER_LIST PassHead = NULL, DropHead = NULL;
        PNET_BUFFER_LIST *PassTail = &PassHead, *DropTail = &DropHead;
        ULONG Count = 0, PassCount = 0, i;
        HLRCU_READ Read;
        const ML_STATE *State;

        HlRcuReadEnter(&Read, AtDispatch);
        State = HlRcuDereference(&MlConfig);
        while (Nbl != NULL && Count < ML_RESOURCES_CHUNK) {
            Chunk[Count++] = Nbl;
            Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
        for (i = 0; i < Count; i++) {
            if (MlAllowed(State, Chunk[i], TRUE)) {
                *PassTail = Chunk[i];
                PassTail = &NET_BUFFER_LIST_NEXT_NBL(Chunk[i]);
                PassCount++;
            } else {
                *DropTail = Chunk[i];
                DropTail = &NET_BUFFER_LIST_NEXT_NBL(Chunk[i]);
            }
        }
        *PassTail = NULL;
        *DropTail = NULL;
        HlRcuReadLeave(&Read); /* before NDIS: a loopback may re-enter on this CPU */

        if (PassCount != 0)
            NdisFIndicateReceiveNetBufferLists(Filter->FilterHandle, PassHead, PortNumber,
                                               PassCount, ReceiveFlags);
        if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) {
            for (i = 0; i + 1 < Count; i++) /* the chain exactly as it was given */
                NET_BUFFER_LIST_NEXT_NBL(Chunk[i]) = Chunk[i + 1];
            NET_BUFFER_LIST_NEXT_NBL(Chunk[Count - 1]) = Nbl;
        } else if (DropHead != NULL) {
            NdisFReturnNetBufferLists(Filter->FilterHandle, DropHead, ReturnFlags);
        }
    }
}

_Use_decl_annotations_ static VOID MlSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PML_FILTER Filter = FilterModuleContext;
    BOOLEAN AtDispatch = NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags);
    ULONG CompleteFlags = AtDispatch ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
    PNET_BUFFER_LIST PassHead = NULL, DropHead = NULL;
    PNET_BUFFER_LIST *PassTail = &PassHead, *DropTail = &DropHead;
    PNET_BUFFER_LIST Nbl, Next;
    HLRCU_READ Read;
    const ML_STATE *State;

    if (!ReadNoFence(&Filter->Running)) {
        for (Nbl = NetBufferLists; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl))
            NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PAUSED;
        NdisFSendNetBufferListsComplete(Filter->FilterHandle, NetBufferLists, CompleteFlags);
        return;
    }

    /* A protocol may send at PASSIVE_LEVEL: HlRcuReadEnter raises (the flag says which). */
    HlRcuReadEnter(&Read, AtDispatch);
    State = HlRcuDereference(&MlConfig);
    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(Nbl);
        if (MlAllowed(State, Nbl, FALSE)) {
            *PassTail = Nbl;
            PassTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        } else {
            NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_FAILURE;
            *DropTail = Nbl;
            DropTail = &NET_BUFFER_LIST_NEXT_NBL(Nbl);
        }
    }
    *PassTail = NULL;
    *DropTail = NULL;
    HlRcuReadLeave(&Read);

    if (PassHead != NULL)
        NdisFSendNetBufferLists(Filter->FilterHandle, PassHead, PortNumber, SendFlags);
    if (DropHead != NULL)
        NdisFSendNetBufferListsComplete(Filter->FilterHandle, DropHead, CompleteFlags);
}

_Use_decl_annotations_ static VOID MlSendComplete(NDIS_HANDLE FilterModuleContext,
                                                  PNET_BUFFER_LIST NetBufferLists,
                                                  ULONG SendCompleteFlags)
{
    PML_FILTER Filter = FilterModuleContext;

    NdisFSendNetBufferListsComplete(Filter->FilterHandle, NetBufferLists, SendCompleteFlags);
}

_Use_decl_annotations_ static VOID MlReturn(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PML_FILTER Filter = FilterModuleContext;

    NdisFReturnNetBufferLists(Filter->FilterHandle, NetBufferLists, ReturnFlags);
}

/* ---- module states: nothing to wait for, maclist originates and keeps no NBL ---- */

_Use_decl_annotations_ static NDIS_STATUS MlAttach(NDIS_HANDLE NdisFilterHandle,
                                                   NDIS_HANDLE FilterDriverContext,
                                                   PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters)
{
    NDIS_FILTER_ATTRIBUTES Attributes;
    PML_FILTER Filter;
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(FilterDriverContext);
    if (AttachParameters->MiniportMediaType != NdisMedium802_3)
        return NDIS_STATUS_INVALID_PARAMETER;
    Filter = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Filter), ML_TAG);
    if (Filter == NULL)
        return NDIS_STATUS_RESOURCES;
    Filter->FilterHandle = NdisFilterHandle;
    Filter->Running = FALSE;

    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    Status = NdisFSetAttributes(NdisFilterHandle, Filter, &Attributes);
    if (Status != NDIS_STATUS_SUCCESS)
        ExFreePoolWithTag(Filter, ML_TAG);
    return Status;
}

_Use_decl_annotations_ static VOID MlDetach(NDIS_HANDLE FilterModuleContext)
{
    ExFreePoolWithTag(FilterModuleContext, ML_TAG);
}

_Use_decl_annotations_ static NDIS_STATUS MlRestart(NDIS_HANDLE FilterModuleContext,
                                                    PNDIS_FILTER_RESTART_PARAMETERS Parameters)
{
    UNREFERENCED_PARAMETER(Parameters);
    InterlockedExchange(&((PML_FILTER)FilterModuleContext)->Running, TRUE);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS MlPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS Parameters)
{
    UNREFERENCED_PARAMETER(Parameters);
    InterlockedExchange(&((PML_FILTER)FilterModuleContext)->Running, FALSE);
    return NDIS_STATUS_SUCCESS;
}

/* ---- the control device: the IOCTL that replaces the settings ---- */

_Use_decl_annotations_ static VOID MlFreeState(PHLRCU_HEAD Head)
{
    ExFreePoolWithTag(CONTAINING_RECORD(Head, ML_STATE, RcuHead), ML_TAG);
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS MlSetSettings(_In_ PIRP Irp,
                                                             _In_ PIO_STACK_LOCATION IrpSp)
{
    ULONG Code = IrpSp->Parameters.DeviceIoControl.IoControlCode;
    const MACLIST_SETTINGS *In = Irp->AssociatedIrp.SystemBuffer;
    PML_STATE New, Old;
    LONG64 Generation;

    if (IrpSp->Parameters.DeviceIoControl.InputBufferLength != sizeof(MACLIST_SETTINGS) ||
        IrpSp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG64))
        return STATUS_INVALID_BUFFER_SIZE;
    if (In->Version != MACLIST_VERSION || (In->Flags & ~MACLIST_FLAGS_ALL) != 0 ||
        In->Count > MACLIST_MAX_ADDRESSES)
        return STATUS_INVALID_PARAMETER;

    /* Built off to the side; readers see it whole or not at all. */
    New = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*New), ML_TAG);
    if (New == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(&New->Settings, In, sizeof(*In));

    if (Code == IOCTL_MACLIST_SET) {
        Old = HlRcuPublish(&MlConfig, New); /* returns once no CPU can use Old */
        ExFreePoolWithTag(Old, ML_TAG);
    } else {
        Old = HlRcuExchange(&MlConfig, New);
        HlRcuFreeDeferred(&MlConfig, &Old->RcuHead, MlFreeState);
    }
    /* Generation as of now: another SET may follow at once, the value is only informative. */
    Generation = HlRcuGeneration(&MlConfig);
    RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &Generation, sizeof(Generation));
    Irp->IoStatus.Information = sizeof(Generation);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS MlDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION IrpSp = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS Status = STATUS_SUCCESS;
    ULONG Code;

    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Information = 0;
    if (IrpSp->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        Code = IrpSp->Parameters.DeviceIoControl.IoControlCode;
        if (Code == IOCTL_MACLIST_SET || Code == IOCTL_MACLIST_SET_NOWAIT)
            Status = MlSetSettings(Irp, IrpSp);
        else
            Status = STATUS_INVALID_DEVICE_REQUEST;
    }
    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS MlRegisterDevice(VOID)
{
    static PDRIVER_DISPATCH Dispatch[IRP_MJ_MAXIMUM_FUNCTION + 1];
    NDIS_STRING DeviceName = RTL_CONSTANT_STRING(L"\\Device\\maclist");
    NDIS_STRING SymbolicName = RTL_CONSTANT_STRING(L"\\DosDevices\\maclist");
    NDIS_DEVICE_OBJECT_ATTRIBUTES Attributes;
    PDEVICE_OBJECT DeviceObject;

    Dispatch[IRP_MJ_CREATE] = MlDispatch;
    Dispatch[IRP_MJ_CLEANUP] = MlDispatch;
    Dispatch[IRP_MJ_CLOSE] = MlDispatch;
    Dispatch[IRP_MJ_DEVICE_CONTROL] = MlDispatch;
    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    Attributes.DeviceName = &DeviceName;
    Attributes.SymbolicName = &SymbolicName;
    Attributes.MajorFunctions = Dispatch;
    Attributes.DefaultSDDLString = &SDDL_DEVOBJ_SYS_ALL_ADM_ALL; /* administrators only */
    return NdisRegisterDeviceEx(MlDriverHandle, &Attributes, &DeviceObject, &MlDeviceHandle);
}

/* ---- load and unload ---- */

_Use_decl_annotations_ static VOID MlUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisDeregisterDeviceEx(MlDeviceHandle);    /* no IOCTL running or to come */
    NdisFDeregisterFilterDriver(MlDriverHandle); /* every module detached: no reader left */
    ExFreePoolWithTag(HlRcuUninitialize(&MlConfig), ML_TAG);
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS Chars;
    NDIS_STRING FriendlyName = RTL_CONSTANT_STRING(L"MAC allow-list filter (hlrcu example)");
    NDIS_STRING UniqueName = RTL_CONSTANT_STRING(L"{8e2f6a51-0c3d-4b7e-9a14-3f5d2c6b8e07}");
    NDIS_STRING ServiceName = RTL_CONSTANT_STRING(L"maclist");
    PML_STATE Initial;
    NTSTATUS Status;

    UNREFERENCED_PARAMETER(RegistryPath);
    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    Chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
    Chars.MajorNdisVersion = 6;
    Chars.MinorNdisVersion = 0;
    Chars.MajorDriverVersion = 1;
    Chars.FriendlyName = FriendlyName;
    Chars.UniqueName = UniqueName;
    Chars.ServiceName = ServiceName;
    Chars.AttachHandler = MlAttach;
    Chars.DetachHandler = MlDetach;
    Chars.RestartHandler = MlRestart;
    Chars.PauseHandler = MlPause;
    Chars.SendNetBufferListsHandler = MlSend;
    Chars.SendNetBufferListsCompleteHandler = MlSendComplete;
    Chars.ReceiveNetBufferListsHandler = MlReceive;
    Chars.ReturnNetBufferListsHandler = MlReturn;

    /* The first settings allow everything; published before any module can attach. */
    Initial = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Initial), ML_TAG);
    if (Initial == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    Initial->Settings.Version = MACLIST_VERSION;
    Status = HlRcuInitialize(&MlConfig, Initial, 1, ML_TAG);
    if (!NT_SUCCESS(Status)) {
        ExFreePoolWithTag(Initial, ML_TAG);
        return Status;
    }

    DriverObject->DriverUnload = MlUnload;
    Status = NdisFRegisterFilterDriver(DriverObject, (NDIS_HANDLE)DriverObject, &Chars,
                                       &MlDriverHandle);
    if (Status == NDIS_STATUS_SUCCESS) {
        /* Before the device exists: no IOCTL can free anything deferred yet. */
        Status = HlRcuEnableDeferredFree(&MlConfig, MlDriverHandle);
        if (NT_SUCCESS(Status))
            Status = MlRegisterDevice();
        if (Status != NDIS_STATUS_SUCCESS)
            NdisFDeregisterFilterDriver(MlDriverHandle);
    }
    if (Status != NDIS_STATUS_SUCCESS)
        ExFreePoolWithTag(HlRcuUninitialize(&MlConfig), ML_TAG);
    return Status;
}
