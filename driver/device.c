/*
 * The control device lwfctl talks to (\\.\hotlwf). Created through NDIS
 * (NdisRegisterDeviceEx), not IoCreateDevice, so that NDIS owns its life
 * cycle next to the filter driver's.
 *
 * Access: SDDL_DEVOBJ_SYS_ALL_ADM_ALL, SYSTEM and Administrators only. The
 * device can replace the rules of every adapter on the machine: no other
 * principal may even open it (and the IOCTL codes also demand read or write
 * access, ioctl.h).
 *
 * Namespace opens: the I/O manager checks the device's security descriptor
 * only for an open of the device itself. An open of a name in its
 * namespace ("\\.\hotlwf\anything") is left to the driver unless the device
 * has FILE_DEVICE_SECURE_OPEN, which NdisRegisterDeviceEx gives no way to
 * set. hotlwf has no namespace, so its create dispatch refuses any open
 * with a non-empty FileObject->FileName: only the ACL-checked open of the
 * device succeeds (docs/security.md).
 */
#include "driver.h"
#include <wdmsec.h> /* after driver.h: the WDK's wdmsec.h does not include wdm.h */

static DRIVER_DISPATCH HlDeviceDispatch;

_Use_decl_annotations_ static NTSTATUS HlDeviceDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION IrpSp = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS Status;

    UNREFERENCED_PARAMETER(DeviceObject);

    Irp->IoStatus.Information = 0;
    switch (IrpSp->MajorFunction) {
    case IRP_MJ_CREATE:
        Status = IrpSp->FileObject != NULL && IrpSp->FileObject->FileName.Length != 0
                     ? STATUS_ACCESS_DENIED /* a namespace open: no ACL was checked */
                     : STATUS_SUCCESS;
        break;
    case IRP_MJ_CLEANUP:
    case IRP_MJ_CLOSE:
        Status = STATUS_SUCCESS;
        break;
    case IRP_MJ_DEVICE_CONTROL:
        /* Sets Irp->IoStatus.Information itself. */
        Status = HlIoctlDispatch(Irp, IrpSp);
        break;
    default:
        Status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }

    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

_Use_decl_annotations_ NTSTATUS HlDeviceDriverEntry(VOID)
{
    static PDRIVER_DISPATCH DispatchTable[IRP_MJ_MAXIMUM_FUNCTION + 1];
    NDIS_STRING DeviceName = RTL_CONSTANT_STRING(HL_DEVICE_NAME);
    NDIS_STRING SymbolicName = RTL_CONSTANT_STRING(HL_SYMBOLIC_NAME);
    NDIS_DEVICE_OBJECT_ATTRIBUTES Attributes;
    NDIS_STATUS Status;

    DispatchTable[IRP_MJ_CREATE] = HlDeviceDispatch;
    DispatchTable[IRP_MJ_CLEANUP] = HlDeviceDispatch;
    DispatchTable[IRP_MJ_CLOSE] = HlDeviceDispatch;
    DispatchTable[IRP_MJ_DEVICE_CONTROL] = HlDeviceDispatch;

    NdisZeroMemory(&Attributes, sizeof(Attributes));
    Attributes.Header.Type = NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES;
    Attributes.Header.Revision = NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    Attributes.Header.Size = NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    Attributes.DeviceName = &DeviceName;
    Attributes.SymbolicName = &SymbolicName;
    Attributes.MajorFunctions = DispatchTable;
    Attributes.ExtensionSize = 0;
    Attributes.DefaultSDDLString = &SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
    Attributes.DeviceClassGuid = NULL;

    Status = NdisRegisterDeviceEx(HlGlobal.FilterDriverHandle, &Attributes, &HlGlobal.DeviceObject,
                                  &HlGlobal.DeviceHandle);
    if (Status != NDIS_STATUS_SUCCESS) {
        HlGlobal.DeviceObject = NULL;
        HlGlobal.DeviceHandle = NULL;
        return Status;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID HlDeviceUnload(VOID)
{
    /* Returns once no handle is open and no IRP is in the dispatch routine. */
    NdisDeregisterDeviceEx(HlGlobal.DeviceHandle);
    HlGlobal.DeviceHandle = NULL;
    HlGlobal.DeviceObject = NULL;
}
