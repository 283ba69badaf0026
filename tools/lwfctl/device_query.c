#include "device_query.h"

#include <stdio.h>
#include <stdlib.h>

#include "hotlwf/ioctl.h"
#include "transport.h"

/* Far above any answer the driver can give (HL_BLOB_MAX, stats of HL_MAX_RULES rules). */
#define QUERY_MAX (64u << 20)
#define QUERY_FIRST (64u << 10)
/* The configuration can change between two calls; give up if it keeps doing so. */
#define QUERY_TRIES 8

int lwf_query(const char *cmd, const char *device, uint32_t code, size_t min_len,
              size_t size_offset, uint8_t **buf, size_t *len)
{
    char err[512];
    size_t cap = QUERY_FIRST;

    for (int tries = 0; tries < QUERY_TRIES; tries++) {
        uint8_t *b = malloc(cap);
        uint32_t st = 0;
        size_t got = 0;
        if (b == NULL) {
            fprintf(stderr, "lwfctl %s: out of memory\n", cmd);
            return -1;
        }
        if (lwf_device_ioctl(device, code, NULL, 0, b, cap, &st, &got, err, sizeof(err)) != 0) {
            fprintf(stderr, "lwfctl %s: %s\n", cmd, err);
            free(b);
            return -1;
        }
        if (st == HL_STATUS_SUCCESS && got >= min_len) {
            *buf = b;
            *len = got;
            return 0;
        }
        if (st == HL_STATUS_BUFFER_OVERFLOW && got >= size_offset + 4 && got >= min_len) {
            const uint8_t *p = b + size_offset;
            size_t need =
                (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
            free(b);
            if (need <= cap || need > QUERY_MAX) {
                fprintf(stderr, "lwfctl %s: device asks for an impossible %zu-byte buffer\n", cmd,
                        need);
                return -1;
            }
            cap = need;
            continue;
        }
        free(b);
        if (st == HL_STATUS_SUCCESS)
            fprintf(stderr, "lwfctl %s: short answer from the device (%zu bytes)\n", cmd, got);
        else
            fprintf(stderr, "lwfctl %s: the device failed the request with NTSTATUS 0x%08x\n", cmd,
                    (unsigned)st);
        return -1;
    }
    fprintf(stderr, "lwfctl %s: the answer kept growing; try again\n", cmd);
    return -1;
}
