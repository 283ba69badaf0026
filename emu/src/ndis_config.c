/*
 * NdisOpenConfigurationEx / NdisReadConfiguration over ndisemu's "registry":
 * the --param NAME=VALUE list of the driver the handle belongs to (a filter
 * driver handle or one of its module handles). Values returned stay valid
 * until NdisCloseConfiguration, as in the WDK.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define CFG_MAGIC 0x4e434647u /* 'NCFG' */

struct cfg_value {
    struct cfg_value *next;
    NDIS_CONFIGURATION_PARAMETER param;
    WCHAR text[];
};

struct cfg {
    uint32_t magic;
    char driver[64];
    struct cfg_value *values;
};

NDIS_STATUS NdisOpenConfigurationEx(PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                    PNDIS_HANDLE ConfigurationHandle)
{
    emu_irql_require("NdisOpenConfigurationEx", PASSIVE_LEVEL);
    if (ConfigObject == NULL || ConfigurationHandle == NULL ||
        ConfigObject->Header.Type != NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT ||
        ConfigObject->Header.Size < NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1)
        return NDIS_STATUS_INVALID_PARAMETER;
    const char *drv = emu_ndis_handle_driver_name(ConfigObject->NdisHandle);
    if (drv == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    struct cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NDIS_STATUS_RESOURCES;
    c->magic = CFG_MAGIC;
    snprintf(c->driver, sizeof(c->driver), "%s", drv);
    *ConfigurationHandle = c;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisReadConfiguration(PNDIS_STATUS Status, PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                           NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                           NDIS_PARAMETER_TYPE ParameterType)
{
    struct cfg *c = ConfigurationHandle;
    char name[128];
    *Status = NDIS_STATUS_FAILURE;
    *ParameterValue = NULL;
    emu_irql_require("NdisReadConfiguration", PASSIVE_LEVEL);
    if (c == NULL || c->magic != CFG_MAGIC || Keyword == NULL)
        return;
    emu_ndis_string_to_ascii(Keyword, name, sizeof(name));
    const char *v = emu_param_get(c->driver, name);
    if (v == NULL)
        return;
    size_t len = strlen(v);
    struct cfg_value *cv = calloc(1, sizeof(*cv) + (len + 1) * sizeof(WCHAR));
    if (cv == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    if (ParameterType == NdisParameterInteger || ParameterType == NdisParameterHexInteger) {
        char *end;
        unsigned long x = strtoul(v, &end, ParameterType == NdisParameterHexInteger ? 16 : 0);
        if (end == v || *end != 0) {
            free(cv);
            return;
        }
        cv->param.ParameterType = ParameterType;
        cv->param.ParameterData.IntegerData = (ULONG)x;
    } else if (ParameterType == NdisParameterString || ParameterType == NdisParameterMultiString) {
        cv->param.ParameterType = ParameterType;
        emu_ascii_to_ndis_string(v, cv->text, len + 1, &cv->param.ParameterData.StringData);
    } else {
        free(cv);
        *Status = NDIS_STATUS_NOT_SUPPORTED;
        return;
    }
    cv->next = c->values;
    c->values = cv;
    *ParameterValue = &cv->param;
    *Status = NDIS_STATUS_SUCCESS;
}

VOID NdisCloseConfiguration(NDIS_HANDLE ConfigurationHandle)
{
    struct cfg *c = ConfigurationHandle;
    if (c == NULL || c->magic != CFG_MAGIC)
        return;
    while (c->values != NULL) {
        struct cfg_value *n = c->values->next;
        free(c->values);
        c->values = n;
    }
    c->magic = 0;
    free(c);
}
