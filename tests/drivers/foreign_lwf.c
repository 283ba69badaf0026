/*
 * foreign_lwf: "the driver nobody on the team wrote". A third-party style
 * filter, deliberately unlike passthru.c and testlwf.c: global context list
 * under a spin lock, g_ globals, goto-cleanup, and a receive path that holds
 * NBLs for a moment and hands them on from a DPC, so that its FilterPause
 * has real work to wait for and completes asynchronously with
 * NdisFPauseComplete once its queue has drained.
 *
 * It is correct, and its test expects zero findings: a verifier that only
 * stays quiet for the drivers its authors wrote proves nothing.
 *
 * The pause argument, in one place (see vnd_busy_*):
 *   busy = 1 (the Running bias) + receive calls currently inside the module
 *          + queued batches.
 * A receive takes a reference BEFORE it looks at the state; FilterPause
 * publishes Pausing BEFORE it drops the bias (both interlocked, so ordered).
 * So either the receive saw Pausing and bounces the NBLs, or FilterPause
 * saw its reference and waits for it. Whoever drops busy to zero while a
 * pause is pending claims the completion with one exchange, so the pause is
 * completed exactly once: by FilterPause returning SUCCESS, or by one
 * NdisFPauseComplete from the DPC or a late receive.
 */
#include <ndis.h>

#define VND_TAG 'dnVF'
#define VND_SERVICE L"foreign_lwf"

enum vnd_state { VND_PAUSED, VND_RESTARTING, VND_RUNNING, VND_PAUSING };

typedef struct _VND_FILTER {
    LIST_ENTRY link;
    NDIS_HANDLE ndis_handle;
    volatile LONG state;
    volatile LONG busy;
    volatile LONG pause_pending;
    volatile LONG indicating; /* drain DPCs between their state check and indication */

    NDIS_SPIN_LOCK q_lock;
    PNET_BUFFER_LIST q_head;
    PNET_BUFFER_LIST *q_tail;
    ULONG q_count;
    ULONG q_batches; /* receive calls queued = busy references they hold */
    KDPC drain_dpc;

    PNDIS_OID_REQUEST oid_original; /* NDIS sends one OID at a time per module */
} VND_FILTER, *PVND_FILTER;

static NDIS_HANDLE g_driver_handle;
static LIST_ENTRY g_filters;
static NDIS_SPIN_LOCK g_filters_lock;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD vnd_unload;
static FILTER_ATTACH vnd_attach;
static FILTER_DETACH vnd_detach;
static FILTER_RESTART vnd_restart;
static FILTER_PAUSE vnd_pause;
static FILTER_RECEIVE_NET_BUFFER_LISTS vnd_receive;
static FILTER_RETURN_NET_BUFFER_LISTS vnd_return;
static FILTER_SEND_NET_BUFFER_LISTS vnd_send;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE vnd_send_complete;
static FILTER_OID_REQUEST vnd_oid;
static FILTER_OID_REQUEST_COMPLETE vnd_oid_complete;
static KDEFERRED_ROUTINE vnd_drain_dpc;

static void vnd_busy_get(PVND_FILTER f)
{
    InterlockedIncrement(&f->busy);
}

/* Returns TRUE when the caller claimed the pending pause's completion. */
static BOOLEAN vnd_busy_put(PVND_FILTER f)
{
    if (InterlockedDecrement(&f->busy) != 0)
        return FALSE;
    return InterlockedExchange(&f->pause_pending, 0) == 1;
}

static void vnd_busy_put_and_complete(PVND_FILTER f)
{
    if (vnd_busy_put(f)) {
        InterlockedExchange(&f->state, VND_PAUSED);
        NdisFPauseComplete(f->ndis_handle);
    }
}

static NDIS_STATUS vnd_attach(NDIS_HANDLE ndis_handle, NDIS_HANDLE driver_ctx,
                              PNDIS_FILTER_ATTACH_PARAMETERS params)
{
    NDIS_FILTER_ATTRIBUTES attrs;
    NDIS_STATUS status;
    PVND_FILTER f;

    UNREFERENCED_PARAMETER(driver_ctx);
    UNREFERENCED_PARAMETER(params);

    f = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*f), VND_TAG);
    if (!f) {
        status = NDIS_STATUS_RESOURCES;
        goto fail;
    }
    f->ndis_handle = ndis_handle;
    f->state = VND_PAUSED;
    f->q_tail = &f->q_head;
    NdisAllocateSpinLock(&f->q_lock);
    KeInitializeDpc(&f->drain_dpc, vnd_drain_dpc, f);

    RtlZeroMemory(&attrs, sizeof(attrs));
    attrs.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    attrs.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    attrs.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    status = NdisFSetAttributes(ndis_handle, f, &attrs);
    if (status != NDIS_STATUS_SUCCESS)
        goto fail_lock;

    NdisAcquireSpinLock(&g_filters_lock);
    InsertTailList(&g_filters, &f->link);
    NdisReleaseSpinLock(&g_filters_lock);
    return NDIS_STATUS_SUCCESS;

fail_lock:
    NdisFreeSpinLock(&f->q_lock);
    ExFreePoolWithTag(f, VND_TAG);
fail:
    return status;
}

static void vnd_detach(NDIS_HANDLE ctx)
{
    PVND_FILTER f = ctx;

    NdisAcquireSpinLock(&g_filters_lock);
    RemoveEntryList(&f->link);
    NdisReleaseSpinLock(&g_filters_lock);
    /* The pause drained the queue, but the DPC that completed it may still
       be on its way out of vnd_drain_dpc on another CPU. */
    KeFlushQueuedDpcs();
    NdisFreeSpinLock(&f->q_lock);
    ExFreePoolWithTag(f, VND_TAG);
}

static NDIS_STATUS vnd_restart(NDIS_HANDLE ctx, PNDIS_FILTER_RESTART_PARAMETERS params)
{
    PVND_FILTER f = ctx;

    UNREFERENCED_PARAMETER(params);
    InterlockedExchange(&f->state, VND_RESTARTING);
    InterlockedExchange(&f->pause_pending, 0);
    /* Add the bias back rather than storing 1: modules below are already
       Running and their receives bounce off us right now, each holding a
       reference for a moment; a store would lose theirs. */
    InterlockedIncrement(&f->busy);
    InterlockedExchange(&f->state, VND_RUNNING);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS vnd_pause(NDIS_HANDLE ctx, PNDIS_FILTER_PAUSE_PARAMETERS params)
{
    PVND_FILTER f = ctx;

    UNREFERENCED_PARAMETER(params);
    InterlockedExchange(&f->state, VND_PAUSING);
    /* A drain DPC that saw Running just before the exchange may be passing
       a batch up right now, and once we return nothing may go up any more.
       Both sides are interlocked (DPC: count, then read the state; here:
       write the state, then read the count), so once the count is zero
       every later DPC sees Pausing and hands its batch back down instead. */
    while (ReadNoFence(&f->indicating) != 0)
        NdisMSleep(50);
    InterlockedExchange(&f->pause_pending, 1);
    /* Anything queued goes back down now rather than on the next receive. */
    KeInsertQueueDpc(&f->drain_dpc, NULL, NULL);
    if (vnd_busy_put(f)) {
        InterlockedExchange(&f->state, VND_PAUSED);
        return NDIS_STATUS_SUCCESS;
    }
    return NDIS_STATUS_PENDING;
}

/* NBLs can only be bounced or passed on with the state they arrived in;
   RESOURCES means we may not keep them past this call. */
static void vnd_bounce(PVND_FILTER f, PNET_BUFFER_LIST nbls, ULONG rx_flags)
{
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(rx_flags))
        return;
    NdisFReturnNetBufferLists(
        f->ndis_handle, nbls,
        (rx_flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

static void vnd_receive(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                        ULONG rx_flags)
{
    PVND_FILTER f = ctx;
    PNET_BUFFER_LIST last;
    KIRQL irql;

    vnd_busy_get(f);
    if (ReadNoFence(&f->state) != VND_RUNNING) {
        vnd_bounce(f, nbls, rx_flags);
        goto out;
    }
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(rx_flags) || port != NDIS_DEFAULT_PORT_NUMBER) {
        NdisFIndicateReceiveNetBufferLists(f->ndis_handle, nbls, port, count, rx_flags);
        goto out;
    }

    for (last = nbls; NET_BUFFER_LIST_NEXT_NBL(last); last = NET_BUFFER_LIST_NEXT_NBL(last))
        ;
    /* The batch keeps its own busy reference until the DPC has handed it on,
       so a pause cannot complete while it sits in the queue. */
    vnd_busy_get(f);
    NdisAcquireSpinLock(&f->q_lock);
    *f->q_tail = nbls;
    f->q_tail = &NET_BUFFER_LIST_NEXT_NBL(last);
    f->q_count += count;
    f->q_batches++;
    NdisReleaseSpinLock(&f->q_lock);

    KeRaiseIrql(DISPATCH_LEVEL, &irql);
    KeInsertQueueDpc(&f->drain_dpc, NULL, NULL);
    KeLowerIrql(irql);
out:
    vnd_busy_put_and_complete(f);
}

static void vnd_drain_dpc(PKDPC dpc, PVOID ctx, PVOID arg1, PVOID arg2)
{
    PVND_FILTER f = ctx;
    PNET_BUFFER_LIST head;
    ULONG count, batches;

    UNREFERENCED_PARAMETER(dpc);
    UNREFERENCED_PARAMETER(arg1);
    UNREFERENCED_PARAMETER(arg2);

    NdisDprAcquireSpinLock(&f->q_lock);
    head = f->q_head;
    count = f->q_count;
    batches = f->q_batches;
    f->q_head = NULL;
    f->q_tail = &f->q_head;
    f->q_count = 0;
    f->q_batches = 0;
    NdisDprReleaseSpinLock(&f->q_lock);
    if (!head)
        return;

    /* Another CPU's instance of this DPC may drain the next batches at the
       same time; each instance owns exactly the chain it took. */
    InterlockedIncrement(&f->indicating);
    if (ReadNoFence(&f->state) == VND_RUNNING)
        NdisFIndicateReceiveNetBufferLists(f->ndis_handle, head, NDIS_DEFAULT_PORT_NUMBER, count,
                                           NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    else
        NdisFReturnNetBufferLists(f->ndis_handle, head, NDIS_RETURN_FLAGS_DISPATCH_LEVEL);
    InterlockedDecrement(&f->indicating);
    /* Only now, with the NBLs handed on, may the pause complete. */
    while (batches--)
        vnd_busy_put_and_complete(f);
}

static void vnd_return(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    PVND_FILTER f = ctx;

    NdisFReturnNetBufferLists(f->ndis_handle, nbls, flags);
}

static void vnd_send(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    PVND_FILTER f = ctx;
    PNET_BUFFER_LIST nbl;

    if (ReadNoFence(&f->state) == VND_RUNNING) {
        NdisFSendNetBufferLists(f->ndis_handle, nbls, port, flags);
        return;
    }
    for (nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_PAUSED;
    NdisFSendNetBufferListsComplete(
        f->ndis_handle, nbls,
        (flags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

static void vnd_send_complete(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    PVND_FILTER f = ctx;

    NdisFSendNetBufferListsComplete(f->ndis_handle, nbls, flags);
}

static NDIS_STATUS vnd_oid(NDIS_HANDLE ctx, PNDIS_OID_REQUEST req)
{
    PVND_FILTER f = ctx;
    PNDIS_OID_REQUEST clone;
    NDIS_STATUS status;

    status = NdisAllocateCloneOidRequest(f->ndis_handle, req, VND_TAG, &clone);
    if (status != NDIS_STATUS_SUCCESS)
        return status;
    clone->RequestId = req->RequestId;
    f->oid_original = req;
    status = NdisFOidRequest(f->ndis_handle, clone);
    if (status != NDIS_STATUS_PENDING) {
        /* Synchronous below: copy the results back here and answer
           synchronously above, no completion call involved. */
        req->DATA = clone->DATA;
        f->oid_original = NULL;
        NdisFreeCloneOidRequest(f->ndis_handle, clone);
    }
    return status;
}

static void vnd_oid_complete(NDIS_HANDLE ctx, PNDIS_OID_REQUEST clone, NDIS_STATUS status)
{
    PVND_FILTER f = ctx;
    PNDIS_OID_REQUEST req = f->oid_original;

    f->oid_original = NULL;
    req->DATA = clone->DATA;
    NdisFreeCloneOidRequest(f->ndis_handle, clone);
    NdisFOidRequestComplete(f->ndis_handle, req, status);
}

static void vnd_unload(PDRIVER_OBJECT drv)
{
    UNREFERENCED_PARAMETER(drv);
    NdisFDeregisterFilterDriver(g_driver_handle);
    NdisFreeSpinLock(&g_filters_lock);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    NDIS_FILTER_DRIVER_CHARACTERISTICS fc;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(reg);
    InitializeListHead(&g_filters);
    NdisAllocateSpinLock(&g_filters_lock);

    RtlZeroMemory(&fc, sizeof(fc));
    fc.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    fc.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
    fc.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    fc.MajorNdisVersion = 6;
    fc.MinorNdisVersion = 0;
    fc.MajorDriverVersion = 3;
    fc.MinorDriverVersion = 14;
    RtlInitUnicodeString(&fc.FriendlyName, L"Vendor Traffic Shaper LWF");
    RtlInitUnicodeString(&fc.UniqueName, L"{a3c1e0f2-7d1b-4c55-9e0a-2f6b8d9c1e44}");
    RtlInitUnicodeString(&fc.ServiceName, VND_SERVICE);
    fc.AttachHandler = vnd_attach;
    fc.DetachHandler = vnd_detach;
    fc.RestartHandler = vnd_restart;
    fc.PauseHandler = vnd_pause;
    fc.ReceiveNetBufferListsHandler = vnd_receive;
    fc.ReturnNetBufferListsHandler = vnd_return;
    fc.SendNetBufferListsHandler = vnd_send;
    fc.SendNetBufferListsCompleteHandler = vnd_send_complete;
    fc.OidRequestHandler = vnd_oid;
    fc.OidRequestCompleteHandler = vnd_oid_complete;

    drv->DriverUnload = vnd_unload;
    status = NdisFRegisterFilterDriver(drv, NULL, &fc, &g_driver_handle);
    if (status != NDIS_STATUS_SUCCESS) {
        NdisFreeSpinLock(&g_filters_lock);
        return STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}
