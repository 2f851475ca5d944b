/*
 * trace.h - log into the remoteproc trace buffer (RSC_TRACE resource).
 *
 * m0_trace_buf (2 KiB, SRAM1) holds NUL-terminated text: each log line
 * ends with '\n' and is followed by a NUL that the next line overwrites.
 * A line that does not fit before the end restarts the text at offset 0.
 * Linux shows strnlen(buf, 2048) bytes in
 * /sys/kernel/debug/remoteproc/remoteproc0/trace0, i.e. everything from
 * the start of the buffer up to the newest line.
 */
#ifndef M0_RPMSG_TRACE_H
#define M0_RPMSG_TRACE_H

#include <stdint.h>

#include "rsc_table.h"

extern char m0_trace_buf[M0_TRACE_BUF_SIZE];

/* One line (the '\n' is added). Formats: %s, %u (decimal), %x (hex, no
 * leading zeros), %c, %%; every numeric argument is 32 bits. Lines are
 * cut at 95 characters. */
void log_printf(const char *fmt, ...);

#endif /* M0_RPMSG_TRACE_H */
