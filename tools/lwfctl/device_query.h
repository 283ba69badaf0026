/* The IOCTL exchanges of load/show/stats, over whichever transport is built in. */
#ifndef LWFCTL_DEVICE_QUERY_H
#define LWFCTL_DEVICE_QUERY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Runs a GET_CONFIG/GET_STATS style query, growing the buffer as the size
 * convention of ioctl.h says (the answer's first u32 is the size needed)
 * until the whole answer fits. Returns 0 with *buf (malloc'd) and *len, or
 * -1 after printing why on stderr as "lwfctl CMD: ...".
 */
int lwf_query(const char *cmd, const char *device, uint32_t code, size_t min_len, uint8_t **buf,
              size_t *len);

#endif
