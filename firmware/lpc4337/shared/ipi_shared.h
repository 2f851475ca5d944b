/*
 * ipi_shared.h - the shared-memory contract between m4_ipi and m0_ipi.
 *
 * One block of 32-bit words at the start of AHB SRAM (0x20000000), which
 * neither program links anything into. The M4 zeroes it, fills in the
 * parameters, writes `magic` last and only then releases the M0 from
 * reset. Offsets are part of the contract (the bench may read them):
 *
 *   off   field          writer  meaning
 *   0x00  magic          M4      IPI_SHARED_MAGIC once the block is valid
 *   0x04  m0_state       M0      0 = not started, 1 = ready (IRQ enabled)
 *   0x08  seq_to_m0      M4      round number sent to the M0 (1..rounds)
 *   0x0C  seq_to_m4      M0      round number echoed back to the M4
 *   0x10  load           M4      copy of bench_params.load
 *   0x14  seed           M4      copy of bench_params.seed
 *   0x18  fault          M4      copy of bench_params.fault
 *   0x1C  m0_isr_count   M0      M4CORE (IRQ 1) handler entries on the M0
 *   0x20  m4_isr_count   M4      M0APP (IRQ 1) handler entries on the M4
 *   0x24  m4_phase       M4      progress, see enum ipi_m4_phase
 *   0x28  rounds_done    M4      rounds whose reply arrived
 *   0x2C  m0_bg_iters    M0      M0 background-loop iterations (load=1)
 *                                or WFI wake-ups (load=0)
 *   0x30  rtt_min        M4      final round-trip statistics in DWT
 *   0x34  rtt_max        M4        CYCCNT cycles (valid once m4_phase is
 *   0x38  rtt_sum_lo     M4        IPI_M4_PASS or IPI_M4_FAIL after all
 *   0x3C  rtt_sum_hi     M4        rounds)
 *   0x40  fail_round     M4      round that timed out (0 = none)
 */
#ifndef IPI_SHARED_H
#define IPI_SHARED_H

#include <stdint.h>

#define IPI_SHARED_ADDR   0x20000000u
#define IPI_SHARED_MAGIC  0x49504931u /* "IPI1" */

/* Values of m0_state. */
#define IPI_M0_NOT_STARTED 0u
#define IPI_M0_READY       1u

/* Values of m4_phase. */
enum ipi_m4_phase {
    IPI_M4_INIT = 0,       /* block being set up                   */
    IPI_M4_M0_STARTING = 1, /* M0 released, waiting for m0_state=1  */
    IPI_M4_RUNNING = 2,    /* ping-pong rounds in progress         */
    IPI_M4_PASS = 3,       /* "IPI-TEST PASS" printed              */
    IPI_M4_FAIL = 4,       /* "IPI-TEST FAIL ..." printed          */
    IPI_M4_FAULT_TEST = 5, /* about to inject an M4-side fault     */
};

/* Second-core LCG seed derivation (the M0 uses seed ^ this). */
#define IPI_M0_SEED_XOR   0x9E3779B9u

struct ipi_shared {
    volatile uint32_t magic;        /* 0x00 */
    volatile uint32_t m0_state;     /* 0x04 */
    volatile uint32_t seq_to_m0;    /* 0x08 */
    volatile uint32_t seq_to_m4;    /* 0x0C */
    volatile uint32_t load;         /* 0x10 */
    volatile uint32_t seed;         /* 0x14 */
    volatile uint32_t fault;        /* 0x18 */
    volatile uint32_t m0_isr_count; /* 0x1C */
    volatile uint32_t m4_isr_count; /* 0x20 */
    volatile uint32_t m4_phase;     /* 0x24 */
    volatile uint32_t rounds_done;  /* 0x28 */
    volatile uint32_t m0_bg_iters;  /* 0x2C */
    volatile uint32_t rtt_min;      /* 0x30 */
    volatile uint32_t rtt_max;      /* 0x34 */
    volatile uint32_t rtt_sum_lo;   /* 0x38 */
    volatile uint32_t rtt_sum_hi;   /* 0x3C */
    volatile uint32_t fail_round;   /* 0x40 */
};

#define IPI_SHARED_WORDS (sizeof(struct ipi_shared) / sizeof(uint32_t))

#define IPI_SHARED ((struct ipi_shared *)(uintptr_t)IPI_SHARED_ADDR)

/* The layout is part of the contract: break the build if it drifts. */
_Static_assert(__builtin_offsetof(struct ipi_shared, m4_isr_count) == 0x20,
               "ipi_shared layout");
_Static_assert(__builtin_offsetof(struct ipi_shared, fail_round) == 0x40,
               "ipi_shared layout");
_Static_assert(sizeof(struct ipi_shared) == 0x44, "ipi_shared size");

/*
 * The LCG both cores use: state = state * 1664525 + 1013904223, and the
 * value handed out is the upper 16 bits of the new state (the low bits of
 * a power-of-two LCG have short periods). Only 32x32->32 multiplies, so
 * the M0 (muls) needs no helper.
 */
static inline uint32_t ipi_lcg_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 16;
}

#endif /* IPI_SHARED_H */
