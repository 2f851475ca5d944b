/*
 * cm_intrinsics.h - CMSIS-like core intrinsics for Cortex-M0 and Cortex-M4.
 *
 * Every instruction used here exists in ARMv6-M as well as ARMv7E-M
 * (cpsid/cpsie/wfi/wfe/sev/nop are 16-bit; dsb/isb/dmb/mrs/msr are the
 * 32-bit encodings that ARMv6-M also has).
 */
#ifndef CM_INTRINSICS_H
#define CM_INTRINSICS_H

#include <stdint.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE void __NOP(void) { __asm volatile("nop"); }
ALWAYS_INLINE void __SEV(void) { __asm volatile("sev" ::: "memory"); }
ALWAYS_INLINE void __WFI(void) { __asm volatile("wfi" ::: "memory"); }
ALWAYS_INLINE void __WFE(void) { __asm volatile("wfe" ::: "memory"); }
ALWAYS_INLINE void __DSB(void) { __asm volatile("dsb 0xF" ::: "memory"); }
ALWAYS_INLINE void __ISB(void) { __asm volatile("isb 0xF" ::: "memory"); }
ALWAYS_INLINE void __DMB(void) { __asm volatile("dmb 0xF" ::: "memory"); }

ALWAYS_INLINE void __disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }
ALWAYS_INLINE void __enable_irq(void) { __asm volatile("cpsie i" ::: "memory"); }

ALWAYS_INLINE uint32_t __get_PRIMASK(void)
{
    uint32_t v;
    __asm volatile("mrs %0, primask" : "=r"(v)::"memory");
    return v;
}

/* Busy loop of exactly n iterations that the compiler cannot remove. */
ALWAYS_INLINE void cm_spin(uint32_t n)
{
    while (n != 0u) {
        __asm volatile("" ::: "memory");
        n--;
    }
}

/* Stop this core for good: interrupts off, then sleep forever. */
ALWAYS_INLINE __attribute__((noreturn)) void cm_halt(void)
{
    __disable_irq();
    for (;;) {
        __WFI();
    }
}

#endif /* CM_INTRINSICS_H */
