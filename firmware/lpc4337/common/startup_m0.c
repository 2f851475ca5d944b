/*
 * startup_m0.c - Cortex-M0 (M0APP) vector table and reset handler.
 *
 * The M0 has no VTOR: it always fetches its vectors through its shadow
 * alias at address 0, which the M4 points at SRAM1 (CREG M0APPMEMMAP =
 * 0x10080000) before releasing the M0 from reset. The image is linked to
 * run at 0x10080000 with the table first: 16 system entries followed by
 * the 32 M0APP peripheral IRQs.
 *
 * .data needs no copy: the M4 copies the whole image (flash B -> SRAM1).
 * Reset_Handler only zeroes .bss and calls main().
 */
#include <stdint.h>

#include "cm_intrinsics.h"
#include "lpc4337.h"
#include "startup.h"

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

/* IRQ 1: event from the M4 (CREG M4TXEVENT). */
void M4CORE_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

#define M0_VECTOR_COUNT (16 + M0_IRQ_COUNT)

__attribute__((section(".isr_vector"), used))
const vector_fn m0_vectors[M0_VECTOR_COUNT] = {
    [0] = (vector_fn)__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler,  /* NMI */
    [3] = HardFault_Handler,
    /* 4..10 reserved */
    [11] = Default_Handler, /* SVCall */
    /* 12..13 reserved */
    [14] = Default_Handler, /* PendSV */
    [15] = Default_Handler, /* SysTick */
    [16 + 0] = Default_Handler, /* RTC */
    [16 + M0_IRQ_M4CORE] = M4CORE_IRQHandler,
    [16 + 2 ... 16 + M0_IRQ_COUNT - 1] = Default_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    startup_zero_words(__bss_start, __bss_end);
    (void)main();
    for (;;) {
        __WFI();
    }
}

/* The M0 prints nothing: a fault just parks the core here. Weak: a program with
 * its own fault reporting (m0_rpmsg) defines these two. */
__attribute__((weak)) void HardFault_Handler(void)
{
    for (;;) {
    }
}

__attribute__((weak)) void Default_Handler(void)
{
    for (;;) {
    }
}
