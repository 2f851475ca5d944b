/*
 * console.c - polled 16550-style driver for USART2 (M4 only).
 */
#include "console.h"
#include "lpc4337.h"

/* 204 MHz / (16 * 115200) = 110.7 -> 110 (the emulator ignores the rate;
 * on the board the fractional divider would trim the error). */
#define CONSOLE_DLL 110u
#define CONSOLE_DLM 0u

/* Set to this value once the USART is programmed. A magic value rather than
 * a flag so that a HardFault taken before .bss was zeroed is unlikely to
 * mistake garbage for "initialised". */
#define CONSOLE_READY_MAGIC 0x55415254u /* "UART" */

static volatile uint32_t console_ready;

void console_init(void)
{
    const uint32_t b = USART2_BASE;

    USART_LCR(b) = USART_LCR_DLAB | USART_LCR_8N1; /* 0x83 */
    USART_DLL(b) = CONSOLE_DLL;
    USART_DLM(b) = CONSOLE_DLM;
    USART_LCR(b) = USART_LCR_8N1; /* 0x03 */
    USART_FCR(b) = USART_FCR_ENABLE_RESET; /* 0x07 */
    USART_IER(b) = 0u;
    console_ready = CONSOLE_READY_MAGIC;
}

void console_ensure_init(void)
{
    if (console_ready != CONSOLE_READY_MAGIC) {
        console_init();
    }
}

void console_putc(char c)
{
    const uint32_t b = USART2_BASE;

    while ((USART_LSR(b) & USART_LSR_THRE) == 0u) {
    }
    USART_THR(b) = (uint8_t)c;
}

void console_puts(const char *s)
{
    while (*s != '\0') {
        console_putc(*s++);
    }
}

void console_put_u32(uint32_t v)
{
    char buf[10];
    unsigned n = 0;

    do {
        buf[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n != 0u) {
        console_putc(buf[--n]);
    }
}

void console_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";

    for (int shift = 28; shift >= 0; shift -= 4) {
        console_putc(digits[(v >> shift) & 0xFu]);
    }
}
