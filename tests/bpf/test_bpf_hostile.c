/*
 * Hostile programs, as data: each hostile/NAME.bpf file holds one program
 * the validator must refuse, the status it must return and the instruction
 * its reason must name:
 *
 *   # free text
 *   -- error E_JUMP_RANGE
 *   -- insn 3            (reason must contain "insn 3:"; omit for whole-program errors)
 *   -- count 5000        (optional: repeat the program's first line to this many instructions)
 *   code jt jf k         (one instruction per line, numbers in C syntax)
 *
 * Also checks that a refusal never overruns the reason buffer and that a NULL
 * or zero-length reason is tolerated.
 */
#include "bpf_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int status;
} statuses[] = {
    {"E_ARGS", HL_BPF_E_ARGS},
    {"E_LENGTH", HL_BPF_E_LENGTH},
    {"E_OPCODE", HL_BPF_E_OPCODE},
    {"E_RET_X", HL_BPF_E_RET_X},
    {"E_JUMP_RANGE", HL_BPF_E_JUMP_RANGE},
    {"E_NO_RET", HL_BPF_E_NO_RET},
    {"E_DIV_ZERO", HL_BPF_E_DIV_ZERO},
    {"E_SHIFT", HL_BPF_E_SHIFT},
    {"E_MEM_INDEX", HL_BPF_E_MEM_INDEX},
    {"E_MEM_UNINIT", HL_BPF_E_MEM_UNINIT},
};

#define MAX_INSNS (HL_BPF_MAXINSNS + 16)

struct hostile {
    int status;
    long insn; /* -1: no instruction to name */
    size_t count;
    struct hl_bpf_insn insns[MAX_INSNS];
};

static int parse(const char *path, struct hostile *h)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[256];
    bool have_status = false;
    size_t repeat_to = 0;
    h->insn = -1;
    h->count = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char word[64];
        unsigned long a, b, c, d;
        if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (sscanf(line, "-- error %63s", word) == 1) {
            for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
                if (strcmp(word, statuses[i].name) == 0) {
                    h->status = statuses[i].status;
                    have_status = true;
                }
            if (!have_status) {
                fprintf(stderr, "%s: unknown status %s\n", path, word);
                fclose(f);
                return -1;
            }
        } else if (sscanf(line, "-- insn %lu", &a) == 1) {
            h->insn = (long)a;
        } else if (sscanf(line, "-- count %lu", &a) == 1) {
            repeat_to = a;
        } else if (sscanf(line, "%li %li %li %li", (long *)&a, (long *)&b, (long *)&c,
                          (long *)&d) == 4 &&
                   h->count < MAX_INSNS) {
            h->insns[h->count++] =
                (struct hl_bpf_insn){(uint16_t)a, (uint8_t)b, (uint8_t)c, (uint32_t)d};
        } else {
            fprintf(stderr, "%s: cannot parse: %s", path, line);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    if (!have_status) {
        fprintf(stderr, "%s: no '-- error' line\n", path);
        return -1;
    }
    if (repeat_to > MAX_INSNS || (repeat_to > 0 && h->count == 0)) {
        fprintf(stderr, "%s: bad -- count\n", path);
        return -1;
    }
    /* Keep the file's last line last, so "-- count" can build an over-long program. */
    if (repeat_to > h->count) {
        struct hl_bpf_insn last = h->insns[h->count - 1];
        while (h->count < repeat_to)
            h->insns[h->count - 1] = h->insns[0], h->count++;
        h->insns[h->count - 1] = last;
    }
    return 0;
}

static int check(const char *path, const struct hostile *h)
{
    int failures = 0;
    const struct hl_bpf_insn *insns = h->status == HL_BPF_E_ARGS ? NULL : h->insns;
    char reason[160];
    memset(reason, 'X', sizeof reason);
    int rc = hl_bpf_validate(insns, h->count, reason, 100);
    if (rc != h->status) {
        fprintf(stderr, "FAIL %s: status %d, want %d (%s)\n", path, rc, h->status, reason);
        tl_dump(h->insns, h->count < 40 ? h->count : 40);
        return 1;
    }
    if (memchr(reason, '\0', 100) == NULL || reason[100] != 'X') {
        fprintf(stderr, "FAIL %s: reason not terminated inside its buffer\n", path);
        failures++;
    }
    if (h->insn >= 0) {
        char want[32];
        snprintf(want, sizeof want, "insn %ld:", h->insn);
        if (strstr(reason, want) != reason) {
            fprintf(stderr, "FAIL %s: reason \"%s\" does not start with \"%s\"\n", path, reason,
                    want);
            failures++;
        }
    } else if (reason[0] == '\0') {
        fprintf(stderr, "FAIL %s: empty reason\n", path);
        failures++;
    }
    /* Truncation and absent buffers must not change the verdict. */
    char tiny[6] = "ZZZZZ";
    if (hl_bpf_validate(insns, h->count, tiny, 4) != rc || tiny[3] != '\0' || tiny[4] != 'Z') {
        fprintf(stderr, "FAIL %s: 4-byte reason buffer mishandled\n", path);
        failures++;
    }
    if (hl_bpf_validate(insns, h->count, NULL, 100) != rc ||
        hl_bpf_validate(insns, h->count, tiny, 0) != rc || tiny[0] == '\0') {
        fprintf(stderr, "FAIL %s: NULL or empty reason buffer mishandled\n", path);
        failures++;
    }
    if (failures == 0)
        printf("ok   %s: %s\n", path, reason);
    return failures;
}

/* The limits themselves must pass: a refusal one step early is a bug too. */
static int check_boundaries(void)
{
    static struct hl_bpf_insn p[HL_BPF_MAXINSNS];
    int failures = 0;
    char reason[128];
    for (size_t i = 0; i < HL_BPF_MAXINSNS; i++)
        p[i] = (struct hl_bpf_insn){0x00, 0, 0, (uint32_t)i};
    /* A JA to the very last instruction, a JEQ whose both arms reach it, M[15]. */
    p[0] = (struct hl_bpf_insn){0x02, 0, 0, HL_BPF_MEMWORDS - 1};
    p[1] = (struct hl_bpf_insn){0x15, 0, 1, 0};
    p[2] = (struct hl_bpf_insn){0x05, 0, 0, HL_BPF_MAXINSNS - 4};
    p[3] = (struct hl_bpf_insn){0x60, 0, 0, HL_BPF_MEMWORDS - 1};
    p[4] = (struct hl_bpf_insn){0x64, 0, 0, 31};
    p[5] = (struct hl_bpf_insn){0x34, 0, 0, 1};
    p[HL_BPF_MAXINSNS - 2] = (struct hl_bpf_insn){0x15, 0, 0, 0};
    p[HL_BPF_MAXINSNS - 1] = (struct hl_bpf_insn){0x16, 0, 0, 0};
    int rc = hl_bpf_validate(p, HL_BPF_MAXINSNS, reason, sizeof reason);
    if (rc != HL_BPF_OK) {
        fprintf(stderr, "FAIL boundaries: %u-instruction program refused (%d): %s\n",
                HL_BPF_MAXINSNS, rc, reason);
        failures++;
    }
    struct hl_bpf_insn one = {0x06, 0, 0, 0};
    if (hl_bpf_validate(&one, 1, reason, sizeof reason) != HL_BPF_OK) {
        fprintf(stderr, "FAIL boundaries: single RET refused: %s\n", reason);
        failures++;
    }
    return failures;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s hostile-dir\n", argv[0]);
        return 2;
    }
    size_t n;
    char **files = tl_list_dir(argv[1], ".bpf", &n);
    static struct hostile h;
    int failures = check_boundaries();
    for (size_t i = 0; i < n; i++) {
        if (parse(files[i], &h) != 0)
            failures++;
        else
            failures += check(files[i], &h);
    }
    tl_free_strv(files, n);
    if (n < 20) {
        fprintf(stderr, "FAIL: only %zu hostile programs, want at least 20\n", n);
        failures++;
    }
    printf("%zu hostile programs, %d failures\n", n, failures);
    return failures ? 1 : 0;
}
