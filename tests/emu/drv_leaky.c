/*
 * A test driver that leaks pool at unload (tag 'kaeL': 2 blocks, 48 bytes)
 * and frees its other allocations properly: test_ke_pool expects exactly one
 * pool-leak finding naming it. Built like any ndisemu driver.
 */
#include <wdm.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LeakyUnload;

static PVOID g_kept;

static VOID LeakyUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    ExFreePoolWithTag(g_kept, 'peeK');
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    static const UNICODE_STRING expect =
        RTL_CONSTANT_STRING(L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\drv_leaky");
    PVOID a, b;
    if (!RtlEqualUnicodeString(RegistryPath, &expect, TRUE))
        return STATUS_OBJECT_NAME_INVALID;
    a = ExAllocatePoolWithTag(NonPagedPoolNx, 16, 'kaeL');
    b = ExAllocatePool2(POOL_FLAG_NON_PAGED, 32, 'kaeL');
    g_kept = ExAllocatePoolZero(NonPagedPoolNx, 100, 'peeK');
    if (a == NULL || b == NULL || g_kept == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    DbgPrint("drv_leaky: loaded as %wZ, %lu CPUs\n", &DriverObject->DriverName,
             KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS));
    DriverObject->DriverUnload = LeakyUnload;
    return STATUS_SUCCESS;
}
