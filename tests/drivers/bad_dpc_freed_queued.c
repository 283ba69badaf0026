/*
 * bad_dpc_freed_queued: frees memory holding a KDPC that is still queued.
 *
 * The bug: every 64th receive chain is reported from a DPC, through a small
 * object holding the KDPC and the chain's size; the DPC routine frees the
 * object. The report used to be made inline, and the free that went with
 * it is still there after the KeInsertQueueDpc. The DPC targets this CPU,
 * which stays at DISPATCH_LEVEL until the spin lock is released, so at the
 * free it is certainly still queued.
 *
 * On Windows: bugcheck 0xC7 TIMER_OR_DPC_INVALID (Driver Verifier checks
 * freed pool for queued DPCs), or the DPC runs on freed memory.
 *
 * Expected finding: object-freed-while-queued in FilterReceiveNetBufferLists.
 */
#include "testlwf.h"

#define DQ_TAG 'qDlB'

typedef struct _DQ_BURST {
    KDPC Dpc;
    ULONG Frames;
} DQ_BURST, *PDQ_BURST;

static FILTER_RECEIVE_NET_BUFFER_LISTS DqReceive;
static KDEFERRED_ROUTINE DqReport;
static volatile LONG DqReports;

_Use_decl_annotations_ static VOID DqReport(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    InterlockedIncrement(&DqReports);
    ExFreePoolWithTag(Context, DQ_TAG);
}

_Use_decl_annotations_ static VOID DqReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PDQ_BURST Burst;

    if (InterlockedIncrement(&Module->Counter) % 64 == 0 &&
        (Burst = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Burst), DQ_TAG)) != NULL) {
        KeInitializeDpc(&Burst->Dpc, DqReport, Burst);
        Burst->Frames = NumberOfNetBufferLists;
        NdisAcquireSpinLock(&Module->Lock);
        KeInsertQueueDpc(&Burst->Dpc, NULL, NULL);
        ExFreePoolWithTag(Burst, DQ_TAG); /* BUG: left from the inline report */
        NdisReleaseSpinLock(&Module->Lock);
    }
    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
}

static VOID DqCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = DqReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_dpc_freed_queued", DqCustomize, NULL, 0);
}
