/*
 * The validator must accept everything pcap_compile() emits: lwfctl compiles
 * user expressions with libpcap, so a refusal here is a rule users cannot
 * load. Each expression is compiled with the optimizer off and on, since the
 * two produce different shapes (unoptimized code has dead blocks and more
 * scratch traffic).
 */
#include "bpf_testlib.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s expressions.txt\n", argv[0]);
        return 2;
    }
    size_t n;
    char **exprs = tl_read_lines(argv[1], &n);
    int failures = 0, checked = 0;
    for (size_t i = 0; i < n; i++) {
        for (int opt = 0; opt <= 1; opt++) {
            struct bpf_program prog;
            char err[PCAP_ERRBUF_SIZE + 64];
            if (!tl_compile(exprs[i], opt, &prog, err, sizeof err)) {
                fprintf(stderr, "FAIL: libpcap cannot compile \"%s\": %s\n", exprs[i], err);
                failures++;
                continue;
            }
            const struct hl_bpf_insn *insns = (const struct hl_bpf_insn *)prog.bf_insns;
            char reason[128];
            int rc = hl_bpf_validate(insns, prog.bf_len, reason, sizeof reason);
            if (rc != HL_BPF_OK) {
                fprintf(stderr, "FAIL: \"%s\" (optimize %d) refused, status %d: %s\n", exprs[i],
                        opt, rc, reason);
                tl_dump(insns, prog.bf_len);
                failures++;
            } else if (reason[0] != '\0') {
                fprintf(stderr, "FAIL: \"%s\": reason not empty on success: %s\n", exprs[i],
                        reason);
                failures++;
            }
            checked++;
            pcap_freecode(&prog);
        }
    }
    if (n < 60) {
        fprintf(stderr, "FAIL: only %zu expressions, want at least 60\n", n);
        failures++;
    }
    tl_free_strv(exprs, n);
    printf("%d programs from %zu expressions checked, %d failures\n", checked, n, failures);
    return failures ? 1 : 0;
}
