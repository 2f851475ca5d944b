/*
 * platform.c - bare-metal implementation of the platform layer (see
 * platform.h) for the LPC4337 M0APP core.
 */
#include "platform.h"

#include "lpc4337.h"
#include "rsc_table.h"
#include "startup.h"
#include "trace.h"

struct m0_crash_info m0_crash_info;
volatile uint32_t m0_kick_count;

/* Set by the IRQ handler, consumed by platform_wait_event(). */
static volatile uint32_t kick_pending;

void platform_init(void)
{
    /* Nothing can be pending for us yet: Linux notifies only after it set
     * DRIVER_OK, which main() checks after this. */
    CREG_M4TXEVENT = 0u;
    __DSB();
    NVIC_ICPR0 = 1u << M0_IRQ_M4CORE;
    NVIC_ISER0 = 1u << M0_IRQ_M4CORE;
    __enable_irq();
}

/* IRQ 1: the M4 (Linux) executed SEV. No vring work here. */
void M4CORE_IRQHandler(void)
{
    CREG_M4TXEVENT = 0u;
    __DSB();
    /* Discard the pending state a level-sensitive model may have
     * re-raised while the line was still high. A kick arriving after the
     * write above raises the line again and pends the IRQ anew. */
    NVIC_ICPR0 = 1u << M0_IRQ_M4CORE;
    kick_pending = 1u;
    m0_kick_count++;
}

void platform_wait_event(void)
{
    __disable_irq();
    if (kick_pending == 0u) {
        /* Wakes on the pending IRQ even with PRIMASK set; the handler
         * runs at cpsie below. */
        __WFI();
    }
    __enable_irq();
    __ISB();
    /* Any kick up to here is covered by the processing that follows. */
    kick_pending = 0u;
}

void platform_notify_host(void)
{
    __DSB();
    __SEV(); /* -> CREG M0TXEVENT -> IRQ 1 (M0APP) on the M4 */
}

void platform_crash_inject(uint32_t msg_src, uint32_t msg_dst)
{
    __disable_irq();
    m0_crash_info.reason = M0_CRASH_INJECTED;
    m0_crash_info.msg_src = msg_src;
    m0_crash_info.msg_dst = msg_dst;
    log_printf("crash injection: M0CRASH! from 0x%x to 0x%x, udf", msg_src, msg_dst);
    __DSB();
    __asm volatile("udf #0" ::: "memory");
    __builtin_unreachable();
}

/*
 * Fault path. HardFault_Handler (and Default_Handler, its alias, for
 * every other exception) picks the stack the exception frame was pushed
 * to (EXC_RETURN bit 2) and calls m0_fault_report(frame, exc_return),
 * which never returns. Basic asm only: the function is naked.
 */
__attribute__((noreturn, used)) void m0_fault_report(const uint32_t *frame, uint32_t exc_return);

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "movs r0, #4\n\t"
        "mov  r1, lr\n\t"
        "tst  r0, r1\n\t"
        "bne  1f\n\t"
        "mrs  r0, msp\n\t"
        "bl   m0_fault_report\n\t"
        "1:\n\t"
        "mrs  r0, psp\n\t"
        "bl   m0_fault_report\n\t");
}

void Default_Handler(void) __attribute__((alias("HardFault_Handler")));

void m0_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    struct m0_crash_info *const ci = &m0_crash_info;
    uint32_t ipsr;

    __disable_irq();
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));

    if (ci->reason == M0_CRASH_NONE) {
        ci->reason = M0_CRASH_FAULT;
    }
    ci->ipsr = ipsr & 0x3Fu;
    ci->exc_return = exc_return;
    ci->sp = (uint32_t)(uintptr_t)frame;
    /* Only read the frame if it lies inside SRAM1 (a wild SP would fault
     * again here and lock the core up before the crash word is set). */
    if (((uintptr_t)frame & 3u) == 0u &&
        (uintptr_t)frame >= LPC_SRAM1_BASE &&
        (uintptr_t)frame <= (uintptr_t)__stack_top - 32u) {
        ci->lr = frame[5];
        ci->pc = frame[6];
        ci->xpsr = frame[7];
    }

    /* The contract with Linux: crash word, then the event. */
    m0_crash_word = M0_CRASH_MAGIC;
    log_printf("FAULT: exception %u reason %u pc 0x%x lr 0x%x xpsr 0x%x",
               ci->ipsr, ci->reason, ci->pc, ci->lr, ci->xpsr);
    __DSB();
    __SEV(); /* Linux's M0APP interrupt handler sees the crash word */

    for (;;) {
        __WFI();
    }
}
