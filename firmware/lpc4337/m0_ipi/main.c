/*
 * m0_ipi - Cortex-M0 (M0APP) side of the IPI ping-pong.
 *
 * Started by m4_ipi (image copied from flash B to SRAM1). It enables its
 * IRQ 1 (M4CORE, raised by the M4's SEV through CREG M4TXEVENT), reports
 * ready in the shared block and then either keeps itself busy with
 * critical sections of pseudo-random length (load != 0) or sleeps in WFI
 * (load == 0). The IRQ handler echoes seq_to_m0 into seq_to_m4 and
 * raises M0TXEVENT (SEV) towards the M4. The M0 never prints.
 */
#include <stdint.h>

#include "cm_intrinsics.h"
#include "ipi_shared.h"
#include "lpc4337.h"

/* IRQ 1 on the M0: event from the M4. */
void M4CORE_IRQHandler(void)
{
    struct ipi_shared *const sh = IPI_SHARED;

    /* Drop the level, let the write land, discard any pending state it
     * re-raised meanwhile (the M4 sends nothing new before our reply). */
    CREG_M4TXEVENT = 0u;
    __DSB();
    NVIC_ICPR0 = 1u << M0_IRQ_M4CORE;
    const uint32_t s = sh->seq_to_m0;
    sh->seq_to_m4 = s;
    sh->m0_isr_count++;
    __DSB();
    __SEV(); /* -> CREG M0TXEVENT -> IRQ 1 (M0APP) on the M4 */
}

int main(void)
{
    struct ipi_shared *const sh = IPI_SHARED;

    /* .bss was zeroed by Reset_Handler. The M4 sends nothing before
     * m0_state is 1, so any M4TXEVENT level now is stale. */
    CREG_M4TXEVENT = 0u;
    __DSB();
    NVIC_ICPR0 = 1u << M0_IRQ_M4CORE;
    NVIC_ISER0 = 1u << M0_IRQ_M4CORE;
    __enable_irq();

    const uint32_t load = sh->load;
    const uint32_t seed = sh->seed;

    sh->m0_state = IPI_M0_READY;
    __DSB();

    if (sh->fault == 4u) {
        /* udiv r0, r0, r1: ARMv7-M only, the Cortex-M0 must fault
         * (HardFault_Handler parks the core). */
        __asm volatile(".inst.w 0xFBB0F0F1" ::: "r0", "memory");
    }

    if (load != 0u) {
        uint32_t lcg = seed ^ IPI_M0_SEED_XOR;

        for (;;) {
            const uint32_t crit = ipi_lcg_next(&lcg) % 64u;
            const uint32_t gap = ipi_lcg_next(&lcg) % 16u;

            __disable_irq();
            cm_spin(crit);
            __enable_irq();
            cm_spin(gap);
            sh->m0_bg_iters++;
        }
    }
    for (;;) {
        __WFI();
        sh->m0_bg_iters++;
    }
}
