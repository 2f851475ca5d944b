/*
 * startup.c - m0_rpmsg vector table and reset handler.
 *
 * Same scheme as common/startup_m0.c (16 system entries + 32 M0APP IRQs,
 * the table first in SRAM1 at 0x10080000, fetched through the M0's
 * address-0 shadow set by Linux via CREG M0APPMEMMAP), but with this
 * program's fault handlers: HardFault and every unexpected exception go
 * to the crash-reporting path in platform.c.
 *
 * .data needs no copy (remoteproc loaded the image at its run address);
 * Reset_Handler zeroes .bss (remoteproc zero-fills it too) and calls
 * main(). The resource table and the crash word are not in .bss.
 */
#include <stdint.h>

#include "cm_intrinsics.h"
#include "lpc4337.h"
#include "platform.h"
#include "startup.h"

void Reset_Handler(void);

#define M0_VECTOR_COUNT (16 + M0_IRQ_COUNT)

__attribute__((section(".isr_vector"), used))
const vector_fn m0_vectors[M0_VECTOR_COUNT] = {
    [0] = (vector_fn)__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler,   /* NMI */
    [3] = HardFault_Handler,
    /* 4..10 reserved */
    [11] = Default_Handler,  /* SVCall */
    /* 12..13 reserved */
    [14] = Default_Handler,  /* PendSV */
    [15] = Default_Handler,  /* SysTick */
    [16 + 0] = Default_Handler, /* RTC */
    [16 + M0_IRQ_M4CORE] = M4CORE_IRQHandler,
    [16 + 2 ... 16 + M0_IRQ_COUNT - 1] = Default_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    startup_zero_words(__bss_start, __bss_end);
    (void)main();
    cm_halt();
}
