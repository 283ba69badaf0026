/*
 * Strategy selection: which HL_STRATEGY runs is decided once per driver
 * load, from the `Strategy` driver parameter, and never changes while
 * modules are attached (a module's per-CPU state belongs to the strategy
 * that attached it).
 */
#include "strategy.h"

const HL_STRATEGY *HlStrategy;

static const HL_STRATEGY *const HlStrategies[] = {
    &HlEpochStrategy,        &HlUnsafeStrategy,  &HlFlushDpcStrategy, &HlRwLockStrategy,
    &HlRwLockPacketStrategy, &HlRundownStrategy, &HlPauseStrategy,    &HlReregStrategy,
    &HlFenceStrategy,        &HlReloadStrategy,
};

static BOOLEAN HlStrategyInitialized;

/*
 * Set once selection is over, whatever its outcome. NDIS calls
 * FilterSetOptions before any FilterAttach, but an NDIS that skips it may
 * attach from a worker thread before DriverEntry has selected: FilterAttach
 * waits here rather than read HlStrategy half-chosen.
 */
static KEVENT HlStrategySelected;

_Use_decl_annotations_ VOID HlStrategyDriverEntry(VOID)
{
    KeInitializeEvent(&HlStrategySelected, NotificationEvent, FALSE);
}

_Use_decl_annotations_ const HL_STRATEGY *HlStrategyWaitSelected(VOID)
{
    KeWaitForSingleObject(&HlStrategySelected, Executive, KernelMode, FALSE, NULL);
    return HlStrategy;
}

/* ASCII case-insensitive: parameter values come from an INF or a command line. */
_IRQL_requires_max_(DISPATCH_LEVEL) static BOOLEAN
    HlStrategyNameEquals(_In_ PCUNICODE_STRING Value, _In_z_ PCWSTR Name)
{
    USHORT Count = Value->Length / sizeof(WCHAR);
    USHORT i;

    for (i = 0; i < Count; i++) {
        WCHAR a = Value->Buffer[i];
        WCHAR b = Name[i];

        if (b == L'\0')
            return FALSE;
        if (a >= L'A' && a <= L'Z')
            a = (WCHAR)(a - L'A' + L'a');
        if (b >= L'A' && b <= L'Z')
            b = (WCHAR)(b - L'A' + L'a');
        if (a != b)
            return FALSE;
    }
    return Name[Count] == L'\0';
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS
    HlStrategyLookup(_In_ NDIS_HANDLE FilterDriverHandle, _Outptr_ const HL_STRATEGY **Strategy)
{
    NDIS_CONFIGURATION_OBJECT ConfigObject;
    NDIS_HANDLE ConfigHandle = NULL;
    NDIS_STRING Keyword = RTL_CONSTANT_STRING(L"Strategy");
    PNDIS_CONFIGURATION_PARAMETER Parameter = NULL;
    NDIS_STATUS Status;
    ULONG i;

    *Strategy = &HlEpochStrategy;

    NdisZeroMemory(&ConfigObject, sizeof(ConfigObject));
    ConfigObject.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    ConfigObject.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    ConfigObject.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    ConfigObject.NdisHandle = FilterDriverHandle;
    ConfigObject.Flags = 0;

    /* No configuration at all means no parameter: the default strategy. */
    Status = NdisOpenConfigurationEx(&ConfigObject, &ConfigHandle);
    if (Status != NDIS_STATUS_SUCCESS)
        return STATUS_SUCCESS;

    NdisReadConfiguration(&Status, &Parameter, ConfigHandle, &Keyword, NdisParameterString);
    if (Status != NDIS_STATUS_SUCCESS || Parameter == NULL ||
        Parameter->ParameterType != NdisParameterString) {
        NdisCloseConfiguration(ConfigHandle);
        return STATUS_SUCCESS;
    }

    /*
     * An unknown name fails the load rather than silently running another
     * strategy: a benchmark that asked for `rwlock` must not measure `epoch`.
     */
    Status = STATUS_INVALID_PARAMETER;
    for (i = 0; i < RTL_NUMBER_OF(HlStrategies); i++) {
        if (HlStrategyNameEquals(&Parameter->ParameterData.StringData, HlStrategies[i]->Name)) {
            *Strategy = HlStrategies[i];
            Status = STATUS_SUCCESS;
            break;
        }
    }
    NdisCloseConfiguration(ConfigHandle);
    return Status;
}

_Use_decl_annotations_ NTSTATUS HlStrategySelect(NDIS_HANDLE FilterDriverHandle)
{
    const HL_STRATEGY *Strategy;
    NTSTATUS Status;

    if (HlStrategyInitialized)
        return STATUS_SUCCESS;

    /* Before selection ends: FilterAttach waits for it, so no module sees the swap. */
    Status = HlConfigStart(FilterDriverHandle);
    if (NT_SUCCESS(Status))
        Status = HlStrategyLookup(FilterDriverHandle, &Strategy);
    if (NT_SUCCESS(Status) && Strategy->Initialize != NULL)
        Status = Strategy->Initialize();
    if (NT_SUCCESS(Status)) {
        HlStrategy = Strategy;
        HlStrategyInitialized = TRUE;
    }
    KeSetEvent(&HlStrategySelected, IO_NO_INCREMENT, FALSE);
    return Status;
}

_Use_decl_annotations_ VOID HlStrategyUnload(VOID)
{
    if (!HlStrategyInitialized)
        return;
    if (HlStrategy->Uninitialize != NULL)
        HlStrategy->Uninitialize();
    HlStrategyInitialized = FALSE;
    HlStrategy = NULL;
}

_Use_decl_annotations_ VOID HlStrategyRefreshSlice(PHL_MODULE Module, PHL_MODULE_CPU Slice,
                                                   struct hl_snapshot *Snapshot)
{
    hl_view_refresh(&Slice->View, Snapshot, &Module->AdapterId);
}
