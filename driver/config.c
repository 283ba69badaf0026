/*
 * The running configuration: the published snapshot, its generation and
 * the reconfiguration statistics.
 *
 * Who touches what:
 * - HlGlobal.Config (rcu/hlrcu.h) holds the published snapshot and its
 *   generation. Until HlConfigStart the snapshot waits in HlConfigInitial;
 *   after it, only the selected strategy's Publish replaces it, with
 *   ConfigMutex held; the datapath reads it through hlrcu (the argument is
 *   in rcu/hlrcu.c).
 * - Everything else here, and reading Snapshot for GET_CONFIG / GET_STATS,
 *   happens with ConfigMutex held: the snapshot cannot be freed under the
 *   reader, because freeing it takes the same mutex.
 */
#include "driver.h"
#include "torture.h"

HL_GLOBALS HlGlobal;

/* The configuration to publish at HlConfigStart: the default, or the persisted one. */
static struct hl_snapshot *HlConfigInitial;
static LONG64 HlConfigInitialGeneration;
static BOOLEAN HlConfigStarted;

C_ASSERT(sizeof(HL_SAVED_COUNTERS) <= MAXUSHORT);

/*
 * Detaches of different adapters run concurrently: each copies the totals
 * and writes them, and without this the copy taken first could be written
 * last, losing what the other detach had folded in.
 */
static KMUTEX HlPersistCountersMutex;

static PVOID HlConfigAlloc(PVOID Context, size_t Size)
{
    UNREFERENCED_PARAMETER(Context);
#ifdef HL_TORTURE
    return HlTortureAlloc(Size); /* a header with the generation (torture.h) */
#else
    /* Snapshots are read at DISPATCH_LEVEL by the datapath: non-paged. */
    return ExAllocatePool2(POOL_FLAG_NON_PAGED, Size, HL_TAG_CONFIG);
#endif
}

static VOID HlConfigFree(PVOID Context, PVOID Block)
{
    UNREFERENCED_PARAMETER(Context);
#ifdef HL_TORTURE
    HlTortureFree(Block); /* poisoned, quarantined */
#else
    ExFreePoolWithTag(Block, HL_TAG_CONFIG);
#endif
}

_Use_decl_annotations_ ULONG64 HlNowNs(VOID)
{
    LARGE_INTEGER Frequency;
    LARGE_INTEGER Counter = KeQueryPerformanceCounter(&Frequency);
    ULONG64 Ticks = (ULONG64)Counter.QuadPart;
    ULONG64 Hz = (ULONG64)Frequency.QuadPart;

    /* Split so that Ticks * 10^9 cannot overflow after a long uptime. */
    return (Ticks / Hz) * 1000000000ull + (Ticks % Hz) * 1000000000ull / Hz;
}

_Use_decl_annotations_ NTSTATUS HlConfigDriverEntry(VOID)
{
    UCHAR Blob[HL_BLOB_HEADER_SIZE];
    size_t BlobLength = 0;
    struct hl_snapshot *Snapshot = NULL;
    ULONG CpuCount;
    int Result;

    KeInitializeMutex(&HlGlobal.ConfigMutex, 0);
    KeInitializeSpinLock(&HlGlobal.ModuleListLock);
    InitializeListHead(&HlGlobal.ModuleList);
    KeInitializeMutex(&HlPersistCountersMutex, 0);

    /*
     * Every processor that may ever run the datapath, hot-added ones
     * included, needs a counter slot and a module slice: the maximum count,
     * not the active one.
     */
    CpuCount = KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS);
    if (CpuCount == 0 || CpuCount > HL_MAX_CPUS)
        return STATUS_NOT_SUPPORTED;
    HlGlobal.CpuCount = CpuCount;

    HlGlobal.Alloc.alloc = HlConfigAlloc;
    HlGlobal.Alloc.free = HlConfigFree;
    HlGlobal.Alloc.ctx = NULL;

    /*
     * Start from a real, compiled "pass everything" configuration rather than
     * a NULL snapshot: GET_CONFIG always has a blob to return and the
     * datapath has one code path.
     */
    Result = hl_blob_encode(NULL, 0, HL_ACTION_PASS, Blob, sizeof(Blob), &BlobLength);
    if (Result != HL_OK)
        return STATUS_INTERNAL_ERROR;
    Result = hl_config_compile(Blob, BlobLength, &HlGlobal.Alloc, CpuCount, &Snapshot, NULL, 0);
    if (Result != HL_OK)
        return Result == HL_E_NO_MEMORY ? STATUS_INSUFFICIENT_RESOURCES : STATUS_INTERNAL_ERROR;

    HlConfigInitial = Snapshot;
    HlConfigInitialGeneration = 1;
    HlGlobal.ReconfigCount = 0;
    HlGlobal.LastReconfigNs = 0;
    HlGlobal.LastCompileNs = 0;
    return STATUS_SUCCESS;
}

/*
 * Persisted state (the `reload` strategy, docs/strategies.md): a driver
 * cannot restart itself, so what must outlive a stop and start is written
 * to the driver's parameters, as a driver keeps state in the registry
 * across `sc stop` / `sc start`. The blob is what GET_CONFIG returns, and
 * the generation lets a user-mode poller that saw generation G before the
 * restart tell a reload from a reconfiguration (it never goes backwards).
 */
#define HL_PERSISTED_CONFIG L"PersistedConfig"
#define HL_PERSISTED_GENERATION L"PersistedGeneration"
#define HL_PERSISTED_COUNTERS L"PersistedCounters"

_IRQL_requires_(PASSIVE_LEVEL) static NDIS_STATUS
    HlConfigOpen(_In_ NDIS_HANDLE FilterDriverHandle, _Out_ PNDIS_HANDLE ConfigHandle)
{
    NDIS_CONFIGURATION_OBJECT ConfigObject;

    NdisZeroMemory(&ConfigObject, sizeof(ConfigObject));
    ConfigObject.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    ConfigObject.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    ConfigObject.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    ConfigObject.NdisHandle = FilterDriverHandle;
    *ConfigHandle = NULL;
    return NdisOpenConfigurationEx(&ConfigObject, ConfigHandle);
}

_Use_decl_annotations_ NDIS_STATUS HlConfigPersist(NDIS_HANDLE FilterDriverHandle)
{
    NDIS_STRING BlobKeyword = RTL_CONSTANT_STRING(HL_PERSISTED_CONFIG);
    NDIS_STRING GenerationKeyword = RTL_CONSTANT_STRING(HL_PERSISTED_GENERATION);
    NDIS_CONFIGURATION_PARAMETER Parameter;
    NDIS_HANDLE ConfigHandle;
    LONG64 Generation = HlRcuGeneration(&HlGlobal.Config);
    const void *Blob;
    size_t BlobLength;
    NDIS_STATUS Status;

    Blob = hl_snapshot_blob((struct hl_snapshot *)HlGlobal.Config.Pointer, &BlobLength);
    /* BINARY_DATA's Length is a USHORT: a larger blob cannot be persisted. */
    if (BlobLength > MAXUSHORT)
        return NDIS_STATUS_RESOURCES;

    Status = HlConfigOpen(FilterDriverHandle, &ConfigHandle);
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;

    /*
     * The generation first: a restart between the two writes finds the new
     * generation beside the old blob, which only makes the next generation
     * skip a number, never reuse one that named another configuration.
     */
    NdisZeroMemory(&Parameter, sizeof(Parameter));
    Parameter.ParameterType = NdisParameterBinary;
    Parameter.ParameterData.BinaryData.Length = sizeof(Generation);
    Parameter.ParameterData.BinaryData.Buffer = &Generation;
    NdisWriteConfiguration(&Status, ConfigHandle, &GenerationKeyword, &Parameter);
    if (Status == NDIS_STATUS_SUCCESS) {
        Parameter.ParameterData.BinaryData.Length = (USHORT)BlobLength;
        Parameter.ParameterData.BinaryData.Buffer = (PVOID)Blob;
        NdisWriteConfiguration(&Status, ConfigHandle, &BlobKeyword, &Parameter);
    }
    NdisCloseConfiguration(ConfigHandle);
    return Status;
}

_Use_decl_annotations_ NDIS_STATUS HlConfigPersistCounters(NDIS_HANDLE FilterDriverHandle)
{
    NDIS_STRING Keyword = RTL_CONSTANT_STRING(HL_PERSISTED_COUNTERS);
    NDIS_CONFIGURATION_PARAMETER Parameter;
    HL_SAVED_COUNTERS *Counters;
    NDIS_HANDLE ConfigHandle;
    NDIS_STATUS Status;
    KIRQL OldIrql;

    Counters = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Counters), HL_TAG_CONFIG);
    if (Counters == NULL)
        return NDIS_STATUS_RESOURCES;

    KeWaitForSingleObject(&HlPersistCountersMutex, Executive, KernelMode, FALSE, NULL);
    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    Counters->Count = HlGlobal.RetainedCount;
    RtlCopyMemory(Counters->Retained, HlGlobal.Retained, sizeof(Counters->Retained));
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);

    Status = HlConfigOpen(FilterDriverHandle, &ConfigHandle);
    if (Status == NDIS_STATUS_SUCCESS) {
        NdisZeroMemory(&Parameter, sizeof(Parameter));
        Parameter.ParameterType = NdisParameterBinary;
        Parameter.ParameterData.BinaryData.Length = (USHORT)sizeof(*Counters);
        Parameter.ParameterData.BinaryData.Buffer = Counters;
        NdisWriteConfiguration(&Status, ConfigHandle, &Keyword, &Parameter);
        NdisCloseConfiguration(ConfigHandle);
    }
    KeReleaseMutex(&HlPersistCountersMutex, FALSE);
    ExFreePoolWithTag(Counters, HL_TAG_CONFIG);
    return Status;
}

/*
 * The persisted counters are a registry value an administrator can write:
 * untrusted. What GET_STATS relies on is what HlRetainedSlot (bind.c)
 * guarantees for the slots it fills: at most HL_MAX_RETAINED, one slot per
 * adapter (no ifindex twice, which would make GET_STATS count an entry it
 * never writes) and no ifindex 0 (no adapter has it). Anything else is
 * dropped whole: the totals restart from zero rather than from made-up ones.
 */
_IRQL_requires_(PASSIVE_LEVEL) static BOOLEAN
    HlConfigCountersValid(_In_ const HL_SAVED_COUNTERS *Counters)
{
    ULONG i, j;

    if (Counters->Count > HL_MAX_RETAINED)
        return FALSE;
    for (i = 0; i < Counters->Count; i++) {
        if (Counters->Retained[i].AdapterId.ifindex == 0)
            return FALSE;
        for (j = 0; j < i; j++)
            if (Counters->Retained[j].AdapterId.ifindex == Counters->Retained[i].AdapterId.ifindex)
                return FALSE;
    }
    return TRUE;
}

/* Replaces HlConfigInitial with the persisted configuration, if there is a valid one. */
_IRQL_requires_(PASSIVE_LEVEL) static VOID HlConfigRestore(_In_ NDIS_HANDLE FilterDriverHandle)
{
    NDIS_STRING BlobKeyword = RTL_CONSTANT_STRING(HL_PERSISTED_CONFIG);
    NDIS_STRING GenerationKeyword = RTL_CONSTANT_STRING(HL_PERSISTED_GENERATION);
    NDIS_STRING CountersKeyword = RTL_CONSTANT_STRING(HL_PERSISTED_COUNTERS);
    PNDIS_CONFIGURATION_PARAMETER Parameter = NULL;
    struct hl_snapshot *Snapshot = NULL;
    NDIS_HANDLE ConfigHandle;
    LONG64 Generation = 0;
    NDIS_STATUS Status;

    if (HlConfigOpen(FilterDriverHandle, &ConfigHandle) != NDIS_STATUS_SUCCESS)
        return;

    /* Counters first: they are valid whatever happens to the configuration below. */
    NdisReadConfiguration(&Status, &Parameter, ConfigHandle, &CountersKeyword, NdisParameterBinary);
    if (Status == NDIS_STATUS_SUCCESS && Parameter != NULL &&
        Parameter->ParameterType == NdisParameterBinary &&
        Parameter->ParameterData.BinaryData.Length == sizeof(HL_SAVED_COUNTERS)) {
        const HL_SAVED_COUNTERS *Counters = Parameter->ParameterData.BinaryData.Buffer;

        if (HlConfigCountersValid(Counters)) {
            HlGlobal.RetainedCount = Counters->Count;
            RtlCopyMemory(HlGlobal.Retained, Counters->Retained, sizeof(HlGlobal.Retained));
        }
    }

    NdisReadConfiguration(&Status, &Parameter, ConfigHandle, &GenerationKeyword,
                          NdisParameterBinary);
    if (Status == NDIS_STATUS_SUCCESS && Parameter != NULL &&
        Parameter->ParameterType == NdisParameterBinary &&
        Parameter->ParameterData.BinaryData.Length == sizeof(Generation))
        RtlCopyMemory(&Generation, Parameter->ParameterData.BinaryData.Buffer, sizeof(Generation));

    /*
     * The persisted blob is validated again like any SET_CONFIG input: the
     * registry is writable by an administrator, and a bad value must leave
     * the driver running the default rather than fail the load.
     */
    NdisReadConfiguration(&Status, &Parameter, ConfigHandle, &BlobKeyword, NdisParameterBinary);
    if (Generation > HlConfigInitialGeneration && Status == NDIS_STATUS_SUCCESS && Parameter != NULL &&
        Parameter->ParameterType == NdisParameterBinary &&
        hl_config_compile(Parameter->ParameterData.BinaryData.Buffer,
                          Parameter->ParameterData.BinaryData.Length, &HlGlobal.Alloc,
                          HlGlobal.CpuCount, &Snapshot, NULL, 0) == HL_OK) {
        hl_snapshot_free(HlConfigInitial);
        HlConfigInitial = Snapshot;
        HlConfigInitialGeneration = Generation;
    }
    NdisCloseConfiguration(ConfigHandle);
}

_Use_decl_annotations_ NTSTATUS HlConfigStart(NDIS_HANDLE FilterDriverHandle)
{
    NTSTATUS Status;

    /*
     * Before the strategy is selected: no module is attached and the
     * control device does not exist yet; FilterAttach waits for the
     * selection, which happens after us. Nothing reads HlGlobal.Config yet.
     */
    if (HlConfigStarted)
        return STATUS_SUCCESS;
    HlConfigRestore(FilterDriverHandle);
    HlTortureStamp(HlConfigInitial, HlConfigInitialGeneration);
    /* hotlwf's snapshots are never freed from DISPATCH_LEVEL: no deferred frees. */
    Status = HlRcuInitialize(&HlGlobal.Config, HlConfigInitial, HlConfigInitialGeneration,
                             HL_TAG_GRACE);
    if (!NT_SUCCESS(Status))
        return Status;
    HlConfigInitial = NULL;
    HlConfigStarted = TRUE;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID HlConfigUnload(VOID)
{
    /* Every module is detached and the strategy is gone: nobody can read it. */
    if (HlConfigStarted)
        hl_snapshot_free(HlRcuUninitialize(&HlGlobal.Config));
    hl_snapshot_free(HlConfigInitial);
    HlConfigInitial = NULL;
    HlConfigStarted = FALSE;
    HlTortureUnload();
}
