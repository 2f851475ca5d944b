/*
 * startup.h - symbols shared by the startup code and the linker scripts.
 */
#ifndef STARTUP_H
#define STARTUP_H

#include <stdint.h>

typedef void (*vector_fn)(void);

/* Defined by the linker scripts (all word aligned). */
extern uint32_t __stack_top[];   /* initial MSP                          */
extern uint32_t __vectors_start[];
extern uint32_t __data_load[];   /* LMA of .data                          */
extern uint32_t __data_start[];  /* VMA of .data                          */
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

int main(void);

/* Word copy / fill used by the startup code (plain loops: the build uses
 * -fno-tree-loop-distribute-patterns, so they are not turned into calls). */
static inline __attribute__((always_inline)) void
startup_copy_words(uint32_t *dst, const uint32_t *src, const uint32_t *dst_end)
{
    while (dst < dst_end) {
        *dst++ = *src++;
    }
}

static inline __attribute__((always_inline)) void
startup_zero_words(uint32_t *dst, const uint32_t *dst_end)
{
    while (dst < dst_end) {
        *dst++ = 0u;
    }
}

#endif /* STARTUP_H */
