/*
 * Binding: the one NDIS_FILTER_DRIVER_CHARACTERISTICS, and the control path
 * of each filter module: attach, detach, pause, restart, module options.
 *
 * hotlwf originates no NBL and retains none past the call that gave it, so
 * pausing a module has nothing to wait for: FilterPause completes
 * synchronously, and the datapath refuses whatever reaches a module that is
 * not Running (recv.c, send.c), as the pause contract asks.
 */
#include "strategy.h"

static FILTER_SET_OPTIONS HlFilterSetOptions;
static FILTER_SET_MODULE_OPTIONS HlFilterSetModuleOptions;
static FILTER_ATTACH HlFilterAttach;
static FILTER_DETACH HlFilterDetach;
static FILTER_PAUSE HlFilterPause;
static FILTER_RESTART HlFilterRestart;

/*
 * UTF-16 (a UNICODE_STRING, not NUL-terminated) to NUL-terminated UTF-8,
 * truncated at a character boundary to fit. An unpaired surrogate becomes
 * U+FFFD: adapter names come from the registry and are not validated.
 */
_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    HlUnicodeToUtf8(_In_opt_ PCUNICODE_STRING Source,
                    _Out_writes_z_(DestinationSize) char *Destination, _In_ SIZE_T DestinationSize)
{
    SIZE_T Out = 0;
    USHORT Count, i;

    Destination[0] = '\0';
    if (Source == NULL || Source->Buffer == NULL)
        return;
    Count = Source->Length / sizeof(WCHAR);
    for (i = 0; i < Count; i++) {
        ULONG Cp = Source->Buffer[i];
        UCHAR Bytes[4];
        SIZE_T Length, j;

        if (Cp >= 0xD800 && Cp <= 0xDBFF && i + 1 < Count && Source->Buffer[i + 1] >= 0xDC00 &&
            Source->Buffer[i + 1] <= 0xDFFF) {
            Cp = 0x10000 + ((Cp - 0xD800) << 10) + (Source->Buffer[i + 1] - 0xDC00);
            i++;
        } else if (Cp >= 0xD800 && Cp <= 0xDFFF) {
            Cp = 0xFFFD;
        }

        if (Cp < 0x80) {
            Bytes[0] = (UCHAR)Cp;
            Length = 1;
        } else if (Cp < 0x800) {
            Bytes[0] = (UCHAR)(0xC0 | (Cp >> 6));
            Bytes[1] = (UCHAR)(0x80 | (Cp & 0x3F));
            Length = 2;
        } else if (Cp < 0x10000) {
            Bytes[0] = (UCHAR)(0xE0 | (Cp >> 12));
            Bytes[1] = (UCHAR)(0x80 | ((Cp >> 6) & 0x3F));
            Bytes[2] = (UCHAR)(0x80 | (Cp & 0x3F));
            Length = 3;
        } else {
            Bytes[0] = (UCHAR)(0xF0 | (Cp >> 18));
            Bytes[1] = (UCHAR)(0x80 | ((Cp >> 12) & 0x3F));
            Bytes[2] = (UCHAR)(0x80 | ((Cp >> 6) & 0x3F));
            Bytes[3] = (UCHAR)(0x80 | (Cp & 0x3F));
            Length = 4;
        }
        if (Out + Length + 1 > DestinationSize)
            break;
        for (j = 0; j < Length; j++)
            Destination[Out++] = (char)Bytes[j];
    }
    Destination[Out] = '\0';
}

_IRQL_requires_(PASSIVE_LEVEL) static VOID HlModuleFree(_In_ _Frees_ptr_ PHL_MODULE Module)
{
    if (Module->PerCpu != NULL)
        ExFreePoolWithTag(Module->PerCpu, HL_TAG_PERCPU);
    ExFreePoolWithTag(Module, HL_TAG_MODULE);
}

_Use_decl_annotations_ static NDIS_STATUS
HlFilterAttach(NDIS_HANDLE NdisFilterHandle, NDIS_HANDLE FilterDriverContext,
               PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters)
{
    NDIS_FILTER_ATTRIBUTES Attributes;
    PHL_MODULE Module;
    NDIS_STATUS Status;
    KIRQL OldIrql;
    ULONG i;

    UNREFERENCED_PARAMETER(FilterDriverContext);

    /* The rules are pcap filters over Ethernet frames (DLT_EN10MB). */
    if (AttachParameters->MiniportMediaType != NdisMedium802_3)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (HlStrategyWaitSelected() == NULL)
        return NDIS_STATUS_FAILURE;

    Module = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Module), HL_TAG_MODULE);
    if (Module == NULL)
        return NDIS_STATUS_RESOURCES;

    Module->FilterHandle = NdisFilterHandle;
    Module->State = HlModulePaused;
    Module->CpuCount = HlGlobal.CpuCount;
    Module->CpuStride = (sizeof(HL_MODULE_CPU) + HL_CACHE_LINE - 1) & ~(SIZE_T)(HL_CACHE_LINE - 1);

    HlUnicodeToUtf8(AttachParameters->BaseMiniportName, Module->AdapterId.name,
                    sizeof(Module->AdapterId.name));
    HlUnicodeToUtf8(AttachParameters->BaseMiniportInstanceName, Module->AdapterId.alias,
                    sizeof(Module->AdapterId.alias));
    if (AttachParameters->MacAddressLength >= sizeof(Module->AdapterId.mac))
        for (i = 0; i < sizeof(Module->AdapterId.mac); i++)
            Module->AdapterId.mac[i] = AttachParameters->CurrentMacAddress[i];
    Module->AdapterId.ifindex = AttachParameters->BaseMiniportIfIndex;

    /* Zeroed (ExAllocatePool2): every slice starts at generation 0, never published. */
    Module->PerCpu =
        ExAllocatePool2(POOL_FLAG_NON_PAGED, Module->CpuStride * Module->CpuCount, HL_TAG_PERCPU);
    if (Module->PerCpu == NULL) {
        Status = NDIS_STATUS_RESOURCES;
        goto FreeModule;
    }

    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    Status = NdisFSetAttributes(NdisFilterHandle, Module, &Attributes);
    if (Status != NDIS_STATUS_SUCCESS)
        goto FreeModule;

    if (HlStrategy->ModuleAttach != NULL) {
        Status = HlStrategy->ModuleAttach(Module);
        if (Status != NDIS_STATUS_SUCCESS)
            goto FreeModule;
    }

    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    InsertTailList(&HlGlobal.ModuleList, &Module->Link);
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);
    return NDIS_STATUS_SUCCESS;

FreeModule:
    HlModuleFree(Module);
    return Status;
}

_Use_decl_annotations_ LONG64 HlModuleSum(PHL_MODULE Module, SIZE_T FieldOffset)
{
    LONG64 Sum = 0;
    ULONG Cpu;

    for (Cpu = 0; Cpu < Module->CpuCount; Cpu++)
        Sum += ReadNoFence64((LONG64 *)((PUCHAR)HlModuleCpu(Module, Cpu) + FieldOffset));
    return Sum;
}

/* The module's slot in HlGlobal.Retained, taken if its adapter has none yet. Lock held. */
_Requires_lock_held_(HlGlobal.ModuleListLock) _IRQL_requires_(DISPATCH_LEVEL) static PHL_RETAINED
    HlRetainedSlot(_In_ PHL_MODULE Module)
{
    PHL_RETAINED Slot;
    ULONG i;

    for (i = 0; i < HlGlobal.RetainedCount; i++)
        if (HlGlobal.Retained[i].AdapterId.ifindex == Module->AdapterId.ifindex)
            return &HlGlobal.Retained[i];
    if (HlGlobal.RetainedCount == HL_MAX_RETAINED)
        return NULL;
    Slot = &HlGlobal.Retained[HlGlobal.RetainedCount++];
    RtlZeroMemory(Slot, sizeof(*Slot));
    Slot->AdapterId = Module->AdapterId;
    return Slot;
}

_Use_decl_annotations_ static VOID HlFilterDetach(NDIS_HANDLE FilterModuleContext)
{
    PHL_MODULE Module = FilterModuleContext;
    PHL_RETAINED Slot;
    KIRQL OldIrql;

    /*
     * Detach follows a completed pause: no datapath call is in flight on
     * this module, so its per-CPU counters are final and plain reads of them
     * are exact. They are folded into the adapter's retained total in the
     * same hold of the list lock that unlinks the module, and GET_STATS sums
     * the list and the retained totals in one hold of that lock: it sees the
     * module's packets either in the module or in the total, never in both
     * and never in neither. The list lock, not ConfigMutex: rereg detaches
     * while its SET_CONFIG holds the mutex, waiting for this very callback.
     */
    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    RemoveEntryList(&Module->Link);
    Slot = HlRetainedSlot(Module);
    if (Slot != NULL) {
        Slot->RxSeen += (ULONG64)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, RxSeen));
        Slot->RxDropped += (ULONG64)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, RxDropped));
        Slot->TxSeen += (ULONG64)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, TxSeen));
        Slot->TxDropped += (ULONG64)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, TxDropped));
    } else {
        HlGlobal.RetainedLost++;
    }
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);

    if (HlStrategy->ModuleDetach != NULL)
        HlStrategy->ModuleDetach(Module);
    HlModuleFree(Module);
}

_Use_decl_annotations_ static NDIS_STATUS
HlFilterPause(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PHL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);

    /*
     * Pausing lasts no time at all here: nothing to wait for (see the top of
     * this file). Calls that read Running just before this store finish as
     * they would have; NDIS's pause contract covers them, not this flag.
     */
    WriteNoFence(&Module->State, HlModulePausing);
    if (HlStrategy->ModulePaused != NULL)
        HlStrategy->ModulePaused(Module);
    WriteNoFence(&Module->State, HlModulePaused);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS
HlFilterRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PHL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(RestartParameters);

    WriteNoFence(&Module->State, HlModuleRestarting);
    if (HlStrategy->ModuleRestarted != NULL)
        HlStrategy->ModuleRestarted(Module);
    WriteNoFence(&Module->State, HlModuleRunning);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS HlFilterSetModuleOptions(NDIS_HANDLE FilterModuleContext)
{
    PHL_MODULE Module = FilterModuleContext;

    if (HlStrategy->SetModuleOptions != NULL)
        return HlStrategy->SetModuleOptions(Module);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static NDIS_STATUS HlFilterSetOptions(NDIS_HANDLE NdisDriverHandle,
                                                             NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);

    /* NDIS calls FilterAttach only after this returns: the strategy is chosen before any module. */
    return HlStrategySelect(NdisDriverHandle);
}

_Use_decl_annotations_ NDIS_STATUS HlBindRegister(VOID)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS Chars;
    NDIS_STRING FriendlyName = RTL_CONSTANT_STRING(L"hotlwf packet filter");
    NDIS_STRING UniqueName = RTL_CONSTANT_STRING(L"{5b0f7c39-3a8e-4c55-9a1f-6d2e8b7c4f10}");
    NDIS_STRING ServiceName = RTL_CONSTANT_STRING(HL_SERVICE_NAME);

    NdisZeroMemory(&Chars, sizeof(Chars));
    Chars.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    Chars.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    Chars.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
    Chars.MajorNdisVersion = 6;
    Chars.MinorNdisVersion = 0;
    Chars.MajorDriverVersion = 1;
    Chars.MinorDriverVersion = 0;
    Chars.Flags = 0;
    Chars.FriendlyName = FriendlyName;
    Chars.UniqueName = UniqueName;
    Chars.ServiceName = ServiceName;
    Chars.SetOptionsHandler = HlFilterSetOptions;
    Chars.SetFilterModuleOptionsHandler = HlFilterSetModuleOptions;
    Chars.AttachHandler = HlFilterAttach;
    Chars.DetachHandler = HlFilterDetach;
    Chars.RestartHandler = HlFilterRestart;
    Chars.PauseHandler = HlFilterPause;
    Chars.SendNetBufferListsHandler = HlFilterSendNetBufferLists;
    Chars.SendNetBufferListsCompleteHandler = HlFilterSendNetBufferListsComplete;
    Chars.ReceiveNetBufferListsHandler = HlFilterReceiveNetBufferLists;
    Chars.ReturnNetBufferListsHandler = HlFilterReturnNetBufferLists;
    Chars.OidRequestHandler = HlFilterOidRequest;
    Chars.OidRequestCompleteHandler = HlFilterOidRequestComplete;

    return NdisFRegisterFilterDriver(HlGlobal.DriverObject, (NDIS_HANDLE)HlGlobal.DriverObject,
                                     &Chars, &HlGlobal.FilterDriverHandle);
}

_Use_decl_annotations_ VOID HlBindDeregister(VOID)
{
    /* Pauses and detaches every module before it returns. */
    NdisFDeregisterFilterDriver(HlGlobal.FilterDriverHandle);
    HlGlobal.FilterDriverHandle = NULL;
}

_Use_decl_annotations_ NTSTATUS HlBindDriverEntry(PDRIVER_OBJECT DriverObject,
                                                  PUNICODE_STRING RegistryPath)
{
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(DriverObject); /* HlGlobal.DriverObject, set by DriverEntry */
    UNREFERENCED_PARAMETER(RegistryPath);

    HlStrategyDriverEntry();
    Status = HlBindRegister();
    if (Status != NDIS_STATUS_SUCCESS) {
        HlStrategyUnload(); /* FilterSetOptions may have selected one */
        return Status;
    }

    /* In case NDIS did not call FilterSetOptions (it is optional for NDIS to call it). */
    Status = HlStrategySelect(HlGlobal.FilterDriverHandle);
    if (!NT_SUCCESS(Status)) {
        HlBindDeregister();
        HlStrategyUnload();
        return Status;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID HlBindUnload(VOID)
{
    HlBindDeregister();
    HlStrategyUnload();
}
