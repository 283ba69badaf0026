/*
 * DriverEntry and DriverUnload: each part's HlXxxDriverEntry in order, its
 * HlXxxUnload in reverse, and a failed start unwinds exactly the parts that
 * started (one label per part, in reverse order).
 *
 * Order: the configuration first (the first FilterAttach may classify as
 * soon as the module restarts), then the filter driver (which selects the
 * strategy), then the control device (it needs the filter driver handle,
 * and SET_CONFIG needs the strategy).
 */
#include "strategy.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD HlDriverUnload;

_Use_decl_annotations_ static VOID HlDriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);

    HlDeviceUnload(); /* no IOCTL can start: no Publish runs below */
    HlBindUnload();   /* every module detached, then the strategy goes */
    HlConfigUnload();
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    NTSTATUS Status;

    HlGlobal.DriverObject = DriverObject;

    Status = HlConfigDriverEntry();
    if (!NT_SUCCESS(Status))
        goto Fail;

    Status = HlBindDriverEntry(DriverObject, RegistryPath);
    if (!NT_SUCCESS(Status))
        goto UnloadConfig;

    Status = HlDeviceDriverEntry();
    if (!NT_SUCCESS(Status))
        goto UnloadBind;

    DriverObject->DriverUnload = HlDriverUnload;
    return STATUS_SUCCESS;

UnloadBind:
    HlBindUnload();
UnloadConfig:
    HlConfigUnload();
Fail:
    return Status;
}
