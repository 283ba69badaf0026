/* The IOCTL exchanges of load/show/stats, over whichever transport is built in. */
#ifndef LWFCTL_DEVICE_QUERY_H
#define LWFCTL_DEVICE_QUERY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Runs a GET_CONFIG/GET_STATS style query, growing the buffer as the size
 * convention of ioctl.h says (the u32 at size_offset in the header is the
 * size needed: total_size for a blob, size_needed for stats) until the
 * whole answer fits; min_len is the header's size. Returns 0 with *buf (malloc'd) and *len, or
 * -1 after printing why on stderr as "lwfctl CMD: ...".
 */
int lwf_query(const char *cmd, const char *device, uint32_t code, size_t min_len,
              size_t size_offset, uint8_t **buf, size_t *len);

#endif
