/*
 * The configuration as a list of rules, before it is encoded as a blob.
 * lwfctl fills these from a rules file; hl_blob_* (config.h) encodes them.
 */
#ifndef HOTLWF_RULES_H
#define HOTLWF_RULES_H

#include <stdint.h>
#include "hotlwf/bpf.h"

#define HL_MAX_RULES 131072u /* rules in one configuration (docs/rules.md, "Limits") */
#define HL_SEL_NAME_MAX 128u /* bytes of an adapter name selector, NUL included */

enum hl_action { HL_ACTION_PASS = 0, HL_ACTION_DROP = 1 };

enum hl_direction { HL_DIR_IN = 1, HL_DIR_OUT = 2, HL_DIR_BOTH = 3 };

enum hl_selector_kind { HL_SEL_ALL = 0, HL_SEL_NAME = 1, HL_SEL_MAC = 2, HL_SEL_IFINDEX = 3 };

struct hl_selector {
    uint8_t kind;               /* enum hl_selector_kind */
    uint8_t mac[6];             /* HL_SEL_MAC */
    uint32_t ifindex;           /* HL_SEL_IFINDEX */
    char name[HL_SEL_NAME_MAX]; /* HL_SEL_NAME: UTF-8, compared case-insensitively (ASCII) */
};

struct hl_rule_spec {
    uint8_t action;    /* enum hl_action */
    uint8_t direction; /* enum hl_direction */
    struct hl_selector selector;
    const struct hl_bpf_insn *insns;
    uint32_t ninsns;
};

/* What a filter module knows of the adapter it is attached to. */
struct hl_adapter_id {
    char name[HL_SEL_NAME_MAX];  /* base miniport name, UTF-8 */
    char alias[HL_SEL_NAME_MAX]; /* friendly instance name, UTF-8 */
    uint8_t mac[6];
    uint32_t ifindex;
};

#endif
