/*
 * ok_pause_dpc: every pause is pended and completed at DISPATCH_LEVEL by a
 * DPC that FilterPause queues, targeted at the last processor (so it
 * usually runs on another CPU than FilterPause).
 *
 * Why it is correct ("Pausing a Filter Module", NdisFPauseComplete,
 * KeInsertQueueDpc, KeSetTargetProcessorDpc, KeFlushQueuedDpcs in the WDK):
 * - NdisFPauseComplete may be called at IRQL <= DISPATCH_LEVEL, so from a
 *   DPC routine.
 * - FilterPause publishes Pausing before it queues the DPC, so the datapath
 *   bounces everything that arrives from then on, as the Pausing state
 *   allows; the skeleton originates and queues nothing, so nothing is
 *   outstanding when the DPC completes the pause.
 * - The DPC is queued exactly once per pause (NDIS pauses only a Running
 *   module, so the previous pause's DPC has been dequeued), and its routine
 *   completes the pause exactly once.
 * - NdisFPauseComplete is the routine's last access to the module, but the
 *   DPC routine may still be returning when NDIS detaches the module:
 *   FilterDetach flushes queued DPCs before the skeleton frees the KDPC.
 */
#include "testlwf.h"

static FILTER_PAUSE OdPause;
static KDEFERRED_ROUTINE OdCompletePause;

_Use_decl_annotations_ static VOID OdCompletePause(PKDPC Dpc, PVOID DeferredContext,
                                                   PVOID SystemArgument1, PVOID SystemArgument2)
{
    PTL_MODULE Module = DeferredContext;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    InterlockedExchange(&Module->State, TlPaused);
    NdisFPauseComplete(Module->FilterHandle);
}

_Use_decl_annotations_ static NDIS_STATUS OdPause(NDIS_HANDLE FilterModuleContext,
                                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    KeInsertQueueDpc(&Module->Dpc, NULL, NULL);
    return NDIS_STATUS_PENDING;
}

static VOID OdAttach(PTL_MODULE Module)
{
    KeInitializeDpc(&Module->Dpc, OdCompletePause, Module);
    KeSetTargetProcessorDpc(&Module->Dpc, (CCHAR)(KeQueryActiveProcessorCount(NULL) - 1));
}

static VOID OdDetach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    KeFlushQueuedDpcs();
}

static VOID OdCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->PauseHandler = OdPause;
    TlOnAttach = OdAttach;
    TlOnDetach = OdDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_pause_dpc", OdCustomize, NULL, 0);
}
