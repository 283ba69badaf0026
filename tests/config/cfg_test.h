/*
 * Shared by the tests/config programs: a check macro that names what failed,
 * a counting allocator that can refuse large requests, and the sample rules
 * and packets the tests build blobs and classify with.
 */
#ifndef HOTLWF_TESTS_CFG_TEST_H
#define HOTLWF_TESTS_CFG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hotlwf/config.h"

static int cfg_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            cfg_failures++;                                                                        \
        }                                                                                          \
    } while (0)

static inline int cfg_finish(const char *name)
{
    if (cfg_failures != 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, cfg_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

/* Counts live blocks and refuses any request over limit, to prove sizes are bounded. */
struct counting_alloc {
    size_t limit;
    size_t largest; /* largest request seen, granted or not */
    long live;
    long calls;
};

static inline void *counting_alloc_fn(void *ctx, size_t size)
{
    struct counting_alloc *c = ctx;
    void *p;

    c->calls++;
    if (size > c->largest)
        c->largest = size;
    if (size > c->limit)
        return NULL;
    p = malloc(size);
    if (p != NULL)
        c->live++;
    return p;
}

static inline void counting_free_fn(void *ctx, void *p)
{
    struct counting_alloc *c = ctx;

    if (p != NULL)
        c->live--;
    free(p);
}

static inline struct hl_alloc counting_hl_alloc(struct counting_alloc *c, size_t limit)
{
    struct hl_alloc a = {counting_alloc_fn, counting_free_fn, c};

    memset(c, 0, sizeof(*c));
    c->limit = limit;
    return a;
}

/* Classic BPF, as pcap_compile would emit it. */
#define OP_LDH_ABS 0x28
#define OP_LDB_ABS 0x30
#define OP_JEQ_K 0x15
#define OP_RET_K 0x06
#define OP_LD_IMM 0x00

/* "ip proto <proto>" over Ethernet. */
#define PROG_IP_PROTO(proto)                                                                       \
    {                                                                                              \
        {OP_LDH_ABS, 0, 0, 12}, {OP_JEQ_K, 0, 3, 0x0800}, {OP_LDB_ABS, 0, 0, 23},                  \
            {OP_JEQ_K, 0, 1, (proto)}, {OP_RET_K, 0, 0, 0xffff}, {OP_RET_K, 0, 0, 0},              \
    }

static const struct hl_bpf_insn prog_tcp[6] = PROG_IP_PROTO(6);
static const struct hl_bpf_insn prog_udp[6] = PROG_IP_PROTO(17);
static const struct hl_bpf_insn prog_all[1] = {{OP_RET_K, 0, 0, 0xffff}};

/*
 * The "multi" configuration that cases.txt patches. Offsets: header 0,
 * rule 1 at 32 (name "eth0", 6 insns at 56), rule 2 at 104 (MAC, insns at
 * 128), rule 3 at 136 (ifindex 7, insns at 160), rule 4 at 208 (all, insn at
 * 224); 232 bytes in all; default action pass.
 */
static inline uint32_t multi_rules(struct hl_rule_spec r[4])
{
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};

    memset(r, 0, 4 * sizeof(r[0]));
    r[0].action = HL_ACTION_DROP;
    r[0].direction = HL_DIR_IN;
    r[0].selector.kind = HL_SEL_NAME;
    strcpy(r[0].selector.name, "eth0");
    r[0].insns = prog_tcp;
    r[0].ninsns = 6;
    r[1].action = HL_ACTION_PASS;
    r[1].direction = HL_DIR_OUT;
    r[1].selector.kind = HL_SEL_MAC;
    memcpy(r[1].selector.mac, mac, 6);
    r[1].insns = prog_all;
    r[1].ninsns = 1;
    r[2].action = HL_ACTION_DROP;
    r[2].direction = HL_DIR_BOTH;
    r[2].selector.kind = HL_SEL_IFINDEX;
    r[2].selector.ifindex = 7;
    r[2].insns = prog_udp;
    r[2].ninsns = 6;
    r[3].action = HL_ACTION_PASS;
    r[3].direction = HL_DIR_BOTH;
    r[3].selector.kind = HL_SEL_ALL;
    r[3].insns = prog_all;
    r[3].ninsns = 1;
    return 4;
}

#define MULTI_LEN 232u

/* Encodes "multi" into buf[MULTI_LEN]; returns the length or 0 (after a CHECK) on failure. */
static inline size_t multi_blob(uint8_t *buf)
{
    struct hl_rule_spec r[4];
    size_t len = 0;
    int rc;

    rc = hl_blob_encode(r, multi_rules(r), HL_ACTION_PASS, buf, MULTI_LEN, &len);
    CHECK(rc == HL_OK && len == MULTI_LEN, "encode multi: %s, len %zu", hl_status_name(rc), len);
    return rc == HL_OK ? len : 0;
}

/* A 60-byte Ethernet + IPv4 frame with the given protocol; ethertype 0x0806 when proto is 0. */
static inline void make_packet(uint8_t pkt[60], uint8_t proto)
{
    memset(pkt, 0, 60);
    memset(pkt, 0xff, 6);
    pkt[6] = 0x02;
    pkt[11] = 0x01;
    if (proto == 0) {
        pkt[12] = 0x08;
        pkt[13] = 0x06;
        return;
    }
    pkt[12] = 0x08;
    pkt[13] = 0x00;
    pkt[14] = 0x45;
    pkt[23] = proto;
}

#endif
