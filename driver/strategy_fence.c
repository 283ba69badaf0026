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
 * The rendezvous has no timeout, on either side: a give-up would turn the
 * deadlock into a slow reconfiguration and hide exactly what this strategy
 * exists to show. What ends it is ndisemu's watchdog (a `deadlock` finding
 * naming FilterPause, then the deadlock handler), as a hung machine ends
 * with a bugcheck or a reset. With one module per stack nothing blocks and
 * the swap is safe: every module is parked, nobody classifies.
 */
#include "strategy.h"

/* epoch.c: the read side is epoch's. */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

static volatile LONG HlFenceArmed;
static volatile LONG HlFenceExpected;
static volatile LONG HlFenceArrived;
static KEVENT HlFenceAllArrived; /* the writer waits for the rendezvous */
static KEVENT HlFenceRelease;    /* the parked FilterPause calls wait for the swap */

static HL_STRATEGY_MODULE_STATE HlFenceModulePaused;

_Use_decl_annotations_ static VOID HlFenceModulePaused(PHL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    if (!ReadAcquire(&HlFenceArmed))
        return;
    if (InterlockedIncrement(&HlFenceArrived) == ReadAcquire(&HlFenceExpected))
        KeSetEvent(&HlFenceAllArrived, IO_NO_INCREMENT, FALSE);

    /* The rendezvous, inside FilterPause: this is the wait that deadlocks NDIS. */
    KeWaitForSingleObject(&HlFenceRelease, Executive, KernelMode, FALSE, NULL);
}

static HL_STRATEGY_PUBLISH HlFencePublish;

_Use_decl_annotations_ static VOID HlFencePublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    PLIST_ENTRY Entry;
    struct hl_snapshot *Old;
    KIRQL OldIrql;
    LONG Count = 0;
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

    /* Two modules on one stack: the lower one never arrives, and this never returns. */
    if (Count != 0)
        KeWaitForSingleObject(&HlFenceAllArrived, Executive, KernelMode, FALSE, NULL);

    /* Every module is parked in FilterPause: nobody classifies. */
    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */
    hl_snapshot_free(Old);
    *GraceNs = HlNowNs() - Start;

    InterlockedExchange(&HlFenceArmed, FALSE);
    KeSetEvent(&HlFenceRelease, IO_NO_INCREMENT, FALSE);
}

static HL_STRATEGY_INITIALIZE HlFenceInitialize;

_Use_decl_annotations_ static NTSTATUS HlFenceInitialize(VOID)
{
    KeInitializeEvent(&HlFenceAllArrived, NotificationEvent, FALSE);
    KeInitializeEvent(&HlFenceRelease, NotificationEvent, FALSE);
    HlFenceArmed = FALSE;
    return STATUS_SUCCESS;
}

static HL_STRATEGY_UNINITIALIZE HlFenceUninitialize;

_Use_decl_annotations_ static VOID HlFenceUninitialize(VOID)
{
}

const HL_STRATEGY HlFenceStrategy = {
    .Name = L"fence",
    .Initialize = HlFenceInitialize,
    .Uninitialize = HlFenceUninitialize,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlFencePublish,
    .ModulePaused = HlFenceModulePaused,
};
