#include "bpf_testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

char **tl_read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    char **lines = NULL;
    size_t n = 0, cap = 0;
    char buf[1024];
    while (fgets(buf, sizeof buf, f) != NULL) {
        size_t len = strcspn(buf, "\r\n");
        buf[len] = '\0';
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            lines = realloc(lines, cap * sizeof *lines);
            if (lines == NULL)
                exit(2);
        }
        lines[n++] = strdup(p);
    }
    fclose(f);
    *count = n;
    return lines;
}

bool tl_compile(const char *expr, int optimize, struct bpf_program *prog, char *err, size_t err_len)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
    if (p == NULL) {
        snprintf(err, err_len, "pcap_open_dead failed");
        return false;
    }
    bool ok = pcap_compile(p, prog, expr, optimize, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok)
        snprintf(err, err_len, "%s", pcap_geterr(p));
    pcap_close(p);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tl_list_dir(const char *dir, const char *suffix, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        exit(2);
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        if (names == NULL)
            exit(2);
        names[n] = xmalloc(strlen(dir) + l + 2);
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    *count = n;
    return names;
}

void tl_load_captures(const char *dir, struct tl_capture *cap)
{
    size_t nfiles;
    char **files;
    size_t dl = strlen(dir);
    if (dl > 5 && strcmp(dir + dl - 5, ".pcap") == 0) {
        /* One capture file rather than a folder of them. */
        files = malloc(sizeof *files);
        if (files == NULL)
            exit(2);
        files[0] = strdup(dir);
        nfiles = 1;
    } else {
        files = tl_list_dir(dir, ".pcap", &nfiles);
    }
    size_t room = 0;
    cap->pkts = NULL;
    cap->count = 0;
    for (size_t i = 0; i < nfiles; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(files[i], err);
        if (p == NULL) {
            fprintf(stderr, "%s: %s\n", files[i], err);
            exit(2);
        }
        if (pcap_datalink(p) != DLT_EN10MB) {
            fprintf(stderr, "%s: link type %d, want EN10MB\n", files[i], pcap_datalink(p));
            exit(2);
        }
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc;
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            if (cap->count == room) {
                room = room ? 2 * room : 1024;
                cap->pkts = realloc(cap->pkts, room * sizeof *cap->pkts);
                if (cap->pkts == NULL)
                    exit(2);
            }
            struct tl_packet *pk = &cap->pkts[cap->count++];
            pk->data = xmalloc(h->caplen);
            memcpy(pk->data, data, h->caplen);
            pk->caplen = h->caplen;
            pk->wirelen = h->len;
        }
        pcap_close(p);
        free(files[i]);
    }
    free(files);
    if (cap->count == 0) {
        fprintf(stderr, "%s: no packets in any capture\n", dir);
        exit(2);
    }
}

void tl_segs_make(struct tl_segs *s, const uint8_t *pkt, uint32_t caplen, const size_t *lens,
                  size_t nlens)
{
    size_t off = 0;
    s->n = 0;
    for (size_t i = 0; i <= nlens && s->n < TL_MAX_SEGS; i++) {
        size_t len = caplen - off;
        if (i < nlens && s->n + 1 < TL_MAX_SEGS && lens[i] < len)
            len = lens[i];
        uint8_t *copy = NULL;
        if (len > 0) {
            copy = xmalloc(len);
            memcpy(copy, pkt + off, len);
        }
        s->seg[s->n].data = copy;
        s->seg[s->n].len = len;
        s->n++;
        off += len;
    }
}

void tl_segs_free(struct tl_segs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free((void *)s->seg[i].data);
    s->n = 0;
}

void tl_free_strv(char **v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(v[i]);
    free(v);
}

void tl_free_capture(struct tl_capture *cap)
{
    for (size_t i = 0; i < cap->count; i++)
        free(cap->pkts[i].data);
    free(cap->pkts);
    cap->pkts = NULL;
    cap->count = 0;
}

void tl_dump(const struct hl_bpf_insn *insns, size_t count)
{
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "  (%03zu) code 0x%04x jt %3u jf %3u k 0x%08x\n", i, insns[i].code,
                insns[i].jt, insns[i].jf, insns[i].k);
}

uint64_t tl_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* The tests cast pcap_compile() output to hl_bpf_insn: the layouts must match. */
#include <stddef.h>
_Static_assert(sizeof(struct hl_bpf_insn) == sizeof(struct bpf_insn), "insn size");
_Static_assert(offsetof(struct hl_bpf_insn, code) == offsetof(struct bpf_insn, code), "code");
_Static_assert(offsetof(struct hl_bpf_insn, jt) == offsetof(struct bpf_insn, jt), "jt");
_Static_assert(offsetof(struct hl_bpf_insn, jf) == offsetof(struct bpf_insn, jf), "jf");
_Static_assert(offsetof(struct hl_bpf_insn, k) == offsetof(struct bpf_insn, k), "k");
