/*
 * testlwf: the correct skeleton shared by the deliberately broken drivers.
 *
 * Each bad_*.c driver is this skeleton with one or two handlers replaced by
 * the buggy version, so that the bug under test is the ONLY departure from
 * the contract: any other finding in its test is a false alarm of ndisemu's
 * verifier, not a second bug of the driver. passthru.c and foreign_lwf.c do
 * not use it; they are complete, standalone drivers.
 */
#ifndef TESTLWF_H
#define TESTLWF_H

#include <ndis.h>

#define TL_POOL_TAG 'lTmE' /* "EmTl" in a pool dump */

typedef enum _TL_STATE {
    TlPaused = 0,
    TlRestarting,
    TlRunning,
    TlPausing,
} TL_STATE;

/*
 * One filter module. The datapath reads State without a lock: NDIS does not
 * serialize FilterPause against FilterReceive/FilterSend, and the contract
 * only asks that a call arriving after the state changed behave as the new
 * state requires; a call already in flight when FilterPause started may
 * still finish the Running way.
 */
typedef struct _TL_MODULE {
    LIST_ENTRY Link; /* TlModuleList, under TlModuleListLock */
    NDIS_HANDLE FilterHandle;
    volatile LONG State; /* TL_STATE */
    ULONG Index;         /* attach order, for drivers that pick on one module */

    /* Scratch state the broken drivers use; the skeleton never touches it. */
    NDIS_SPIN_LOCK Lock;
    PNET_BUFFER_LIST QueueHead;
    PNET_BUFFER_LIST *QueueTail;
    ULONG QueueDepth;
    KDPC Dpc;
    KEVENT Idle;
    volatile LONG Counter;
    volatile LONG Outstanding;
    PVOID DriverData;
} TL_MODULE, *PTL_MODULE;

extern NDIS_HANDLE TlFilterDriverHandle;

/*
 * Every attached module. Detach unlinks under the lock, so code that walks
 * the list under the lock (a ticker callback) never meets a freed module.
 */
extern LIST_ENTRY TlModuleList;
extern KSPIN_LOCK TlModuleListLock;

/*
 * A passive system thread that calls Tick every PeriodMs until unload: the
 * timer of the drivers that do periodic work. Started by TlRegister when
 * given a Tick, stopped by TlDriverUnload after deregistration (so no module
 * is left for it to touch).
 */
typedef VOID TL_TICK(VOID);

/* Lets a broken driver replace handlers before registration. */
typedef VOID TL_CUSTOMIZE(_Inout_ PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars);

_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    TlRegister(_In_ PDRIVER_OBJECT DriverObject, _In_ PCWSTR ServiceName,
               _In_opt_ TL_CUSTOMIZE *Customize, _In_opt_ TL_TICK *Tick, _In_ ULONG PeriodMs);

/* Optional per-driver hooks, called by the skeleton's attach/detach. */
extern VOID (*TlOnAttach)(PTL_MODULE Module);
extern VOID (*TlOnDetach)(PTL_MODULE Module);

/*
 * For the drivers that pend a pause or a restart to an NDIS I/O work item
 * (ok_pause_workitem, ok_restart_pending). TlUseWorkItems, from the
 * driver's TL_CUSTOMIZE, gives every module an item in DriverData (NULL when
 * its allocation failed), freed at detach: detach follows a completed pause
 * and restart, so the item is no longer queued. TlPendToWorkItem publishes
 * State, queues Routine with the module as its context and returns
 * NDIS_STATUS_PENDING; the routine completes the operation.
 */
VOID TlUseWorkItems(VOID);
_IRQL_requires_max_(DISPATCH_LEVEL) NDIS_STATUS
    TlPendToWorkItem(_In_ PTL_MODULE Module, _In_ TL_STATE State,
                     _In_ NDIS_IO_WORKITEM_FUNCTION *Routine);

FILTER_ATTACH TlFilterAttach;
FILTER_DETACH TlFilterDetach;
FILTER_RESTART TlFilterRestart;
FILTER_PAUSE TlFilterPause;
FILTER_SEND_NET_BUFFER_LISTS TlFilterSendNetBufferLists;
FILTER_SEND_NET_BUFFER_LISTS_COMPLETE TlFilterSendNetBufferListsComplete;
FILTER_RECEIVE_NET_BUFFER_LISTS TlFilterReceiveNetBufferLists;
FILTER_RETURN_NET_BUFFER_LISTS TlFilterReturnNetBufferLists;
FILTER_OID_REQUEST TlFilterOidRequest;
FILTER_OID_REQUEST_COMPLETE TlFilterOidRequestComplete;
DRIVER_UNLOAD TlDriverUnload;

/* Hands a receive chain back the way the state of the module requires. */
_IRQL_requires_(DISPATCH_LEVEL) VOID
    TlRejectReceive(_In_ PTL_MODULE Module, _In_ PNET_BUFFER_LIST Nbls, _In_ ULONG ReceiveFlags);
_IRQL_requires_max_(DISPATCH_LEVEL) VOID
    TlRejectSend(_In_ PTL_MODULE Module, _In_ PNET_BUFFER_LIST Nbls, _In_ ULONG SendFlags);

#endif
