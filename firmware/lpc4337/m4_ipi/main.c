/*
 * m4_ipi - Cortex-M4 side of the inter-core interrupt (IPI) ping-pong.
 *
 * The M4 sets up the shared block (ipi_shared.h), starts the M0 from the
 * image in flash B, then runs bench_params.rounds round trips: it writes
 * the round number to seq_to_m0 and raises M4TXEVENT (SEV); the M0's IRQ 1
 * handler echoes the number in seq_to_m4 and raises M0TXEVENT (SEV); the
 * M4's IRQ 1 handler records it. Every round trip is timed with DWT CYCCNT.
 * See firmware/README.md for the console lines and the fault tests.
 */
#include <stdint.h>

#include "bench_params.h"
#include "cm_intrinsics.h"
#include "console.h"
#include "ipi_shared.h"
#include "lpc4337.h"

/* Bounds on every wait (generous: a healthy round trip takes well under a
 * thousand cycles on the board). */
#define RESET_RELEASE_POLLS 100000u  /* RESET_ACTIVE_STATUS1 polls        */
#define M0_READY_POLLS      2000000u /* m0_state polls after the release  */
#define WAIT_SPIN_BUDGET    2000000u /* load=1: spin units per round      */
#define WAIT_WAKE_BUDGET    100000u  /* load=0: WFI wake-ups per round    */

/* Last round number echoed by the M0, written by the IRQ 1 handler. */
static volatile uint32_t reply;
/* Fault test 3 spins on this (visible in RAM, no output, no WFI). */
static volatile uint32_t hang_counter;

/* IRQ 1 on the M4: event from the M0 (CREG M0TXEVENT). */
void M0APP_IRQHandler(void)
{
    struct ipi_shared *const sh = IPI_SHARED;

    /* The event is a level: drop it, wait for the write to land, then
     * discard any pending state it re-raised while still high. No new
     * event can be lost: the M0 only raises the next one after the M4
     * has sent the next round. */
    CREG_M0TXEVENT = 0u;
    __DSB();
    NVIC_ICPR0 = 1u << M4_IRQ_M0APP;
    reply = sh->seq_to_m4;
    sh->m4_isr_count++;
}

static __attribute__((noreturn)) void stop(void)
{
    cm_halt();
}

static __attribute__((noreturn)) void fail(const char *reason)
{
    IPI_SHARED->m4_phase = IPI_M4_FAIL;
    console_puts("IPI-TEST FAIL ");
    console_puts(reason);
    console_puts("\r\n");
    stop();
}

static __attribute__((noreturn)) void fail_timeout(uint32_t round)
{
    IPI_SHARED->fail_round = round;
    IPI_SHARED->m4_phase = IPI_M4_FAIL;
    console_puts("IPI-TEST FAIL timeout round ");
    console_put_u32(round);
    console_puts("\r\n");
    stop();
}

/* LPCOpen's sequence: hold the M0 in reset, copy its image from flash B
 * to SRAM1, point its shadow (address 0) at SRAM1, release the reset. */
static void start_m0(void)
{
    const uint32_t *src = (const uint32_t *)(uintptr_t)LPC_FLASHB_BASE;
    uint32_t *dst = (uint32_t *)(uintptr_t)LPC_SRAM1_BASE;

    RGU_RESET_CTRL1 = RGU_M0APP_RST_BIT; /* assert M0APP reset */
    __DSB();
    for (uint32_t n = 0; n < LPC_SRAM1_SIZE / 4u; n++) {
        dst[n] = src[n];
    }
    CREG_M0APPMEMMAP = LPC_SRAM1_BASE;
    __DSB();
    RGU_RESET_CTRL1 = 0u; /* release */
    __DSB();

    /* Status bit reads 1 once the M0 is out of reset. The verdict comes
     * from m0_state below; this only avoids racing the release. */
    for (uint32_t n = 0; n < RESET_RELEASE_POLLS; n++) {
        if ((RGU_RESET_ACTIVE_STATUS1 & RGU_M0APP_RST_BIT) != 0u) {
            break;
        }
    }
}

/* load == 0: sleep until the reply arrives. Interrupts are masked while
 * the condition is checked so the IRQ cannot slip in between the check
 * and the WFI (WFI still wakes on an interrupt pending under PRIMASK). */
static int wait_reply_wfi(uint32_t seq)
{
    for (uint32_t wakes = 0; wakes < WAIT_WAKE_BUDGET; wakes++) {
        __disable_irq();
        if (reply == seq) {
            __enable_irq();
            return 1;
        }
        __WFI();
        __enable_irq();
        __ISB();
    }
    return reply == seq;
}

/* load == 1: poll, in critical sections of pseudo-random length so the
 * IRQ latency varies from round to round. */
static int wait_reply_busy(uint32_t seq, uint32_t *lcg)
{
    uint32_t budget = WAIT_SPIN_BUDGET;

    while (reply != seq) {
        const uint32_t crit = ipi_lcg_next(lcg) % 64u;
        const uint32_t gap = ipi_lcg_next(lcg) % 16u;
        const uint32_t cost = 1u + crit + gap;

        __disable_irq();
        cm_spin(crit);
        __enable_irq();
        cm_spin(gap);
        if (budget <= cost) {
            return reply == seq;
        }
        budget -= cost;
    }
    return 1;
}

static void cyccnt_enable(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
}

static void put_kv(const char *key, uint32_t value)
{
    console_puts(key);
    console_put_u32(value);
}

int main(void)
{
    struct ipi_shared *const sh = IPI_SHARED;

    console_init();
    console_puts("amp-bench lpc4337 ipi m4\r\n");

    if (bench_params.magic != BENCH_PARAMS_MAGIC) {
        fail("bad params magic");
    }
    const uint32_t rounds = bench_params.rounds;
    const uint32_t seed = bench_params.seed;
    const uint32_t load = bench_params.load;
    const uint32_t fault = bench_params.fault;

    /* Shared block: clear, fill in, publish (magic last). */
    for (uint32_t n = 0; n < IPI_SHARED_WORDS; n++) {
        ((volatile uint32_t *)sh)[n] = 0u;
    }
    sh->load = load;
    sh->seed = seed;
    sh->fault = fault;
    sh->m4_phase = IPI_M4_INIT;
    __DSB();
    sh->magic = IPI_SHARED_MAGIC;
    __DSB();

    /* IRQ 1 (M0APP) on: drop any stale event first. */
    CREG_M0TXEVENT = 0u;
    __DSB();
    NVIC_ICPR0 = 1u << M4_IRQ_M0APP;
    NVIC_ISER0 = 1u << M4_IRQ_M0APP;
    __enable_irq();

    if (fault == 4u) {
        /* The M0 injects this one right after it reports ready. */
        console_puts("fault test 4\r\n");
    }

    sh->m4_phase = IPI_M4_M0_STARTING;
    start_m0();
    for (uint32_t n = 0; n < M0_READY_POLLS; n++) {
        if (sh->m0_state == IPI_M0_READY) {
            break;
        }
    }
    if (sh->m0_state != IPI_M0_READY) {
        fail("m0 not ready");
    }
    console_puts("M0 up\r\n");

    switch (fault) {
    case 1u:
        console_puts("fault test 1\r\n");
        sh->m4_phase = IPI_M4_FAULT_TEST;
        __DSB();
        (void)REG32(LPC_UNMAPPED_ADDR); /* BusFault -> HardFault */
        __DSB();
        fail("fault 1 not raised");
    case 2u:
        console_puts("fault test 2\r\n");
        sh->m4_phase = IPI_M4_FAULT_TEST;
        __DSB();
        __asm volatile("udf #0" ::: "memory"); /* UsageFault -> HardFault */
        fail("fault 2 not raised");
    case 3u:
        console_puts("hang test\r\n");
        sh->m4_phase = IPI_M4_FAULT_TEST;
        for (;;) {
            hang_counter++;
        }
    default:
        break;
    }

    cyccnt_enable();

    uint32_t lcg = seed;
    uint32_t rtt_min = 0xFFFFFFFFu;
    uint32_t rtt_max = 0u;
    uint64_t rtt_sum = 0u;

    sh->m4_phase = IPI_M4_RUNNING;
    for (uint32_t done = 0; done < rounds; done++) {
        const uint32_t seq = done + 1u;

        if (load != 0u) {
            cm_spin(ipi_lcg_next(&lcg) % 256u);
        }
        const uint32_t t0 = DWT_CYCCNT;
        sh->seq_to_m0 = seq;
        __DSB();
        __SEV();
        const int ok = (load != 0u) ? wait_reply_busy(seq, &lcg)
                                    : wait_reply_wfi(seq);
        const uint32_t rtt = DWT_CYCCNT - t0;
        if (!ok) {
            fail_timeout(seq);
        }
        if (rtt < rtt_min) {
            rtt_min = rtt;
        }
        if (rtt > rtt_max) {
            rtt_max = rtt;
        }
        rtt_sum += rtt;
        sh->rounds_done = seq;
    }

    if (rounds == 0u) {
        rtt_min = 0u;
    }
    const uint32_t rtt_mean = (rounds != 0u) ? (uint32_t)(rtt_sum / rounds) : 0u;
    const uint32_t m4_isr = sh->m4_isr_count;
    const uint32_t m0_isr = sh->m0_isr_count;

    sh->rtt_min = rtt_min;
    sh->rtt_max = rtt_max;
    sh->rtt_sum_lo = (uint32_t)rtt_sum;
    sh->rtt_sum_hi = (uint32_t)(rtt_sum >> 32);

    put_kv("rounds=", sh->rounds_done);
    put_kv(" m4_isr=", m4_isr);
    put_kv(" m0_isr=", m0_isr);
    put_kv(" rtt_min=", rtt_min);
    put_kv(" rtt_max=", rtt_max);
    put_kv(" rtt_mean=", rtt_mean);
    console_puts("\r\n");

    if (m4_isr != rounds || m0_isr != rounds) {
        fail("isr count mismatch");
    }
    if (rounds != 0u && sh->seq_to_m4 != rounds) {
        fail("last reply mismatch");
    }
    sh->m4_phase = IPI_M4_PASS;
    console_puts("IPI-TEST PASS\r\n");
    stop();
}
