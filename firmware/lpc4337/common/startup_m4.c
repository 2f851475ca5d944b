/*
 * startup_m4.c - Cortex-M4 vector table, reset and fault handlers.
 *
 * The M4 boots through its shadow alias at address 0, which CREG M4MEMMAP
 * points at flash A (0x1A000000): word 0 of the table is the initial MSP,
 * word 1 the reset handler. The table has 16 system entries followed by
 * the 53 LPC4337 M4 peripheral IRQs.
 *
 * Reset_Handler copies .data from flash A, zeroes .bss, points SCB->VTOR
 * at flash A and calls main(). A program built with STARTUP_M4_DEFER_VTOR
 * (m4_compute) does no MMIO in the startup at all and sets VTOR itself
 * later (the shadow at 0 already maps flash A, so vectors work meanwhile).
 */
#include <stdint.h>

#include "cm_intrinsics.h"
#include "console.h"
#include "lpc4337.h"
#include "startup.h"

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

/* Overridable handlers: a program defines the strong version it needs. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
/* IRQ 1: event from the M0 (CREG M0TXEVENT). */
void M0APP_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

#define M4_VECTOR_COUNT (16 + M4_IRQ_COUNT)

__attribute__((section(".isr_vector"), used))
const vector_fn m4_vectors[M4_VECTOR_COUNT] = {
    [0] = (vector_fn)__stack_top,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    /* 7..10 reserved */
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    /* 13 reserved */
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 + 0] = Default_Handler, /* DAC */
    [16 + M4_IRQ_M0APP] = M0APP_IRQHandler,
    [16 + 2 ... 16 + M4_IRQ_COUNT - 1] = Default_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    startup_copy_words(__data_start, __data_load, __data_end);
    startup_zero_words(__bss_start, __bss_end);
#ifndef STARTUP_M4_DEFER_VTOR
    SCB_VTOR = (uint32_t)(uintptr_t)__vectors_start;
    __DSB();
    __ISB();
#endif
    (void)main();
    cm_halt();
}

/* Faults: one fixed line on the console, then stop with IRQs masked. */
void HardFault_Handler(void)
{
    __disable_irq();
    console_ensure_init();
    console_puts("HARDFAULT\r\n");
    cm_halt();
}

/* Any exception or IRQ the program did not expect. */
void Default_Handler(void)
{
    __disable_irq();
    console_ensure_init();
    console_puts("UNEXPECTED EXCEPTION\r\n");
    cm_halt();
}
