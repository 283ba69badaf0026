/*
 * bad_hang_send: FilterSendNetBufferLists blocks forever.
 *
 * The bug: sends wait, at PASSIVE_LEVEL where a wait is legal, for a
 * "link up" event that the driver meant to set from a status indication it
 * never registered for. The first PASSIVE_LEVEL send never returns, and the
 * protocol's send path is stuck with it.
 *
 * On Windows: the sending thread hangs; the next pause of the stack never
 * completes (0x7C(0x25) NDIS watchdog, then 0x9F).
 *
 * Expected finding: deadlock in FilterSendNetBufferLists of bad_hang_send
 * (naming the thread and its CPU), exit status 3; the NBLs stuck in the call
 * are reported as leaked when the run ends (allowed).
 */
#include "testlwf.h"

static KEVENT HsLinkUp; /* never set: the bug */

static FILTER_SEND_NET_BUFFER_LISTS HsSend;

_Use_decl_annotations_ static VOID HsSend(NDIS_HANDLE FilterModuleContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    if (!NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags))
        KeWaitForSingleObject(&HsLinkUp, Executive, KernelMode, FALSE, NULL);
    TlFilterSendNetBufferLists(FilterModuleContext, NetBufferLists, PortNumber, SendFlags);
}

static VOID HsCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->SendNetBufferListsHandler = HsSend;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&HsLinkUp, NotificationEvent, FALSE);
    return TlRegister(DriverObject, L"bad_hang_send", HsCustomize, NULL, 0);
}
