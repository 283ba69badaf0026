/*
 * lwfctl's rules file: one rule a line, compiled with libpcap and checked
 * with the driver's own validator, so that nothing the driver would refuse is
 * ever sent to it.
 *
 *   # comment
 *   default drop
 *   pass in  on "Ethernet 2" "tcp port 22"
 *   drop both on aa:bb:cc:dd:ee:ff "udp"
 *   drop out on ifindex:7 "icmp"
 */
#ifndef LWFCTL_RULES_PARSE_H
#define LWFCTL_RULES_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hotlwf/rules.h"

#define LWF_MAX_ERRORS 20u /* errors reported before the parser gives up on a file */

struct lwf_rules {
    struct hl_rule_spec *specs; /* count entries, file order; insns owned by this struct */
    unsigned *lines;            /* source line of each rule */
    size_t count;
    size_t cap;
    uint8_t default_action; /* HL_ACTION_PASS when the file has no default line */
    unsigned nerrors;
};

/*
 * Parses and compiles path. Every error goes to err as
 * "path:line:col: error: text", then the line and a caret. Returns 0 when the
 * file is clean, 1 when it had errors (out->nerrors of them), -1 when it could
 * not be read (one message on err). out must be released with lwf_rules_free
 * in every case.
 */
int lwf_rules_parse_file(const char *path, struct lwf_rules *out, FILE *err);
void lwf_rules_free(struct lwf_rules *r);

/*
 * A selector as written after "on" (or given to --adapter): a MAC address
 * (aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff), ifindex:N, or else an adapter
 * name. quoted forces the name reading. Returns 0, or -1 with why in msg.
 */
int lwf_selector_parse(const char *text, int quoted, struct hl_selector *out, char *msg,
                       size_t msg_len);

/* The selector back in rules-file form ("ifindex:7", "aa:..", "\"name\""). */
void lwf_selector_format(const struct hl_selector *sel, char *buf, size_t len);

const char *lwf_action_name(uint8_t action);
const char *lwf_direction_name(uint8_t direction);

#endif
