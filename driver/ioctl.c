/*
 * The three IOCTLs (include/hotlwf/ioctl.h has the ABI and the buffer-size
 * conventions). All are METHOD_BUFFERED: the I/O manager has copied the
 * input into SystemBuffer and copies Information bytes of it back out, so
 * every length below is checked against the lengths in the stack location,
 * never against what the caller's data claims.
 *
 * HlGlobal.ConfigMutex serializes them: one SET_CONFIG at a time (a grace
 * period covers one swap), and GET_CONFIG / GET_STATS read the running
 * snapshot while no SET_CONFIG can free it.
 */
#include "strategy.h"
#include "torture.h"

_IRQL_requires_(PASSIVE_LEVEL) static VOID HlIoctlLock(VOID)
{
    KeWaitForSingleObject(&HlGlobal.ConfigMutex, Executive, KernelMode, FALSE, NULL);
}

_IRQL_requires_(PASSIVE_LEVEL) static VOID HlIoctlUnlock(VOID)
{
    KeReleaseMutex(&HlGlobal.ConfigMutex, FALSE);
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS
    HlIoctlSetConfig(_Inout_ PIRP Irp, _In_ PIO_STACK_LOCATION IrpSp)
{
    ULONG64 Start = HlNowNs(); /* latency is measured from receipt, mutex wait included */
    PVOID Buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG InLength = IrpSp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG OutLength = IrpSp->Parameters.DeviceIoControl.OutputBufferLength;
    struct hl_set_config_result Result;
    struct hl_snapshot *Snapshot = NULL;
    ULONG64 GraceNs = 0;
    int Status;

    ULONG64 CompileStart;
    struct hl_snapshot_info Info;
    ULONG ResultLength;

    /*
     * Without room for the answer the caller could not learn the outcome:
     * apply nothing. A caller built before the compile figures gets the
     * first HL_SET_CONFIG_RESULT_V1_SIZE bytes (include/hotlwf/ioctl.h).
     */
    if (OutLength < HL_SET_CONFIG_RESULT_V1_SIZE)
        return STATUS_BUFFER_TOO_SMALL;
    ResultLength = OutLength < sizeof(Result) ? HL_SET_CONFIG_RESULT_V1_SIZE : sizeof(Result);

    RtlZeroMemory(&Result, sizeof(Result));

    HlIoctlLock();
    if (Buffer == NULL || InLength == 0) {
        Status = HL_E_TRUNCATED;
        RtlCopyMemory(Result.reason, "empty input buffer", sizeof("empty input buffer"));
    } else {
        /*
         * Compiled straight from SystemBuffer: hl_config_compile reads every
         * byte once and copies the accepted blob into the snapshot, and
         * nothing is written to SystemBuffer (which the output shares) until
         * it has returned.
         */
        CompileStart = HlNowNs();
        Status = hl_config_compile(Buffer, InLength, &HlGlobal.Alloc, HlGlobal.CpuCount, &Snapshot,
                                   Result.reason, sizeof(Result.reason));
        Result.compile_ns = HlNowNs() - CompileStart;
    }
    if (Status == HL_OK) {
        hl_snapshot_get_info(Snapshot, &Info); /* before Publish: then it may be replaced */
        Result.snapshot_bytes = Info.snapshot_bytes;
        Result.index_bytes = Info.index_bytes;
        Result.rules_indexed = Info.indexed;
        Result.index_fields = Info.fields;
        /* Publishes are serialized here (ConfigMutex): this one is the next generation. */
        HlTortureStamp(Snapshot, HlRcuGeneration(&HlGlobal.Config) + 1);
        HlStrategy->Publish(Snapshot, &GraceNs);
        HlGlobal.ReconfigCount++;
        HlGlobal.LastReconfigNs = HlNowNs() - Start;
        HlGlobal.LastCompileNs = Result.compile_ns;
        Result.reason[0] = '\0';
    }
    Result.status = Status;
    Result.generation = (uint64_t)HlRcuGeneration(&HlGlobal.Config);
    Result.grace_ns = GraceNs;
    HlIoctlUnlock();

    RtlCopyMemory(Buffer, &Result, ResultLength);
    Irp->IoStatus.Information = ResultLength;
    return STATUS_SUCCESS;
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS
    HlIoctlGetConfig(_Inout_ PIRP Irp, _In_ PIO_STACK_LOCATION IrpSp)
{
    PVOID Buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG OutLength = IrpSp->Parameters.DeviceIoControl.OutputBufferLength;
    const void *Blob;
    size_t BlobLength;
    NTSTATUS Status;

    if (Buffer == NULL || OutLength < HL_BLOB_HEADER_SIZE)
        return STATUS_BUFFER_TOO_SMALL;

    HlIoctlLock();
    Blob = hl_snapshot_blob((struct hl_snapshot *)HlGlobal.Config.Pointer, &BlobLength);
    if (OutLength < BlobLength) {
        /* The header's total_size tells the caller how much to ask for. */
        RtlCopyMemory(Buffer, Blob, HL_BLOB_HEADER_SIZE);
        Irp->IoStatus.Information = HL_BLOB_HEADER_SIZE;
        Status = STATUS_BUFFER_OVERFLOW;
    } else {
        RtlCopyMemory(Buffer, Blob, BlobLength);
        Irp->IoStatus.Information = (ULONG_PTR)BlobLength;
        Status = STATUS_SUCCESS;
    }
    HlIoctlUnlock();
    return Status;
}

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    HlIoctlFillAdapter(_Out_ struct hl_stats_adapter *Out, _In_ PHL_MODULE Module)
{
    SIZE_T i;

    RtlZeroMemory(Out, sizeof(*Out));
    Out->ifindex = Module->AdapterId.ifindex;
    RtlCopyMemory(Out->mac, Module->AdapterId.mac, sizeof(Out->mac));
    for (i = 0; i + 1 < sizeof(Out->name) && Module->AdapterId.name[i] != '\0'; i++)
        Out->name[i] = Module->AdapterId.name[i];
    Out->rx_seen = (uint64_t)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, RxSeen));
    Out->rx_dropped = (uint64_t)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, RxDropped));
    Out->tx_seen = (uint64_t)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, TxSeen));
    Out->tx_dropped = (uint64_t)HlModuleSum(Module, FIELD_OFFSET(HL_MODULE_CPU, TxDropped));
}

/*
 * Does retained total Index add to an entry listed already, an attached
 * module's or an earlier total's? Exactly when HlIoctlAddRetained finds an
 * entry to add to, so the count below is the number of entries filled, even
 * if two totals had the same adapter. List lock held.
 */
_Requires_lock_held_(HlGlobal.ModuleListLock) _IRQL_requires_(DISPATCH_LEVEL) static BOOLEAN
    HlIoctlRetainedListed(_In_ ULONG Index)
{
    ULONG Ifindex = HlGlobal.Retained[Index].AdapterId.ifindex;
    PLIST_ENTRY Entry;
    ULONG i;

    for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink)
        if (CONTAINING_RECORD(Entry, HL_MODULE, Link)->AdapterId.ifindex == Ifindex)
            return TRUE;
    for (i = 0; i < Index; i++)
        if (HlGlobal.Retained[i].AdapterId.ifindex == Ifindex)
            return TRUE;
    return FALSE;
}

/*
 * Adds what detached modules counted to the adapter's entry among the first
 * Filled ones (the first module of that adapter, when a stack has two), or
 * fills a new entry for an adapter that has no module attached right now.
 * Returns the entries now filled. List lock held.
 */
_Requires_lock_held_(HlGlobal.ModuleListLock) _IRQL_requires_(DISPATCH_LEVEL) static ULONG
    HlIoctlAddRetained(_Inout_ struct hl_stats_adapter *Out, _In_ ULONG Filled,
                       _In_ const HL_RETAINED *Retained)
{
    struct hl_stats_adapter *Entry = NULL;
    SIZE_T i;
    ULONG k;

    for (k = 0; k < Filled && Entry == NULL; k++)
        if (Out[k].ifindex == Retained->AdapterId.ifindex)
            Entry = &Out[k];
    if (Entry == NULL) {
        Entry = &Out[Filled++];
        RtlZeroMemory(Entry, sizeof(*Entry));
        Entry->ifindex = Retained->AdapterId.ifindex;
        RtlCopyMemory(Entry->mac, Retained->AdapterId.mac, sizeof(Entry->mac));
        for (i = 0; i + 1 < sizeof(Entry->name) && Retained->AdapterId.name[i] != '\0'; i++)
            Entry->name[i] = Retained->AdapterId.name[i];
    }
    Entry->rx_seen += Retained->RxSeen;
    Entry->rx_dropped += Retained->RxDropped;
    Entry->tx_seen += Retained->TxSeen;
    Entry->tx_dropped += Retained->TxDropped;
    return Filled;
}

_IRQL_requires_(PASSIVE_LEVEL) static NTSTATUS
    HlIoctlGetStats(_Inout_ PIRP Irp, _In_ PIO_STACK_LOCATION IrpSp)
{
    PUCHAR Buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG OutLength = IrpSp->Parameters.DeviceIoControl.OutputBufferLength;
    struct hl_stats_header Header;
    struct hl_snapshot *Snapshot;
    PLIST_ENTRY Entry;
    ULONG64 Needed;
    ULONG Adapters = 0, Rules, i;
    KIRQL OldIrql;
    NTSTATUS Status = STATUS_SUCCESS;

    struct hl_snapshot_info Info;

    /* A caller built before the compile figures asks with HL_STATS_HEADER_V1_SIZE: still served. */
    if (Buffer == NULL || OutLength < HL_STATS_HEADER_V1_SIZE)
        return STATUS_BUFFER_TOO_SMALL;

    HlIoctlLock();
    Snapshot = (struct hl_snapshot *)HlGlobal.Config.Pointer;
    Rules = hl_snapshot_rule_count(Snapshot);

    /*
     * Modules attach and detach under the list lock, not under ConfigMutex
     * (a strategy may hold ConfigMutex while waiting for NDIS to detach
     * them): count and copy in one hold of the lock. Detach folds a module's
     * counters into HlGlobal.Retained under the same lock (bind.c), so the
     * answer is cumulative per adapter across detach/attach, and an adapter
     * whose module is detached right now is still listed, with its totals.
     */
    KeAcquireSpinLock(&HlGlobal.ModuleListLock, &OldIrql);
    for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink)
        Adapters++;
    for (i = 0; i < HlGlobal.RetainedCount; i++)
        if (!HlIoctlRetainedListed(i))
            Adapters++;

    Needed = sizeof(Header) + (ULONG64)Rules * sizeof(struct hl_stats_rule) +
             (ULONG64)Adapters * sizeof(struct hl_stats_adapter);

    RtlZeroMemory(&Header, sizeof(Header));
    Header.size_needed = (uint32_t)Needed; /* <= 96 + 16 * HL_MAX_RULES + adapters: fits */
    Header.version = HL_STATS_VERSION;
    Header.header_size = sizeof(Header);
    Header.rule_count = Rules;
    Header.adapter_count = Adapters;
    Header.generation = (uint64_t)HlRcuGeneration(&HlGlobal.Config);
    Header.reconfig_count = HlGlobal.ReconfigCount;
    Header.last_reconfig_ns = HlGlobal.LastReconfigNs;
    hl_stats_read(Snapshot, 0, &Header.default_in, &Header.default_out);
    hl_snapshot_get_info(Snapshot, &Info);
    Header.compile_ns = HlGlobal.LastCompileNs;
    Header.snapshot_bytes = Info.snapshot_bytes;
    Header.index_bytes = Info.index_bytes;
    Header.rules_indexed = Info.indexed;
    Header.index_fields = Info.fields;

    if (OutLength >= Needed) {
        struct hl_stats_adapter *AdapterOut =
            (struct hl_stats_adapter *)(Buffer + sizeof(Header) +
                                        (SIZE_T)Rules * sizeof(struct hl_stats_rule));

        ULONG Filled = 0;

        for (Entry = HlGlobal.ModuleList.Flink; Entry != &HlGlobal.ModuleList; Entry = Entry->Flink)
            HlIoctlFillAdapter(&AdapterOut[Filled++], CONTAINING_RECORD(Entry, HL_MODULE, Link));
        for (i = 0; i < HlGlobal.RetainedCount; i++)
            Filled = HlIoctlAddRetained(AdapterOut, Filled, &HlGlobal.Retained[i]);
        /* Information below counts Adapters entries: every one of them is written. */
        NT_ASSERT(Filled == Adapters);
    }
    KeReleaseSpinLock(&HlGlobal.ModuleListLock, OldIrql);

    /* Up to HL_MAX_RULES sums over every CPU: outside the spin lock, under the mutex only. */
    if (OutLength >= Needed) {
        struct hl_stats_rule *RuleOut = (struct hl_stats_rule *)(Buffer + sizeof(Header));

        for (i = 0; i < Rules; i++)
            hl_stats_read(Snapshot, i + 1, &RuleOut[i].hits_in, &RuleOut[i].hits_out);
        Irp->IoStatus.Information = (ULONG_PTR)Needed;
    } else {
        /* As much of the header as fits: at least version 1's 64 bytes. */
        Irp->IoStatus.Information = OutLength < sizeof(Header) ? OutLength : sizeof(Header);
        Status = STATUS_BUFFER_OVERFLOW;
    }
    HlIoctlUnlock();

    RtlCopyMemory(Buffer, &Header, OutLength < sizeof(Header) ? OutLength : sizeof(Header));
    return Status;
}

_Use_decl_annotations_ NTSTATUS HlIoctlDispatch(PIRP Irp, PIO_STACK_LOCATION IrpSp)
{
    switch (IrpSp->Parameters.DeviceIoControl.IoControlCode) {
    case HL_IOCTL_SET_CONFIG:
        return HlIoctlSetConfig(Irp, IrpSp);
    case HL_IOCTL_GET_CONFIG:
        return HlIoctlGetConfig(Irp, IrpSp);
    case HL_IOCTL_GET_STATS:
        return HlIoctlGetStats(Irp, IrpSp);
    default:
        return STATUS_INVALID_DEVICE_REQUEST;
    }
}
