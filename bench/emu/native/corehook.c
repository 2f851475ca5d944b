/*
 * Native block hook for the bench's Cortex-M cores.
 *
 * Why native, and why per block: Unicorn has no exact instruction counter
 * (its `count=` overshoots across IT blocks and is not exposed), SEV is a
 * silent NOP with no hook, and a pending interrupt must be noticed the
 * instant software unmasks it. A per-instruction UC_HOOK_CODE costs more than
 * half of Unicorn's throughput (measured: the helper call alone); a block hook
 * runs once per translated block (~12 instructions on compiled C).
 *
 * The hook runs before a block executes; stopping there means none of the
 * block runs (Unicorn checks the exit request at the start of every block).
 * It decodes the block's Thumb instructions from host memory and
 *   - counts them (`count`, the core's virtual time) when the whole block may run;
 *   - stops before the block once `soft_limit` is reached (the scheduler's
 *     quantum: where a lone core pauses changes nothing, so no exact split);
 *   - if the block holds a hint (SEV, WFE, WFI, YIELD) or a probe that is not a
 *     site (see bench_hook_site), or would run past `limit`, stops before it and
 *     asks the engine to run only the first part: reason SPLIT with `split_addr`,
 *     which the engine makes the run's exit (Unicorn then translates a block that
 *     ends there);
 *   - stops before a hint at the start of a block (reason HINT) so the engine
 *     gives it its architectural meaning at an exact cycle;
 *   - after a block ending in CPSIE or MSR PRIMASK/BASEPRI/FAULTMASK (QEMU
 *     ends blocks there) while the engine says an exception is pending, stops
 *     before the next block so the engine can take it;
 *   - stops before the next block when the engine asks (`stop_next`).
 * Every instruction of a block counts one cycle, condition-failed ones too.
 * When a block is left early (a fault, an aborted MMIO access), the engine
 * recounts from `block_addr`/`block_base` with bench_count_between().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>
#include <unicorn/arm.h>
#include "nvic.h"

#define BENCH_MAX_REGIONS 32
#define BENCH_MAX_PAGES 2048
#define BENCH_PAGE_SLOTS 4096  /* open-addressing set of pages, a power of two */
#define BENCH_PAGE_BITS 10  /* QEMU's ARM target page: 1 KiB */
#define BENCH_MAX_PROBES 16
#define BENCH_PROBE_RING 1024

enum stop_reason {
    STOP_NONE = 0,
    STOP_LIMIT = 1,
    STOP_HINT = 2,
    STOP_SPLIT = 3,
    STOP_REQUEST = 4,
    STOP_NOCODE = 5,
    STOP_BREAK = 6,   /* a debugger breakpoint: stopped before the instruction at stop_pc */
    STOP_CONFLICT = 7, /* lockstep window: touched a page the other core used (see bench_lockstep) */
};

enum insn_kind { K_PLAIN = 0, K_SEV = 1, K_WFE = 2, K_WFI = 3, K_YIELD = 4, K_UNMASK = 5 };
enum sleep_kind { SLEEP_NONE = 0, SLEEP_WFI = 1, SLEEP_WFE = 2 };

typedef struct {
    uint64_t base;
    uint64_t size;
    uint8_t *host;
} bench_region_t;

/* A set of 1 KiB pages: insertion order in `pages`, membership in `slots` (page + 1, 0 = free). */
typedef struct {
    uint32_t pages[BENCH_MAX_PAGES];
    uint32_t n, overflow, last;
    uint32_t slots[BENCH_PAGE_SLOTS];
} bench_page_set_t;

typedef struct {
    uint64_t count;       /* cycles: instructions retired plus stalls the engine adds */
    uint64_t limit;       /* never retire an instruction at or past this count (exact) */
    uint64_t soft_limit;  /* stop at the first block boundary at or past this count */
    uint64_t stop_pc;     /* address the core stopped before */
    uint64_t split_addr;  /* STOP_SPLIT: run from stop_pc until this address */
    uint64_t block_base;  /* count before the block that is executing */
    uint64_t block_addr;  /* start of that block */
    uint32_t block_size;  /* its size in bytes */
    uint32_t reason;      /* enum stop_reason of the last stop */
    uint32_t hint;        /* STOP_HINT: enum insn_kind of the hint */
    uint32_t insn_size;   /* STOP_HINT: size of the hint instruction */
    uint32_t stop_next;   /* engine request: stop before the next block */
    uint32_t irq_hint;    /* engine: an enabled exception is pending (maybe masked) */
    uint32_t take_now;    /* engine: re-evaluate pending exceptions before this core runs again */
    uint32_t nregions;    /* host-backed memory for decoding */
    uint32_t last_region;
    uint64_t prev_end;    /* precise hook: end of the previous instruction it saw */
    uint64_t it_start;    /* precise hook: first instruction covered by the last IT */
    uint64_t it_end;      /* precise hook: end of the instructions covered by the last IT */
    uint64_t plain_start, plain_end;  /* precise hook: code it has nothing to do for but count
                                       * (see plain_run_end); plain_end 0: none known */
    uint32_t it_dirty;    /* Unicorn stored an IT state in the CPU during the current IT block */
    /* (the next ones are here, with the others the hooks' common paths read) */
    uint32_t at_site;     /* see site_count */
    uint32_t code_flush;  /* fast instance: a page turned code since the TLB was flushed (mark_code) */
    uint32_t insn_gate;   /* precise instance: 0 while a block runs in bulk (see bench_hook_block_precise) */
    uint64_t break_skip;  /* resuming from a breakpoint here: let it run once */
    uint64_t insn_pc;     /* ... the instruction of that block that started last */
    uint64_t bulk_count;  /* ... the count when it went in bulk (its start, or a TLB fill inside) */
    uint32_t bulk;        /* ... a block runs in bulk: the fields above are to be worked out (precise_sync) */
    uc_err (*emu_stop)(uc_engine *);
    bench_region_t regions[BENCH_MAX_REGIONS];
    /* Code coherence between the two instances of a core: the pages the precise instance
     * executed (with a copy of each, taken when it last stopped), and the pages it wrote. */
    bench_page_set_t executed, written;
    uint8_t *exec_copy;  /* a copy of each executed page, in `executed` order (allocated on first use) */
    /* Address probes: the cycle at which each listed instruction starts (measurement
     * points from ELF symbols). Hits go to a ring the engine drains; a hit is not
     * recorded twice when an instruction is re-executed at the same cycle (MMIO replay). */
    uint32_t nprobes, nhits;
    uint64_t probe_pc[BENCH_MAX_PROBES];
    uint32_t hit_probe[BENCH_PROBE_RING];
    uint64_t hit_count[BENCH_PROBE_RING];
    uint64_t last_hit_count;
    uint32_t last_hit_probe;
    uint32_t break_mode;   /* the probes are debugger breakpoints: stop before, record nothing */
    uint32_t mmio_live;  /* lockstep: device accesses take effect now (not ahead of another core) */
    struct bench_spec *spec;  /* lockstep windows (see bench_lockstep); allocated on first use */
    /* Device-access sites (see bench_hook_site): the fast instance is at one (at_site), which
     * started at cycle site_count, and its access may take effect now. */
    uint64_t site_count;
    struct bench_sites *sites;
    /* Exceptions (exceptions.c): the NVIC, and what the native steps need of the core. */
    bench_nvic_t nvic;
    bench_event_log_t *events;  /* the machine's log, shared by its cores */
    uint64_t stalled;     /* cycles not spent executing instructions */
    uint64_t pc;          /* where the core resumes after a native step */
    uint32_t intno;       /* 1 + Unicorn's interrupt number at the last stop, 0: none */
    uint32_t yield_req;   /* the engine wants the core back (a console match, a halt) */
    uint32_t native_exc;  /* the native steps may take exceptions */
    uint32_t core_index;
    uint32_t event_register;
    uint32_t vtor, scr, ccr, has_vtor, is_v7m, irq_entry_cycles, tail_chain_cycles;
    uint32_t last_err;    /* bench_run_fast: Unicorn's error that ended it */
    uint8_t *code_pages;  /* fast instance: bit per 1 KiB page it ever ran code from (see bench_tlb_fill_fast) */
    uint32_t mmio_aborted;  /* the engine aborted a device access of the last run (CortexM.map_mmio) */
    uint32_t exec_remembered;  /* executed pages whose copy was taken (bench_exec_remember) */
    uint32_t sleep;       /* enum sleep_kind: asleep in WFI or WFE (hints.c) */
    uint32_t in_reset;    /* held in reset: no event reaches it */
    uint32_t use_sites;   /* the engine makes hints and device accesses sites (bench_hook_site) */
    uint32_t sites_learned;  /* how many bench_learn_site made (for tests and benchmarks) */
    uint32_t precise;     /* the core runs on its precise instance now (bench_select) */
    uint32_t emulating;   /* inside a run: a device access aborts unless live (CortexM._access_is_live) */
    uint32_t in_lockstep; /* the lockstep loop runs it */
    uint32_t halted;      /* stopped for good by an error the engine reports */
    struct bench_blocks *blocks;  /* fast instance: what bench_hook_block learnt of each block */
    uint32_t block_gen;   /* bumped when what it learnt may be wrong (probes, sites) */
    uint32_t block_words; /* Unicorn hands the block hook what it learnt at translation (block_word) */
    uint32_t fills_keep_state;  /* Unicorn fills the TLB without restoring the CPU state (patched) */
    uint32_t exit_on_slow_path;  /* Unicorn looks for a stop in the memory slow path (patched): also
                                  * inside an IT block, where the plain wheel does not look at all */
    uint16_t *exec_seen;  /* precise instance: per 1 KiB page, the episode it last ran code there */
    uint32_t exec_episode;  /* precise instance: how many times the core came to it (bench_exec_age) */
    uint32_t exec_age;    /* ... and after how many episodes unrun a page's code is dropped */
    struct bench_machine *machine;  /* the cores' shared timing (hints.c); NULL: hints go to the engine */
    uint32_t precise_bulk;  /* precise instance: plain blocks may run in bulk (bench_hook_block_precise) */
    uint64_t bulk_blocks;   /* ... how many did (for tests and benchmarks) */
} bench_core_state_t;

/* The native exception steps (exceptions.c, included at the end). */
void bench_hook_intr(uc_engine *uc, uint32_t intno, void *user);
int bench_native_take(uc_engine *uc, bench_core_state_t *st);
int bench_native_interrupt(uc_engine *uc, bench_core_state_t *st);
int native_dispatch(uc_engine *uc, bench_core_state_t *st, int precise);
int native_hint(uc_engine *uc, bench_core_state_t *st, int precise);
enum { BENCH_RUN_LIMIT = 1, BENCH_RUN_DISPATCH = 2, BENCH_RUN_ENGINE = 3 };
int bench_run_loop(uc_engine *uc, bench_core_state_t *st, int precise);

/* Index of the probe at `addr`, or -1. */
static inline int probe_at(const bench_core_state_t *st, uint64_t addr)
{
    for (uint32_t i = 0; i < st->nprobes; i++)
        if (st->probe_pc[i] == addr)
            return (int)i;
    return -1;
}

/* The instruction at a probe address starts at cycle `count`. */
static inline void probe_hit(bench_core_state_t *st, int probe, uint64_t count)
{
    if (st->last_hit_probe == (uint32_t)probe && st->last_hit_count == count)
        return;
    st->last_hit_probe = (uint32_t)probe;
    st->last_hit_count = count;
    if (st->nhits < BENCH_PROBE_RING) {
        st->hit_probe[st->nhits] = (uint32_t)probe;
        st->hit_count[st->nhits] = count;
        st->nhits++;
    }
    if (st->nhits >= BENCH_PROBE_RING - 1)
        st->stop_next = 1;  /* let the engine drain the ring before it overflows */
}

static inline void note_page(bench_page_set_t *set, uint32_t page)
{
    if (page == set->last)
        return;
    set->last = page;
    uint32_t h = (page * 2654435761u) & (BENCH_PAGE_SLOTS - 1);
    while (set->slots[h]) {
        if (set->slots[h] == page + 1)
            return;
        h = (h + 1) & (BENCH_PAGE_SLOTS - 1);
    }
    if (set->n < BENCH_MAX_PAGES) {
        set->slots[h] = page + 1;
        set->pages[set->n++] = page;
    } else {
        set->overflow = 1;
    }
}

void bench_pages_clear(bench_page_set_t *set)
{
    for (uint32_t i = 0; i < BENCH_PAGE_SLOTS; i++)
        set->slots[i] = 0;
    set->n = set->overflow = 0;
    set->last = 0xFFFFFFFFu;
}


/*
 * What the precise instance's accesses to RAM tell the engine, learnt from Unicorn's TLB
 * (UC_TLB_VIRTUAL with a fill hook) rather than from memory hooks: with a memory hook,
 * Unicorn restores the CPU state from the translated block (a search of the code buffer)
 * before every access it reports, which made the precise instance spend most of its time
 * there (measured: ~4,500 restores per RPMsg round trip). A fill happens at a page's first
 * access of a kind after the TLB was flushed; a page is granted write access only when
 * it is first written, so that first write is seen. The TLB is flushed when a lockstep
 * window begins and when the core comes to its precise instance, which makes every fill
 * in between a first access in the window, or since the fast instance last ran.
 *
 * Lockstep windows (see bench_lockstep): what a core did during the current window, so
 * that it can be undone. At its first write to a page, a core saves the page; both cores
 * note the 1 KiB pages they read, write and execute.
 */
#define BENCH_PAGE_SIZE (1u << BENCH_PAGE_BITS)
#define BENCH_UNDO_PAGES 512
#define BENCH_UNDO_HEADROOM 4  /* pages one instruction may write for the first time (STM across pages) */
enum spec_mode { SPEC_OFF = 0, SPEC_LEAD = 1, SPEC_FOLLOW = 2 };

/* The hook state a window saves and puts back, and the NVIC, which the core's own device
 * accesses change while it runs (native/mmio.c; the rest of bench_core_state_t is the
 * engine's or does not change while a core runs). */
#define SPEC_SAVED(X) X(count) X(prev_end) X(it_start) X(it_end) X(it_dirty) X(nhits) X(last_hit_count) \
    X(last_hit_probe) X(break_skip) X(stop_next) X(take_now) X(irq_hint) X(nvic)
#define SPEC_DECLARE(field) __typeof__(((bench_core_state_t *)0)->field) field;
struct bench_core_hook_state { SPEC_SAVED(SPEC_DECLARE) };

struct bench_spec {
    uint32_t mode;       /* enum spec_mode */
    uint32_t nsaved;     /* pages saved in this window */
    bench_page_set_t reads, writes;  /* pages read (or executed) and written in this window */
    bench_page_set_t writable;       /* pages the TLB may hold with write access (see above) */
    const struct bench_spec *peer;   /* follower: the leader's record, checked at every access */
    uc_context *ctx;                 /* registers at the window's start */
    struct bench_core_hook_state saved;  /* the hook's state at the window's start */
    uint8_t *saved_host[BENCH_UNDO_PAGES];  /* each page as it was before the window wrote it */
    uint8_t saved_page[BENCH_UNDO_PAGES][BENCH_PAGE_SIZE];
};

static inline int has_page(const bench_page_set_t *set, uint32_t page)
{
    if (set->overflow)
        return 1;
    uint32_t h = (page * 2654435761u) & (BENCH_PAGE_SLOTS - 1);
    while (set->slots[h]) {
        if (set->slots[h] == page + 1)
            return 1;
        h = (h + 1) & (BENCH_PAGE_SLOTS - 1);
    }
    return 0;
}

/* Empty a set by removing what it holds (cheaper than clearing every slot each window). */
static void pages_forget(bench_page_set_t *set)
{
    if (set->overflow) {
        bench_pages_clear(set);
        return;
    }
    for (uint32_t i = 0; i < set->n; i++) {
        uint32_t h = (set->pages[i] * 2654435761u) & (BENCH_PAGE_SLOTS - 1);
        while (set->slots[h] != set->pages[i] + 1)
            h = (h + 1) & (BENCH_PAGE_SLOTS - 1);
        set->slots[h] = 0;
    }
    set->n = 0;
    set->last = 0xFFFFFFFFu;
}

static inline const uint8_t *peek(bench_core_state_t *st, uint64_t addr, uint64_t len)
{
    bench_region_t *r = &st->regions[st->last_region];
    if (addr - r->base < r->size && addr + len - r->base <= r->size)
        return r->host + (addr - r->base);
    for (uint32_t i = 0; i < st->nregions; i++) {
        r = &st->regions[i];
        if (addr - r->base < r->size && addr + len - r->base <= r->size) {
            st->last_region = i;
            return r->host + (addr - r->base);
        }
    }
    return 0;
}

static inline uint32_t insn_size(uint16_t hw)
{
    return (hw >> 11) >= 0x1D ? 4 : 2;
}

static inline uint32_t classify(const uint8_t *p, uint32_t size)
{
    uint16_t hw = (uint16_t)(p[0] | (p[1] << 8));
    if (size == 2) {
        /* 16-bit hints: 1011 1111 op 0000 (op != 0); IT has a non-zero low nibble. */
        switch (hw) {
        case 0xBF40: return K_SEV;
        case 0xBF20: return K_WFE;
        case 0xBF30: return K_WFI;
        case 0xBF10: return K_YIELD;
        default: break;
        }
        if ((hw & 0xFFF8) == 0xB660)  /* CPSIE with i and/or f */
            return K_UNMASK;
        return K_PLAIN;
    }
    uint16_t hw2 = (uint16_t)(p[2] | (p[3] << 8));
    if (hw == 0xF3AF && (hw2 & 0xFF00) == 0x8000) {
        switch (hw2 & 0xFF) {
        case 4: return K_SEV;
        case 2: return K_WFE;
        case 3: return K_WFI;
        case 1: return K_YIELD;
        default: return K_PLAIN;
        }
    }
    if ((hw & 0xFFF0) == 0xF380 && (hw2 & 0xFF00) == 0x8800) {
        uint32_t sysm = hw2 & 0xFF;  /* PRIMASK, BASEPRI, BASEPRI_MAX, FAULTMASK */
        if (sysm >= 0x10 && sysm <= 0x13)
            return K_UNMASK;
    }
    return K_PLAIN;
}

static inline void stop(uc_engine *uc, bench_core_state_t *st, uint32_t reason, uint64_t addr)
{
    st->reason = reason;
    st->stop_pc = addr;
    st->emu_stop(uc);
}

/* Honour the engine's request to stop before the next block or instruction. */
static inline int stop_requested(uc_engine *uc, bench_core_state_t *st, uint64_t addr)
{
    if (!st->stop_next)
        return 0;
    st->stop_next = 0;
    stop(uc, st, STOP_REQUEST, addr);
    return 1;
}

/* Instructions in [from, to) of straight-line Thumb code (0 if not in host memory). */
static uint64_t count_range(bench_core_state_t *st, uint64_t from, uint64_t to)
{
    if (to <= from)
        return 0;
    const uint8_t *p = peek(st, from, to - from);
    if (!p)
        return 0;
    uint64_t n = 0;
    for (uint64_t off = 0; from + off < to; n++)
        off += insn_size((uint16_t)(p[off] | (p[off + 1] << 8)));
    return n;
}

/* The code about to run, or NULL after stopping because a limit is reached or it is not in memory. */
static inline const uint8_t *code_at(uc_engine *uc, bench_core_state_t *st, uint64_t addr, uint32_t size,
                                     int at_limit)
{
    if (at_limit) {
        stop(uc, st, STOP_LIMIT, addr);
        return 0;
    }
    const uint8_t *p = peek(st, addr, size);
    if (!p)
        stop(uc, st, STOP_NOCODE, addr);
    return p;
}

/* The instruction at `addr` is about to run: record a probe hit, or stop at a breakpoint (1). */
static inline int probe_or_break(uc_engine *uc, bench_core_state_t *st, uint64_t addr)
{
    int probe = probe_at(st, addr);
    if (addr != st->break_skip)
        st->break_skip = 0;
    if (probe < 0)
        return 0;
    if (!st->break_mode) {
        probe_hit(st, probe, st->count);
        return 0;
    }
    if (st->break_skip == addr)
        return 0;
    stop(uc, st, STOP_BREAK, addr);
    return 1;
}


/* A window's access to [addr, addr + size): note its pages; a follower stops at a conflict. */
static inline void spec_access(uc_engine *uc, bench_core_state_t *st, struct bench_spec *sp, uint64_t addr,
                               uint64_t size, int write)
{
    uint32_t first = (uint32_t)(addr >> BENCH_PAGE_BITS), last = (uint32_t)((addr + size - 1) >> BENCH_PAGE_BITS);
    for (uint32_t page = first; page <= last; page++) {
        note_page(write ? &sp->writes : &sp->reads, page);
        if (sp->mode == SPEC_FOLLOW && st->reason != STOP_CONFLICT
            && (has_page(&sp->peer->writes, page) || (write && has_page(&sp->peer->reads, page)))) {
            st->reason = STOP_CONFLICT;
            st->emu_stop(uc);
        }
    }
    if ((sp->reads.overflow || sp->writes.overflow) && sp->mode == SPEC_LEAD)
        st->stop_next = 1;  /* too much to check against: end the window */
}

/* A window's first write to a RAM page: keep the page so the window can be undone. */
static inline void spec_save_page(bench_core_state_t *st, struct bench_spec *sp, uint8_t *host)
{
    if (sp->nsaved >= BENCH_UNDO_PAGES)
        return;  /* cannot happen: the window ends before the store fills up (below) */
    sp->saved_host[sp->nsaved] = host;
    memcpy(sp->saved_page[sp->nsaved], host, BENCH_PAGE_SIZE);
    if (++sp->nsaved >= BENCH_UNDO_PAGES - BENCH_UNDO_HEADROOM)
        st->stop_next = 1;  /* end the window before the store fills up */
}

#define BENCH_MAX_SITES 256  /* well below BENCH_MAX_PAGES: the set never overflows */
struct bench_sites {
    bench_page_set_t at;  /* the sites' halfword numbers (address >> 1), in the page-set structure */
    uint32_t n;
    uc_hook hooks[BENCH_MAX_SITES];
};

static inline int is_site(const struct bench_sites *s, uint64_t addr)
{
    return has_page(&s->at, (uint32_t)(addr >> 1));
}

/*
 * The TLB is flushed so that the fill hooks see each page's next access, never because a
 * page maps elsewhere (guest addresses map to themselves): with Unicorn patched
 * (third_party/unicorn: uc_flush_tlb_keep_jmp_cache), the CPU's jump cache, which a flush
 * clears, is kept, so blocks are not looked up again after every flush.
 */
extern uc_err uc_flush_tlb_keep_jmp_cache(uc_engine *uc) __attribute__((weak));
static inline void refill_tlb(uc_engine *uc)
{
    if (uc_flush_tlb_keep_jmp_cache)
        uc_flush_tlb_keep_jmp_cache(uc);
    else
        uc_ctl_flush_tlb(uc);
}

#define BENCH_CODE_PAGES_BYTES ((1u << (32 - BENCH_PAGE_BITS)) / 8u)

static inline int is_code_page(const bench_core_state_t *st, uint32_t page)
{
    return (st->code_pages[page >> 3] >> (page & 7u)) & 1u;  /* (allocated by bench_attach) */
}

/* The block at [addr, addr + size) was translated: its pages hold code from now on (see
 * bench_tlb_fill_fast); a data-only TLB entry may cover them until the TLB is flushed. */
static inline void mark_code(bench_core_state_t *st, uint64_t addr, uint32_t size)
{
    uint32_t first = (uint32_t)(addr >> BENCH_PAGE_BITS), last = (uint32_t)((addr + size - 1) >> BENCH_PAGE_BITS);
    if (is_code_page(st, first) && is_code_page(st, last))
        return;
    for (uint32_t page = first; page <= last; page++)
        st->code_pages[page >> 3] |= (uint8_t)(1u << (page & 7u));
    st->code_flush = 1;
}

/* Before the block at [addr, addr + size) runs: no data-only TLB entry covers its pages. */
static inline void note_code(uc_engine *uc, bench_core_state_t *st, uint64_t addr, uint32_t size)
{
    mark_code(st, addr, size);
    if (st->code_flush) {
        st->code_flush = 0;
        refill_tlb(uc);
    }
}

/*
 * A block's instructions from the start, up to `allowed` of them: how many run before the
 * first one the engine must see (a hint, or a probe inside the block, that is not a site;
 * `stop->off` is its offset, or the block's size if the whole block runs), and the kind of
 * the last one that runs. Every instruction counts one cycle, condition-failed ones too.
 */
typedef struct {
    uint32_t n, last;          /* instructions that run, the kind of the last of them */
    uint32_t off, kind, size;  /* where it stops: offset, kind and size of that instruction */
    int probe_inside;          /* ... which is a probe inside the block */
} bench_scan_t;

static void scan_block(const bench_core_state_t *st, uint64_t addr, const uint8_t *p, uint32_t size,
                       uint64_t allowed, bench_scan_t *out)
{
    int probes_inside = 0;  /* is any probe past the block's first instruction? (most blocks: no) */
    for (uint32_t i = 0; i < st->nprobes; i++)
        probes_inside |= st->probe_pc[i] > addr && st->probe_pc[i] < addr + size;
    out->n = 0;
    out->last = K_PLAIN;
    out->off = 0;
    while (out->off < size) {
        uint32_t isz = insn_size((uint16_t)(p[out->off] | (p[out->off + 1] << 8)));
        if (out->off + isz > size)
            break;
        uint32_t kind = classify(p + out->off, isz);
        int probe_inside = probes_inside && out->off && probe_at(st, addr + out->off) >= 0;
        /* A site's hook stops at a hint and records a probe inside the block (bench_hook_site). */
        int special = (kind != K_PLAIN && kind != K_UNMASK) || probe_inside;
        if (out->n == allowed || (special && !(out->off && st->sites && is_site(st->sites, addr + out->off)))) {
            out->kind = kind;
            out->size = isz;
            out->probe_inside = probe_inside;
            return;
        }
        out->last = kind;
        out->n++;
        out->off += isz;
    }
    out->off = size;
}

/* The block at `addr` runs whole: its `n` instructions count from now (a probe at its start
 * first, when `probe` says one may be there). */
static inline void block_runs(uc_engine *uc, bench_core_state_t *st, uint64_t addr, uint32_t size, uint32_t n,
                              int ends_unmasking, int probe)
{
    if (probe) {
        if (probe_or_break(uc, st, addr))
            return;
    } else if (st->break_skip != addr) {
        st->break_skip = 0;  /* (as probe_or_break does) */
    }
    st->block_base = st->count;
    st->block_addr = addr;
    st->block_size = size;
    st->count += n;
    if (ends_unmasking && st->irq_hint)  /* an exception may be taken now: stop before the next block */
        st->stop_next = st->take_now = 1;
}

/*
 * With Unicorn patched (third_party/unicorn: uc_set_block_word), what the hook needs of a
 * block is worked out once, when the block is translated, and handed to the hook in place of
 * its size: Unicorn translates a block again when its code changes, and the engine drops the
 * fast instance's blocks when probes or sites change, so the word stays true. A block that
 * runs whole when its instructions fit (no hint or probe inside that is not a site) is PLAIN,
 * with its instruction count, whether it ends by unmasking and whether a probe is at its
 * start. The pages a translated block spans are marked as code there too (note_code), and the
 * TLB is flushed before the block runs.
 */
#define WORD_KNOWN (1u << 31)
#define WORD_PLAIN (1u << 30)
#define WORD_UNMASK (1u << 29)
#define WORD_PROBE (1u << 28)  /* a probe (or breakpoint) at the block's first instruction */
#define WORD_COUNT_SHIFT 16
#define WORD_COUNT_MASK 0x3FFu  /* (Unicorn ends a block at 512 instructions) */
#define WORD_SIZE_MASK 0xFFFFu

typedef uint32_t (*bench_block_word_fn)(uc_engine *, uint64_t, uint32_t, uint32_t, void *);
extern uc_err uc_set_block_word(uc_engine *uc, bench_block_word_fn fn, void *user) __attribute__((weak));
extern uc_err uc_set_fill_keeps_state(uc_engine *uc, bool keep) __attribute__((weak));
extern uc_err uc_set_exit_check_on_slow_path(uc_engine *uc, bool on_slow_path) __attribute__((weak));
extern uc_err uc_set_direct_covering_hook(uc_engine *uc, bool direct) __attribute__((weak));
extern uc_err uc_set_inline_block_exit_check(uc_engine *uc, bool inline_check) __attribute__((weak));
extern uc_err uc_set_chain_across_pages(uc_engine *uc, bool chain) __attribute__((weak));

static uint32_t block_word(uc_engine *uc, uint64_t addr, uint32_t size, uint32_t insns, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    (void)uc;
    (void)insns;  /* (the hook counts its own way: condition-failed and IT instructions included) */
    if (!size || size > WORD_SIZE_MASK)
        return size;  /* (0 means an invalid block to Unicorn) */
    const uint8_t *p = peek(st, addr, size);
    bench_scan_t scan;
    if (!p)
        return WORD_KNOWN | size;
    mark_code(st, addr, size);
    scan_block(st, addr, p, size, UINT64_MAX, &scan);
    if (scan.off < size || scan.n > WORD_COUNT_MASK)
        return WORD_KNOWN | size;  /* the hook looks at it every time */
    return WORD_KNOWN | WORD_PLAIN | size | (scan.n << WORD_COUNT_SHIFT) | (scan.last == K_UNMASK ? WORD_UNMASK : 0)
           | (probe_at(st, addr) >= 0 ? WORD_PROBE : 0);
}

/* Whether blocks of the fast instance `uc` come with their word (Unicorn patched). */
static int use_block_words(uc_engine *uc, bench_core_state_t *st)
{
    return uc_set_block_word && uc_set_block_word(uc, block_word, st) == UC_ERR_OK;
}

/*
 * With the plain wheel: what the block hook learnt of a block that runs whole, with a copy of
 * its code (a block is looked up by address; code rewritten there, as a loaded program does,
 * no longer matches the copy). Decoding every block at every run was a sixth of a round
 * trip's time; the copy still costs a cache miss a block, which the word avoids.
 */
#define BENCH_BLOCK_SLOTS 2048  /* a power of two */
#define BENCH_BLOCK_BYTES 64    /* longer blocks are decoded every time */
typedef struct {
    uint64_t addr;
    uint32_t size, n, last, gen;
    uint8_t code[BENCH_BLOCK_BYTES];
} bench_block_t;
struct bench_blocks { bench_block_t slot[BENCH_BLOCK_SLOTS]; };

static inline bench_block_t *block_slot(bench_core_state_t *st, uint64_t addr)
{
    if (!st->blocks && !(st->blocks = calloc(1, sizeof *st->blocks)))
        return 0;
    return &st->blocks->slot[(uint32_t)((addr >> 1) * 2654435761u) & (BENCH_BLOCK_SLOTS - 1)];
}

static void hook_block_looking(uc_engine *uc, uint64_t addr, uint32_t word, bench_core_state_t *st)
    __attribute__((noinline));

void bench_hook_block(uc_engine *uc, uint64_t addr, uint32_t word, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    uint32_t n = (word >> WORD_COUNT_SHIFT) & WORD_COUNT_MASK;
    if ((word & (WORD_KNOWN | WORD_PLAIN | WORD_PROBE)) == (WORD_KNOWN | WORD_PLAIN) && !st->code_flush
        && !st->stop_next && !st->break_skip && st->count < st->soft_limit && st->count + n <= st->limit) {
        /* The common case, kept apart from the rest, which costs a full function entry: a
         * block known to run whole (its word), no stop asked for, within the limits. */
        st->at_site = 0;
        block_runs(uc, st, addr, word & WORD_SIZE_MASK, n, word & WORD_UNMASK, 0);
        return;
    }
    hook_block_looking(uc, addr, word, st);
}

/* The block hook's block it must look at (see bench_hook_block). */
static void hook_block_looking(uc_engine *uc, uint64_t addr, uint32_t word, bench_core_state_t *st)
{
    uint32_t size = word & WORD_KNOWN ? word & WORD_SIZE_MASK : word;

    if (!(word & WORD_KNOWN) || st->code_flush)  /* (else block_word marked its pages, flushed since) */
        note_code(uc, st, addr, size);
    st->at_site = 0;
    if (stop_requested(uc, st, addr))
        return;
    uint64_t allowed = st->limit > st->count ? st->limit - st->count : 0;
    if (word & WORD_PLAIN && st->count < st->soft_limit
        && ((word >> WORD_COUNT_SHIFT) & WORD_COUNT_MASK) <= allowed) {
        block_runs(uc, st, addr, size, (word >> WORD_COUNT_SHIFT) & WORD_COUNT_MASK, word & WORD_UNMASK,
                   word & WORD_PROBE);
        return;
    }
    const uint8_t *p = code_at(uc, st, addr, size, st->count >= st->soft_limit);
    if (!p)
        return;
    bench_block_t *known = size <= BENCH_BLOCK_BYTES && !(word & WORD_KNOWN) ? block_slot(st, addr) : 0;
    if (known && known->addr == addr && known->size == size && known->gen == st->block_gen
        && known->n <= allowed && !memcmp(known->code, p, size)) {
        block_runs(uc, st, addr, size, known->n, known->last == K_UNMASK, st->nprobes != 0);
        return;
    }
    bench_scan_t scan;
    scan_block(st, addr, p, size, allowed, &scan);
    if (scan.off < size) {  /* the engine must see the instruction there, or the limit is there */
        if (scan.n == 0 && !scan.probe_inside) {
            if (allowed == 0) {
                stop(uc, st, STOP_LIMIT, addr);
            } else {
                st->hint = scan.kind;
                st->insn_size = scan.size;
                stop(uc, st, STOP_HINT, addr);
            }
        } else {
            st->split_addr = addr + scan.off;
            stop(uc, st, STOP_SPLIT, addr);
        }
        return;
    }
    if (known) {  /* it runs whole: what decides that is in the copy and in block_gen */
        known->addr = addr;
        known->size = size;
        known->n = scan.n;
        known->last = scan.last;
        known->gen = st->block_gen;
        memcpy(known->code, p, size);
    }
    block_runs(uc, st, addr, size, scan.n, scan.last == K_UNMASK, st->nprobes != 0);
}

/*
 * Sites, on the fast instance: instructions with a hook of their own, so that a block that
 * holds one needs no split. A hint or a probe inside a block would otherwise cost two
 * emulation starts and retranslated blocks (the block hook splits the block there); the
 * engine makes them sites when it sets probes or first meets a hint, and the site's hook
 * stops before a hint or records the probe hit at the instruction's cycle.
 *
 * Device-access sites. A device access must take effect at its exact
 * cycle, and what it causes (an interrupt, an event for another core) right after its
 * instruction. The fast instance counts per block, so the engine aborts such an access
 * and replays its instruction alone, which costs an emulation start and retranslating the
 * blocks around it (~50 us). After the first abort at an instruction outside an IT block,
 * the engine makes it a site: an instruction hook on it and on the instruction after it.
 * At the site the hook computes the cycle the instruction starts at (the access then
 * takes effect at once, at that cycle); at the instruction after, it stops the core there
 * if the access asked for it (stop_next) or lowered its limit. An instruction outside an
 * IT block always runs, so the instruction after it (or the next block) clears the site.
 * Sites are facts about code: the engine forgets them when the core's code may change.
 */
void bench_hook_site(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    (void)size;
    uint64_t at = st->block_base + count_range(st, st->block_addr, addr);  /* this instruction starts at */
    st->at_site = 0;
    if (addr != st->block_addr) {  /* (the block hook handles a block's first instruction) */
        if (st->stop_next || at >= st->limit) {  /* the access before asked to stop here */
            st->count = at;
            uint32_t reason = st->stop_next ? STOP_REQUEST : STOP_LIMIT;
            st->stop_next = 0;
            stop(uc, st, reason, addr);
            return;
        }
        const uint8_t *p = peek(st, addr, 4);
        uint32_t isz = p ? insn_size((uint16_t)(p[0] | (p[1] << 8))) : 2;
        uint32_t kind = p ? classify(p, isz) : K_PLAIN;
        if (kind != K_PLAIN && kind != K_UNMASK) {  /* a hint: the engine gives it its meaning here */
            st->count = at;
            st->hint = kind;
            st->insn_size = isz;
            stop(uc, st, STOP_HINT, addr);
            return;
        }
        if (st->nprobes) {
            uint64_t counted = st->count;
            st->count = at;  /* a probe hit or a breakpoint at this instruction's cycle */
            if (probe_or_break(uc, st, addr))
                return;
            st->count = counted;
        }
    }
    if (is_site(st->sites, addr)) {
        st->at_site = 1;
        st->site_count = at;
    }
}

/* Make the instruction at `pc` a site of the fast instance `uc`: 1 if it became one now. */
int bench_learn_site(uc_engine *uc, bench_core_state_t *st, uint64_t pc)
{
    struct bench_sites *s = st->sites;
    if (!s) {
        if (!(s = st->sites = calloc(1, sizeof *s)))
            return 0;
        bench_pages_clear(&s->at);
    }
    if (is_site(s, pc))
        return 0;
    const uint8_t *p = peek(st, pc, 2);
    if (!p || s->n >= BENCH_MAX_SITES)
        return 0;
    /* Not where an IT block may cover it (a condition-failed instruction gets no hook call):
     * no IT opcode in the 14 bytes before it, which an IT block of four 32-bit
     * instructions spans (a halfword that only looks like one makes it no site: safe). */
    for (uint64_t back = 2; back <= 14 && back <= pc; back += 2) {
        const uint8_t *q = peek(st, pc - back, 2);
        if (q && q[1] == 0xBF && (q[0] & 0x0F))
            return 0;
    }
    uint64_t next = pc + insn_size((uint16_t)(p[0] | (p[1] << 8)));
    if (uc_hook_add(uc, &s->hooks[s->n], UC_HOOK_CODE, (void *)bench_hook_site, st, pc, next) != UC_ERR_OK)
        return 0;
    s->n++;
    st->sites_learned++;
    st->block_gen++;
    note_page(&s->at, (uint32_t)(pc >> 1));
    uc_ctl_remove_cache(uc, pc, next + 1);  /* code translated before has no hook there */
    return 1;
}

/* The core's code may have changed: forget its sites. */
void bench_forget_sites(uc_engine *uc, bench_core_state_t *st)
{
    struct bench_sites *s = st->sites;
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        uc_hook_del(uc, s->hooks[i]);
    s->n = 0;
    st->block_gen++;
    pages_forget(&s->at);
    st->at_site = 0;
}

/*
 * Unicorn stores the IT state into the CPU when it restores the CPU state in the middle
 * of an IT block (it does for every memory access a memory hook reports, and for every
 * TLB fill), and nothing clears it when the block ends: the next translated block is then looked up as if it were still in
 * the IT block, and its first instructions are skipped as condition-failed
 * (measured: a long run on the precise instance diverged from the fast one in
 * memset's tail). The hooks clear it once the block's last instruction runs.
 */
static inline void clear_it_state(uc_engine *uc, bench_core_state_t *st)
{
    uint32_t epsr = 1u << 24;  /* Thumb, no IT state */
    uc_reg_write(uc, UC_ARM_REG_EPSR, &epsr);
    st->it_dirty = 0;
}

/*
 * Precise hook: the instruction the hook just counted, and the straight line after it up to
 * the returned address, are plain: the hook has nothing to do for them but count. Plain: in
 * the same 1 KiB page (noted as executed, and as read by a lockstep window, already), no
 * hint, CPSIE/MSR mask change or IT (no 0xBFxx halfword at all), no probe, not covered by
 * the last IT seen, and at most BENCH_PLAIN_SCAN bytes ahead (the line usually ends at a
 * branch before). What the hook does for such an instruction does not depend on how it got
 * there, except after a skipped IT-block instruction (the hook then counts those first), so
 * a loop inside the line stays on the short path. Code is looked at as it is now, so what the
 * hook knows holds for one emulation start only (the run-starters set plain_end = 0), in
 * which the bench does not rewrite code. Measured: the per-instruction hook was the precise
 * instance's largest cost.
 */
#define BENCH_PLAIN_SCAN 48u

/* Whether the Thumb instruction at `p` never goes on to the next one: B, BX/BLX register,
 * POP with PC, B.W (what follows is another line, or a literal pool: not worth looking at). */
static inline int ends_line(const uint8_t *p, uint32_t size)
{
    uint16_t hw = (uint16_t)(p[0] | (p[1] << 8));
    if (size == 2)
        return (hw & 0xF800) == 0xE000 || (hw & 0xFF00) == 0x4700 || (hw & 0xFF00) == 0xBD00;
    uint16_t hw2 = (uint16_t)(p[2] | (p[3] << 8));
    return (hw & 0xF800) == 0xF000 && (hw2 & 0xD000) == 0x9000;
}

/* The precise hook only counts the instruction at `p`: no hint, IT, CPSIE or MSR to a mask
 * (no 0xBFxx halfword at all). */
static inline int only_counted(const uint8_t *p, uint32_t size)
{
    return p[1] != 0xBF && classify(p, size) == K_PLAIN;
}

static uint64_t plain_run_end(bench_core_state_t *st, uint64_t addr, uint64_t next)
{
    uint64_t page_end = (addr | (BENCH_PAGE_SIZE - 1)) + 1;
    if (next >= page_end)  /* (an instruction across two pages: the next page is not noted) */
        return 0;
    uint64_t end = page_end - next < BENCH_PLAIN_SCAN ? page_end : next + BENCH_PLAIN_SCAN;
    if (next >= st->it_start && next < st->it_end)
        return 0;
    if (next < st->it_start && st->it_start < end)
        end = st->it_start;
    for (uint32_t i = 0; i < st->nprobes; i++)
        if (st->probe_pc[i] >= next && st->probe_pc[i] < end)
            end = st->probe_pc[i];
    const uint8_t *p = next + 2 <= end ? peek(st, next, end - next) : 0;
    if (!p)
        return 0;
    uint64_t at = next;
    while (at + 2 <= end) {
        const uint8_t *q = p + (at - next);
        uint16_t hw = (uint16_t)(q[0] | (q[1] << 8));
        uint32_t isz = insn_size(hw);
        if (at + isz > end || !only_counted(q, isz))
            break;
        at += isz;
        if (ends_line(q, isz))
            break;
    }
    return at > next ? at : 0;
}

/*
 * The precise (per-instruction) hook, used while several cores run in lockstep.
 * Unicorn does not call code hooks for condition-failed instructions of an IT
 * block (measured), so the hook counts the ones it skipped when it next sees an
 * instruction: both hooks then count every instruction, as the block hook does.
 */
static void hook_code_looking(uc_engine *uc, uint64_t addr, uint32_t size, bench_core_state_t *st)
    __attribute__((noinline));

/* The instruction at [addr, addr + size) runs: it counts from now (precise hook). */
static inline void insn_runs(bench_core_state_t *st, uint64_t addr, uint32_t size)
{
    st->block_base = st->count;
    st->block_addr = addr;
    st->block_size = size;
    st->prev_end = addr + size;
    st->count++;
}

extern uc_err uc_set_insn_gate(uc_engine *uc, const uint32_t *gate, uint64_t *counter, uint64_t *pc)
    __attribute__((weak));

/*
 * Precise instance, with Unicorn patched (third_party/unicorn: uc_set_insn_gate): a block
 * whose instructions the hook would only count runs "in bulk", each instruction counting
 * itself inline and noting its address (insn_pc), without a call (bench_hook_block_precise).
 * Whatever may run inside such a block (a TLB fill, a device access, an exception) calls
 * precise_sync first: the instructions after it go back to the hook, and the hook's view is
 * what it would be had it counted every instruction itself (the one that started last is the
 * hook's last). Measured: the call per instruction was the largest part of the precise hook's
 * cost, and the precise hook the largest cost of a lockstep window.
 */
static inline void precise_sync(bench_core_state_t *st)
{
    if (!st->bulk)
        return;
    st->bulk = 0;
    st->insn_gate = 1;
    if (st->count == st->bulk_count)
        return;  /* none of the block ran: the hook's view is as the block found it */
    const uint8_t *p = peek(st, st->insn_pc, 2);
    uint32_t size = p ? insn_size((uint16_t)(p[0] | (p[1] << 8))) : 2;
    st->block_base = st->count - 1;
    st->block_addr = st->insn_pc;
    st->block_size = size;
    st->prev_end = st->insn_pc + size;
}

/* The instructions from here to the block's end count themselves (see precise_sync). */
static inline void enter_bulk(bench_core_state_t *st)
{
    st->bulk = 1;
    st->bulk_count = st->count;
    st->insn_gate = 0;
}

/* For the engine's check of its mirror of the core state (native.CoreState). */
size_t bench_core_state_size(void)
{
    return sizeof(bench_core_state_t);
}

/* Whether precise instances can run blocks in bulk (Unicorn patched: uc_set_insn_gate). */
int bench_has_insn_gate(void)
{
    return uc_set_insn_gate != 0;
}

/* For the engine: the precise instance's hook state, exact (see precise_sync). */
void bench_precise_sync(bench_core_state_t *st)
{
    precise_sync(st);
}

void bench_hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    if (st->bulk)  /* an IT-block instruction inside a block that runs in bulk: always hooked */
        precise_sync(st);
    if (addr < st->plain_end && addr >= st->plain_start && st->count < st->limit && st->count < st->soft_limit
        && !st->stop_next && st->reason == STOP_NONE && !st->it_dirty
        && (addr == st->prev_end || st->prev_end < st->it_start || st->prev_end >= st->it_end)) {
        /* Plain code the hook has looked at already (a loop, most often), reached in a straight
         * line or from outside an IT block: nothing to do but count (see plain_run_end). Kept
         * apart from the rest, which costs a full function entry. */
        insn_runs(st, addr, size);
        return;
    }
    hook_code_looking(uc, addr, size, st);
}

/* The precise instance runs code from `page` in this episode. A page that turns code drops
 * the TLB: no data-only entry may outlive that (bench_tlb_fill). */
static inline void note_executed(uc_engine *uc, bench_core_state_t *st, uint32_t page)
{
    uint32_t known = st->executed.n + st->executed.overflow;
    note_page(&st->executed, page);
    st->exec_seen[page] = (uint16_t)st->exec_episode;
    if (st->executed.n + st->executed.overflow != known)
        refill_tlb(uc);
}

/* The precise hook's instruction it must look at (see bench_hook_code). */
static void hook_code_looking(uc_engine *uc, uint64_t addr, uint32_t size, bench_core_state_t *st)
{
    if (stop_requested(uc, st, addr))
        return;
    if (addr != st->prev_end && st->prev_end >= st->it_start && st->prev_end < st->it_end) {
        /* IT-block instructions Unicorn ran without calling the hook: up to here, or to the
         * block's end when its last instruction branched (a branch in an IT block is last). */
        uint64_t to = addr > st->prev_end && addr < st->it_end ? addr : st->it_end;
        st->count += count_range(st, st->prev_end, to);
        st->prev_end = to;
    }
    const uint8_t *p = code_at(uc, st, addr, size, st->count >= st->limit || st->count >= st->soft_limit);
    if (!p)
        return;
    uint32_t kind = classify(p, size);
    if (kind != K_PLAIN && kind != K_UNMASK) {
        st->hint = kind;
        st->insn_size = size;
        stop(uc, st, STOP_HINT, addr);
        return;
    }
    if (kind == K_UNMASK && st->irq_hint)
        st->stop_next = st->take_now = 1;
    if (addr >= st->it_start && addr < st->it_end && addr + size < st->it_end)
        st->it_dirty = 1;  /* inside an IT block, not its last instruction: Unicorn may sync it */
    else if (st->it_dirty)
        clear_it_state(uc, st);
    if (size == 2) {
        uint16_t hw = (uint16_t)(p[0] | (p[1] << 8));
        if ((hw & 0xFF00) == 0xBF00 && (hw & 0x000F)) {
            /* IT: the mask's lowest set bit gives the number of covered instructions. */
            uint32_t mask = hw & 0xF, covered = 4 - (uint32_t)__builtin_ctz(mask);
            uint64_t end = addr + 2;
            const uint8_t *q = peek(st, end, 16);
            for (uint32_t i = 0; q && i < covered; i++)
                end += insn_size((uint16_t)(q[end - addr - 2] | (q[end - addr - 1] << 8)));
            st->it_start = addr + 2;
            st->it_end = end;
        }
    }
    note_executed(uc, st, (uint32_t)(addr >> BENCH_PAGE_BITS));  /* (a page's first instruction in a run
                                                                   * comes here) */
    if (st->spec && st->spec->mode) {
        spec_access(uc, st, st->spec, addr, size, 0);  /* code counts as read: a write there is a conflict */
        if (st->reason == STOP_CONFLICT) {
            st->stop_pc = addr;  /* stopped before this instruction ran */
            return;
        }
    }
    if (st->nprobes && probe_or_break(uc, st, addr))
        return;
    insn_runs(st, addr, size);
    st->plain_end = st->break_skip || st->it_dirty ? 0 : plain_run_end(st, addr, addr + size);
    st->plain_start = kind == K_PLAIN && p[1] != 0xBF && probe_at(st, addr) < 0
                      && (addr < st->it_start || addr >= st->it_end) ? addr : addr + size;
}

/*
 * Precise instance, patched Unicorn: what the block hook needs of a block, worked out when it
 * is translated (see block_word): PLAIN when no instruction is a hint, an IT, a CPSIE or an
 * MSR to a mask (no 0xBFxx halfword at all), with its instruction count. Probes are looked for
 * when the block runs: they come and go without the precise instance's code being dropped.
 */
static uint32_t block_word_precise(uc_engine *uc, uint64_t addr, uint32_t size, uint32_t insns, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    (void)uc;
    (void)insns;
    if (!size || size > WORD_SIZE_MASK)
        return size;
    const uint8_t *p = peek(st, addr, size);
    if (!p)
        return WORD_KNOWN | size;
    uint32_t off = 0, n = 0;
    while (off < size) {
        uint32_t isz = insn_size((uint16_t)(p[off] | (p[off + 1] << 8)));
        if (off + isz > size || !only_counted(p + off, isz))
            return WORD_KNOWN | size;
        off += isz;
        n++;
    }
    return n > WORD_COUNT_MASK ? WORD_KNOWN | size : WORD_KNOWN | WORD_PLAIN | size | (n << WORD_COUNT_SHIFT);
}

/*
 * Precise instance, patched Unicorn: before a block runs, whether all the instruction hook
 * would do for each of its instructions is count it (see hook_code_looking): a plain block
 * that fits in the limits, with no stop asked for, no probe or breakpoint, no IT block in
 * play, on pages the hook has noted as executed (and as read by the window) already. Then it
 * runs in bulk (see precise_sync); else the instruction hook sees every instruction.
 */
void bench_hook_block_precise(uc_engine *uc, uint64_t addr, uint32_t word, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    precise_sync(st);  /* the block before ran whole in bulk: the hook's view after it */
    uint32_t n = (word >> WORD_COUNT_SHIFT) & WORD_COUNT_MASK, size = word & WORD_SIZE_MASK;
    if (!st->precise_bulk || (word & (WORD_KNOWN | WORD_PLAIN)) != (WORD_KNOWN | WORD_PLAIN) || st->stop_next
        || st->reason != STOP_NONE || st->it_dirty || st->break_skip || st->count + n > st->limit || st->count + n > st->soft_limit
        || (addr != st->prev_end && st->prev_end >= st->it_start && st->prev_end < st->it_end)
        || (addr < st->it_end && addr + size > st->it_start))
        return;
    for (uint32_t i = 0; i < st->nprobes; i++)
        if (st->probe_pc[i] >= addr && st->probe_pc[i] < addr + size)
            return;
    /* What the instruction hook does at a page's first instruction, for the block's pages. */
    uint32_t first = (uint32_t)(addr >> BENCH_PAGE_BITS), last = (uint32_t)((addr + size - 1) >> BENCH_PAGE_BITS);
    struct bench_spec *sp = st->spec && st->spec->mode ? st->spec : 0;
    for (uint32_t page = first; page <= last; page++) {
        if (st->exec_seen[page] != (uint16_t)st->exec_episode)
            note_executed(uc, st, page);
        if (sp && !has_page(&sp->reads, page)) {
            spec_access(uc, st, sp, (uint64_t)page << BENCH_PAGE_BITS, 1, 0);
            if (st->reason == STOP_CONFLICT) {
                st->stop_pc = addr;  /* stopped before the block's first instruction */
                return;
            }
            if (st->stop_next)
                return;  /* (the window's record is full: the instruction hook stops) */
        }
    }
    enter_bulk(st);
    st->bulk_blocks++;
}

/*
 * Precise instance, at a data access: Unicorn restores the CPU state from the translated
 * block when it fills the TLB, which stores the IT state into the CPU for an access inside
 * an IT block (see clear_it_state).
 */
static inline void it_after_access(uc_engine *uc, bench_core_state_t *st)
{
    if (st->fills_keep_state)
        return;  /* (patched Unicorn: the fill stored no IT state) */
    if (st->it_start < st->it_end && st->prev_end >= st->it_start && st->prev_end <= st->it_end) {
        /* In or at the end of an IT block. Unicorn may not have called the code hook for this
         * instruction (a block that starts inside an IT block): ask it where it is. */
        uint64_t pc = 0;
        uc_reg_read(uc, UC_ARM_REG_PC, &pc);
        if (pc >= st->it_start && pc < st->it_end) {
            const uint8_t *p = peek(st, pc, 2);
            uint32_t isz = p ? insn_size((uint16_t)(p[0] | (p[1] << 8))) : 2;
            if (pc + isz >= st->it_end)
                clear_it_state(uc, st);  /* the block's last instruction: no IT state after it */
            else
                st->it_dirty = 1;
        }
    }
}

/*
 * Precise instance: Unicorn asks where a page is (UC_TLB_VIRTUAL). The bench maps guest
 * addresses one to one; what matters is what the fill tells (see struct bench_spec).
 */
static bool precise_fill(uc_engine *uc, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *result,
                         bench_core_state_t *st);

bool bench_tlb_fill(uc_engine *uc, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *result, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    int in_bulk = st->bulk && type != UC_MEM_FETCH;  /* (a fetch comes between blocks) */
    precise_sync(st);
    bool found = precise_fill(uc, vaddr, type, result, st);
    if (in_bulk && st->reason == STOP_NONE && !st->stop_next && !st->it_dirty) {
        enter_bulk(st);  /* nothing the rest of the block needs the instruction hook for */
    }
    return found;
}

static bool precise_fill(uc_engine *uc, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *result,
                         bench_core_state_t *st)
{
    struct bench_spec *sp = st->spec;
    uint32_t page = (uint32_t)(vaddr >> BENCH_PAGE_BITS);
    uint64_t base = (uint64_t)page << BENCH_PAGE_BITS;
    uint8_t *host = (uint8_t *)peek(st, base, BENCH_PAGE_SIZE);  /* NULL: a device or unmapped */
    /* A data page (no code run from it) gets no execute permission: its stores may then take
     * the fast path (see bench_tlb_fill_fast). */
    uint32_t exec = type == UC_MEM_FETCH || has_page(&st->executed, page) ? UC_PROT_EXEC : 0;
    result->paddr = base;
    if (type == UC_MEM_WRITE) {
        if (host) {
            if (sp->mode) {
                if (!has_page(&sp->writes, page))
                    spec_save_page(st, sp, host);
                spec_access(uc, st, sp, base, 1, 1);
            }
            note_page(&st->written, page);
        }
        note_page(&sp->writable, page);
        result->perms = (uc_prot)(UC_PROT_READ | UC_PROT_WRITE | exec);
        it_after_access(uc, st);
        return true;
    }
    if (type == UC_MEM_READ) {
        if (host && sp->mode)
            spec_access(uc, st, sp, base, 1, 0);
        it_after_access(uc, st);
    }
    result->perms = (uc_prot)(UC_PROT_READ | exec | (has_page(&sp->writable, page) ? UC_PROT_WRITE : 0));
    return true;
}

/*
 * Fast instance: Unicorn asks where a page is (UC_TLB_VIRTUAL, everything mapped one to
 * one; see bench_attach). Unicorn restores the CPU state before it
 * asks for a data access, which stores the IT state of the accessing instruction into
 * the CPU; while a translated block runs, QEMU keeps that state at zero (it clears it when
 * a block starts and stores it only when a block ends inside an IT block), so zero is
 * put back. (A fetch is asked for between blocks, where the state is the real one.)
 *
 * Stores. Unicorn keeps no dirty-page bookkeeping: every TLB entry starts "not dirty", so
 * every store takes the slow path that looks for translated code to invalidate, and only
 * an entry without execute permission (on an address no memory hook covers) is made fast
 * after its first store. Every page of RAM is executable, so without more, all ~4,000
 * stores of a round trip took the slow path. A data access to a page this instance never
 * ran code from therefore gets an entry without execute permission; once a block from a
 * page has run, note_code marks it and flushes the TLB, so that stores to it stay checked
 * for self-modifying code. (A fetch from a data-only entry misses and refills with every
 * permission.) The precise instance keeps its own rules (bench_tlb_fill).
 */
bool bench_tlb_fill_fast(uc_engine *uc, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *result, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    result->paddr = vaddr & ~(uint64_t)(BENCH_PAGE_SIZE - 1);
    result->perms = UC_PROT_ALL;
    if (type == UC_MEM_FETCH)
        return true;  /* between blocks (translating the next): its IT state is the real one */
    if (!is_code_page(st, (uint32_t)(vaddr >> BENCH_PAGE_BITS)))
        result->perms = (uc_prot)(UC_PROT_READ | UC_PROT_WRITE);
    if (st->fills_keep_state)
        return true;  /* no IT state was stored */
    uint64_t xpsr = 0;
    uc_reg_read(uc, UC_ARM_REG_XPSR, &xpsr);
    if (xpsr & 0x0600FC00u) {
        uint32_t epsr = 1u << 24;  /* Thumb, no IT state */
        uc_reg_write(uc, UC_ARM_REG_EPSR, &epsr);
    }
    return true;
}

/* The memory map changed: forget what the TLB holds (the binding has no call for it). */
void bench_flush_tlb(uc_engine *uc)
{
    uc_ctl_flush_tlb(uc);
}

/* Forget what the precise instance's TLB holds, so that every page's next access is seen again. */
static void tlb_forget(uc_engine *uc, struct bench_spec *sp)
{
    refill_tlb(uc);
    pages_forget(&sp->writable);
}

/* The core comes to its precise instance: what it writes from now on is seen (bench_drop_written). */
void bench_precise_enter(uc_engine *precise, bench_core_state_t *st)
{
    tlb_forget(precise, st->spec);
}

/* The precise instance stops: remember what the code it ran looks like (a copy: comparing
 * copies costs a fraction of hashing the pages, and the check runs at every switch). Only the
 * copies that may be out of date are taken again: of the pages first run since the last time,
 * and of those the precise instance itself wrote (its own stores dropped its stale code).
 * Call it before bench_drop_written, which forgets those. Another core's or the engine's writes
 * meanwhile leave an older copy, which the next check finds different: the code is dropped. */
void bench_exec_remember(bench_core_state_t *st)
{
    if (!st->exec_copy && !(st->exec_copy = malloc((size_t)BENCH_MAX_PAGES << BENCH_PAGE_BITS))) {
        st->executed.overflow = 1;  /* no memory: the next switch drops the precise code */
        return;
    }
    int all = st->written.overflow || st->exec_remembered > st->executed.n;
    for (uint32_t i = 0; i < st->executed.n; i++) {
        uint32_t page = st->executed.pages[i];
        if (!all && i < st->exec_remembered && !has_page(&st->written, page))
            continue;
        const uint8_t *p = peek(st, (uint64_t)page << BENCH_PAGE_BITS, BENCH_PAGE_SIZE);
        if (p)
            memcpy(st->exec_copy + ((size_t)i << BENCH_PAGE_BITS), p, BENCH_PAGE_SIZE);
    }
    st->exec_remembered = st->executed.n;
}

/*
 * The core comes to its precise instance (bench_select): a new episode. Every `exec_age`
 * episodes, the code of the pages it has not run for that long is dropped from the precise
 * instance and the pages leave `executed`, so that the check at every switch
 * (bench_exec_changed, a comparison of every executed page with its copy) covers what the
 * core runs now, not all it ever ran there. Measured: the M4 ran code from ~22 pages per
 * lockstep episode and ~37 over four, while 174 had piled up since boot, and the check was
 * ~5% of a latency campaign's time. Dropped code that is needed again is translated again,
 * into new space of Unicorn's code buffer: with 16 episodes, the pages a campaign runs once
 * a batch came and went every batch and a worker's memory grew by ~200 bytes a round trip;
 * BENCH_EXEC_AGE episodes (two 1,000-sample batches) keep them.
 */
#define BENCH_EXEC_AGE 4096u    /* episodes (the default of `exec_age`) */
#define BENCH_EXEC_FEW 48u      /* fewer executed pages than this: nothing is dropped */
void bench_exec_age(uc_engine *precise, bench_core_state_t *st)
{
    st->exec_episode++;
    if (st->executed.overflow || st->executed.n < BENCH_EXEC_FEW || st->exec_episode % st->exec_age)
        return;
    uint32_t n = 0, remembered = 0;
    for (uint32_t i = 0; i < st->executed.n; i++) {
        uint32_t page = st->executed.pages[i];
        if ((uint16_t)(st->exec_episode - st->exec_seen[page]) > st->exec_age) {
            uint64_t base = (uint64_t)page << BENCH_PAGE_BITS;
            uc_ctl_remove_cache(precise, base, base + BENCH_PAGE_SIZE);
            continue;
        }
        if (i < st->exec_remembered) {  /* its copy moves with it (copies are in `executed` order) */
            if (n != i)
                memcpy(st->exec_copy + ((size_t)n << BENCH_PAGE_BITS), st->exec_copy + ((size_t)i << BENCH_PAGE_BITS),
                       BENCH_PAGE_SIZE);
            remembered++;
        }
        st->executed.pages[n++] = page;  /* (kept in place, in order) */
    }
    if (n == st->executed.n)
        return;
    bench_pages_clear(&st->executed);  /* (its membership slots; the pages stay in the array) */
    for (uint32_t i = 0; i < n; i++)
        note_page(&st->executed, st->executed.pages[i]);  /* (writes each back where it is) */
    st->exec_remembered = remembered;
}

/* The precise instance's code was dropped: it has run nothing, and nothing is remembered. */
void bench_exec_forget(bench_core_state_t *st)
{
    bench_pages_clear(&st->executed);
    st->exec_remembered = 0;
    st->exec_episode++;  /* no page counts as run in this episode (bench_hook_block_precise) */
}

/* The precise instance resumes: has code it translated changed since (or too much to tell)? */
int bench_exec_changed(bench_core_state_t *st)
{
    if (st->executed.overflow || (st->executed.n && !st->exec_copy))
        return 1;
    for (uint32_t i = 0; i < st->executed.n; i++) {
        const uint8_t *p = peek(st, (uint64_t)st->executed.pages[i] << BENCH_PAGE_BITS, BENCH_PAGE_SIZE);
        if (p && memcmp(st->exec_copy + ((size_t)i << BENCH_PAGE_BITS), p, BENCH_PAGE_SIZE))
            return 1;
    }
    return 0;
}

/* The fast instance resumes: drop its code on the pages the precise one wrote; forget them.
 * Only pages the fast instance ran code from can hold its code (note_code), and only those
 * are dropped: Unicorn looks a page up for an instruction fetch to drop its code, which leaves
 * a TLB entry with execute permission, and every later store to that page (a stack, most
 * often) then took the slow path until the next flush (measured: ~2,000 stores a round trip). */
void bench_drop_written(uc_engine *fast, bench_core_state_t *st)
{
    if (st->written.overflow) {
        uc_ctl_flush_tb(fast);
    } else {
        for (uint32_t i = 0; i < st->written.n; i++) {
            uint64_t page = (uint64_t)st->written.pages[i] << BENCH_PAGE_BITS;
            if (is_code_page(st, st->written.pages[i]))
                uc_ctl_remove_cache(fast, page, page + (1u << BENCH_PAGE_BITS));
        }
    }
    bench_pages_clear(&st->written);
}

/*
 * Snapshot restore. Copying a memory back whole and dropping every translated block made each
 * campaign batch start by translating the kernel's working set again (~0.1 s a batch);
 * between batches only data pages change. So: copy back just the 1 KiB pages that differ, and
 * tell the engine whether any of them holds code a core translated.
 */

/* Copy the pages of `src` that differ into `dst`; their host addresses go to `changed` (at most
 * `max`). Returns how many differed (more than `max`: the list is incomplete). */
uint32_t bench_restore_pages(uint8_t *dst, const uint8_t *src, uint64_t size, uint64_t *changed, uint32_t max)
{
    uint32_t n = 0;
    for (uint64_t off = 0; off < size; off += BENCH_PAGE_SIZE) {
        uint64_t len = size - off < BENCH_PAGE_SIZE ? size - off : BENCH_PAGE_SIZE;
        if (!memcmp(dst + off, src + off, len))
            continue;
        memcpy(dst + off, src + off, len);
        if (n < max)
            changed[n] = (uint64_t)(uintptr_t)(dst + off);
        n++;
    }
    return n;
}

/* Did the `n` host pages at `hosts` change code this core translated (on either instance),
 * wherever its memory map shows them? */
int bench_code_changed(bench_core_state_t *st, const uint64_t *hosts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t r = 0; r < st->nregions; r++) {
            const bench_region_t *region = &st->regions[r];
            uint64_t host = (uint64_t)(uintptr_t)region->host;
            if (hosts[i] < host || hosts[i] >= host + region->size)
                continue;
            uint32_t page = (uint32_t)((region->base + (hosts[i] - host)) >> BENCH_PAGE_BITS);
            if (is_code_page(st, page) || has_page(&st->executed, page))
                return 1;
        }
    }
    return 0;
}

/* Instructions from `from` up to (not including) `to`, decoding Thumb sizes. */
uint64_t bench_count_between(bench_core_state_t *st, uint64_t from, uint64_t to)
{
    return count_range(st, from, to);
}

/* Size in bytes of the instruction at `addr` (0 if it is not in host memory). */
uint32_t bench_insn_size(bench_core_state_t *st, uint64_t addr)
{
    const uint8_t *p = peek(st, addr, 2);
    return p ? insn_size((uint16_t)(p[0] | (p[1] << 8))) : 0;
}

/*
 * Several awake cores, on their precise instances (in C: switching cores every few
 * instructions costs ~8 us a switch in Python).
 *
 * The reference order is instruction by instruction: the instructions of cycle t, core
 * by core in index order, before any of cycle t + 1. An instruction's effect on another
 * core (an event, an interrupt) takes effect after it; a core stops before anything the
 * engine must handle (a hint, an exception, a device access, an error): it "needs the
 * engine" there, at an exact place in that order.
 *
 * Windows give the same result without stepping when the cores do not interact. Cores
 * interact only through memory both use and through what the engine handles. The
 * leader runs alone up to the next place it needs the engine (or `window` cycles),
 * logging the old contents of what it stores; the follower then runs up to the same
 * place in the order, each access checked against the pages the leader used. If no page
 * was used by both (other than read by both), one core after the other gave exactly the
 * reference result. Otherwise:
 *  - the follower read a page the leader wrote, or wrote one it used: both are undone and
 *    that stretch runs in the reference order, instruction by instruction;
 *  - the follower needs the engine before the leader's stop: the leader is undone and run
 *    again up to that place (the same instructions on the same memory); the follower
 *    leads the next window.
 * Returns the index of the core that needs the engine (`err`: its emulation error, -1 if
 * a window diverged, which is a bug), NEEDS_ENGINE_BEFORE_RUN + index if it needs it
 * before running, or -1 once the cores reached `horizon`.
 */
#define BENCH_MAX_CORES 8
#define BENCH_NEEDS_ENGINE_BEFORE_RUN 100  /* returned + core index: nothing ran */
#define BENCH_NEEDS_ENGINE_IN_RUN 200  /* returned + core index: running it to run_limit (native_run) */
#define BENCH_DIVERGED (-1)
enum { W_WINDOWS, W_RERUNS, W_CONFLICTS, W_STEPS, W_UNDONE, W_NSTATS };
#define BENCH_STRETCH_SLOTS 1024  /* per core: cycles from an address to the next engine need */

/* What a core did from an address the last time: the cycles until it needed the engine
 * (`need`), or at least `len` cycles if it never stopped there. The core likely to stop
 * first leads a window, so that the other follows without waste. */
typedef struct {
    uint64_t pc[BENCH_STRETCH_SLOTS];
    uint64_t len[BENCH_STRETCH_SLOTS];
} bench_stretches_t;

/* Which core needed the engine first the last time the two cores started a window at
 * these two addresses (a core's own history cannot tell its short and long stretches
 * from the same address apart: the M0's main loop after an interrupt, for one). */
#define BENCH_PAIR_SLOTS 1024
typedef struct {
    uint64_t pc0[BENCH_PAIR_SLOTS], pc1[BENCH_PAIR_SLOTS];
    uint8_t first[BENCH_PAIR_SLOTS];  /* 1 + index of the core that stopped first; 0: unknown */
} bench_pairs_t;
typedef struct {
    uc_engine *uc[BENCH_MAX_CORES];
    bench_core_state_t *st[BENCH_MAX_CORES];
    uint64_t pc[BENCH_MAX_CORES];
    uint32_t n;
    int32_t err;
    uint64_t horizon;     /* the engine lowers it when a device schedules an event */
    uint32_t windows;     /* 0: the reference order only (to check the windows against) */
    uint32_t lead;        /* the core that leads the next window */
    uint64_t window;      /* a leader runs at most this many cycles ahead */
    uint64_t stats[W_NSTATS];  /* windows, leader re-runs, conflicts, reference steps, cycles undone */
    bench_stretches_t *stretches[2];  /* allocated on first use */
    bench_pairs_t *pairs;
    uint64_t run_limit;   /* NEEDS_ENGINE_IN_RUN: the engine goes on running the core up to here */
    uint32_t dispatch;    /* NEEDS_ENGINE_IN_RUN: ... after handling why it stopped (1) */
} bench_lockstep_t;

#define BENCH_NEVER UINT64_MAX

/* The cores' shared timing, for the hints taken natively (hints.c). */
typedef struct bench_machine {
    uint64_t horizon;    /* the engine's next timed event (at the latest) */
    uint64_t idle_time;  /* the scheduler's time when no core runs (Machine.now) */
    uint64_t sev_time;   /* a SEV's delivery is due at this cycle (BENCH_NEVER: none) */
    uint32_t sev_core;   /* ... sent by this core */
    uint32_t ncores;
    uint32_t running;    /* 1 + the core running alone now (Machine.running), 0: none */
    bench_core_state_t *st[BENCH_MAX_CORES];
    uc_engine *uc[BENCH_MAX_CORES];             /* the instance that holds each core's registers */
    uc_engine *fast[BENCH_MAX_CORES];           /* each core's two instances (bench_select) */
    uc_engine *precise[BENCH_MAX_CORES];
    struct bench_latch *sev_latch[BENCH_MAX_CORES];  /* the event latch a core's SEV sets (NULL: none) */
    bench_lockstep_t *lockstep;                 /* the lockstep loop running now (its horizon) */
    /* bench_machine_run: its inputs, and what it hands over to the engine */
    uint64_t until;        /* Machine.run's `until` */
    uint64_t quantum;      /* a lone core's run between two scheduler decisions */
    bench_lockstep_t *pair;  /* the lockstep loop of a two-core machine (NULL: the engine runs it) */
    uint32_t engine_called;  /* a device callback of the engine's ran: its loop looks before going on */
    int32_t handover;        /* MR_LOCKSTEP: bench_lockstep's result; MR_LONE: bench_run_loop's */
    uint32_t handover_core;  /* MR_LONE: the core */
    uint64_t handover_horizon;  /* MR_LOCKSTEP: the loop's horizon */
} bench_machine_t;

static inline uint32_t pair_slot(uint64_t pc0, uint64_t pc1)
{
    return (uint32_t)(((pc0 >> 1) * 2654435761u) ^ ((pc1 >> 1) * 40503u)) & (BENCH_PAIR_SLOTS - 1);
}

static inline uint32_t stretch_slot(uint64_t pc)
{
    return (uint32_t)((pc >> 1) * 2654435761u) & (BENCH_STRETCH_SLOTS - 1);
}

/* Cycles core k is expected to run from `pc` before it needs the engine (`fallback` if unknown). */
static inline uint64_t stretch_expected(bench_lockstep_t *ls, uint32_t k, uint64_t pc, uint64_t fallback)
{
    bench_stretches_t *t = ls->stretches[k];
    uint32_t i = stretch_slot(pc);
    return t && t->pc[i] == pc ? t->len[i] : fallback;
}

/* Core k ran `len` cycles from `pc` and then needed the engine (`stopped`) or was stopped from outside. */
static inline void stretch_seen(bench_lockstep_t *ls, uint32_t k, uint64_t pc, uint64_t len, int stopped)
{
    if (!ls->stretches[k] && !(ls->stretches[k] = calloc(1, sizeof(bench_stretches_t))))
        return;
    bench_stretches_t *t = ls->stretches[k];
    uint32_t i = stretch_slot(pc);
    if (stopped || t->pc[i] != pc || t->len[i] < len) {
        t->pc[i] = pc;
        t->len[i] = len;
    }
}

static inline int needs_engine(const bench_core_state_t *st)
{
    return st->take_now || st->stop_next;
}

/* A run of the precise instance starts at `pc`: the precise hook's view of the code before it
 * does not carry over (IT-block instructions are counted from there, plain code is looked at
 * again). The engine's own runs: CortexM._emulate and prepare_native_run. */
static inline void precise_run_starts(bench_core_state_t *st, uint64_t pc)
{
    st->prev_end = pc;
    st->plain_end = 0;
}

/* Run core k on its precise instance up to `limit`: 1 if it got there, 0 if it needs the engine before. */
static int run_core(bench_lockstep_t *ls, uint32_t k, uint64_t limit, int ahead, uc_err *err)
{
    bench_core_state_t *st = ls->st[k];
    *err = UC_ERR_OK;
    if (st->count >= limit)
        return 1;
    st->mmio_live = !ahead;
    st->limit = limit;
    st->soft_limit = limit;
    st->reason = STOP_NONE;
    precise_run_starts(st, ls->pc[k]);
    st->intno = 0;  /* what an undone run saw is not this run's */
    st->mmio_aborted = 0;
    *err = uc_emu_start(ls->uc[k], ls->pc[k] | 1, 0xFFFFFFFFu, 0, 0);
    precise_sync(st);
    if (*err == UC_ERR_OK && st->reason == STOP_LIMIT) {
        ls->pc[k] = st->stop_pc;
        return 1;
    }
    return 0;
}

/* The cycle of the instruction a core needs the engine for. */
static inline uint64_t engine_place(const bench_core_state_t *st, uc_err err)
{
    /* Stopped by Unicorn (an exception, an aborted device access, an error): inside the
     * instruction the hook saw last. Stopped by the hook: before the instruction at count. */
    return (err != UC_ERR_OK || st->reason == STOP_NONE) ? st->block_base : st->count;
}

/*
 * The native exception steps inside the lockstep loop. Where the loop would hand a core to
 * the engine, the engine's own handling is done here when it is only about exceptions, in
 * the same order the engine's loop would do it (so that the trace is the same, ties
 * included); anything else goes to the engine, where it would have gone.
 */

/* The core's turn: up to the next core's place in the order (Machine._run_lockstep). */
static uint64_t turn_of(const bench_lockstep_t *ls, uint32_t k)
{
    uint64_t limit = ls->horizon;
    for (uint32_t j = 0; j < ls->n; j++) {
        uint64_t turn = ls->st[j]->count + (k < j ? 1 : 0);
        if (j != k && turn < limit)
            limit = turn;
    }
    return limit;
}

/*
 * CortexM.run(limit, precise=True), which the engine does for a core that needs it before
 * running (bench_run_loop): 1 when at `limit`; 0 when something needs the engine
 * (ls->dispatch: whether it must handle a stop first, then go on to ls->run_limit).
 */
static int native_run(bench_lockstep_t *ls, uint32_t k, uint64_t limit)
{
    bench_core_state_t *st = ls->st[k];
    st->limit = st->soft_limit = limit;
    st->pc = ls->pc[k];
    int outcome = bench_run_loop(ls->uc[k], st, 1);
    ls->pc[k] = st->pc;
    ls->run_limit = limit;
    ls->err = (int32_t)st->last_err;
    ls->dispatch = outcome == BENCH_RUN_DISPATCH;
    return outcome == BENCH_RUN_LIMIT;
}

/* Core k needs the engine before running: 1 if the native steps did what the engine would,
 * else 0 with what bench_lockstep returns for it in `need`. */
static int native_before_run(bench_lockstep_t *ls, uint32_t k, int *need)
{
    bench_core_state_t *st = ls->st[k];
    if (!st->native_exc || st->yield_req) {
        *need = BENCH_NEEDS_ENGINE_BEFORE_RUN + (int)k;
        return 0;
    }
    *need = BENCH_NEEDS_ENGINE_IN_RUN + (int)k;  /* native_run handed over */
    return native_run(ls, k, turn_of(ls, k));
}

/* Core k stopped needing the engine after running: 1 if the native steps did what the
 * engine would (CortexM._dispatch; see native_dispatch). */
static int native_after_run(bench_lockstep_t *ls, uint32_t k, uc_err err)
{
    bench_core_state_t *st = ls->st[k];
    if (!st->native_exc || err != UC_ERR_OK || st->yield_req || !native_dispatch(ls->uc[k], st, 1))
        return 0;
    ls->pc[k] = st->pc;
    st->reason = STOP_NONE;
    return 1;
}

/*
 * Core k, a window's leader, stopped at a device access the engine aborted because the core
 * ran ahead; the follower has now caught up to that place. Run that one instruction again
 * with the access live, as CortexM._replay does on the precise instance: 1 when done (and
 * whatever it stopped for handled natively), 0 when it is not such a stop, -1 when the engine
 * must handle how the replay stopped (ls->err).
 */
static int native_replay(bench_lockstep_t *ls, uint32_t k, uc_err err)
{
    bench_core_state_t *st = ls->st[k];
    if (err != UC_ERR_OK || !st->mmio_aborted || st->intno || !st->native_exc || st->yield_req)
        return 0;
    uint64_t pc = 0;
    uc_reg_read(ls->uc[k], UC_ARM_REG_PC, &pc);
    if (pc != st->block_addr)
        return 0;
    st->count = st->block_base;  /* the precise hook counted the instruction the access left */
    ls->pc[k] = pc;
    uint32_t stop_after = st->stop_next;  /* a stop due after the block: after this instruction */
    st->stop_next = 0;
    uc_err again;
    int done = run_core(ls, k, st->count + 1, 0, &again);
    st->stop_next |= stop_after;
    if (done || native_after_run(ls, k, again))
        return 1;
    ls->err = again;
    return -1;
}

/* Whether a core of the loop went to sleep (a hint taken natively): the engine's loop goes on. */
static inline int any_asleep(const bench_lockstep_t *ls)
{
    for (uint32_t k = 0; k < ls->n; k++)
        if (ls->st[k]->sleep)
            return 1;
    return 0;
}

/* The reference order, until a core needs the engine (its index), the horizon (-1) or `until` (-2). */
static int lockstep_reference(bench_lockstep_t *ls, uint64_t until)
{
    for (;;) {
        if (any_asleep(ls))
            return -1;
        uint32_t i = 0;
        for (uint32_t k = 1; k < ls->n; k++)
            if (ls->st[k]->count < ls->st[i]->count)
                i = k;
        bench_core_state_t *st = ls->st[i];
        if (st->count >= ls->horizon)
            return -1;
        if (st->count >= until)
            return -2;
        if (needs_engine(st)) {
            int need;
            if (native_before_run(ls, i, &need))
                continue;
            return need;
        }
        uint64_t limit = ls->horizon;  /* up to the next core's turn */
        for (uint32_t k = 0; k < ls->n; k++) {
            uint64_t turn = ls->st[k]->count + (i < k ? 1 : 0);
            if (k != i && turn < limit)
                limit = turn;
        }
        uc_err err;
        ls->stats[W_STEPS]++;
        if (!run_core(ls, i, limit, 0, &err)) {
            if (native_after_run(ls, i, err))
                continue;
            ls->err = err;
            return (int)i;
        }
    }
}

static struct bench_spec *spec_of(uc_engine *uc, bench_core_state_t *st)
{
    if (!st->spec) {
        struct bench_spec *sp = calloc(1, sizeof *sp);
        if (!sp)
            return 0;
        if (uc_context_alloc(uc, &sp->ctx) != UC_ERR_OK) {
            free(sp);
            return 0;
        }
        bench_pages_clear(&sp->reads);
        bench_pages_clear(&sp->writes);
        bench_pages_clear(&sp->writable);
        st->spec = sp;
    }
    return st->spec;
}

static void spec_begin(uc_engine *uc, bench_core_state_t *st, uint32_t mode, const struct bench_spec *peer)
{
    struct bench_spec *sp = st->spec;
    uc_context_save(uc, sp->ctx);
#define SPEC_SAVE(field) sp->saved.field = st->field;
    SPEC_SAVED(SPEC_SAVE)
    sp->nsaved = 0;
    tlb_forget(uc, sp);  /* every page's first access in the window is seen */
    pages_forget(&sp->reads);
    pages_forget(&sp->writes);
    sp->peer = peer;
    sp->mode = mode;
}

/* Put the core back where its window began: memory, registers, counters. */
static void spec_undo(uc_engine *uc, bench_core_state_t *st, uint64_t *pc, uint64_t start_pc)
{
    struct bench_spec *sp = st->spec;
    for (uint32_t i = sp->nsaved; i-- > 0;)
        memcpy(sp->saved_host[i], sp->saved_page[i], BENCH_PAGE_SIZE);
    /* Code it translated from what it wrote is stale now: Unicorn did not see the undo. */
    for (uint32_t i = 0; i < sp->writes.n; i++)
        if (has_page(&sp->reads, sp->writes.pages[i])) {
            uint64_t page = (uint64_t)sp->writes.pages[i] << BENCH_PAGE_BITS;
            uc_ctl_remove_cache(uc, page, page + (1u << BENCH_PAGE_BITS));
        }
    uc_context_restore(uc, sp->ctx);
#define SPEC_RESTORE(field) st->field = sp->saved.field;
    SPEC_SAVED(SPEC_RESTORE)
    st->reason = STOP_NONE;
    *pc = start_pc;
    sp->mode = SPEC_OFF;
}

static int lockstep_windows(bench_lockstep_t *ls);

int bench_lockstep(bench_lockstep_t *ls)
{
    bench_machine_t *m = ls->st[0]->machine;
    if (m)
        m->lockstep = ls;  /* a SEV taken natively lowers the horizon (native_hint) */
    int stopped = ls->windows && ls->n == 2 ? lockstep_windows(ls) : lockstep_reference(ls, UINT64_MAX);
    if (m)
        m->lockstep = 0;
    return stopped;
}

static int lockstep_windows(bench_lockstep_t *ls)
{
    for (;;) {
        if (any_asleep(ls))
            return -1;
        uint32_t b = ls->st[1]->count < ls->st[0]->count ? 1 : 0, a = 1 - b;  /* b is first in the order */
        bench_core_state_t *sb = ls->st[b], *sa = ls->st[a];
        if (sb->count >= ls->horizon)
            return -1;
        if (needs_engine(sb)) {
            int need;
            if (native_before_run(ls, b, &need))
                continue;
            return need;
        }
        uc_err err;
        if (needs_engine(sa)) {  /* a waits for the engine where it is: b runs up to that place */
            uint64_t place = sa->count + (b < a ? 1 : 0);
            if (!run_core(ls, b, place < ls->horizon ? place : ls->horizon, 0, &err)) {
                if (native_after_run(ls, b, err))
                    continue;
                ls->err = err;
                return (int)b;
            }
            continue;
        }
        uint32_t lead = ls->lead & 1;
        uint64_t expect[2];
        for (uint32_t k = 0; k < 2; k++)
            expect[k] = ls->st[k]->count + stretch_expected(ls, k, ls->pc[k], ls->window);
        if (expect[1 - lead] < expect[lead])
            lead = 1 - lead;
        uint32_t pair = pair_slot(ls->pc[0], ls->pc[1]);
        if (ls->pairs && ls->pairs->first[pair] && ls->pairs->pc0[pair] == ls->pc[0]
            && ls->pairs->pc1[pair] == ls->pc[1])
            lead = ls->pairs->first[pair] - 1u;
        uint32_t follow = 1 - lead;
        uc_engine *ul = ls->uc[lead], *uf = ls->uc[follow];
        bench_core_state_t *sl = ls->st[lead], *sf = ls->st[follow];
        if (!spec_of(ul, sl) || !spec_of(uf, sf))
            return lockstep_reference(ls, UINT64_MAX);
        uint64_t lead_pc = ls->pc[lead], follow_pc = ls->pc[follow];
        uint64_t start = sl->count > sf->count ? sl->count : sf->count;
        uint64_t bound = start + ls->window < ls->horizon ? start + ls->window : ls->horizon;

        spec_begin(ul, sl, SPEC_LEAD, 0);
        uc_err lead_err;
        int lead_free = run_core(ls, lead, bound, 1, &lead_err);  /* 0: stopped where it needs the engine */
        uint64_t lead_place = lead_free ? sl->count : engine_place(sl, lead_err);
        sl->spec->mode = SPEC_OFF;

        spec_begin(uf, sf, SPEC_FOLLOW, sl->spec);
        uc_err follow_err;
        uint64_t follow_limit = lead_place + (!lead_free && follow < lead ? 1 : 0);
        if (follow_limit > ls->horizon)  /* a leader already past it (an exception entry's stall) */
            follow_limit = ls->horizon;
        int follow_free = run_core(ls, follow, follow_limit, 0, &follow_err);
        sf->spec->mode = SPEC_OFF;
        ls->stats[W_WINDOWS]++;
        if (sf->reason != STOP_CONFLICT && (!follow_free || !lead_free)
            && (ls->pairs || (ls->pairs = calloc(1, sizeof(bench_pairs_t))))) {
            ls->pairs->pc0[pair] = lead == 0 ? lead_pc : follow_pc;
            ls->pairs->pc1[pair] = lead == 0 ? follow_pc : lead_pc;
            ls->pairs->first[pair] = (uint8_t)(1 + (follow_free ? lead : follow));
        }
        if (sf->reason != STOP_CONFLICT) {
            stretch_seen(ls, lead, lead_pc, lead_place - sl->spec->saved.count, !lead_free);
            uint64_t follow_end = follow_free ? sf->count : engine_place(sf, follow_err);
            if (follow_end > sf->spec->saved.count)
                stretch_seen(ls, follow, follow_pc, follow_end - sf->spec->saved.count, !follow_free);
        }

        if (sf->reason == STOP_CONFLICT) {
            ls->stats[W_CONFLICTS]++;
            ls->stats[W_UNDONE] += sl->count - sl->spec->saved.count;
            spec_undo(uf, sf, &ls->pc[follow], follow_pc);
            spec_undo(ul, sl, &ls->pc[lead], lead_pc);
            int r = lockstep_reference(ls, lead_place);
            if (r != -2)
                return r;
            continue;
        }
        if (!follow_free && !lead_free && follow_err == UC_ERR_OK && sf->reason == STOP_REQUEST
            && sf->count >= follow_limit) {
            /* It reached the leader's stop and was asked to stop there (after a device access):
             * both are at the place; the request stays for the next look at this core. */
            sf->stop_next = 1;
            ls->pc[follow] = sf->stop_pc;
            follow_free = 1;
        }
        if (!follow_free) {
            uint64_t place = engine_place(sf, follow_err);
            ls->stats[W_RERUNS]++;
            ls->stats[W_UNDONE] += sl->count - sl->spec->saved.count;
            spec_undo(ul, sl, &ls->pc[lead], lead_pc);
            uc_err again;
            uint64_t to = place + (lead < follow ? 1 : 0);  /* a device access may have lowered the horizon */
            if (!run_core(ls, lead, to < ls->horizon ? to : ls->horizon, 0, &again)) {
                ls->err = BENCH_DIVERGED;
                return (int)lead;
            }
            ls->lead = follow;
            if (native_after_run(ls, follow, follow_err))
                continue;
            ls->err = follow_err;
            return (int)follow;
        }
        if (!lead_free) {
            int replayed = native_replay(ls, lead, lead_err);
            if (replayed > 0 || (replayed == 0 && native_after_run(ls, lead, lead_err)))
                continue;
            if (replayed == 0)
                ls->err = lead_err;
            return (int)lead;
        }
    }
}

/*
 * Install the native hooks on `uc`: the block hook on a fast instance (precise == 0), the
 * instruction hook on a precise one; returns the uc_err. Both instances run with
 * UC_TLB_VIRTUAL (guest address = physical, every permission) and a fill hook: with Unicorn's
 * own TLB, an M-profile core stores through the slow path every time (measured: a store loop
 * runs at 44 MIPS instead of 506). The engine does not model an MPU, and Unicorn's never saw
 * the guest's MPU registers (the SCS is the engine's).
 */
int bench_attach(uc_engine *uc, bench_core_state_t *st, uc_hook *handle, int precise)
{
    uc_hook fill_handle;
    st->emu_stop = uc_emu_stop;
    /* Patched Unicorn (third_party/unicorn): no CPU-state restore per TLB fill, no helper
     * call after every load and store (the slow path looks for a stop instead), a site's
     * hook called directly (not through a walk of every site's hook), and no helper call
     * at every block's start or after every hooked instruction (an inline look for a stop),
     * direct jumps linked across pages (guest addresses map to themselves, below), and, on
     * the precise instance, plain blocks counted inline (bench_hook_block_precise). */
    st->fills_keep_state = uc_set_fill_keeps_state && uc_set_fill_keeps_state(uc, true) == UC_ERR_OK;
    st->exit_on_slow_path = uc_set_exit_check_on_slow_path && uc_set_exit_check_on_slow_path(uc, true) == UC_ERR_OK;
    if (uc_set_direct_covering_hook)
        uc_set_direct_covering_hook(uc, true);
    if (uc_set_inline_block_exit_check)
        uc_set_inline_block_exit_check(uc, true);
    if (uc_set_chain_across_pages)
        uc_set_chain_across_pages(uc, true);
    if (precise && !spec_of(uc, st))
        return UC_ERR_NOMEM;
    if (precise && !st->exec_seen && !(st->exec_seen = calloc((size_t)1 << (32 - BENCH_PAGE_BITS), sizeof(uint16_t))))
        return UC_ERR_NOMEM;
    if (!st->exec_age)
        st->exec_age = BENCH_EXEC_AGE;
    if (!st->code_pages && !(st->code_pages = calloc(1, BENCH_CODE_PAGES_BYTES)))
        return UC_ERR_NOMEM;
    uc_err err = uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL);
    if (err == UC_ERR_OK)
        err = uc_hook_add(uc, &fill_handle, UC_HOOK_TLB_FILL,
                          precise ? (void *)bench_tlb_fill : (void *)bench_tlb_fill_fast, st, 1, 0);
    if (err == UC_ERR_OK)
        err = uc_hook_add(uc, &fill_handle, UC_HOOK_INTR, (void *)bench_hook_intr, st, 1, 0);
    if (err != UC_ERR_OK)
        return err;
    if (precise) {
        st->insn_gate = 1;
        if (uc_set_insn_gate && uc_set_block_word
            && uc_set_insn_gate(uc, &st->insn_gate, &st->count, &st->insn_pc) == UC_ERR_OK
            && uc_set_block_word(uc, block_word_precise, st) == UC_ERR_OK) {
            uc_hook block_handle;
            err = uc_hook_add(uc, &block_handle, UC_HOOK_BLOCK, (void *)bench_hook_block_precise, st, 1, 0);
            if (err != UC_ERR_OK)
                return err;
        }
        return uc_hook_add(uc, handle, UC_HOOK_CODE, (void *)bench_hook_code, st, 1, 0);
    }
    st->block_words = use_block_words(uc, st);
    return uc_hook_add(uc, handle, UC_HOOK_BLOCK, (void *)bench_hook_block, st, 1, 0);
}

/*
 * Hand a core's registers from one of its Unicorn instances to the other (fast <->
 * precise), in C because a switch happens at every lockstep episode and the Python
 * version made ~80 binding calls. The order mirrors cortexm._save/_load_registers:
 * Unicorn hides the banked stack pointers while unprivileged and drops CONTROL
 * writes that regain privilege in thread mode or change SPSEL in handler mode.
 */
#include <unicorn/arm.h>

static inline uint64_t rd(uc_engine *uc, int reg)
{
    uint64_t v = 0;
    uc_reg_read(uc, reg, &v);
    return v;
}

static inline void wr(uc_engine *uc, int reg, uint64_t v)
{
    uc_reg_write(uc, reg, &v);
}

void bench_copy_registers(uc_engine *from, uc_engine *to, int v7m)
{
    static const int general[] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3, UC_ARM_REG_R4,
                                  UC_ARM_REG_R5, UC_ARM_REG_R6, UC_ARM_REG_R7, UC_ARM_REG_R8, UC_ARM_REG_R9,
                                  UC_ARM_REG_R10, UC_ARM_REG_R11, UC_ARM_REG_R12, UC_ARM_REG_LR};
    uint64_t g[14], d[16], fpscr = 0, basepri = 0, faultmask = 0;
    for (int i = 0; i < 14; i++)
        g[i] = rd(from, general[i]);
    uint64_t ipsr = rd(from, UC_ARM_REG_IPSR) & 0x1FF, control = rd(from, UC_ARM_REG_CONTROL);
    uint64_t nzcv = rd(from, UC_ARM_REG_APSR_NZCV);
    int detour = ipsr == 0 && (control & 1);
    if (detour) {
        wr(from, UC_ARM_REG_IPSR, 1);
        wr(from, UC_ARM_REG_APSR_NZCV, nzcv);
    }
    uint64_t msp = rd(from, UC_ARM_REG_MSP), psp = rd(from, UC_ARM_REG_PSP);
    if (detour) {
        wr(from, UC_ARM_REG_IPSR, 0);
        wr(from, UC_ARM_REG_APSR_NZCV, nzcv);
    }
    uint64_t xpsr = rd(from, UC_ARM_REG_XPSR), primask = rd(from, UC_ARM_REG_PRIMASK);
    if (v7m) {
        basepri = rd(from, UC_ARM_REG_BASEPRI);
        faultmask = rd(from, UC_ARM_REG_FAULTMASK);
        for (int i = 0; i < 16; i++)
            d[i] = rd(from, UC_ARM_REG_D0 + i);
        fpscr = rd(from, UC_ARM_REG_FPSCR);
    }

    uint64_t nz = xpsr & 0xF0000000u;
    uint64_t spsel = ipsr ? 0 : (control & 2);
    wr(to, UC_ARM_REG_IPSR, 1);
    wr(to, UC_ARM_REG_APSR_NZCV, nz);
    wr(to, UC_ARM_REG_CONTROL, 0);
    wr(to, UC_ARM_REG_IPSR, 0);
    wr(to, UC_ARM_REG_APSR_NZCV, nz);
    wr(to, UC_ARM_REG_CONTROL, spsel ^ 2);
    wr(to, UC_ARM_REG_SP, spsel ? msp : psp);
    wr(to, UC_ARM_REG_CONTROL, spsel);
    wr(to, UC_ARM_REG_SP, spsel ? psp : msp);
    wr(to, UC_ARM_REG_CONTROL, spsel | (control & 1));
    wr(to, UC_ARM_REG_IPSR, ipsr);
    wr(to, UC_ARM_REG_APSR_NZCV, nz);
    if (v7m)
        wr(to, UC_ARM_REG_APSR_NZCVQ, xpsr & 0xF8000000u);
    wr(to, UC_ARM_REG_EPSR, (xpsr & 0x0600FC00u) | (1u << 24));
    wr(to, UC_ARM_REG_PRIMASK, primask);
    if (v7m) {
        wr(to, UC_ARM_REG_BASEPRI, basepri);
        wr(to, UC_ARM_REG_FAULTMASK, faultmask);
        for (int i = 0; i < 16; i++)
            wr(to, UC_ARM_REG_D0 + i, d[i]);
        wr(to, UC_ARM_REG_FPSCR, fpscr);
    }
    for (int i = 0; i < 14; i++)
        wr(to, general[i], g[i]);
}

/*
 * Exception entry and return, the part on Unicorn's side: the 8-word frame and the
 * register sequence Unicorn needs (facts: traps 3 and 4), one call instead of ~20
 * binding calls each. Priorities, the NVIC state, tail-chaining and the trace stay in
 * the engine (cortexm.py), which calls these in the same order it did the steps itself.
 */
static const int frame_regs[6] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                  UC_ARM_REG_R12, UC_ARM_REG_LR};

typedef struct {
    uint32_t number, return_address, stkalign, vector_base;  /* in */
    uint32_t frame, vector, exc_return;                        /* out */
} bench_entry_t;

/* Stack the frame, read the vector, enter handler mode; 1 if the frame or vector is not in memory. */
int bench_exc_enter(uc_engine *uc, bench_entry_t *e)
{
    uint64_t ipsr = rd(uc, UC_ARM_REG_IPSR) & 0x1FF, control = rd(uc, UC_ARM_REG_CONTROL);
    uint64_t sp = rd(uc, UC_ARM_REG_SP), xpsr = rd(uc, UC_ARM_REG_XPSR);  /* the active SP */
    uint32_t words[8];
    for (int i = 0; i < 6; i++)
        words[i] = (uint32_t)rd(uc, frame_regs[i]);
    int on_psp = ipsr == 0 && (control & 2);
    uint32_t align = e->stkalign && (sp & 4) ? 0x200u : 0u;
    uint32_t frame = e->stkalign ? (uint32_t)((sp - 0x20) & ~4ull) : (uint32_t)(sp - 0x20);
    words[6] = e->return_address & ~1u;
    words[7] = ((uint32_t)xpsr & ~0x200u) | align | (1u << 24);
    uint32_t vector = 0;
    e->frame = frame;
    if (uc_mem_write(uc, frame, words, sizeof words) != UC_ERR_OK
        || uc_mem_read(uc, (uint64_t)e->vector_base + 4u * e->number, &vector, 4) != UC_ERR_OK)
        return 1;
    e->vector = vector;
    e->exc_return = ipsr ? 0xFFFFFFF1u : on_psp ? 0xFFFFFFFDu : 0xFFFFFFF9u;
    uint64_t nzcv = rd(uc, UC_ARM_REG_APSR_NZCV);
    /* IPSR first (banks SP), APSR to rebuild the cached mode, then the stack pointers. */
    wr(uc, UC_ARM_REG_IPSR, e->number);
    wr(uc, UC_ARM_REG_APSR_NZCV, nzcv);
    wr(uc, UC_ARM_REG_CONTROL, control & ~2ull);
    wr(uc, on_psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP, frame);
    wr(uc, UC_ARM_REG_LR, e->exc_return);
    wr(uc, UC_ARM_REG_EPSR, 1u << 24);  /* clear the IT state, keep Thumb */
    return 0;
}

typedef struct {
    uint32_t use_psp, to_thread, v7m;  /* in */
    uint32_t pc, new_sp, xpsr;         /* out */
} bench_unstack_t;

/* Unstack a frame and return to the mode it says; 1 if the frame is not in memory. */
int bench_exc_unstack(uc_engine *uc, bench_unstack_t *r)
{
    int sp_reg = r->use_psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP;
    uint64_t sp = rd(uc, sp_reg);
    uint32_t f[8];
    if (uc_mem_read(uc, sp, f, sizeof f) != UC_ERR_OK)
        return 1;
    uint32_t xpsr = f[7], new_sp = (uint32_t)sp + 0x20u + (xpsr & 0x200u ? 4u : 0u);
    uint64_t control = rd(uc, UC_ARM_REG_CONTROL);
    uint64_t final_control = r->use_psp ? (control | 2) : (control & ~2ull);
    /* Unicorn drops SPSEL writes in handler mode and banked-SP writes while unprivileged:
     * pass through privileged thread mode, then drop privilege last. */
    wr(uc, UC_ARM_REG_CONTROL, control & ~1ull);
    wr(uc, UC_ARM_REG_IPSR, r->to_thread ? 0 : (xpsr & 0x1FF));
    if (r->to_thread)
        wr(uc, UC_ARM_REG_CONTROL, final_control & ~1ull);
    wr(uc, sp_reg, new_sp);
    wr(uc, UC_ARM_REG_CONTROL, final_control);
    wr(uc, UC_ARM_REG_APSR_NZCV, xpsr & 0xF0000000u);
    if (r->v7m)
        wr(uc, UC_ARM_REG_APSR_NZCVQ, xpsr & 0xF8000000u);
    wr(uc, sp_reg, new_sp);
    for (int i = 0; i < 6; i++)
        wr(uc, frame_regs[i], f[i]);
    wr(uc, UC_ARM_REG_EPSR, (xpsr & 0x0600FC00u) | (1u << 24));
    r->pc = f[6];
    r->new_sp = new_sp;
    r->xpsr = xpsr;
    return 0;
}

#include "exceptions.c"
#include "mmio.c"
#include "hints.c"
#include "scheduler.c"
#include "report.c"
