/*
 * platform.h - the "RTOS layer" of m0_rpmsg: interrupts, host
 * notification, sleeping, barriers, fault/crash reporting.
 *
 * Everything above this layer (virtio.c, rpmsg.c, main.c) only uses these
 * functions, so a FreeRTOS port replaces platform.c (e.g. the kick flag
 * by a task notification and platform_wait_event() by a blocking take).
 *
 * LPC4337 notification wiring:
 *   M0 -> M4: SEV sets CREG M0TXEVENT, a level on the M4's IRQ 1 (M0APP).
 *   M4 -> M0: the M4's SEV sets CREG M4TXEVENT (0x40043130), a level on
 *             the M0's IRQ 1 (M4CORE); our handler writes 0 to drop it.
 */
#ifndef M0_RPMSG_PLATFORM_H
#define M0_RPMSG_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "cm_intrinsics.h"

/* Value the fault handler stores into m0_crash_word. */
#define M0_CRASH_MAGIC 0xDEADC0DEu

/* m0_crash_info.reason */
#define M0_CRASH_NONE     0u
#define M0_CRASH_INJECTED 1u /* "M0CRASH!" message, then udf #0 */
#define M0_CRASH_FAULT    2u /* any other fault / unexpected exception */

/* Crash state kept in .bss for a debugger / the bench (not read by Linux,
 * which only looks at m0_crash_word). */
struct m0_crash_info {
    uint32_t reason;      /* M0_CRASH_* */
    uint32_t ipsr;        /* exception number at the fault (3 = HardFault) */
    uint32_t exc_return;  /* LR on exception entry */
    uint32_t sp;          /* stack pointer holding the exception frame */
    uint32_t pc;          /* stacked PC (0 if sp was not inside SRAM1) */
    uint32_t lr;          /* stacked LR */
    uint32_t xpsr;        /* stacked xPSR */
    uint32_t msg_src;     /* injected crash: the message's src address */
    uint32_t msg_dst;     /* injected crash: the message's dst address */
};

extern struct m0_crash_info m0_crash_info;
extern volatile uint32_t m0_kick_count; /* M4CORE interrupts taken */

/* Drop any stale M4TXEVENT level, enable IRQ 1 (M4CORE), enable IRQs. */
void platform_init(void);

/* Sleep until the host notified us, unless a notification arrived since
 * the previous call (cpsid i; if (!kick) wfi; cpsie i). Consumes it. */
void platform_wait_event(void);

/* Tell Linux a virtqueue has new used entries: DSB, SEV. */
void platform_notify_host(void);

/* Barrier between shared-memory accesses whose order the host must see
 * (DSB, which also covers what a DMB would order). */
static inline __attribute__((always_inline)) void platform_mb(void)
{
    __DSB();
}

/* Record an injected crash (src/dst of the triggering message), then
 * execute udf #0; the HardFault handler does the rest. */
__attribute__((noreturn)) void platform_crash_inject(uint32_t msg_src, uint32_t msg_dst);

/* Exception entries (vector table). */
void M4CORE_IRQHandler(void);
void HardFault_Handler(void);
void Default_Handler(void);

#endif /* M0_RPMSG_PLATFORM_H */
