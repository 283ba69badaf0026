/*
 * NdisOpenConfigurationEx / NdisReadConfiguration / NdisWriteConfiguration
 * with long names and values: nothing is cut short. A keyword longer than
 * ndisemu's old 127-character buffer was truncated, so reading it returned
 * the value of another parameter, the one named by its first 127 characters.
 * A FriendlyName longer than ndisemu keeps is refused at registration
 * rather than registered shortened.
 */
#include "ndis_test_filter.h"

static struct tf_driver cfgd, longd;
static WCHAR long_friendly[200];

static void long_friendly_name(PNDIS_FILTER_DRIVER_CHARACTERISTICS ch)
{
    char name[200];
    memset(name, 'F', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    emu_ascii_to_ndis_string(name, long_friendly, sizeof(long_friendly) / sizeof(WCHAR),
                             &ch->FriendlyName);
}

static NDIS_STRING wide(const char *s, WCHAR *buf, size_t cap)
{
    NDIS_STRING out;
    emu_ascii_to_ndis_string(s, buf, cap, &out);
    return out;
}

int main(void)
{
    static char key[301], prefix[128], value[601];
    static WCHAR wkey[301], wkey2[305];
    NDIS_CONFIGURATION_OBJECT co;
    NDIS_HANDLE cfg = NULL;
    PNDIS_CONFIGURATION_PARAMETER p = NULL;
    NDIS_STATUS st;

    emu_kernel_init(2);
    CHECK(tf_register(&cfgd, "cfgt") == NDIS_STATUS_SUCCESS);
    memset(key, 'K', sizeof(key) - 1);
    memcpy(prefix, key, sizeof(prefix) - 1);
    for (size_t i = 0; i < sizeof(value) - 1; i++)
        value[i] = "abcdefghijklmnop"[i % 16];
    CHECK(emu_param_set("cfgt", key, value));
    CHECK(emu_param_set("cfgt", prefix, "the other parameter"));

    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    co.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    co.NdisHandle = cfgd.handle;
    CHECK(NdisOpenConfigurationEx(&co, &cfg) == NDIS_STATUS_SUCCESS);

    NDIS_STRING k = wide(key, wkey, sizeof(wkey) / sizeof(wkey[0]));
    NdisReadConfiguration(&st, &p, cfg, &k, NdisParameterString);
    CHECK(st == NDIS_STATUS_SUCCESS && p != NULL);
    if (st == NDIS_STATUS_SUCCESS && p != NULL) {
        char got[700];
        CHECK(emu_ndis_string_to_ascii(&p->ParameterData.StringData, got, sizeof(got)));
        CHECK(strcmp(got, value) == 0);
        if (strcmp(got, value) != 0)
            fprintf(stderr, "read back '%.40s...' (%zu bytes)\n", got, strlen(got));
    }

    /* Written under a long keyword, read back under the same one. */
    char key2[305];
    snprintf(key2, sizeof(key2), "%sW", key);
    NDIS_STRING k2 = wide(key2, wkey2, sizeof(wkey2) / sizeof(wkey2[0]));
    NDIS_CONFIGURATION_PARAMETER w;
    memset(&w, 0, sizeof(w));
    w.ParameterType = NdisParameterInteger;
    w.ParameterData.IntegerData = 4242;
    NdisWriteConfiguration(&st, cfg, &k2, &w);
    CHECK(st == NDIS_STATUS_SUCCESS);
    const char *stored = emu_param_get("cfgt", key2);
    CHECK(stored != NULL && strcmp(stored, "4242") == 0);
    CHECK(emu_param_get("cfgt", prefix) != NULL &&
          strcmp(emu_param_get("cfgt", prefix), "the other parameter") == 0);

    NdisCloseConfiguration(cfg);
    NdisFDeregisterFilterDriver(cfgd.handle);

    tf_customize = long_friendly_name;
    CHECK(tf_register(&longd, "longname") != NDIS_STATUS_SUCCESS);
    tf_customize = NULL;
    if (longd.handle != NULL)
        NdisFDeregisterFilterDriver(longd.handle);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_config_test: %d failure(s)\n", t_failures);
    return t_failures ? 1 : 0;
}
