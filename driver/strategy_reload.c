/*
 * `reload` (docs/strategies.md): option (b) of the question, "restart the
 * driver, persisting runtime state". A driver cannot unload itself, so this
 * strategy is only the driver's half: Publish swaps exactly as `epoch` does
 * (the running driver must not classify with a freed snapshot while it
 * waits to be stopped) and then writes the accepted blob and its generation
 * to the driver's parameters; whoever restarts the driver (the service
 * manager on Windows, emu_driver_reload in ndisemu, the benchmark) brings
 * it back with that configuration through HlConfigRestore.
 *
 * The outage this strategy is measured by is the restart itself: every
 * module detaches and attaches again, and NDIS bypasses or drops traffic
 * meanwhile. The swap is epoch's, so nothing is lost to it.
 */
#include "strategy.h"

static HL_STRATEGY_PUBLISH HlReloadPublish;

_Use_decl_annotations_ static VOID HlReloadPublish(struct hl_snapshot *NewSnapshot,
                                                   PULONG64 GraceNs)
{
    NDIS_STATUS Status;

    HlEpochPublish(NewSnapshot, GraceNs);

    /*
     * Written after the grace period, still under ConfigMutex: two
     * SET_CONFIGs cannot interleave their writes, so the persisted pair is
     * always the last published one. A failed write cannot fail the
     * SET_CONFIG (Publish cannot fail, the new rules already run); it only
     * means a restart would come back with the previous configuration.
     */
    Status = HlConfigPersist(HlGlobal.FilterDriverHandle);
    if (Status != NDIS_STATUS_SUCCESS)
        DbgPrint("hotlwf: reload: persisting the configuration failed 0x%08x\n", (unsigned)Status);
}

static HL_STRATEGY_MODULE_DETACH HlReloadModuleDetach;

/*
 * The counters a restart must keep are GET_STATS's per-adapter totals:
 * FilterDetach has just folded this module's into them, and a driver
 * unload detaches every module before DriverUnload, while the filter
 * driver handle (which the configuration is opened on) is still valid.
 * Writing on every detach, not only the unload's, costs nothing the
 * datapath sees: detach follows a completed pause.
 */
_Use_decl_annotations_ static VOID HlReloadModuleDetach(PHL_MODULE Module)
{
    NDIS_STATUS Status;

    UNREFERENCED_PARAMETER(Module);
    Status = HlConfigPersistCounters(HlGlobal.FilterDriverHandle);
    if (Status != NDIS_STATUS_SUCCESS)
        DbgPrint("hotlwf: reload: persisting the counters failed 0x%08x\n", (unsigned)Status);
}

const HL_STRATEGY HlReloadStrategy = {
    .Name = L"reload",
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlReloadPublish,
    .ModuleDetach = HlReloadModuleDetach,
};
