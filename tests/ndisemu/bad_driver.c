/* Deliberately imports puts() from libc, which no kernel exports: the
   driver-import check must refuse it (the check's own negative test). */
#include <ndis.h>
#include <stdio.h>

DRIVER_INITIALIZE DriverEntry;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    puts("a driver cannot print");
    return STATUS_SUCCESS;
}
