/*
 * Rules files as test data. Each file states what parsing it must give:
 *
 *   # expect: L:C: TEXT        (bad files) an error "FILE:L:C: error: TEXT..." must
 *                              be reported; the file must give exactly as many
 *                              errors as it has expect lines (all are collected)
 *   # expect-default: pass|drop
 *   # expect-rule: ACTION DIRECTION SELECTOR NINSNS-OR-*
 *                              (good files) one per rule, in order
 *
 * usage: rules_file_test FILE...  (exit 0 when every file behaves as stated)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_parse.h"

static int check_bad(const char *path, const char *errors, unsigned nerrors, FILE *f)
{
    char line[1024], want[1200];
    unsigned nexpect = 0;
    int fail = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "# expect: ", 10) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        const char *colon2 = strchr(strchr(line + 10, ':') + 1, ':');
        snprintf(want, sizeof(want), "%s:%.*s: error:%s", path, (int)(colon2 - (line + 10)),
                 line + 10, colon2 + 1);
        nexpect++;
        if (strstr(errors, want) == NULL) {
            fprintf(stderr, "FAIL %s: expected an error starting '%s'\n", path, want);
            fail = 1;
        }
    }
    if (nexpect == 0) {
        fprintf(stderr, "FAIL %s: no '# expect:' line in a bad file\n", path);
        fail = 1;
    } else if (nerrors != nexpect) {
        fprintf(stderr, "FAIL %s: %u errors reported, %u expected\n", path, nerrors, nexpect);
        fail = 1;
    }
    return fail;
}

static int check_good(const char *path, const struct lwf_rules *r, FILE *f)
{
    char line[1024], got[512], sel[2 * HL_SEL_NAME_MAX + 4];
    size_t i = 0;
    int fail = 0, saw_default = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "# expect-default: ", 18) == 0) {
            saw_default = 1;
            if (strcmp(line + 18, lwf_action_name(r->default_action)) != 0) {
                fprintf(stderr, "FAIL %s: default %s, expected %s\n", path,
                        lwf_action_name(r->default_action), line + 18);
                fail = 1;
            }
            continue;
        }
        if (strncmp(line, "# expect-rule: ", 15) != 0)
            continue;
        if (i >= r->count) {
            fprintf(stderr, "FAIL %s: only %zu rules parsed, more expected\n", path, r->count);
            return 1;
        }
        const struct hl_rule_spec *s = &r->specs[i++];
        lwf_selector_format(&s->selector, sel, sizeof(sel));
        const char *want = line + 15;
        /* "*" for the instruction count: libpcap versions differ in what they emit. */
        size_t wl = strlen(want);
        int any = wl >= 2 && strcmp(want + wl - 2, " *") == 0;
        if (any)
            snprintf(got, sizeof(got), "%s %s %s *", lwf_action_name(s->action),
                     lwf_direction_name(s->direction), sel);
        else
            snprintf(got, sizeof(got), "%s %s %s %u", lwf_action_name(s->action),
                     lwf_direction_name(s->direction), sel, (unsigned)s->ninsns);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "FAIL %s: rule %zu is '%s', expected '%s'\n", path, i, got, want);
            fail = 1;
        }
    }
    if (i != r->count) {
        fprintf(stderr, "FAIL %s: %zu rules parsed, %zu expected\n", path, r->count, i);
        fail = 1;
    }
    if (!saw_default) {
        fprintf(stderr, "FAIL %s: no '# expect-default:' line in a good file\n", path);
        fail = 1;
    }
    return fail;
}

int main(int argc, char **argv)
{
    int failures = 0;

    for (int a = 1; a < argc; a++) {
        char *errors = NULL;
        size_t errlen = 0;
        struct lwf_rules r;
        FILE *mem = open_memstream(&errors, &errlen);
        FILE *f = fopen(argv[a], "r");
        if (mem == NULL || f == NULL) {
            fprintf(stderr, "FAIL %s: cannot open\n", argv[a]);
            return 1;
        }
        int rc = lwf_rules_parse_file(argv[a], &r, mem);
        fclose(mem);
        int bad = strstr(argv[a], "/bad/") != NULL;
        int fail;
        if (bad)
            fail = rc != 1 || check_bad(argv[a], errors, r.nerrors, f);
        else
            fail = rc != 0 || check_good(argv[a], &r, f);
        if (fail)
            fprintf(stderr, "FAIL %s (parse returned %d); messages:\n%s", argv[a], rc, errors);
        else
            printf("ok %s\n", argv[a]);
        failures += fail;
        fclose(f);
        free(errors);
        lwf_rules_free(&r);
    }
    return failures ? 1 : 0;
}
