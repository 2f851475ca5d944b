/*
 * console.h - polled console on USART2 (115200 8N1), M4 only.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdint.h>

/* Program USART2: LCR=0x83, DLL/DLM, LCR=0x03, FCR=0x07, IER=0. */
void console_init(void);
/* Init only if console_init() has not run yet (used by fault handlers). */
void console_ensure_init(void);

void console_putc(char c);
void console_puts(const char *s);
/* Unsigned decimal, no padding. */
void console_put_u32(uint32_t v);
/* Exactly 8 lowercase hex digits, no "0x" prefix. */
void console_put_hex32(uint32_t v);

#endif /* CONSOLE_H */
