/*
 * A test driver whose DriverEntry fails after allocating (and forgetting)
 * one block: the loader must report the status, unload the image without
 * calling DriverUnload, and report the block as a pool leak.
 */
#include <wdm.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD FailingUnload;

static VOID FailingUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0, 0, 0, 0); /* must never run */
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = FailingUnload;
    if (ExAllocatePoolWithTag(NonPagedPoolNx, 24, 'liaF') == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    return STATUS_DEVICE_NOT_READY;
}
