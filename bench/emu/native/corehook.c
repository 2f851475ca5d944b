/*
 * Native per-instruction hook for the bench's Cortex-M cores.
 *
 * Why native: Unicorn has no exact instruction counter (its `count=` overshoots
 * across IT blocks and is not exposed), SEV is a silent NOP with no hook, and a
 * pending interrupt must be noticed the instant software unmasks it.  A Python
 * UC_HOOK_CODE callback would cost ~1 us per instruction; this one costs a few ns.
 *
 * The hook runs before every instruction.  It
 *   - counts retired instructions exactly (`count`), the core's virtual time;
 *   - stops the core before the instruction that would run past `limit`;
 *   - stops the core *before* hint instructions (SEV, WFE, WFI, YIELD) so the
 *     engine can give them their architectural meaning at an exact time;
 *   - after an instruction that may unmask interrupts (CPSIE, MSR PRIMASK/
 *     BASEPRI/FAULTMASK) while the engine says an exception is pending,
 *     stops before the next instruction so the engine can take it;
 *   - stops before the next instruction when the engine asks (`stop_next`),
 *     e.g. after an MMIO write that pended an interrupt.
 * An instruction the hook stops before is not executed and not counted:
 * Unicorn checks the exit request right after the hook returns.
 */
#include <stdint.h>
#include <unicorn/unicorn.h>

#define BENCH_MAX_REGIONS 32

enum stop_reason {
    STOP_NONE = 0,
    STOP_LIMIT = 1,
    STOP_SEV = 2,
    STOP_WFE = 3,
    STOP_WFI = 4,
    STOP_YIELD = 5,
    STOP_REQUEST = 6,
};

typedef struct {
    uint64_t base;
    uint64_t size;
    uint8_t *host;
} bench_region_t;

typedef struct {
    uint64_t count;      /* instructions retired by this core */
    uint64_t limit;      /* never retire more than this many */
    uint64_t stop_pc;    /* address of the instruction the core stopped before */
    uint32_t reason;     /* enum stop_reason of the last stop */
    uint32_t stop_next;  /* engine request: stop before the next instruction */
    uint32_t irq_hint;   /* engine: an enabled exception is pending (maybe masked) */
    uint32_t insn_size;  /* size of the instruction the core stopped before */
    uint32_t nregions;   /* host-backed memory for opcode peeking */
    uint32_t last_region;
    uc_err (*emu_stop)(uc_engine *);
    bench_region_t regions[BENCH_MAX_REGIONS];
} bench_core_state_t;

static inline const uint8_t *peek(bench_core_state_t *st, uint64_t addr)
{
    bench_region_t *r = &st->regions[st->last_region];
    if (addr - r->base < r->size)
        return r->host + (addr - r->base);
    for (uint32_t i = 0; i < st->nregions; i++) {
        r = &st->regions[i];
        if (addr - r->base < r->size) {
            st->last_region = i;
            return r->host + (addr - r->base);
        }
    }
    return 0;
}

static inline void stop(uc_engine *uc, bench_core_state_t *st, uint32_t reason, uint64_t addr, uint32_t size)
{
    st->reason = reason;
    st->stop_pc = addr;
    st->insn_size = size;
    st->emu_stop(uc);
}

void bench_hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;

    if (st->stop_next) {
        st->stop_next = 0;
        stop(uc, st, STOP_REQUEST, addr, size);
        return;
    }
    if (st->count >= st->limit) {
        stop(uc, st, STOP_LIMIT, addr, size);
        return;
    }
    const uint8_t *p = peek(st, addr);
    if (p) {
        uint16_t hw = (uint16_t)(p[0] | (p[1] << 8));
        if (size == 2) {
            /* 16-bit hints: 1011 1111 op 0000 (op != 0); IT has a non-zero low nibble. */
            if ((hw & 0xFF0F) == 0xBF00 && hw != 0xBF00) {
                switch (hw) {
                case 0xBF40: stop(uc, st, STOP_SEV, addr, size); return;
                case 0xBF20: stop(uc, st, STOP_WFE, addr, size); return;
                case 0xBF30: stop(uc, st, STOP_WFI, addr, size); return;
                case 0xBF10: stop(uc, st, STOP_YIELD, addr, size); return;
                default: break;
                }
            } else if ((hw & 0xFFF8) == 0xB660 && st->irq_hint) {
                /* CPSIE i/f: the pending exception may be taken after it. */
                st->stop_next = 1;
            }
        } else if (size == 4) {
            uint16_t hw2 = (uint16_t)(p[2] | (p[3] << 8));
            if (hw == 0xF3AF && (hw2 & 0xFF00) == 0x8000) {
                switch (hw2 & 0xFF) {
                case 4: stop(uc, st, STOP_SEV, addr, size); return;
                case 2: stop(uc, st, STOP_WFE, addr, size); return;
                case 3: stop(uc, st, STOP_WFI, addr, size); return;
                case 1: stop(uc, st, STOP_YIELD, addr, size); return;
                default: break;
                }
            } else if ((hw & 0xFFF0) == 0xF380 && (hw2 & 0xFF00) == 0x8800 && st->irq_hint) {
                uint32_t sysm = hw2 & 0xFF;
                if (sysm >= 0x10 && sysm <= 0x13)  /* PRIMASK, BASEPRI, BASEPRI_MAX, FAULTMASK */
                    st->stop_next = 1;
            }
        }
    }
    st->count++;
}

/* Install the hook on `uc`; returns the uc_err of uc_hook_add. */
int bench_attach(uc_engine *uc, bench_core_state_t *st, uc_hook *handle)
{
    st->emu_stop = uc_emu_stop;
    return uc_hook_add(uc, handle, UC_HOOK_CODE, (void *)bench_hook_code, st, 1, 0);
}
