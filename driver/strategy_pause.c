/*
 * `pause`: the question's option (a). Restart every module onto dummy
 * datapath handlers that drop everything, swap the configuration while no
 * module runs the real handlers, restart every module onto the real
 * handlers again. No synchronization on the datapath; packets are dropped
 * for the whole window instead.
 *
 * ---- The argument ----
 * NdisFRestartFilter schedules a pause and a restart of one module (at most
 * DISPATCH_LEVEL, asynchronous, so it may be called under the module-list
 * spin lock). Before the restart NDIS calls FilterSetModuleOptions, where
 * NdisSetOptionalHandlers installs the handler set HlPauseDropping asks for.
 * A module counts as "on the drop handlers" only once FilterRestart runs
 * after a FilterSetModuleOptions that installed them (ctx->OnDrop): a
 * restart already under way when the round began, whose options were set
 * before, does not count, and the restart this round requested comes later.
 *
 * Once every module has gone through Paused and restarted onto the drop
 * handlers, no real handler call is in flight anywhere: NDIS calls no
 * datapath handler of a Paused module and lets FilterPause complete only
 * when the module's calls are done (the same guarantee every LWF relies on
 * to free its context in FilterDetach, which follows a pause), and after
 * the restart only the drop handlers, which never touch the configuration,
 * are called. So nothing can hold Old: swap, free at once, no grace period.
 * A module that attaches during the window gets whatever handler set
 * HlPauseDropping says when its FilterSetModuleOptions runs; the second
 * round clears the flag before it walks the list, so one that attaches after
 * the walk gets the real handlers, and one that attached before is in the
 * walk and is restarted.
 *
 * The cost is the outage: from the first module's pause to the last one's
 * second restart every packet through this filter is dropped (receive
 * returned, send completed with NDIS_STATUS_PAUSED), and the reconfiguration
 * takes two full pause/restart rounds of every stack.
 */
#include "strategy.h"

/* epoch.c: the read side is epoch's (the generation tells each slice to refresh). */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

typedef struct _HL_PAUSE_MODULE {
    volatile LONG Awaiting; /* this round asked for a restart and it has not come yet */
    volatile LONG OnDrop;   /* what the last FilterSetModuleOptions installed */
    volatile LONG Attached; /* NDIS has called FilterSetModuleOptions: FilterAttach returned */
} HL_PAUSE_MODULE, *PHL_PAUSE_MODULE;

static volatile LONG HlPauseDropping;
static volatile LONG HlPausePending;
static KEVENT HlPauseDone;

static FILTER_RECEIVE_NET_BUFFER_LISTS HlPauseDropReceive;
static FILTER_SEND_NET_BUFFER_LISTS HlPauseDropSend;

_Use_decl_annotations_ static VOID
HlPauseDropReceive(NDIS_HANDLE FilterModuleContext, PNET_BUFFER_LIST NetBufferLists,
                   NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PHL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);

    /* With RESOURCES set the NBLs are the miniport's again as soon as we return. */
    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisFReturnNetBufferLists(Module->FilterHandle, NetBufferLists,
                                  NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                      ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                      : 0);
}

_Use_decl_annotations_ static VOID HlPauseDropSend(NDIS_HANDLE FilterModuleContext,
                                                   PNET_BUFFER_LIST NetBufferLists,
                                                   NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PHL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Nbl;

    UNREFERENCED_PARAMETER(PortNumber);

    for (Nbl = NetBufferLists; Nbl != NULL; Nbl = NET_BUFFER_LIST_NEXT_NBL(Nbl))
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PAUSED;
    NdisFSendNetBufferListsComplete(
        Module->FilterHandle, NetBufferLists,
        NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID HlPauseArrive(VOID)
{
    if (InterlockedDecrement(&HlPausePending) == 0)
        KeSetEvent(&HlPauseDone, IO_NO_INCREMENT, FALSE);
}

static HL_STRATEGY_SET_MODULE_OPTIONS HlPauseSetModuleOptions;

_Use_decl_annotations_ static NDIS_STATUS HlPauseSetModuleOptions(PHL_MODULE Module)
{
    PHL_PAUSE_MODULE Ctx = Module->StrategyContext;
    NDIS_FILTER_PARTIAL_CHARACTERISTICS Handlers;
    PNDIS_FILTER_PARTIAL_CHARACTERISTICS Partial = &Handlers;
    LONG Drop;

    /* Before reading the flag (both interlocked): see HlPauseRound. */
    InterlockedExchange(&Ctx->Attached, TRUE);
    Drop = ReadAcquire(&HlPauseDropping);
    NdisZeroMemory(&Handlers, sizeof(Handlers));
    Partial->Header.Type = NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS;
    Partial->Header.Revision = NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    Partial->Header.Size = NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    Partial->SendNetBufferListsHandler = Drop ? HlPauseDropSend : HlFilterSendNetBufferLists;
    Partial->ReceiveNetBufferListsHandler =
        Drop ? HlPauseDropReceive : HlFilterReceiveNetBufferLists;
    /* Completions and returns of NBLs that crossed before the window still go the normal way. */
    Partial->SendNetBufferListsCompleteHandler = HlFilterSendNetBufferListsComplete;
    Partial->ReturnNetBufferListsHandler = HlFilterReturnNetBufferLists;
    WriteRelease(&Ctx->OnDrop, Drop);
    return NdisSetOptionalHandlers(Module->FilterHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&Handlers);
}

static HL_STRATEGY_MODULE_STATE HlPauseModuleRestarted;

_Use_decl_annotations_ static VOID HlPauseModuleRestarted(PHL_MODULE Module)
{
    PHL_PAUSE_MODULE Ctx = Module->StrategyContext;

    if (ReadAcquire(&Ctx->OnDrop) != ReadAcquire(&HlPauseDropping))
        return; /* a restart from before this round: ours is still to come */
    if (InterlockedExchange(&Ctx->Awaiting, 0))
        HlPauseArrive();
}

/*
 * Every attached module paused and restarted onto the handler set Drop selects; returns when all
 * did. A module is in the list from inside its FilterAttach, but NdisFRestartFilter is for a
 * module whose attach is over (ndisemu's verifier: state): one NDIS has not yet called
 * FilterSetModuleOptions for is skipped, and needs no restart. The round stores the flag and
 * then reads Attached; FilterSetModuleOptions stores Attached and then reads the flag, all
 * interlocked (sequentially consistent): if the round read Attached as FALSE, that
 * FilterSetModuleOptions reads this round's flag, so the module starts on the handler set the
 * round asks for, and until then it is Paused and runs no handler at all.
 */
_IRQL_requires_(PASSIVE_LEVEL) static VOID HlPauseRound(_In_ LONG Drop)
{
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    InterlockedExchange(&HlPauseDropping, Drop);
    KeClearEvent(&HlPauseDone);
    HlPausePending = 1; /* the walk's own reference: no early wakeup while it runs */

    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink) {
        PHL_MODULE Module = CONTAINING_RECORD(Entry, HL_MODULE, Link);
        PHL_PAUSE_MODULE Ctx = Module->StrategyContext;

        if (!InterlockedCompareExchange(&Ctx->Attached, TRUE, TRUE))
            continue;
        InterlockedIncrement(&HlPausePending);
        InterlockedExchange(&Ctx->Awaiting, 1);
        if (NdisFRestartFilter(Module->FilterHandle) != NDIS_STATUS_SUCCESS &&
            InterlockedExchange(&Ctx->Awaiting, 0))
            HlPauseArrive();
    }
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);

    HlPauseArrive();
    KeWaitForSingleObject(&HlPauseDone, Executive, KernelMode, FALSE, NULL);
}

static HL_STRATEGY_PUBLISH HlPausePublish;

_Use_decl_annotations_ static VOID HlPausePublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    struct hl_snapshot *Old;
    ULONG64 Start = HlNowNs();

    HlPauseRound(TRUE);
    Old = HlRcuExchange(&HlGlobal.Config, NewSnapshot); /* W1, W2 */
    hl_snapshot_free(Old); /* no real handler is running anywhere: see above */
    *GraceNs = HlNowNs() - Start;
    HlPauseRound(FALSE);
}

static HL_STRATEGY_INITIALIZE HlPauseInitialize;

_Use_decl_annotations_ static NTSTATUS HlPauseInitialize(VOID)
{
    KeInitializeEvent(&HlPauseDone, NotificationEvent, FALSE);
    HlPauseDropping = FALSE;
    return STATUS_SUCCESS;
}

static HL_STRATEGY_UNINITIALIZE HlPauseUninitialize;

_Use_decl_annotations_ static VOID HlPauseUninitialize(VOID)
{
}

static HL_STRATEGY_MODULE_ATTACH HlPauseModuleAttach;

_Use_decl_annotations_ static NDIS_STATUS HlPauseModuleAttach(PHL_MODULE Module)
{
    PHL_PAUSE_MODULE Ctx = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Ctx), HL_TAG_STRATEGY);

    if (Ctx == NULL)
        return NDIS_STATUS_RESOURCES;
    Module->StrategyContext = Ctx;
    return NDIS_STATUS_SUCCESS;
}

static HL_STRATEGY_MODULE_DETACH HlPauseModuleDetach;

_Use_decl_annotations_ static VOID HlPauseModuleDetach(PHL_MODULE Module)
{
    PHL_PAUSE_MODULE Ctx = Module->StrategyContext;

    /* A module that leaves during a round will never restart: stop waiting for it. */
    if (InterlockedExchange(&Ctx->Awaiting, 0))
        HlPauseArrive();
    ExFreePoolWithTag(Ctx, HL_TAG_STRATEGY);
    Module->StrategyContext = NULL;
}

const HL_STRATEGY HlPauseStrategy = {
    .Name = L"pause",
    .Initialize = HlPauseInitialize,
    .Uninitialize = HlPauseUninitialize,
    .ModuleAttach = HlPauseModuleAttach,
    .ModuleDetach = HlPauseModuleDetach,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlPausePublish,
    .SetModuleOptions = HlPauseSetModuleOptions,
    .ModuleRestarted = HlPauseModuleRestarted,
};
