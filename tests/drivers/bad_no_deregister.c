/*
 * bad_no_deregister: DriverUnload forgets NdisFDeregisterFilterDriver.
 *
 * The bug: the driver's unload routine stops its own work and returns, but
 * never deregisters the filter driver it registered in DriverEntry. Static
 * Driver Verifier's NdisFDeregisterFilterDriver rule: a filter driver calls
 * NdisFDeregisterFilterDriver from its unload routine. On Windows NDIS keeps
 * the filter bound and calls its handlers in an image that is gone.
 *
 * Expected finding: state in DriverUnload of bad_no_deregister, naming the
 * filter driver still registered; ndisemu then deregisters it (its modules
 * detach) before the image goes, so nothing else is reported.
 */
#include "testlwf.h"

static DRIVER_UNLOAD NdUnload;

_Use_decl_annotations_ static VOID NdUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* The bug: no NdisFDeregisterFilterDriver(TlFilterDriverHandle) first. */
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NTSTATUS Status;

    UNREFERENCED_PARAMETER(RegistryPath);
    Status = TlRegister(DriverObject, L"bad_no_deregister", NULL, NULL, 0);
    if (NT_SUCCESS(Status))
        DriverObject->DriverUnload = NdUnload;
    return Status;
}
