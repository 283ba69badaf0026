/*
 * The reconfiguration strategy interface (DESIGN.md, "The other
 * strategies"): one ops table per way of swapping the configuration under a
 * running datapath, selected once per driver load by the `Strategy` driver
 * parameter, so that every test and benchmark runs the same driver against
 * every strategy. `epoch` (epoch.c) is the default and the only one shipped;
 * the others exist to be measured against it.
 *
 * Contract of the read side, which every strategy must keep:
 * - ReadEnter is called once per batch (one FilterReceiveNetBufferLists or
 *   FilterSendNetBufferLists call) before the first NBL is classified, and
 *   returns the view to classify with. It leaves the caller at
 *   DISPATCH_LEVEL on one CPU (Context->Cpu), raising if AtDispatch is FALSE,
 *   because the per-CPU counters and views are only safe there.
 * - ReadLeave is called after the last NBL is classified and before the
 *   batch is handed to NDIS (indicated, sent, returned or completed): a
 *   driver above or below may call back into hotlwf on the same CPU from
 *   inside that NDIS call (loopback), and that nested batch must not find
 *   this one still inside its read section (it would refresh the view this
 *   batch is classifying with, or re-acquire a non-recursive read lock).
 * - Between the two, the view and the snapshot it points to stay valid.
 */
#ifndef HOTLWF_DRIVER_STRATEGY_H
#define HOTLWF_DRIVER_STRATEGY_H

#include "driver.h"

typedef struct _HL_READ_CONTEXT {
    HLRCU_READ Read; /* how ReadEnter reached DISPATCH_LEVEL; ReadLeave goes back (rcu/hlrcu.h) */
    ULONG Cpu;      /* processor index the batch runs on, for per-CPU state */
    PHL_MODULE_CPU Slice;
    struct hl_snapshot *Snapshot; /* the snapshot the view belongs to: per-rule hits go here */
    ULONG_PTR StrategyPrivate[4]; /* lock state, rundown reference, ...: the strategy's */
} HL_READ_CONTEXT, *PHL_READ_CONTEXT;

typedef _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS HL_STRATEGY_INITIALIZE(VOID);
typedef _IRQL_requires_(PASSIVE_LEVEL) VOID HL_STRATEGY_UNINITIALIZE(VOID);

/* From FilterAttach / FilterDetach, PASSIVE_LEVEL, before the module is in the module list. */
typedef _IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS
    HL_STRATEGY_MODULE_ATTACH(_Inout_ PHL_MODULE Module);
typedef _IRQL_requires_(PASSIVE_LEVEL) VOID HL_STRATEGY_MODULE_DETACH(_Inout_ PHL_MODULE Module);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL) const
    struct hl_view *HL_STRATEGY_READ_ENTER(_In_ PHL_MODULE Module, _In_ BOOLEAN AtDispatch,
                                           _Out_ PHL_READ_CONTEXT Context);
typedef _IRQL_requires_(DISPATCH_LEVEL) VOID
    HL_STRATEGY_READ_LEAVE(_In_ PHL_MODULE Module, _Inout_ PHL_READ_CONTEXT Context);

/*
 * Replaces the running snapshot with NewSnapshot (ownership passes to the
 * strategy) and returns only once no CPU can classify with the old one any
 * more and the old one is freed. *GraceNs: time spent waiting for that.
 * Called with HlGlobal.ConfigMutex held, at PASSIVE_LEVEL. Cannot fail: a
 * strategy that needs resources to publish allocates them in Initialize.
 */
typedef _IRQL_requires_(PASSIVE_LEVEL) VOID
    HL_STRATEGY_PUBLISH(_In_ struct hl_snapshot *NewSnapshot, _Out_ PULONG64 GraceNs);

/* Optional hooks, NULL when unused: datapath handler switching (pause, rereg). */
typedef _IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS
    HL_STRATEGY_SET_MODULE_OPTIONS(_Inout_ PHL_MODULE Module);
typedef _IRQL_requires_(PASSIVE_LEVEL) VOID HL_STRATEGY_MODULE_STATE(_Inout_ PHL_MODULE Module);

typedef struct _HL_STRATEGY {
    PCWSTR Name; /* the value of the Strategy parameter that selects it */
    HL_STRATEGY_INITIALIZE *Initialize;     /* optional */
    HL_STRATEGY_UNINITIALIZE *Uninitialize; /* optional */
    HL_STRATEGY_MODULE_ATTACH *ModuleAttach; /* optional: per-module state */
    HL_STRATEGY_MODULE_DETACH *ModuleDetach; /* optional */
    HL_STRATEGY_READ_ENTER *ReadEnter;
    HL_STRATEGY_READ_LEAVE *ReadLeave;
    HL_STRATEGY_PUBLISH *Publish;
    HL_STRATEGY_SET_MODULE_OPTIONS *SetModuleOptions; /* optional */
    HL_STRATEGY_MODULE_STATE *ModulePaused;           /* optional, end of FilterPause */
    HL_STRATEGY_MODULE_STATE *ModuleRestarted;        /* optional, end of FilterRestart */
    BOOLEAN PerPacket; /* ReadEnter/ReadLeave around each NBL instead of each batch */
} HL_STRATEGY, *PHL_STRATEGY;
#define HL_STRATEGY_HAS_PER_PACKET 1

/* The selected strategy; set once, before the first FilterAttach, never changed after. */
extern const HL_STRATEGY *HlStrategy;

extern const HL_STRATEGY HlEpochStrategy;
/* The others, measured against epoch (docs/strategies.md). */
extern const HL_STRATEGY HlUnsafeStrategy, HlFlushDpcStrategy, HlRwLockStrategy,
    HlRwLockPacketStrategy, HlRundownStrategy, HlPauseStrategy, HlReregStrategy, HlFenceStrategy,
    HlReloadStrategy;

/* epoch's read side, which several strategies reuse. */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;
/* epoch's publish, which `reload` runs unchanged before persisting. */
HL_STRATEGY_PUBLISH HlEpochPublish;

/*
 * Reads the Strategy parameter through NdisOpenConfigurationEx on
 * FilterDriverHandle and initializes the chosen strategy. Idempotent: it
 * runs from FilterSetOptions (which NDIS calls before any FilterAttach) and
 * again from DriverEntry in case NDIS did not call FilterSetOptions.
 */
_IRQL_requires_(PASSIVE_LEVEL) VOID HlStrategyDriverEntry(VOID);
/* Waits until selection is over; NULL when it failed (the module must not attach). */
_IRQL_requires_(PASSIVE_LEVEL) const HL_STRATEGY *HlStrategyWaitSelected(VOID);
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS HlStrategySelect(_In_ NDIS_HANDLE FilterDriverHandle);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlStrategyUnload(VOID);

/* Rebuilds a slice's view from the published snapshot (out of line: the rare path). */
_IRQL_requires_(DISPATCH_LEVEL) VOID HlStrategyRefreshSlice(_In_ PHL_MODULE Module,
                                                            _Inout_ PHL_MODULE_CPU Slice,
                                                            _In_opt_ struct hl_snapshot *Snapshot);

/*
 * Shared by strategies whose read side is "the module's per-CPU view at this
 * generation" (epoch, rwlock, rundown): R2/R3 of rcu/hlrcu.c through its
 * per-CPU cache helper, on this CPU's slice. Inline, so that epoch's read
 * side stays one function with no call on the fast path.
 */
_IRQL_requires_(DISPATCH_LEVEL) FORCEINLINE const struct hl_view *
    HlStrategyCurrentView(_In_ PHL_MODULE Module, _Inout_ PHL_READ_CONTEXT Context)
{
    PHL_MODULE_CPU Slice;
    PVOID Current;

    Context->Cpu = KeGetCurrentProcessorNumberEx(NULL);
    Slice = HlModuleCpu(Module, Context->Cpu);
    if (HlRcuCacheIsStale(&HlGlobal.Config, &Slice->Cache, &Current))
        HlStrategyRefreshSlice(Module, Slice, Current);
    Context->Slice = Slice;
    /* Only the counters of a snapshot are written after it is compiled. */
    Context->Snapshot = (struct hl_snapshot *)Slice->View.snap;
    return &Slice->View;
}

#endif
