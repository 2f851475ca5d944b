/*
 * Types shared by the native hooks and the native exception steps (exceptions.c), mirrored
 * in bench/emu/native/__init__.py.
 */
#ifndef BENCH_NVIC_H
#define BENCH_NVIC_H
#include <stdint.h>

#define BENCH_MAX_EXC 128      /* IRQ0 (16) + up to 112 external interrupts */
#define BENCH_IRQ0 16
#define BENCH_SVCALL 11
#define BENCH_THREAD_PRIORITY 256
#define BENCH_EVENT_LOG 256

typedef struct {
    uint8_t enabled[BENCH_MAX_EXC];
    uint8_t pending[BENCH_MAX_EXC];
    uint8_t active[BENCH_MAX_EXC];
    uint8_t line_level[BENCH_MAX_EXC];  /* by IRQ number, not exception number */
    int16_t priority[BENCH_MAX_EXC];
    uint32_t count;          /* exceptions: IRQ0 + num_irqs */
    uint32_t num_irqs;
    uint32_t priority_mask;  /* implemented priority bits, e.g. 0xE0 */
    uint32_t prigroup;
    uint32_t has_basepri;    /* ARMv7-M: BASEPRI and FAULTMASK exist */
} bench_nvic_t;

enum { EV_ENTRY = 1, EV_RETURN = 2, EV_TAIL_RETURN = 3, EV_TAIL_ENTRY = 4,
       EV_SEV = 5, EV_SLEEP = 6, EV_WAKE = 7, EV_DELIVER = 8 };  /* (hints.c: pc of the hint) */

/* One exception step taken natively, as the engine reports it (trace, probes). */
typedef struct {
    uint64_t cycle;
    uint32_t core, kind, number;
    uint32_t pc, sp;               /* EV_RETURN: where the core resumed, with which SP */
    uint32_t r7, psp, msp;         /* EV_ENTRY of SVCall: the system call and the stacks */
    uint32_t frame_pc, frame_xpsr; /* ... and the caller's stacked PC and xPSR */
} bench_event_t;

typedef struct {
    uint32_t n, overflow;
    bench_event_t e[BENCH_EVENT_LOG];
} bench_event_log_t;

#endif
