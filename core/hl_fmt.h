/*
 * Bounded formatting for validator reasons. Kernel code cannot count on a
 * libc snprintf (the CRT's _snprintf does not always terminate, and
 * RtlStringCbPrintf is not portable), so core/ carries its own: a handful of
 * conversions, always NUL-terminated, silently truncated.
 */
#ifndef HOTLWF_CORE_HL_FMT_H
#define HOTLWF_CORE_HL_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Conversions: %s (NULL prints "(null)"), %d, %u, %x, %llu, %zu, %%; the
 * integer ones take a zero-padded width (%04x).
 * Anything else is copied literally. Writes at most cap bytes including the
 * NUL (nothing when buf is NULL or cap is 0) and returns the length written.
 */
size_t hl_fmt(char *buf, size_t cap, const char *fmt, ...);
size_t hl_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);

#endif
