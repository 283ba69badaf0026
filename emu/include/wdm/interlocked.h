/*
 * Interlocked operations, acquire/release accessors and barriers. In the WDK
 * these are compiler intrinsics; here they are inlines over the __atomic
 * builtins so that ThreadSanitizer sees every one of them and can judge a
 * driver's memory-ordering argument rather than flag its lock-free code.
 *
 * Interlocked* are full barriers on Windows (a LOCK-prefixed instruction on
 * x86), hence __ATOMIC_SEQ_CST. ReadAcquire / WriteRelease map to acquire /
 * release; the NoFence forms to relaxed atomics (never plain accesses: a
 * plain racing access is undefined behaviour in C11 and TSan reports it).
 * Included by <wdm.h>; never include it directly.
 */
#ifndef NDISEMU_WDM_INTERLOCKED_H
#define NDISEMU_WDM_INTERLOCKED_H

#define HL_SEQ __ATOMIC_SEQ_CST

FORCEINLINE LONG InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE LONG InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, HL_SEQ);
}
FORCEINLINE LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, HL_SEQ);
}
FORCEINLINE LONG InterlockedAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_add_fetch(Addend, Value, HL_SEQ);
}
FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange,
                                            LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, HL_SEQ, HL_SEQ);
    return Comperand;
}
FORCEINLINE LONG InterlockedAnd(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_and(Destination, Value, HL_SEQ);
}
FORCEINLINE LONG InterlockedOr(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_or(Destination, Value, HL_SEQ);
}
FORCEINLINE LONG InterlockedXor(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_xor(Destination, Value, HL_SEQ);
}

FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_add_fetch(Addend, Value, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 Exchange,
                                                LONG64 Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, HL_SEQ, HL_SEQ);
    return Comperand;
}
FORCEINLINE LONG64 InterlockedAnd64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_and(Destination, Value, HL_SEQ);
}
FORCEINLINE LONG64 InterlockedOr64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_or(Destination, Value, HL_SEQ);
}
FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, HL_SEQ);
}
FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange,
                                                    PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, HL_SEQ, HL_SEQ);
    return Comperand;
}
FORCEINLINE SHORT InterlockedIncrement16(SHORT volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE SHORT InterlockedDecrement16(SHORT volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, HL_SEQ);
}
FORCEINLINE SHORT InterlockedCompareExchange16(SHORT volatile *Destination, SHORT Exchange,
                                               SHORT Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, HL_SEQ, HL_SEQ);
    return Comperand;
}
#define InterlockedIncrementNoFence InterlockedIncrement
#define InterlockedDecrementNoFence InterlockedDecrement
#define InterlockedIncrementAcquire InterlockedIncrement
#define InterlockedDecrementRelease InterlockedDecrement
#define InterlockedExchangeAddNoFence InterlockedExchangeAdd
#define InterlockedCompareExchangeAcquire InterlockedCompareExchange
#define InterlockedCompareExchangeRelease InterlockedCompareExchange
#define InterlockedExchangeNoFence InterlockedExchange
#define InterlockedIncrementSizeT(a) ((SIZE_T)InterlockedIncrement64((LONG64 volatile *)(a)))
#define InterlockedDecrementSizeT(a) ((SIZE_T)InterlockedDecrement64((LONG64 volatile *)(a)))
#define InterlockedExchangeAddSizeT(a, b)                                                          \
    ((SIZE_T)InterlockedExchangeAdd64((LONG64 volatile *)(a), (LONG64)(b)))

/* Acquire / release and unordered accessors (the WDK's ReadXxx / WriteXxx). */
#define HL_RW_ACCESSORS(Suffix, T)                                                                 \
    FORCEINLINE T Read##Suffix##Acquire(T const volatile *Source)                                  \
    {                                                                                              \
        return __atomic_load_n(Source, __ATOMIC_ACQUIRE);                                          \
    }                                                                                              \
    FORCEINLINE T Read##Suffix##NoFence(T const volatile *Source)                                  \
    {                                                                                              \
        return __atomic_load_n(Source, __ATOMIC_RELAXED);                                          \
    }                                                                                              \
    FORCEINLINE void Write##Suffix##Release(T volatile *Destination, T Value)                      \
    {                                                                                              \
        __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);                                    \
    }                                                                                              \
    FORCEINLINE void Write##Suffix##NoFence(T volatile *Destination, T Value)                      \
    {                                                                                              \
        __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);                                    \
    }
HL_RW_ACCESSORS(, LONG)
HL_RW_ACCESSORS(Pointer, PVOID)
HL_RW_ACCESSORS(ULong, ULONG)
HL_RW_ACCESSORS(ULong64, ULONG64)
HL_RW_ACCESSORS(UShort, USHORT)
HL_RW_ACCESSORS(Short, SHORT)
HL_RW_ACCESSORS(UChar, UCHAR)
HL_RW_ACCESSORS(Boolean, BOOLEAN)
HL_RW_ACCESSORS(SizeT, SIZE_T)
HL_RW_ACCESSORS(ULongPtr, ULONG_PTR)
HL_RW_ACCESSORS(LongPtr, LONG_PTR)
#undef HL_RW_ACCESSORS

FORCEINLINE LONG ReadRaw(LONG const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
FORCEINLINE void WriteRaw(LONG volatile *Destination, LONG Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
/* The LONG64 forms put the width last in the WDK: ReadAcquire64, not Read64Acquire. */
FORCEINLINE LONG64 ReadAcquire64(LONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
FORCEINLINE LONG64 ReadNoFence64(LONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
FORCEINLINE void WriteRelease64(LONG64 volatile *Destination, LONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
FORCEINLINE void WriteNoFence64(LONG64 volatile *Destination, LONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}

#define KeMemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define MemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define KeMemoryBarrierWithoutFence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _ReadWriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _ReadBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _WriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _mm_mfence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#if defined(__x86_64__) || defined(__i386__)
#define YieldProcessor() __builtin_ia32_pause()
#else
#define YieldProcessor() __asm__ __volatile__("" ::: "memory")
#endif
#define PreFetchCacheLine(l, a) __builtin_prefetch((const void *)(a))
#define PF_TEMPORAL_LEVEL_1 0

#undef HL_SEQ
#endif
