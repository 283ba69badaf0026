/*
 * bad_hang_detach: a FilterDetach that never returns.
 *
 * The bug: FilterDetach waits for the module's "statistics flushed" event,
 * which only a flush work item would set; that work item is queued only
 * while the module runs traffic, and never on the detach path. The wait
 * has no timeout, so the detach hangs.
 *
 * On Windows: NDIS's watchdog ends it with bug check 0x7C
 * BUGCODE_NDIS_DRIVER, parameter 1 0x25, parameter 2 0x14 (detaching a
 * filter took too long).
 *
 * Expected finding: deadlock naming this driver in FilterDetach, exit
 * status 3, within the watchdog limit.
 */
#include "testlwf.h"

static KEVENT HdFlushed; /* never set: the bug */

static VOID HdDetach(PTL_MODULE Module)
{
    UNREFERENCED_PARAMETER(Module);
    KeWaitForSingleObject(&HdFlushed, Executive, KernelMode, FALSE, NULL);
}

static VOID HdCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnDetach = HdDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&HdFlushed, NotificationEvent, FALSE);
    return TlRegister(DriverObject, L"bad_hang_detach", HdCustomize, NULL, 0);
}
