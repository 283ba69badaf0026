/*
 * `rereg`: the seed answer's "NdisFDeregisterFilterDriver +
 * NdisFRegisterFilterDriver from your ioctl handler". NDIS pauses and
 * detaches every module, the configuration is swapped while no module
 * exists, and re-registration attaches them all again.
 *
 * ---- The argument ----
 * NdisFDeregisterFilterDriver returns only after every module of the driver
 * has been paused and detached. A datapath call on a module after its
 * FilterDetach would touch freed module memory in any LWF, so NDIS has none
 * in flight by then; with no module left, nothing can hold Old, and it is
 * freed at once. Modules attached by the re-registration start with zeroed
 * slices (generation 0), so their first batch loads New.
 *
 * As the answer says, the work runs on a system worker thread (so the
 * IOCTL's thread, which may belong to any process and be suspended, is not
 * the one NDIS detaches from), serialized (ConfigMutex, held by our caller
 * for the whole round). The worker item is static: Publish cannot fail and
 * must not allocate, and it waits for the item to finish before returning.
 *
 * The cost is the window between deregistration and re-registration: a
 * Mandatory filter blackholes every packet of every adapter (NDIS keeps the
 * stacks down without it), an Optional one lets traffic bypass the filter
 * unfiltered. Either way every stack pauses twice.
 */
#include "strategy.h"

/* epoch.c: the read side is epoch's (the generation tells each slice to refresh). */
HL_STRATEGY_READ_ENTER HlEpochReadEnter;
HL_STRATEGY_READ_LEAVE HlEpochReadLeave;

/*
 * bind.c (requested, see docs/strategies.md): register / deregister the one
 * characteristics table, without touching the strategy or the device.
 */
_IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS HlBindRegister(VOID);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlBindDeregister(VOID);

typedef struct _HL_REREG_WORK {
    WORK_QUEUE_ITEM Item;
    KEVENT Done;
    struct hl_snapshot *NewSnapshot;
    NDIS_STATUS Status;
} HL_REREG_WORK;

static HL_REREG_WORK HlReregWork; /* one at a time: ConfigMutex */

static WORKER_THREAD_ROUTINE HlReregWorker;

_Use_decl_annotations_ static VOID HlReregWorker(PVOID Parameter)
{
    HL_REREG_WORK *Work = Parameter;
    struct hl_snapshot *Old;

    HlBindDeregister(); /* every module paused and detached: no reader exists */

    Old = HlRcuExchange(&HlGlobal.Config, Work->NewSnapshot); /* W1, W2 */
    hl_snapshot_free(Old);

    Work->Status = HlBindRegister();
    KeSetEvent(&Work->Done, IO_NO_INCREMENT, FALSE);
}

static HL_STRATEGY_PUBLISH HlReregPublish;

_Use_decl_annotations_ static VOID HlReregPublish(struct hl_snapshot *NewSnapshot, PULONG64 GraceNs)
{
    ULONG64 Start = HlNowNs();

    KeClearEvent(&HlReregWork.Done);
    HlReregWork.NewSnapshot = NewSnapshot;
    ExInitializeWorkItem(&HlReregWork.Item, HlReregWorker, &HlReregWork);
    ExQueueWorkItem(&HlReregWork.Item, DelayedWorkQueue);
    KeWaitForSingleObject(&HlReregWork.Done, Executive, KernelMode, FALSE, NULL);
    *GraceNs = HlNowNs() - Start;
    /*
     * A failed re-registration leaves the filter unregistered: every stack
     * runs without it until the next SET_CONFIG retries. Nothing else can be
     * done from here, and it is what the benchmark must show if it happens.
     */
    if (HlReregWork.Status != NDIS_STATUS_SUCCESS)
        DbgPrint("hotlwf: rereg: NdisFRegisterFilterDriver failed 0x%08x\n",
                 (unsigned)HlReregWork.Status);
}

static HL_STRATEGY_INITIALIZE HlReregInitialize;

_Use_decl_annotations_ static NTSTATUS HlReregInitialize(VOID)
{
    KeInitializeEvent(&HlReregWork.Done, NotificationEvent, FALSE);
    return STATUS_SUCCESS;
}

static HL_STRATEGY_UNINITIALIZE HlReregUninitialize;

_Use_decl_annotations_ static VOID HlReregUninitialize(VOID)
{
}

const HL_STRATEGY HlReregStrategy = {
    .Name = L"rereg",
    .Initialize = HlReregInitialize,
    .Uninitialize = HlReregUninitialize,
    .ReadEnter = HlEpochReadEnter,
    .ReadLeave = HlEpochReadLeave,
    .Publish = HlReregPublish,
};
