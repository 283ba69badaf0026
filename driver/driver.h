/*
 * hotlwf driver-wide state and the contracts between its files.
 *
 * One global (HlGlobal) holds what DriverEntry creates; each file owns the
 * fields it initializes in its HlXxxDriverEntry and releases in HlXxxUnload,
 * called in order from DriverEntry and in reverse from DriverUnload (driver.c).
 */
#ifndef HOTLWF_DRIVER_DRIVER_H
#define HOTLWF_DRIVER_DRIVER_H

#include <ndis.h>
#include "hlrcu.h"
#include "hotlwf/config.h"
#include "pooltag.h"

/* Service name: the Strategy parameter, the device and the module names derive from it. */
#define HL_SERVICE_NAME L"hotlwf"
#define HL_DEVICE_NAME L"\\Device\\hotlwf"
#define HL_SYMBOLIC_NAME L"\\DosDevices\\hotlwf" /* lwfctl opens \\.\hotlwf */

/* Datapath state of a filter module (the NDIS "Filter Module States" table). */
typedef enum _HL_MODULE_STATE {
    HlModulePaused = 0, /* Attached and Paused are the same to the datapath: nothing passes */
    HlModuleRestarting,
    HlModuleRunning,
    HlModulePausing,
} HL_MODULE_STATE;

/*
 * One CPU's slice of a module: the view this CPU classifies with and this
 * CPU's traffic counters. Only code running at DISPATCH_LEVEL on that CPU
 * touches the view and writes the counters (one context per CPU at
 * DISPATCH_LEVEL), so none of it is shared between CPUs: no lock, no
 * interlocked instruction, no cache line written by two CPUs (the slices
 * are laid out HL_CACHE_LINE apart). GET_STATS reads the counters from
 * another CPU with ReadNoFence64: a stale value, never a torn one.
 */
typedef struct _HL_MODULE_CPU {
    LONG64 RxSeen;
    LONG64 RxDropped;
    LONG64 TxSeen;
    LONG64 TxDropped;
    HLRCU_CACHE Cache; /* the configuration generation View was built from */
    struct hl_view View;
} HL_MODULE_CPU, *PHL_MODULE_CPU;

#define HL_CACHE_LINE 64u

typedef struct _HL_MODULE {
    LIST_ENTRY Link; /* HlGlobal.ModuleList, under HlGlobal.ModuleListLock */
    NDIS_HANDLE FilterHandle;
    volatile LONG State; /* HL_MODULE_STATE; written at PASSIVE_LEVEL, read by the datapath */
    struct hl_adapter_id AdapterId;
    ULONG CpuCount;
    SIZE_T CpuStride;      /* sizeof(HL_MODULE_CPU) rounded up to HL_CACHE_LINE */
    PUCHAR PerCpu;         /* CpuCount slices of CpuStride bytes */
    PVOID StrategyContext; /* private to the selected strategy */
} HL_MODULE, *PHL_MODULE;

_IRQL_requires_max_(DISPATCH_LEVEL) FORCEINLINE PHL_MODULE_CPU
    HlModuleCpu(_In_ PHL_MODULE Module, _In_ ULONG Cpu)
{
    return (PHL_MODULE_CPU)(Module->PerCpu + (SIZE_T)Cpu * Module->CpuStride);
}

/*
 * Adds to a counter of the caller's own slice. The read-modify-write is not
 * atomic and need not be: only this CPU writes the slot. The NoFence
 * accesses only keep GET_STATS's concurrent read from seeing a torn value.
 */
_IRQL_requires_(DISPATCH_LEVEL) FORCEINLINE VOID
    HlCounterAdd(_Inout_ LONG64 volatile *Counter, _In_ ULONG Value)
{
    WriteNoFence64(Counter, ReadNoFence64(Counter) + (LONG64)Value);
}

/*
 * What detached modules had counted, per adapter (keyed by ifindex), so that
 * GET_STATS is cumulative across detach/attach (rereg detaches every module
 * on each reconfiguration). Under HlGlobal.ModuleListLock, like the list:
 * see HlFilterDetach for why every packet is counted exactly once.
 */
#define HL_MAX_RETAINED 64u

typedef struct _HL_RETAINED {
    struct hl_adapter_id AdapterId;
    ULONG64 RxSeen;
    ULONG64 RxDropped;
    ULONG64 TxSeen;
    ULONG64 TxDropped;
} HL_RETAINED, *PHL_RETAINED;

/* The retained slots as persisted in the registry (config.c), whole. */
typedef struct _HL_SAVED_COUNTERS {
    ULONG Count;
    HL_RETAINED Retained[HL_MAX_RETAINED];
} HL_SAVED_COUNTERS;

typedef struct _HL_GLOBALS {
    PDRIVER_OBJECT DriverObject;
    NDIS_HANDLE FilterDriverHandle;
    NDIS_HANDLE DeviceHandle;
    PDEVICE_OBJECT DeviceObject;

    /* config.c: the running configuration (see config.c for who may read what). */
    KMUTEX ConfigMutex; /* serializes IOCTLs: one writer at a time */
    /* Config.Pointer: the running struct hl_snapshot; Config.Generation: its generation. */
    HLRCU Config;
    ULONG64 ReconfigCount;
    ULONG64 LastReconfigNs;
    ULONG64 LastCompileNs; /* hl_config_compile of the running configuration; 0: the load's */
    ULONG CpuCount; /* active processors at DriverEntry: snapshot counters and module slices */
    struct hl_alloc Alloc;

    /* bind.c: attached modules, and what detached ones counted, for GET_STATS. */
    KSPIN_LOCK ModuleListLock;
    LIST_ENTRY ModuleList;
    ULONG RetainedCount;
    ULONG64 RetainedLost; /* detaches whose counters found no free slot (more adapters than fit) */
    HL_RETAINED Retained[HL_MAX_RETAINED];
} HL_GLOBALS;

extern HL_GLOBALS HlGlobal;

/* config.c */
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS HlConfigDriverEntry(VOID);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlConfigUnload(VOID);
/*
 * Publishes the initial configuration in HlGlobal.Config: the persisted one
 * if there is a valid one, else the default. Idempotent; before any FilterAttach.
 */
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS HlConfigStart(_In_ NDIS_HANDLE FilterDriverHandle);
/* Writes the running blob and generation to the driver's parameters; ConfigMutex held. */
_IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS HlConfigPersist(_In_ NDIS_HANDLE FilterDriverHandle);
/* Writes GET_STATS's retained per-adapter totals (what detached modules counted). */
_IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS
    HlConfigPersistCounters(_In_ NDIS_HANDLE FilterDriverHandle);
_IRQL_requires_max_(DISPATCH_LEVEL) ULONG64 HlNowNs(VOID);

/* bind.c */
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    HlBindDriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlBindUnload(VOID);
/*
 * The registration alone, for strategies that re-register the filter driver
 * (`rereg`): the same characteristics, the handle into HlGlobal.
 */
_IRQL_requires_(PASSIVE_LEVEL) NDIS_STATUS HlBindRegister(VOID);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlBindDeregister(VOID);

/* Sum of one counter (a FIELD_OFFSET in HL_MODULE_CPU) over the module's CPUs. */
_IRQL_requires_max_(DISPATCH_LEVEL) LONG64
    HlModuleSum(_In_ PHL_MODULE Module, _In_ SIZE_T FieldOffset);

/* device.c */
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS HlDeviceDriverEntry(VOID);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlDeviceUnload(VOID);

/* ioctl.c */
_IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    HlIoctlDispatch(_Inout_ PIRP Irp, _In_ PIO_STACK_LOCATION IrpSp);

/* classify.c */
_IRQL_requires_(DISPATCH_LEVEL) UCHAR
    HlClassifyNbl(_In_ const struct hl_view *View, _In_ enum hl_direction Direction,
                  _In_ PNET_BUFFER_LIST Nbl, _Out_ PULONG Rule);

/* Counts NBLs refused because the module is not Running (state, not rules). */
_IRQL_requires_max_(DISPATCH_LEVEL) VOID
    HlCountRefused(_In_ PHL_MODULE Module, _In_ BOOLEAN AtDispatch,
                   _In_ enum hl_direction Direction, _In_ ULONG Count);

/* recv.c, send.c, oid.c: the handlers bind.c puts in the characteristics. */
FILTER_RECEIVE_NET_BUFFER_LISTS HlFilterReceiveNetBufferLists;
FILTER_RETURN_NET_BUFFER_LISTS HlFilterReturnNetBufferLists;
FILTER_SEND_NET_BUFFER_LISTS HlFilterSendNetBufferLists;
FILTER_SEND_NET_BUFFER_LISTS_COMPLETE HlFilterSendNetBufferListsComplete;
FILTER_OID_REQUEST HlFilterOidRequest;
FILTER_OID_REQUEST_COMPLETE HlFilterOidRequestComplete;

#endif
