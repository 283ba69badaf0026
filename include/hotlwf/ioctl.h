/*
 * hotlwf user/kernel ABI: IOCTL codes, the configuration blob and the
 * buffers each IOCTL reads and writes. docs/config-format.md describes the
 * same thing byte by byte; keep the two in step.
 *
 * Every multi-byte field is little-endian. The blob comes from user mode and
 * is never trusted: the kernel decodes it byte by byte (config_parse.c), so
 * the structs below document the layout and give encoders a shape; nobody
 * casts a user buffer to them. The answers (set-config result, stats) are
 * written by the driver for a caller on the same machine, so those structs
 * are used as is; their sizes are pinned by static assertions.
 */
#ifndef HOTLWF_IOCTL_H
#define HOTLWF_IOCTL_H

#include <stddef.h>
#include <stdint.h>
#include "hotlwf/bpf.h"
#include "hotlwf/rules.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Same arithmetic as the WDK's CTL_CODE, spelled out so that lwfctl on Linux
 * and ndisemu compute the codes the Windows driver sees.
 */
#define HL_CTL_CODE(devtype, function, method, access)                                             \
    (((uint32_t)(devtype) << 16) | ((uint32_t)(access) << 14) | ((uint32_t)(function) << 2) |      \
     (uint32_t)(method))

#define HL_FILE_DEVICE_NETWORK 0x12u
#define HL_METHOD_BUFFERED 0u
#define HL_FILE_READ_ACCESS 1u
#define HL_FILE_WRITE_ACCESS 2u

/* in: blob; out: struct hl_set_config_result. Write access: it changes what the filter does. */
#define HL_IOCTL_SET_CONFIG                                                                        \
    HL_CTL_CODE(HL_FILE_DEVICE_NETWORK, 0x800, HL_METHOD_BUFFERED, HL_FILE_WRITE_ACCESS)
/* in: nothing; out: the running blob, exactly as it was accepted. */
#define HL_IOCTL_GET_CONFIG                                                                        \
    HL_CTL_CODE(HL_FILE_DEVICE_NETWORK, 0x801, HL_METHOD_BUFFERED, HL_FILE_READ_ACCESS)
/* in: nothing; out: struct hl_stats_header + rules + adapters. */
#define HL_IOCTL_GET_STATS                                                                         \
    HL_CTL_CODE(HL_FILE_DEVICE_NETWORK, 0x802, HL_METHOD_BUFFERED, HL_FILE_READ_ACCESS)

/*
 * NTSTATUS values the conventions below rely on, for code that has no WDK
 * headers (lwfctl on Linux, ndisemu's device socket).
 */
#define HL_STATUS_SUCCESS 0x00000000u
#define HL_STATUS_BUFFER_OVERFLOW 0x80000005u  /* warning: output IS copied back */
#define HL_STATUS_BUFFER_TOO_SMALL 0xC0000023u /* error: output is NOT copied back */

/* ---- the configuration blob (SET_CONFIG input, GET_CONFIG output) ---- */

#define HL_BLOB_MAGIC 0x46434C48u /* "HLCF" read as a little-endian u32 */
#define HL_BLOB_VERSION 1u
#define HL_BLOB_MAX (16u * 1024u * 1024u) /* bounds the kernel copy and every derived size */
#define HL_BLOB_HEADER_SIZE 32u
#define HL_BLOB_RULE_HEADER_SIZE 16u
#define HL_BLOB_INSN_SIZE 8u
#define HL_BLOB_SEL_ALIGN 8u /* selector data is zero-padded so instructions start 8-aligned */

/* Offsets are from the start of the blob; total_size counts every byte. */
struct hl_blob_header {
    uint32_t magic;         /* 0: HL_BLOB_MAGIC */
    uint16_t version;       /* 4: HL_BLOB_VERSION */
    uint16_t header_size;   /* 6: HL_BLOB_HEADER_SIZE for version 1 */
    uint32_t total_size;    /* 8: whole blob, header included; must equal the buffer length */
    uint32_t rule_count;    /* 12: <= HL_MAX_RULES; 0 is valid (default action only) */
    uint8_t default_action; /* 16: enum hl_action */
    uint8_t reserved0;      /* 17: zero */
    uint16_t flags;         /* 18: none defined yet: zero */
    uint8_t reserved1[12];  /* 20: zero */
};

/*
 * Rules follow the header back to back, in first-match order. Each starts
 * with its own size so a reader can bound it before looking inside.
 */
struct hl_blob_rule {
    uint32_t rule_size;    /* 0: 16 + pad8(selector_len) + 8 * insn_count, exactly */
    uint8_t action;        /* 4: enum hl_action */
    uint8_t direction;     /* 5: enum hl_direction */
    uint8_t selector_kind; /* 6: enum hl_selector_kind */
    uint8_t selector_len;  /* 7: ALL 0, NAME 1..127 (no NUL), MAC 6, IFINDEX 4 (u32 LE) */
    uint32_t insn_count;   /* 8: 1..HL_BPF_MAXINSNS */
    uint32_t reserved;     /* 12: zero */
    /* 16: selector data, zero-padded to a multiple of 8, then insn_count instructions */
};

struct hl_blob_insn {
    uint16_t code; /* 0 */
    uint8_t jt;    /* 2 */
    uint8_t jf;    /* 3 */
    uint32_t k;    /* 4 */
};

/* ---- SET_CONFIG output ---- */

/*
 * The output buffer must hold at least HL_SET_CONFIG_RESULT_V1_SIZE (the
 * fields up to reason); if it does not, the driver fails the IRP with
 * STATUS_BUFFER_TOO_SMALL and applies nothing. The fields after reason were
 * added later, compatibly: the driver writes as much of the struct as the
 * buffer holds and says how much in IoStatus.Information, so a caller built
 * before them still gets its 280 bytes, and a caller reads them only when
 * Information covers them.
 *
 * Whenever the driver could write this result it completes the IRP with
 * STATUS_SUCCESS, including when it refused the configuration: on Windows an
 * error NTSTATUS means the I/O manager does not copy a METHOD_BUFFERED output
 * buffer back, and the caller would lose the reason. So: IRP status = could
 * the request be answered; status below = was the configuration applied.
 */
struct hl_set_config_result {
    int32_t status;      /* HL_OK (0) or a negative enum hl_status (config.h) */
    uint32_t reserved;   /* zero */
    uint64_t generation; /* the generation now running (the new one on success) */
    uint64_t grace_ns;   /* time spent waiting for the grace period before completing */
    char reason[256];    /* NUL-terminated, empty on success */
    /* 280: what compiling this blob cost, success or refusal (0 where not reached) */
    uint64_t compile_ns;     /* hl_config_compile, validation and rule index included */
    uint64_t snapshot_bytes; /* the snapshot's block (counters for every CPU included) */
    uint64_t index_bytes;    /* the rule index beside it */
    uint32_t rules_indexed;  /* rules the index keys on header values (docs/rules.md) */
    uint32_t index_fields;   /* header fields the index hashes */
};
#define HL_SET_CONFIG_RESULT_V1_SIZE 280u /* before compile_ns: the smallest buffer accepted */

/* ---- GET_STATS output ---- */

#define HL_STATS_VERSION 1u
#define HL_STATS_NAME_MAX 64u

/*
 * Size convention, shared by GET_STATS and GET_CONFIG: a caller may first ask
 * with a small buffer.
 * - Buffer smaller than the fixed header (HL_STATS_HEADER_V1_SIZE, or
 *   HL_BLOB_HEADER_SIZE for GET_CONFIG): STATUS_BUFFER_TOO_SMALL, nothing copied.
 * - Buffer at least that but smaller than the whole answer: only the header
 *   is written (as much of it as fits, for GET_STATS), the IRP completes with
 *   STATUS_BUFFER_OVERFLOW (a warning, so the header IS copied back; Win32
 *   reports ERROR_MORE_DATA) and IoStatus.Information = the bytes written.
 *   The first field of the stats header (total_size of the blob header for
 *   GET_CONFIG) is the size needed.
 * - Otherwise STATUS_SUCCESS and Information = the size written.
 * The configuration or the adapter list may change between two calls:
 * callers loop until the answer fits.
 */
struct hl_stats_header {
    uint32_t size_needed;      /* 0: bytes of the complete answer */
    uint32_t version;          /* 4: HL_STATS_VERSION */
    uint32_t header_size;      /* 8: sizeof(struct hl_stats_header) */
    uint32_t rule_count;       /* 12: entries in the rule array */
    uint32_t adapter_count;    /* 16: entries in the adapter array */
    uint32_t reserved;         /* 20: zero */
    uint64_t generation;       /* 24: configuration generation these counters belong to */
    uint64_t reconfig_count;   /* 32: successful SET_CONFIGs since load */
    uint64_t last_reconfig_ns; /* 40: latency of the last SET_CONFIG, grace period included */
    uint64_t default_in;       /* 48: packets decided by the default action, receive path */
    uint64_t default_out;      /* 56: same, send path */
    /*
     * Added after version 1's 64 bytes, compatibly: header_size says where
     * the arrays start, so an older reader skips these, and a reader reads
     * them only when header_size covers them. The running configuration:
     */
    uint64_t compile_ns;     /* 64: its hl_config_compile time (0: loaded with the driver) */
    uint64_t snapshot_bytes; /* 72: its snapshot's block, counters for every CPU included */
    uint64_t index_bytes;    /* 80: its rule index */
    uint32_t rules_indexed;  /* 88: rules the index keys on header values */
    uint32_t index_fields;   /* 92: header fields the index hashes */
    /* header_size: struct hl_stats_rule[rule_count], then struct hl_stats_adapter[adapter_count] */
};
#define HL_STATS_HEADER_V1_SIZE 64u /* before compile_ns: the smallest buffer accepted */

/* Rule i (0-based here, rule i+1 in reasons and lwfctl's output). */
struct hl_stats_rule {
    uint64_t hits_in;
    uint64_t hits_out;
};

struct hl_stats_adapter {
    uint32_t ifindex;
    uint8_t mac[6];
    uint8_t reserved[2];          /* zero */
    char name[HL_STATS_NAME_MAX]; /* NUL-terminated, truncated if longer */
    uint64_t rx_seen;
    uint64_t rx_dropped;
    uint64_t tx_seen;
    uint64_t tx_dropped;
};

#if defined(__cplusplus)
static_assert(sizeof(struct hl_set_config_result) == 312, "ABI");
static_assert(sizeof(struct hl_stats_header) == 96, "ABI");
static_assert(sizeof(struct hl_stats_rule) == 16, "ABI");
static_assert(sizeof(struct hl_stats_adapter) == 112, "ABI");
#else
_Static_assert(sizeof(struct hl_blob_header) == HL_BLOB_HEADER_SIZE, "ABI");
_Static_assert(sizeof(struct hl_blob_rule) == HL_BLOB_RULE_HEADER_SIZE, "ABI");
_Static_assert(sizeof(struct hl_blob_insn) == HL_BLOB_INSN_SIZE, "ABI");
_Static_assert(sizeof(struct hl_set_config_result) == 312, "ABI");
_Static_assert(offsetof(struct hl_set_config_result, compile_ns) == HL_SET_CONFIG_RESULT_V1_SIZE,
               "ABI");
_Static_assert(sizeof(struct hl_stats_header) == 96, "ABI");
_Static_assert(offsetof(struct hl_stats_header, compile_ns) == HL_STATS_HEADER_V1_SIZE, "ABI");
_Static_assert(sizeof(struct hl_stats_rule) == 16, "ABI");
_Static_assert(sizeof(struct hl_stats_adapter) == 112, "ABI");
#endif

#ifdef __cplusplus
}
#endif
#endif
