/*
 * struct hl_alloc over the C heap, for user-mode code (lwfctl, the benches,
 * the tests): the driver passes its pool allocator instead and never
 * includes this header.
 */
#ifndef HOTLWF_HEAP_H
#define HOTLWF_HEAP_H

#include <stdlib.h>

#include "hotlwf/config.h"

static inline void *hl_heap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static inline void hl_heap_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const struct hl_alloc hl_heap = {hl_heap_alloc, hl_heap_free, NULL};

#endif
