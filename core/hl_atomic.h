/*
 * Relaxed 64-bit loads and stores, the only atomics the counters need.
 *
 * Counters are written by one CPU and read by GET_STATS on another, so each
 * access must be single-copy atomic (no torn 64-bit value) but needs no
 * ordering: a slightly stale sum is fine. Relaxed atomics give exactly that
 * and compile to plain MOVs on x86-64 and ARM64, with no LOCK prefix and no
 * barrier. MSVC has no C11 atomics in kernel mode; its __iso_volatile_*
 * intrinsics are what the WDK's ReadNoFence64/WriteNoFence64 use on ARM64,
 * and a volatile access of an aligned 64-bit value is atomic on x64.
 */
#ifndef HOTLWF_CORE_HL_ATOMIC_H
#define HOTLWF_CORE_HL_ATOMIC_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>

static __inline uint64_t hl_load_relaxed_u64(const uint64_t *p)
{
#if defined(_M_ARM64) || defined(_M_ARM)
    return (uint64_t)__iso_volatile_load64((const volatile __int64 *)p);
#else
    return *(const volatile uint64_t *)p;
#endif
}

static __inline void hl_store_relaxed_u64(uint64_t *p, uint64_t v)
{
#if defined(_M_ARM64) || defined(_M_ARM)
    __iso_volatile_store64((volatile __int64 *)p, (__int64)v);
#else
    *(volatile uint64_t *)p = v;
#endif
}

#else

static inline uint64_t hl_load_relaxed_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void hl_store_relaxed_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

#endif
#endif
