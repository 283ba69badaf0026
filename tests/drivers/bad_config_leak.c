/*
 * bad_config_leak: a configuration handle that is never closed.
 *
 * The bug: FilterAttach opens the module's configuration to read an
 * optional "MaxFlows" value; when the value is absent it takes the default
 * and returns early, before NdisCloseConfiguration. The suite sets no such
 * value, so every attach leaks one handle.
 *
 * On Windows: SDV's NdisOpenConfigurationEx rule (every configuration
 * handle opened is closed before the driver is done); the registry key
 * handle and NDIS's storage for it leak.
 *
 * Expected finding: resource-leak naming this driver at DriverUnload (the
 * kind: configuration handles from NdisOpenConfigurationEx).
 */
#include "testlwf.h"

static VOID ClAttach(PTL_MODULE Module)
{
    NDIS_CONFIGURATION_OBJECT Object;
    NDIS_HANDLE Config;
    PNDIS_CONFIGURATION_PARAMETER Value;
    NDIS_STATUS Status;
    NDIS_STRING Name = NDIS_STRING_CONST("MaxFlows");

    NdisZeroMemory(&Object, sizeof(Object));
    Object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    Object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    Object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    Object.NdisHandle = Module->FilterHandle;
    if (NdisOpenConfigurationEx(&Object, &Config) != NDIS_STATUS_SUCCESS)
        return;
    NdisReadConfiguration(&Status, &Value, Config, &Name, NdisParameterInteger);
    if (Status != NDIS_STATUS_SUCCESS) {
        Module->Counter = 1024; /* the default */
        return;                 /* BUG: Config is never closed on this path */
    }
    Module->Counter = (LONG)Value->ParameterData.IntegerData;
    NdisCloseConfiguration(Config);
}

static VOID ClCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = ClAttach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_config_leak", ClCustomize, NULL, 0);
}
