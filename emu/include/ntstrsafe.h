/*
 * ndisemu's <ntstrsafe.h>: the bounded string routines drivers use instead of
 * the C library, inline as in the WDK (which compiles them into the driver
 * unless NTSTRSAFE_LIB is defined). The copy, concatenate and length families
 * for char (A) and WCHAR (W) buffers, counted in bytes (Cb) or characters
 * (Cch). Results as documented: the destination is always NUL-terminated;
 * STATUS_BUFFER_OVERFLOW when the source was truncated, STATUS_INVALID_PARAMETER
 * for a zero or oversized destination. The printf family is not provided.
 */
#ifndef _NTSTRSAFE_H_INCLUDED_
#define _NTSTRSAFE_H_INCLUDED_

#include <wdm.h>

#define NTSTRSAFE_MAX_CCH 2147483647
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH (0xffff / sizeof(WCHAR))

typedef char *NTSTRSAFE_PSTR;
typedef const char *NTSTRSAFE_PCSTR;
typedef WCHAR *NTSTRSAFE_PWSTR;
typedef const WCHAR *NTSTRSAFE_PCWSTR;

/* One body per character type: Cch forms do the work, Cb forms convert. */
#define NDISEMU_STRSAFE(S, T)                                                                      \
    FORCEINLINE NTSTATUS RtlStringCchLength##S(const T *psz, size_t cchMax, size_t *pcchLength)    \
    {                                                                                              \
        size_t n = 0;                                                                              \
        if (psz == NULL || cchMax > NTSTRSAFE_MAX_CCH) {                                           \
            if (pcchLength != NULL)                                                                \
                *pcchLength = 0;                                                                   \
            return STATUS_INVALID_PARAMETER;                                                       \
        }                                                                                          \
        while (n < cchMax && psz[n] != 0)                                                          \
            n++;                                                                                   \
        if (pcchLength != NULL)                                                                    \
            *pcchLength = n < cchMax ? n : 0;                                                      \
        return n < cchMax ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;                             \
    }                                                                                              \
    FORCEINLINE NTSTATUS ndisemu_strsafe_put##S(T *pszDest, size_t cchDest, size_t at,             \
                                                const T *pszSrc)                                   \
    {                                                                                              \
        while (at + 1 < cchDest && *pszSrc != 0)                                                   \
            pszDest[at++] = *pszSrc++;                                                             \
        pszDest[at] = 0;                                                                           \
        return *pszSrc == 0 ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;                             \
    }                                                                                              \
    FORCEINLINE NTSTATUS RtlStringCchCopy##S(T *pszDest, size_t cchDest, const T *pszSrc)          \
    {                                                                                              \
        if (cchDest == 0 || cchDest > NTSTRSAFE_MAX_CCH)                                           \
            return STATUS_INVALID_PARAMETER;                                                       \
        return ndisemu_strsafe_put##S(pszDest, cchDest, 0, pszSrc);                                \
    }                                                                                              \
    FORCEINLINE NTSTATUS RtlStringCchCat##S(T *pszDest, size_t cchDest, const T *pszSrc)           \
    {                                                                                              \
        size_t len;                                                                                \
        if (cchDest == 0 || cchDest > NTSTRSAFE_MAX_CCH)                                           \
            return STATUS_INVALID_PARAMETER;                                                       \
        if (!NT_SUCCESS(RtlStringCchLength##S(pszDest, cchDest, &len)))                            \
            return STATUS_INVALID_PARAMETER;                                                       \
        return ndisemu_strsafe_put##S(pszDest, cchDest, len, pszSrc);                              \
    }                                                                                              \
    FORCEINLINE NTSTATUS RtlStringCbLength##S(const T *psz, size_t cbMax, size_t *pcbLength)       \
    {                                                                                              \
        size_t cch = 0;                                                                            \
        NTSTATUS st = RtlStringCchLength##S(psz, cbMax / sizeof(T), &cch);                         \
        if (pcbLength != NULL)                                                                     \
            *pcbLength = cch * sizeof(T);                                                          \
        return st;                                                                                 \
    }                                                                                              \
    FORCEINLINE NTSTATUS RtlStringCbCopy##S(T *pszDest, size_t cbDest, const T *pszSrc)            \
    {                                                                                              \
        return RtlStringCchCopy##S(pszDest, cbDest / sizeof(T), pszSrc);                           \
    }                                                                                              \
    FORCEINLINE NTSTATUS RtlStringCbCat##S(T *pszDest, size_t cbDest, const T *pszSrc)             \
    {                                                                                              \
        return RtlStringCchCat##S(pszDest, cbDest / sizeof(T), pszSrc);                            \
    }
NDISEMU_STRSAFE(A, char)
NDISEMU_STRSAFE(W, WCHAR)
#undef NDISEMU_STRSAFE

#endif
