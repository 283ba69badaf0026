/*
 * Nothing the command line gives ndisemu is cut short: a --param value of
 * any length reaches the driver's NdisReadConfiguration whole (it was
 * silently truncated at 511 bytes), nor is a long parameter name. Too-long
 * churn and fault specs are refused rather than shortened
 * (tests/ndisemu/cli_usage.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "session.h"

#include "check.h"

/* name=value with value n bytes of a repeating pattern; returns the value's start. */
static char *param(const char *name, size_t n, const char **value)
{
    size_t k = strlen(name);
    char *p = malloc(k + 1 + n + 1);
    memcpy(p, name, k);
    p[k] = '=';
    for (size_t i = 0; i < n; i++)
        p[k + 1 + i] = "0123456789abcdef"[i % 16];
    p[k + 1 + n] = '\0';
    *value = p + k + 1;
    return p;
}

int main(void)
{
    struct emu_session_config cfg;
    const char *v_long, *v_huge, *v_name;
    char err[256];
    char key[301];

    memset(key, 'K', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    char *p_long = param("drv:LongValue", 600, &v_long);
    char *p_huge = param("HugeValue", 100000, &v_huge);
    char *p_name = malloc(strlen(key) + 8);
    sprintf(p_name, "%s=named", key);
    v_name = "named";

    emu_session_config_init(&cfg);
    cfg.stack = "";
    cfg.cpus = 2;
    cfg.params[cfg.nparams++] = p_long;
    cfg.params[cfg.nparams++] = p_huge;
    cfg.params[cfg.nparams++] = p_name;
    struct emu_session *s = emu_session_create(&cfg, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL) {
        fprintf(stderr, "session: %s\n", err);
        return 1;
    }
    const char *got = emu_param_get("drv", "LongValue");
    CHECK(got != NULL && strcmp(got, v_long) == 0);
    if (got != NULL && strcmp(got, v_long) != 0)
        fprintf(stderr, "LongValue came back %zu bytes long, not 600\n", strlen(got));
    got = emu_param_get("other", "HugeValue");
    CHECK(got != NULL && strcmp(got, v_huge) == 0);
    got = emu_param_get(NULL, key);
    CHECK(got != NULL && strcmp(got, v_name) == 0);
    emu_session_destroy(s);
    free(p_long);
    free(p_huge);
    free(p_name);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("params: ok\n");
    return failures != 0;
}
