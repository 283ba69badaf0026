/*
 * The running configuration: the published snapshot, its generation and
 * the reconfiguration statistics.
 *
 * Who touches what:
 * - Snapshot and Generation are stored only by the selected strategy's
 *   Publish, with ConfigMutex held; the datapath loads them with acquire
 *   semantics and never writes them (the argument is in epoch.c).
 * - Everything else here, and reading Snapshot for GET_CONFIG / GET_STATS,
 *   happens with ConfigMutex held: the snapshot cannot be freed under the
 *   reader, because freeing it takes the same mutex.
 */
#include "driver.h"

HL_GLOBALS HlGlobal;

static PVOID HlConfigAlloc(PVOID Context, size_t Size)
{
    UNREFERENCED_PARAMETER(Context);
    /* Snapshots are read at DISPATCH_LEVEL by the datapath: non-paged. */
    return ExAllocatePool2(POOL_FLAG_NON_PAGED, Size, HL_TAG_CONFIG);
}

static VOID HlConfigFree(PVOID Context, PVOID Block)
{
    UNREFERENCED_PARAMETER(Context);
    ExFreePoolWithTag(Block, HL_TAG_CONFIG);
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

    HlGlobal.Snapshot = Snapshot;
    HlGlobal.Generation = 1;
    HlGlobal.ReconfigCount = 0;
    HlGlobal.LastReconfigNs = 0;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID HlConfigUnload(VOID)
{
    /* Every module is detached and the strategy is gone: nobody can read it. */
    hl_snapshot_free(HlGlobal.Snapshot);
    HlGlobal.Snapshot = NULL;
}
