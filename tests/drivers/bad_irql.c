/*
 * bad_irql: waits on an event at DISPATCH_LEVEL in its receive path.
 *
 * The bug: the filter loads its rules from a worker after attach and must
 * not classify before they are there, so the receive path "waits until the
 * rules are ready" with KeWaitForSingleObject and a timeout. Receive
 * indications arrive at DISPATCH_LEVEL, where no wait with a non-zero
 * timeout is allowed. It works on the developer's machine because the event
 * is almost always signalled already, so the wait returns at once.
 *
 * On Windows: the first time the event is not yet signalled, the scheduler
 * is entered at DISPATCH_LEVEL: bugcheck 0xA IRQL_NOT_LESS_OR_EQUAL or
 * 0x133 DPC_WATCHDOG_VIOLATION; Driver Verifier catches it every time.
 *
 * Expected finding: irql in FilterReceiveNetBufferLists.
 */
#include "testlwf.h"

static KEVENT IrRulesReady;

static FILTER_RECEIVE_NET_BUFFER_LISTS IrReceive;

_Use_decl_annotations_ static VOID IrReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    LARGE_INTEGER Timeout;

    Timeout.QuadPart = -10 * 1000 * 10; /* 10 ms, relative */
    /* BUG: a wait with a timeout at DISPATCH_LEVEL. */
    KeWaitForSingleObject(&IrRulesReady, Executive, KernelMode, FALSE, &Timeout);
    TlFilterReceiveNetBufferLists(FilterModuleContext, NetBufferLists, PortNumber,
                                  NumberOfNetBufferLists, ReceiveFlags);
}

static VOID IrCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = IrReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    /* Signalled from the start here, so the bug never blocks: ndisemu must
       catch it from the IRQL alone, as Driver Verifier does. */
    KeInitializeEvent(&IrRulesReady, NotificationEvent, TRUE);
    return TlRegister(DriverObject, L"bad_irql", IrCustomize, NULL, 0);
}
