/*
 * Helpers shared by the BPF tests: libpcap compilation, captures, segment
 * splitting and a deterministic PRNG, so every test reproduces bit for bit.
 */
#ifndef HL_BPF_TESTLIB_H
#define HL_BPF_TESTLIB_H

#include <hotlwf/bpf.h>

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tl_packet {
    uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
};

struct tl_capture {
    struct tl_packet *pkts;
    size_t count;
};

/* Lines of a file, blank lines and '#' comments dropped. Exits on error. */
char **tl_read_lines(const char *path, size_t *count);

/* pcap_compile for DLT_EN10MB; false (and a message in err) when libpcap refuses. */
bool tl_compile(const char *expr, int optimize, struct bpf_program *prog, char *err,
                size_t err_len);

/* Every packet of dir if it is a .pcap file, else of every *.pcap in it (sorted). Exits on error.
 */
void tl_load_captures(const char *dir, struct tl_capture *cap);

/* Sorted names of the files in dir ending in suffix, as full paths. */
char **tl_list_dir(const char *dir, const char *suffix, size_t *count);

#define TL_MAX_SEGS 64

/*
 * A packet cut into segments. Every segment is copied into its own
 * exact-size heap block so that ASan sees any read past a segment's end;
 * empty segments get a NULL data pointer.
 */
struct tl_segs {
    struct hl_seg seg[TL_MAX_SEGS];
    size_t n;
};

/* Cuts pkt[0..caplen) at the given segment lengths; the last segment takes the rest. */
void tl_segs_make(struct tl_segs *s, const uint8_t *pkt, uint32_t caplen, const size_t *lens,
                  size_t nlens);
void tl_segs_free(struct tl_segs *s);

/* Frees what tl_read_lines / tl_list_dir and tl_load_captures returned. */
void tl_free_strv(char **v, size_t count);
void tl_free_capture(struct tl_capture *cap);

/* Prints a program, one instruction per line, to stderr. */
void tl_dump(const struct hl_bpf_insn *insns, size_t count);

/* xorshift64*: deterministic across platforms and libc versions. */
uint64_t tl_rand(uint64_t *state);

#endif
