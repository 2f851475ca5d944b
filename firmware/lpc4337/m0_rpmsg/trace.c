/*
 * trace.c - the trace buffer and a minimal line formatter (see trace.h).
 */
#include "trace.h"

#include <stdarg.h>
#include <stdint.h>

#define LOG_LINE_MAX 96u

char m0_trace_buf[M0_TRACE_BUF_SIZE] __attribute__((aligned(4)));
static uint32_t trace_pos; /* offset of the terminating NUL */

static void trace_commit(const char *s, uint32_t n)
{
    uint32_t pos = trace_pos;

    if (pos + n + 1u > M0_TRACE_BUF_SIZE) {
        pos = 0u;
    }
    for (uint32_t i = 0; i < n; i++) {
        m0_trace_buf[pos + i] = s[i];
    }
    m0_trace_buf[pos + n] = '\0';
    trace_pos = pos + n;
}

struct line {
    char buf[LOG_LINE_MAX];
    uint32_t n;
};

static void put_char(struct line *l, char c)
{
    /* Keep one byte for the '\n'. */
    if (l->n < LOG_LINE_MAX - 1u) {
        l->buf[l->n++] = c;
    }
}

static void put_str(struct line *l, const char *s)
{
    if (s == 0) {
        s = "(null)";
    }
    while (*s != '\0') {
        put_char(l, *s++);
    }
}

static void put_dec(struct line *l, uint32_t v)
{
    char tmp[10];
    uint32_t k = 0;

    do {
        tmp[k++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (k != 0u) {
        put_char(l, tmp[--k]);
    }
}

static void put_hex(struct line *l, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    int shift = 28;

    while (shift > 0 && ((v >> shift) & 0xFu) == 0u) {
        shift -= 4;
    }
    for (; shift >= 0; shift -= 4) {
        put_char(l, digits[(v >> shift) & 0xFu]);
    }
}

void log_printf(const char *fmt, ...)
{
    struct line l;
    va_list ap;

    l.n = 0u;
    va_start(ap, fmt);
    while (*fmt != '\0') {
        const char c = *fmt++;

        if (c != '%' || *fmt == '\0') {
            put_char(&l, c);
            continue;
        }
        switch (*fmt++) {
        case 's':
            put_str(&l, va_arg(ap, const char *));
            break;
        case 'u':
            put_dec(&l, va_arg(ap, uint32_t));
            break;
        case 'x':
            put_hex(&l, va_arg(ap, uint32_t));
            break;
        case 'c':
            put_char(&l, (char)va_arg(ap, int));
            break;
        case '%':
            put_char(&l, '%');
            break;
        default:
            put_char(&l, '%');
            put_char(&l, fmt[-1]);
            break;
        }
    }
    va_end(ap);
    l.buf[l.n++] = '\n';
    trace_commit(l.buf, l.n);
}
