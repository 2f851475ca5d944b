/*
 * lpc4337.h - register definitions for the NXP LPC4337 (CIAA-NXP board),
 * limited to what the amp-bench firmware uses.
 *
 * Written for this project from the LPC43xx user manual's register map
 * (UM10503). Both cores (Cortex-M4 "M4" and Cortex-M0 "M0APP") see the
 * same system memory map; the core-private peripherals (NVIC, SCB, DWT)
 * at 0xE000xxxx are per core.
 */
#ifndef LPC4337_H
#define LPC4337_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---------------------------------------------------------------------
 * Memory map
 * ------------------------------------------------------------------- */
#define LPC_FLASHA_BASE   0x1A000000u /* 512 KiB, M4 image              */
#define LPC_FLASHB_BASE   0x1B000000u /* 512 KiB, M0 image (load copy)  */
#define LPC_SRAM0_BASE    0x10000000u /* 32 KiB local SRAM, M4 RAM      */
#define LPC_SRAM0_SIZE    (32u * 1024u)
#define LPC_SRAM1_BASE    0x10080000u /* 40 KiB local SRAM, M0 run area */
#define LPC_SRAM1_SIZE    (40u * 1024u)
#define LPC_AHBSRAM_BASE  0x20000000u /* 64 KiB AHB SRAM, shared block  */
#define LPC_SDRAM_BASE    0x28000000u /* 8 MiB, unused                  */

/* An address with nothing mapped behind it (used by fault test 1). */
#define LPC_UNMAPPED_ADDR 0x90000000u

/* ---------------------------------------------------------------------
 * CREG - configuration registers (base 0x40043000)
 * ------------------------------------------------------------------- */
#define CREG_BASE         0x40043000u
#define CREG_M4MEMMAP     REG32(CREG_BASE + 0x100u) /* M4 shadow (addr 0) base  */
#define CREG_M4TXEVENT    REG32(CREG_BASE + 0x130u) /* bit0: M4 SEV -> M0 IRQ 1 */
#define CREG_M0TXEVENT    REG32(CREG_BASE + 0x400u) /* bit0: M0 SEV -> M4 IRQ 1 */
#define CREG_M0APPMEMMAP  REG32(CREG_BASE + 0x404u) /* M0 shadow (addr 0) base  */

/* ---------------------------------------------------------------------
 * RGU - reset generation unit (base 0x40053000)
 * ------------------------------------------------------------------- */
#define RGU_BASE                 0x40053000u
#define RGU_RESET_CTRL0          REG32(RGU_BASE + 0x100u)
#define RGU_RESET_CTRL1          REG32(RGU_BASE + 0x104u)
#define RGU_RESET_ACTIVE_STATUS0 REG32(RGU_BASE + 0x150u)
#define RGU_RESET_ACTIVE_STATUS1 REG32(RGU_BASE + 0x154u)
/* M0APP_RST is reset line 56, i.e. bit 24 of the "1" registers.
 * RESET_CTRL1 bit = 1: reset asserted (held while the bit stays 1).
 * RESET_ACTIVE_STATUS1 bit = 1: the M0 is NOT in reset. */
#define RGU_M0APP_RST_BIT        (1u << 24)

/* ---------------------------------------------------------------------
 * USART2 (base 0x400C1000), 16550-style, 32-bit register stride
 * ------------------------------------------------------------------- */
#define USART2_BASE       0x400C1000u
#define USART_RBR(b)      REG32((b) + 0x00u) /* read,  DLAB=0 */
#define USART_THR(b)      REG32((b) + 0x00u) /* write, DLAB=0 */
#define USART_DLL(b)      REG32((b) + 0x00u) /* DLAB=1 */
#define USART_DLM(b)      REG32((b) + 0x04u) /* DLAB=1 */
#define USART_IER(b)      REG32((b) + 0x04u) /* DLAB=0 */
#define USART_IIR(b)      REG32((b) + 0x08u) /* read  */
#define USART_FCR(b)      REG32((b) + 0x08u) /* write */
#define USART_LCR(b)      REG32((b) + 0x0Cu)
#define USART_LSR(b)      REG32((b) + 0x14u)

#define USART_LCR_8N1     0x03u
#define USART_LCR_DLAB    0x80u
#define USART_FCR_ENABLE_RESET 0x07u /* FIFO enable + RX/TX FIFO reset */
#define USART_LSR_RDR     (1u << 0)
#define USART_LSR_THRE    (1u << 5)

/* ---------------------------------------------------------------------
 * Core-private peripherals (each core has its own)
 * ------------------------------------------------------------------- */
#define NVIC_ISER0        REG32(0xE000E100u)
#define NVIC_ICER0        REG32(0xE000E180u)
#define NVIC_ISPR0        REG32(0xE000E200u)
#define NVIC_ICPR0        REG32(0xE000E280u)
#define NVIC_IPR_BASE     0xE000E400u

#define SCB_CPUID         REG32(0xE000ED00u)
#define SCB_ICSR          REG32(0xE000ED04u)
#define SCB_VTOR          REG32(0xE000ED08u) /* M4 only (the M0 has none) */
#define SCB_AIRCR         REG32(0xE000ED0Cu)
#define SCB_SCR           REG32(0xE000ED10u)
#define SCB_CCR           REG32(0xE000ED14u)
#define SCB_SHCSR         REG32(0xE000ED24u) /* M4 only */

/* Debug / trace (M4 only) */
#define DEMCR             REG32(0xE000EDFCu)
#define DEMCR_TRCENA      (1u << 24)
#define DWT_CTRL          REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT        REG32(0xE0001004u)

/* ---------------------------------------------------------------------
 * Interrupt numbers
 * ------------------------------------------------------------------- */
#define M4_IRQ_COUNT      53 /* peripheral IRQs on the M4's NVIC */
#define M0_IRQ_COUNT      32 /* peripheral IRQs on the M0's NVIC */

#define M4_IRQ_M0APP      1  /* on the M4: event from the M0 (M0TXEVENT) */
#define M0_IRQ_M4CORE     1  /* on the M0: event from the M4 (M4TXEVENT) */

#endif /* LPC4337_H */
