/*
 * NdisOpenConfigurationEx / NdisReadConfiguration over ndisemu's "registry":
 * the --param NAME=VALUE list of the driver the handle belongs to (a filter
 * driver handle or one of its module handles). Values returned stay valid
 * until NdisCloseConfiguration, as in the WDK.
 *
 * NdisWriteConfiguration stores into the same list, keyed by driver name,
 * so a value a driver writes survives emu_driver_reload: the list is the
 * process's, not the driver image's, as the registry outlives a driver
 * stopped and started by the service manager. Binary values are kept as
 * lower-case hex text, so a --param can also supply one.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "resources.h"

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
    struct emu_res_acct *acct; /* resource-leak: a handle never closed */
};

static int hex_nibble(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool hex_decode(const char *hex, UCHAR *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (UCHAR)(hi << 4 | lo);
    }
    return true;
}

/* The keyword as ASCII, whole (registry value names have no short limit): free() it. */
static char *keyword_of(PNDIS_STRING keyword)
{
    size_t n = keyword->Length / sizeof(WCHAR) + 1;
    char *name = malloc(n);
    if (name != NULL)
        emu_ndis_string_to_ascii(keyword, name, n);
    return name;
}

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
    /* SDV's NdisOpenConfigurationEx rule: every handle opened is closed.
       The handle is charged to the driver whose code opened it and released
       by NdisCloseConfiguration, so one never closed is a resource-leak at
       unload (the filter's analogue of "open when MiniportHaltEx exits"). */
    c->acct = emu_res_account(EMU_RES_CONFIG, 0, __builtin_return_address(0));
    emu_res_charge(c->acct, c);
    *ConfigurationHandle = c;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisReadConfiguration(PNDIS_STATUS Status, PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                           NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                           NDIS_PARAMETER_TYPE ParameterType)
{
    struct cfg *c = ConfigurationHandle;
    *Status = NDIS_STATUS_FAILURE;
    *ParameterValue = NULL;
    emu_irql_require("NdisReadConfiguration", PASSIVE_LEVEL);
    if (c == NULL || c->magic != CFG_MAGIC || Keyword == NULL)
        return;
    char *name = keyword_of(Keyword);
    if (name == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    const char *v = emu_param_get(c->driver, name);
    free(name);
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
    } else if (ParameterType == NdisParameterBinary) {
        /* The hex text decodes into the room reserved for the text: len / 2 bytes fit. */
        UCHAR *bytes = (UCHAR *)cv->text;
        size_t n = len / 2;
        if ((len & 1) != 0 || n > 0xffff || !hex_decode(v, bytes, n)) {
            free(cv);
            return;
        }
        cv->param.ParameterType = NdisParameterBinary;
        cv->param.ParameterData.BinaryData.Length = (USHORT)n;
        cv->param.ParameterData.BinaryData.Buffer = bytes;
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

VOID NdisWriteConfiguration(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                            PNDIS_STRING Keyword, PNDIS_CONFIGURATION_PARAMETER ParameterValue)
{
    static const char digits[] = "0123456789abcdef";
    struct cfg *c = ConfigurationHandle;
    char *name, *text;

    *Status = NDIS_STATUS_FAILURE;
    emu_irql_require("NdisWriteConfiguration", PASSIVE_LEVEL);
    if (c == NULL || c->magic != CFG_MAGIC || Keyword == NULL || ParameterValue == NULL)
        return;
    switch (ParameterValue->ParameterType) {
    case NdisParameterInteger:
    case NdisParameterHexInteger:
        text = malloc(16);
        if (text != NULL)
            snprintf(text, 16,
                     ParameterValue->ParameterType == NdisParameterHexInteger ? "%lx" : "%lu",
                     (unsigned long)ParameterValue->ParameterData.IntegerData);
        break;
    case NdisParameterString:
    case NdisParameterMultiString: {
        size_t n = ParameterValue->ParameterData.StringData.Length / sizeof(WCHAR) + 1;
        text = malloc(n);
        if (text != NULL)
            emu_ndis_string_to_ascii(&ParameterValue->ParameterData.StringData, text, n);
        break;
    }
    case NdisParameterBinary: {
        const UCHAR *bytes = ParameterValue->ParameterData.BinaryData.Buffer;
        size_t n = ParameterValue->ParameterData.BinaryData.Length;
        if (bytes == NULL && n != 0)
            return;
        text = malloc(2 * n + 1);
        if (text != NULL) {
            for (size_t i = 0; i < n; i++) {
                text[2 * i] = digits[bytes[i] >> 4];
                text[2 * i + 1] = digits[bytes[i] & 15];
            }
            text[2 * n] = '\0';
        }
        break;
    }
    default:
        *Status = NDIS_STATUS_NOT_SUPPORTED;
        return;
    }
    name = text != NULL ? keyword_of(Keyword) : NULL;
    *Status = name != NULL && emu_param_set(c->driver, name, text) ? NDIS_STATUS_SUCCESS
                                                                    : NDIS_STATUS_RESOURCES;
    free(name);
    free(text);
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
    emu_res_release(c->acct);
    free(c);
}
