/*
 * DbgPrint / DbgPrintEx to stderr. The format is the kernel's, not glibc's:
 * `l` means 32-bit (LLP64), I64 / ll mean 64-bit, I / z pointer-sized, %wZ a
 * PUNICODE_STRING, %Z a PANSI_STRING, %ws / %ls / %S a UTF-16 string and
 * %wc / %C a UTF-16 character. Each conversion is taken apart and formatted
 * with the argument read at its Windows size.
 */
#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char buf[1024];
    size_t n;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n > sizeof(o->buf) - 1 - o->n)
        n = sizeof(o->buf) - 1 - o->n;
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static void put_utf16(struct out *o, const WCHAR *s, size_t n, bool nul_terminated)
{
    size_t i;
    for (i = 0; nul_terminated ? s[i] != 0 : i < n; i++) {
        unsigned c = s[i];
        char u[4];
        if (c >= 0xd800 && c < 0xdc00 && (nul_terminated || i + 1 < n) && s[i + 1] >= 0xdc00 &&
            s[i + 1] < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (s[i + 1] - 0xdc00u);
            i++;
        }
        if (c < 0x80) {
            u[0] = (char)c;
            put(o, u, 1);
        } else if (c < 0x800) {
            u[0] = (char)(0xc0 | (c >> 6));
            u[1] = (char)(0x80 | (c & 0x3f));
            put(o, u, 2);
        } else if (c < 0x10000) {
            u[0] = (char)(0xe0 | (c >> 12));
            u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[2] = (char)(0x80 | (c & 0x3f));
            put(o, u, 3);
        } else {
            u[0] = (char)(0xf0 | (c >> 18));
            u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[3] = (char)(0x80 | (c & 0x3f));
            put(o, u, 4);
        }
    }
}

static void format(struct out *o, const char *f, va_list ap)
{
    while (*f) {
        char spec[32], tmp[128];
        size_t sn = 0;
        int size = 0; /* 0 int, 1 64-bit, 2 pointer-sized, 3 wide, -1 short */
        int len;
        if (*f != '%') {
            const char *p = strchr(f, '%');
            size_t n = p ? (size_t)(p - f) : strlen(f);
            put(o, f, n);
            f += n;
            continue;
        }
        spec[sn++] = *f++;
        if (*f == '%') {
            put(o, "%", 1);
            f++;
            continue;
        }
        while (*f && strchr("-+ #0", *f) && sn < 20)
            spec[sn++] = *f++;
        while (*f && (strchr("0123456789.", *f) || *f == '*') && sn < 20)
            spec[sn++] = *f++;
        if (strncmp(f, "I64", 3) == 0) {
            size = 1;
            f += 3;
        } else if (strncmp(f, "I32", 3) == 0) {
            f += 3;
        } else if (*f == 'I' || *f == 'z' || *f == 't' || *f == 'j') {
            size = 2;
            f++;
        } else if (f[0] == 'l' && f[1] == 'l') {
            size = 1;
            f += 2;
        } else if (*f == 'l' && (f[1] == 's' || f[1] == 'c')) {
            size = 3;
            f++;
        } else if (*f == 'l') {
            f++;
        } else if (*f == 'w') {
            size = 3;
            f++;
        } else if (*f == 'h') {
            size = -1;
            f++;
            if (*f == 'h')
                f++;
        }
        if (*f == 0)
            break;
        spec[sn] = 0;            /* the checks below read spec as a string */
        if (strchr(spec, '*')) { /* widths from arguments: rare, printed plainly */
            (void)va_arg(ap, int);
        }
        switch (*f) {
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            spec[sn++] = 'l';
            spec[sn++] = 'l';
            spec[sn++] = *f;
            spec[sn] = 0;
            if (strchr(spec, '*'))
                spec[0] = '%', memmove(spec + 1, spec + sn - 3, 4);
            {
                long long v;
                if (size == 1)
                    v = va_arg(ap, long long);
                else if (size == 2)
                    v = (long long)va_arg(ap, intptr_t);
                else if (*f == 'd' || *f == 'i')
                    v = size == -1 ? (short)va_arg(ap, int) : va_arg(ap, int);
                else
                    v = size == -1 ? (unsigned short)va_arg(ap, int)
                                   : (long long)va_arg(ap, unsigned int);
                if (size == 2 && *f != 'd' && *f != 'i')
                    v = (long long)(uintptr_t)v;
                len = snprintf(tmp, sizeof(tmp), spec, v);
            }
            put(o, tmp, len > 0 ? (size_t)len : 0);
            break;
        case 'p':
            len = snprintf(tmp, sizeof(tmp), "%p", va_arg(ap, void *));
            put(o, tmp, len > 0 ? (size_t)len : 0);
            break;
        case 'c':
        case 'C':
            if (size == 3 || *f == 'C') {
                WCHAR c = (WCHAR)va_arg(ap, int);
                put_utf16(o, &c, 1, false);
            } else {
                char c = (char)va_arg(ap, int);
                put(o, &c, 1);
            }
            break;
        case 's':
        case 'S':
            if (size == 3 || *f == 'S') {
                const WCHAR *s = va_arg(ap, const WCHAR *);
                if (s)
                    put_utf16(o, s, 0, true);
                else
                    put(o, "(null)", 6);
            } else {
                const char *s = va_arg(ap, const char *);
                s = s ? s : "(null)";
                put(o, s, strlen(s));
            }
            break;
        case 'Z':
            if (size == 3) {
                PCUNICODE_STRING u = va_arg(ap, PCUNICODE_STRING);
                if (u && u->Buffer)
                    put_utf16(o, u->Buffer, u->Length / sizeof(WCHAR), false);
                else
                    put(o, "(null)", 6);
            } else {
                PCANSI_STRING a = va_arg(ap, PCANSI_STRING);
                if (a && a->Buffer)
                    put(o, a->Buffer, a->Length);
                else
                    put(o, "(null)", 6);
            }
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'g':
        case 'G':
            spec[sn++] = *f;
            spec[sn] = 0;
            if (strchr(spec, '*'))
                spec[0] = '%', memmove(spec + 1, spec + sn - 1, 2);
            len = snprintf(tmp, sizeof(tmp), spec, va_arg(ap, double));
            put(o, tmp, len > 0 ? (size_t)len : 0);
            break;
        default:
            put(o, "%?", 2);
            break;
        }
        f++;
    }
}

static pthread_mutex_t g_print = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *fmt, va_list ap)
{
    struct out o;
    const struct emu_callctx *c = emu_callctx_current();
    o.n = 0;
    format(&o, fmt, ap);
    o.buf[o.n] = 0;
    pthread_mutex_lock(&g_print);
    fprintf(stderr, "[dbg %s] %s", c && c->module ? c->module : "ndisemu", o.buf);
    if (o.n == 0 || o.buf[o.n - 1] != '\n')
        fputc('\n', stderr);
    pthread_mutex_unlock(&g_print);
}

ULONG __cdecl DbgPrint(PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    emit(Format, ap);
    va_end(ap);
    return 0;
}

/* Levels above DPFLTR_WARNING_LEVEL are filtered out, as by the default
   debug filter, unless the parameter DbgPrintLevel raises the limit. */
ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    va_list ap;
    const char *lim = emu_param_get(NULL, "DbgPrintLevel");
    ULONG max = lim ? (ULONG)strtoul(lim, NULL, 0) : DPFLTR_WARNING_LEVEL;
    (void)ComponentId;
    if (Level <= 31 && Level > max)
        return 0;
    va_start(ap, Format);
    emit(Format, ap);
    va_end(ap);
    return 0;
}
