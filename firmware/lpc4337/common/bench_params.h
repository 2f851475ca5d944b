/*
 * bench_params.h - the parameter block the bench patches in flash A.
 *
 * Each M4 program has one `bench_params` object in its own output section
 * `.bench_params`, linked at 0x1A000200 (flash A, right after the vector
 * table). It stays in flash (never copied to RAM) and is read through a
 * const volatile lvalue, so patching the loaded flash bytes before the run
 * takes effect. Layout (little-endian, 20 bytes):
 *
 *   +0x00 magic   0x424E4348 ("BNCH")
 *   +0x04 rounds  default 1000
 *   +0x08 seed    default 1
 *   +0x0C load    default 1
 *   +0x10 fault   default 0
 */
#ifndef BENCH_PARAMS_H
#define BENCH_PARAMS_H

#include <stdint.h>

#define BENCH_PARAMS_MAGIC   0x424E4348u
#define BENCH_PARAMS_ADDRESS 0x1A000200u /* fixed by the linker script */

struct bench_params {
    uint32_t magic;  /* BENCH_PARAMS_MAGIC */
    uint32_t rounds; /* iterations of the test / kernel */
    uint32_t seed;   /* LCG seed */
    uint32_t load;   /* m4_ipi: 0 = WFI waits, 1 = loaded busy waits */
    uint32_t fault;  /* m4_ipi: fault injection selector (0 = none) */
};

extern const volatile struct bench_params bench_params;

#endif /* BENCH_PARAMS_H */
