/*
 * `fence`: the question's first idea, kept only to show that it deadlocks.
 * Every module is asked to restart (NdisFRestartFilter); each FilterPause
 * then blocks until all modules have arrived in their FilterPause, the
 * writer swaps the configuration while all are parked, and releases them.
 *
 * ---- Why it deadlocks (the seed answer's warning) ----
 * NDIS pauses a stack top-down and calls a module's FilterPause only after
 * the pause of the module above it has completed. With two hotlwf modules
 * on one stack (a monitoring filter, or two bindings), the upper one's
 * FilterPause waits for the lower one to arrive, and the lower one's
 * FilterPause is never called until the upper one returns: neither moves.
 * It can also deadlock with one module per stack, when NDIS serializes the
 * pause/restart work of different stacks, or when an unrelated pause (a
 * power transition) reaches one module while another is parked.
 * ndisemu's watchdog must name HlFilterPause as the callback blocking the
 * Pause. This strategy must never ship.
 *
 * So that the benchmark (and the test proving the watchdog fires) can go on
 * after the deadlock, parked pauses give up after HL_FENCE_GIVE_UP_MS, well
 * past ndisemu's default watchdog limit (10 s), and the writer then falls
 * back to epoch's publication (swap + DPC grace period) so that the
 * configuration is still replaced without a use-after-free.
 */
#include "strategy.h"

/* epoch.c: the read side and the safe fallback are epoch's. */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

#define HL_FENCE_GIVE_UP_MS 15000

static volatile LONG HlFenceArmed;
static volatile LONG HlFenceExpected;
static volatile LONG HlFenceArrived;
static KEVENT HlFenceAllArrived; /* the writer waits for the rendezvous */
static KEVENT HlFenceRelease;    /* the parked FilterPause calls wait for the swap */
static volatile LONG64 HlFenceDeadlocks;

static HL_STRATEGY_MODULE_STATE HlFenceModulePaused;

_Use_decl_annotations_ static VOID HlFenceModulePaused(PHL_MODULE Module)
{
    LARGE_INTEGER Timeout;

    UNREFERENCED_PARAMETER(Module);
    if (!ReadAcquire(&HlFenceArmed))
        return;
    if (InterlockedIncrement(&HlFenceArrived) == ReadAcquire(&HlFenceExpected))
        KeSetEvent(&HlFenceAllArrived, IO_NO_INCREMENT, FALSE);

    /* The rendezvous, inside FilterPause: this is the wait that deadlocks NDIS. */
    Timeout.QuadPart = -10000LL * HL_FENCE_GIVE_UP_MS;
    KeWaitForSingleObject(&HlFenceRelease, Executive, KernelMode, FALSE, &Timeout);
}

static HL_STRATEGY_PUBLISH HlFencePublish;

_Use_decl_annotations_ static VOID HlFencePublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    PLIST_ENTRY Entry;
    LARGE_INTEGER Timeout;
    KIRQL OldIrql;
    LONG Count = 0;
    NTSTATUS Status;
    ULONG64 Start = HlNowNs();

    KeClearEvent(&HlFenceAllArrived);
    KeClearEvent(&HlFenceRelease);
    HlFenceArrived = 0;

    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink)
        Count++;
    WriteRelease(&HlFenceExpected, Count);
    InterlockedExchange(&HlFenceArmed, TRUE);
    for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink)
        NdisFRestartFilter(CONTAINING_RECORD(Entry, HL_MODULE, Link)->FilterHandle);
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);

    Timeout.QuadPart = -10000LL * HL_FENCE_GIVE_UP_MS;
    Status = Count == 0 ? STATUS_SUCCESS
                        : KeWaitForSingleObject(&HlFenceAllArrived, Executive, KernelMode, FALSE,
                                                &Timeout);
    if (Status == STATUS_SUCCESS) {
        /* Every module is parked in FilterPause: nobody classifies. */
        struct hl_snapshot *Old = HlGlobal.Snapshot;

        WritePointerRelease((PVOID volatile *)&HlGlobal.Snapshot, NewSnapshot);
        WriteRelease64(&HlGlobal.Generation, HlGlobal.Generation + 1);
        hl_snapshot_free(Old);
        *GraceNs = HlNowNs() - Start;
    } else {
        /* The rendezvous never completed: deadlock. Replace the configuration safely anyway. */
        ULONG64 Grace;

        InterlockedIncrement64(&HlFenceDeadlocks);
        HlEpochStrategy.Publish(NewSnapshot, &Grace);
        *GraceNs = HlNowNs() - Start;
    }
    InterlockedExchange(&HlFenceArmed, FALSE);
    KeSetEvent(&HlFenceRelease, IO_NO_INCREMENT, FALSE);
}

static HL_STRATEGY_INITIALIZE HlFenceInitialize;

_Use_decl_annotations_ static NTSTATUS HlFenceInitialize(VOID)
{
    KeInitializeEvent(&HlFenceAllArrived, NotificationEvent, FALSE);
    KeInitializeEvent(&HlFenceRelease, NotificationEvent, FALSE);
    HlFenceArmed = FALSE;
    HlFenceDeadlocks = 0;
    /* The fallback publishes through epoch, whose grace block is allocated here. */
    return HlEpochStrategy.Initialize();
}

static HL_STRATEGY_UNINITIALIZE HlFenceUninitialize;

_Use_decl_annotations_ static VOID HlFenceUninitialize(VOID)
{
    HlEpochStrategy.Uninitialize();
}

static HL_STRATEGY_MODULE_ATTACH HlFenceModuleAttach;

_Use_decl_annotations_ static NDIS_STATUS HlFenceModuleAttach(PHL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    return NDIS_STATUS_SUCCESS;
}

static HL_STRATEGY_MODULE_DETACH HlFenceModuleDetach;

_Use_decl_annotations_ static VOID HlFenceModuleDetach(PHL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
}

const HL_STRATEGY HlFenceStrategy = {
    .Name = L"fence",
    .Initialize = HlFenceInitialize,
    .Uninitialize = HlFenceUninitialize,
    .ModuleAttach = HlFenceModuleAttach,
    .ModuleDetach = HlFenceModuleDetach,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlFencePublish,
    .ModulePaused = HlFenceModulePaused,
};
