/*
 * Fuzz target: bytes -> classic BPF program + segmented packet. Whatever
 * hl_bpf_validate accepts must not crash hl_bpf_run or, decoded, hl_bpf_exec,
 * must not read outside the segments (ASan), and must give libpcap's
 * bpf_filter() verdict.
 *
 * Input layout (little-endian, short inputs are ignored):
 *   u8  n        instructions - 1, modulo 64
 *   n × {u16 code, u8 jt, u8 jf, u32 k}
 *   u8  m        number of segment lengths, modulo 8
 *   m × u8       segment lengths (the rest of the packet goes last)
 *   u8  extra    wire_len = captured length + extra
 *   ...          packet bytes (at most 2048)
 *
 * Built with -DHL_LIBFUZZER for libFuzzer; otherwise main() replays every
 * file of the directories given, which is how the saved corpus runs in ctest.
 */
#include <hotlwf/bpf.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INSNS 64
#define MAX_SEGS 8
#define MAX_PKT 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hl_bpf_insn prog[MAX_INSNS];
    size_t pos = 0;
    if (size < 1)
        return 0;
    size_t n = (size_t)(data[pos++] % MAX_INSNS) + 1;
    if (size - pos < n * 8 + 2)
        return 0;
    for (size_t i = 0; i < n; i++, pos += 8) {
        prog[i].code = (uint16_t)(data[pos] | data[pos + 1] << 8);
        prog[i].jt = data[pos + 2];
        prog[i].jf = data[pos + 3];
        prog[i].k = (uint32_t)data[pos + 4] | (uint32_t)data[pos + 5] << 8 |
                    (uint32_t)data[pos + 6] << 16 | (uint32_t)data[pos + 7] << 24;
    }
    size_t m = data[pos++] % MAX_SEGS;
    if (size - pos < m + 1)
        return 0;
    const uint8_t *lens = data + pos;
    pos += m;
    uint32_t extra = data[pos++];
    size_t caplen = size - pos;
    if (caplen > MAX_PKT)
        caplen = MAX_PKT;
    const uint8_t *pkt = data + pos;

    char reason[96];
    memset(reason, 0x55, sizeof reason);
    int rc = hl_bpf_validate(prog, n, reason, sizeof reason);
    if (memchr(reason, '\0', sizeof reason) == NULL) {
        fprintf(stderr, "reason not terminated\n");
        abort();
    }
    if (rc != HL_BPF_OK)
        return 0;

    /* Each segment in its own heap block, so ASan flags a read past any end. */
    struct hl_seg segs[MAX_SEGS + 1];
    size_t nsegs = 0, off = 0;
    for (size_t i = 0; i <= m; i++) {
        size_t len = i < m && lens[i] < caplen - off ? lens[i] : caplen - off;
        uint8_t *copy = NULL;
        if (len > 0) {
            copy = malloc(len);
            if (copy == NULL)
                abort();
            memcpy(copy, pkt + off, len);
        }
        segs[nsegs++] = (struct hl_seg){copy, len};
        off += len;
    }
    uint32_t wire = (uint32_t)caplen + extra;
    uint32_t got = hl_bpf_run(prog, n, segs, nsegs, wire);
    struct hl_bpf_op ops[MAX_INSNS];
    hl_bpf_decode(prog, n, ops);
    uint32_t fast = hl_bpf_exec(ops, segs, nsegs, wire);
    uint32_t want = bpf_filter((const struct bpf_insn *)prog, pkt, wire, (u_int)caplen);
    for (size_t i = 0; i < nsegs; i++)
        free((void *)segs[i].data);
    if (got != want || fast != want) {
        fprintf(stderr, "verdict mismatch: hl_bpf_run %u, hl_bpf_exec %u, bpf_filter %u\n", got,
                fast, want);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  (%03zu) 0x%04x %u %u 0x%08x\n", i, prog[i].code, prog[i].jt,
                    prog[i].jf, prog[i].k);
        abort();
    }
    return 0;
}

#ifndef HL_LIBFUZZER
#include <dirent.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    return 0;
}

int main(int argc, char **argv)
{
    size_t files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (d == NULL) {
            /* A single file given directly, as when replaying a crash. */
            if (replay_file(argv[a]) != 0)
                return 2;
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            if (replay_file(path) != 0) {
                closedir(d);
                return 2;
            }
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "FAIL: no corpus files replayed\n");
        return 1;
    }
    /* A mismatch aborts inside LLVMFuzzerTestOneInput; reaching here means all agreed. */
    printf("%zu corpus files replayed, all verdicts agree\n", files);
    return 0;
}
#endif
