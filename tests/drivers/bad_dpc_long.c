/*
 * bad_dpc_long: a DPC that spins at DISPATCH_LEVEL waiting for a flag that
 * only a PASSIVE_LEVEL thread of the same driver would set.
 *
 * The bug: the first receive of a module queues a "flush" DPC that waits,
 * with KeStallExecutionProcessor, until the driver's configuration thread
 * says the rules are loaded. That thread does not exist in this build (it
 * was removed, the wait was not), so the DPC spins forever.
 *
 * On Windows: bugcheck 0x133 DPC_WATCHDOG_VIOLATION, parameter 0 (a single
 * DPC exceeded its time allotment).
 *
 * Expected finding: dpc-watchdog in DeferredRoutine of bad_dpc_long, exit
 * status 3 (a bugcheck ends the run).
 */
#include "testlwf.h"

static KDPC DlDpc;
static volatile LONG DlQueued;
static volatile LONG DlRulesLoaded; /* nobody sets it: the bug */

static KDEFERRED_ROUTINE DlFlush;

_Use_decl_annotations_ static VOID DlFlush(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    while (ReadNoFence(&DlRulesLoaded) == 0)
        KeStallExecutionProcessor(50); /* the WDK cap: the spin is the bug, not the stall */
}

static FILTER_RECEIVE_NET_BUFFER_LISTS DlReceive;

_Use_decl_annotations_ static VOID DlReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    if (InterlockedExchange(&DlQueued, 1) == 0)
        KeInsertQueueDpc(&DlDpc, NULL, NULL);
    TlFilterReceiveNetBufferLists(FilterModuleContext, NetBufferLists, PortNumber,
                                  NumberOfNetBufferLists, ReceiveFlags);
}

static VOID DlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = DlReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeDpc(&DlDpc, DlFlush, NULL);
    return TlRegister(DriverObject, L"bad_dpc_long", DlCustomize, NULL, 0);
}
