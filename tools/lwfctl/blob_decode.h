/*
 * Reading a configuration blob back into rules, for `lwfctl show`. The
 * driver only hands back blobs it accepted, but lwfctl still bounds every
 * field: it must not crash on a driver with a bug.
 */
#ifndef LWFCTL_BLOB_DECODE_H
#define LWFCTL_BLOB_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "rules_parse.h"

/* 0 and out filled (free with lwf_rules_free), or -1 with why in err. */
int lwf_blob_decode(const uint8_t *blob, size_t len, struct lwf_rules *out, char *err,
                    size_t err_len);

/* Writes insns, one per line, each prefixed with indent, in a readable assembler form. */
void lwf_bpf_print(FILE *f, const struct hl_bpf_insn *insns, uint32_t count, const char *indent);

#endif
