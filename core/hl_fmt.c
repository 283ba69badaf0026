#include "hl_fmt.h"

struct hl_fmt_out {
    char *buf;
    size_t cap; /* room for characters, the NUL excluded */
    size_t len;
};

static void put_char(struct hl_fmt_out *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len++] = c;
}

static void put_str(struct hl_fmt_out *o, const char *s)
{
    if (s == NULL)
        s = "(null)";
    while (*s != '\0' && o->len < o->cap)
        o->buf[o->len++] = *s++;
}

/* width: minimum digits, zero-padded (the "04" of %04x); at most 20. */
static void put_unsigned(struct hl_fmt_out *o, unsigned long long v, unsigned base, unsigned width)
{
    char digits[24]; /* 2^64 has 20 decimal digits */
    size_t n = 0;

    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + (d - 10));
        v /= base;
    } while (v != 0);
    while (n < width && n < 20)
        digits[n++] = '0';
    while (n > 0)
        put_char(o, digits[--n]);
}

size_t hl_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct hl_fmt_out o = {buf, 0, 0};

    if (buf == NULL || cap == 0)
        return 0;
    o.cap = cap - 1;
    while (*fmt != '\0') {
        if (*fmt != '%') {
            put_char(&o, *fmt++);
            continue;
        }
        fmt++;
        unsigned width = 0;
        if (*fmt == '0')
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (unsigned)(*fmt++ - '0');
        if (*fmt == 's') {
            put_str(&o, va_arg(ap, const char *));
        } else if (*fmt == 'u') {
            put_unsigned(&o, va_arg(ap, unsigned), 10, width);
        } else if (*fmt == 'x') {
            put_unsigned(&o, va_arg(ap, unsigned), 16, width);
        } else if (*fmt == 'd') {
            int v = va_arg(ap, int);
            /* Negate in unsigned arithmetic so INT_MIN does not overflow. */
            unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            if (v < 0)
                put_char(&o, '-');
            put_unsigned(&o, m, 10, width);
        } else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'u') {
            put_unsigned(&o, va_arg(ap, unsigned long long), 10, width);
            fmt += 2;
        } else if (fmt[0] == 'z' && fmt[1] == 'u') {
            put_unsigned(&o, va_arg(ap, size_t), 10, width);
            fmt += 1;
        } else if (*fmt == '%') {
            put_char(&o, '%');
        } else {
            put_char(&o, '%');
            if (*fmt == '\0')
                break;
            put_char(&o, *fmt);
        }
        fmt++;
    }
    buf[o.len] = '\0';
    return o.len;
}

size_t hl_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = hl_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}
