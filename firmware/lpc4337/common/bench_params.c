/*
 * bench_params.c - default parameter block (see bench_params.h).
 */
#include "bench_params.h"

__attribute__((section(".bench_params"), used))
const volatile struct bench_params bench_params = {
    .magic = BENCH_PARAMS_MAGIC,
    .rounds = 1000u,
    .seed = 1u,
    .load = 1u,
    .fault = 0u,
};
