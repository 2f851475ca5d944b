/*
 * m4_compute - compute-bound M4 program for throughput benchmarks.
 *
 * Reset_Handler (built with STARTUP_M4_DEFER_VTOR) copies .data, zeroes
 * .bss and calls main(), which runs the kernel bench_params.rounds times
 * without touching any MMIO, then calls compute_done(checksum). The bench
 * stops the core at compute_done's first instruction (checksum in r0);
 * left running, compute_done sets VTOR, brings up the console, prints
 * "compute done checksum=0x<8 hex digits>" and sleeps.
 *
 * One kernel round (all on RAM buffers):
 *   1. CRC-32 (reflected, poly 0xEDB88320), bit by bit, over a 1 KiB buffer
 *   2. a permuting, mixing word copy of that buffer (memcpy-like)
 *   3. a sieve of Eratosthenes over 256..511 numbers (length data dependent)
 *   4. an 8x8 integer matrix multiply fed from the buffer
 *   5. results folded into the checksum and fed back into the buffer
 * About 42,800 instructions per round (~42.8 million for the default 1000
 * rounds, measured); see README.md.
 */
#include <stdint.h>

#include "bench_params.h"
#include "cm_intrinsics.h"
#include "console.h"
#include "lpc4337.h"
#include "startup.h"

#define BUF_WORDS   256u /* 1 KiB */
#define SIEVE_MIN   256u
#define SIEVE_SPAN  256u
#define MAT_N       8u

static uint32_t buf[BUF_WORDS];
static uint32_t work[BUF_WORDS];
static uint8_t sieve[SIEVE_MIN + SIEVE_SPAN];
static uint32_t mat_a[MAT_N][MAT_N];
static uint32_t mat_b[MAT_N][MAT_N];
static uint32_t mat_c[MAT_N][MAT_N];

void compute_done(uint32_t checksum) __attribute__((noipa, noreturn, used));

static uint32_t rotl32(uint32_t v, unsigned r)
{
    r &= 31u;
    return (r == 0u) ? v : ((v << r) | (v >> (32u - r)));
}

/* One bit of the reflected CRC-32 (poly 0xEDB88320). */
#define CRC32_BIT(crc) ((crc) = ((crc) >> 1) ^ (0xEDB88320u & (0u - ((crc) & 1u))))

static uint32_t crc32_bitwise(const uint8_t *p, uint32_t len, uint32_t crc)
{
    crc = ~crc;
    while (len-- != 0u) {
        crc ^= *p++;
        /* Eight steps written out (-O2 keeps an 8-trip loop otherwise). */
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
        CRC32_BIT(crc);
    }
    return ~crc;
}

/* Word copy with a stride-7 permutation and a running mix. */
static uint32_t mix_copy(uint32_t salt)
{
    uint32_t acc = salt;

    for (uint32_t i = 0; i < BUF_WORDS; i++) {
        const uint32_t v = buf[(i * 7u + salt) & (BUF_WORDS - 1u)];
        work[i] = v ^ acc;
        acc = acc * 33u + v;
    }
    for (uint32_t i = 0; i < BUF_WORDS; i++) {
        buf[i] = work[i];
    }
    return acc;
}

/* Number of primes below n (n <= sizeof sieve). */
static uint32_t count_primes(uint32_t n)
{
    uint32_t count = 0;

    for (uint32_t i = 0; i < n; i++) {
        sieve[i] = 1u;
    }
    sieve[0] = 0u;
    sieve[1] = 0u;
    for (uint32_t i = 2; i * i < n; i++) {
        if (sieve[i] != 0u) {
            for (uint32_t j = i * i; j < n; j += i) {
                sieve[j] = 0u;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        count += sieve[i];
    }
    return count;
}

static uint32_t matmul_trace(uint32_t salt)
{
    uint32_t sum = 0;

    for (uint32_t r = 0; r < MAT_N; r++) {
        for (uint32_t c = 0; c < MAT_N; c++) {
            mat_a[r][c] = work[(r * MAT_N + c + salt) & (BUF_WORDS - 1u)] & 0xFFFFu;
            mat_b[r][c] = work[(c * MAT_N + r + 64u + salt) & (BUF_WORDS - 1u)] >> 16;
        }
    }
    for (uint32_t r = 0; r < MAT_N; r++) {
        for (uint32_t c = 0; c < MAT_N; c++) {
            uint32_t acc = 0;
            for (uint32_t k = 0; k < MAT_N; k++) {
                acc += mat_a[r][k] * mat_b[k][c];
            }
            mat_c[r][c] = acc;
            sum = rotl32(sum, 3) ^ acc;
        }
    }
    return sum;
}

static uint32_t kernel_round(uint32_t round, uint32_t checksum)
{
    const uint32_t crc = crc32_bitwise((const uint8_t *)buf, sizeof buf, checksum);
    const uint32_t mix = mix_copy(crc & 0xFFu);
    const uint32_t primes = count_primes(SIEVE_MIN + (mix & (SIEVE_SPAN - 1u)));
    const uint32_t mat = matmul_trace(crc >> 24);

    checksum = rotl32(checksum, 5) ^ crc;
    checksum += mix ^ (primes << 16) ^ mat ^ round;
    buf[round & (BUF_WORDS - 1u)] ^= checksum;
    return checksum;
}

int main(void)
{
    const uint32_t rounds = bench_params.rounds;
    uint32_t x = bench_params.seed;
    uint32_t checksum = 0;

    /* Deterministic buffer contents from the seed (same LCG as m4_ipi). */
    for (uint32_t i = 0; i < BUF_WORDS; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i] = x;
    }
    for (uint32_t r = 0; r < rounds; r++) {
        checksum = kernel_round(r, checksum);
    }
    compute_done(checksum);
}

/* The bench stops the core at the first instruction of this function. */
void compute_done(uint32_t checksum)
{
    /* First MMIO of the program: the measured part is over. */
    SCB_VTOR = (uint32_t)(uintptr_t)__vectors_start;
    __DSB();
    __ISB();
    console_init();
    console_puts("compute done checksum=0x");
    console_put_hex32(checksum);
    console_puts("\r\n");
    cm_halt();
}
