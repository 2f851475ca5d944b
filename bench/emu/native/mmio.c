/*
 * Device registers the fast instance accesses without calling into Python.
 *
 * Why: a device access costs a Python callback (~10-15 us with the engine's bookkeeping).
 * Per RPMsg round trip Linux reads its clocksource, a timer's counter, about five times,
 * the NVIC's ICSR at every interrupt, and enables and disables an interrupt in the NVIC.
 * All of that is state kept here: a counter is a function of the cycle alone (the device
 * model keeps a mirror of its state, bench_counter_t), ICSR of the native NVIC and IPSR,
 * and the NVIC's enable and pending bits are the native NVIC. A 4-byte access to them at a
 * device-access site (bench_hook_site), where the instruction's cycle is known, is done
 * here, with the effect the engine's own callback would have there (scs.py and
 * CortexM.interrupts_changed for the NVIC).
 *
 * On the precise instance the core's own ICSR reads and NVIC bank writes are done here at
 * every access: the instruction's cycle is the hook's count, and nothing but the core itself
 * changes its NVIC while it runs (another core's effects on it are timed events, which end a
 * lockstep window). Unlike the engine, which aborts a device access ahead of another core
 * and replays it once that core caught up, these are done ahead too: they touch nothing
 * another core sees, report nothing to the trace, and undoing a window puts the NVIC back
 * with the rest of the core (SPEC_SAVED). The M0's echo ISR clears its pending IRQ at every
 * message: that was two Python callbacks and one more window.
 *
 * Event latches (bench_latch_t): the core an event interrupts reads its latch here, and
 * clears it, lowering its own interrupt line, at sites and on the precise instance; ahead of
 * another core the write is aborted and replayed as the engine does (the latch lives
 * outside the core, so a window could not undo it), and afterwards the core stops as the
 * engine stops after a live access.
 * Every other access goes to the engine's callbacks as before.
 * Included by corehook.c (one library).
 */

typedef struct {
    uint64_t offset;   /* the register's offset in its device's window */
    uint32_t running;  /* counting (else it holds `ticks`) */
    int64_t ticks;     /* ticks counted at cycle `anchor` */
    uint64_t anchor;
    uint64_t divisor;  /* ticks per count (a prescaler + 1), >= 1 */
} bench_counter_t;

/* An event latch (the LPC43xx CREG's M4TXEVENT and M0TXEVENT): set by one core's SEV (the
 * engine does that), it drives an interrupt line of the other core until that core writes it
 * with bit 0 clear. The target core's own writes are done here (see below). */
typedef struct bench_latch {
    uint64_t offset;
    uint32_t value;
    uint32_t irq;                /* the target's interrupt line */
    uint32_t *wire;              /* the line's level, as the engine's IrqLine keeps it */
    bench_core_state_t *target;  /* NULL: the latch drives no line */
} bench_latch_t;

typedef struct {
    bench_core_state_t *st;
    uc_cb_mmio_read_t read;    /* the engine's callbacks, for everything else */
    uc_cb_mmio_write_t write;
    bench_counter_t *counter;  /* NULL: none in this window */
    uint32_t scs;              /* the window is the core's own System Control Space */
    uint32_t precise;          /* mapped on the precise instance (see below) */
    bench_latch_t *latches;    /* the window's event latches (nlatches of them) */
    uint32_t nlatches;
} bench_mmio_t;

static inline bench_latch_t *latch_at(const bench_mmio_t *m, uint64_t offset, unsigned size)
{
    for (uint32_t i = 0; size == 4 && i < m->nlatches; i++)
        if (m->latches[i].offset == offset)
            return &m->latches[i];
    return 0;
}

#define SCS_ICSR 0xD04u
#define SCS_NVIC_BANKS 0x100u  /* ISER, ICER, ISPR, ICPR: 0x80 bytes each */

/* ICSR with VECTACTIVE `active` (the engine's SystemControlSpace reads it through here too). */
uint32_t bench_icsr(const bench_nvic_t *nv, uint32_t active)
{
    int pending = bench_nvic_highest_pending(nv);
    uint32_t value = active | ((uint32_t)pending << 12);
    if (pending >= BENCH_IRQ0)
        value |= 1u << 22;  /* ISRPENDING */
    int others = 0;
    for (uint32_t n = 0; n < nv->count; n++)
        others |= nv->active[n] && n != active;
    if (!others)
        value |= 1u << 11;  /* RETTOBASE */
    if (nv->pending[14])
        value |= 1u << 28;  /* PendSV */
    if (nv->pending[15])
        value |= 1u << 26;  /* SysTick */
    if (nv->pending[2])
        value |= 1u << 31;  /* NMI */
    return value;
}

/* A write of `value` to ISER/ICER/ISPR/ICPR at SCS offset 0x100-0x2FF (the engine's
 * SystemControlSpace writes through here too). */
void bench_nvic_bank_write(bench_nvic_t *nv, uint32_t offset, uint32_t value)
{
    uint32_t bank = (offset - SCS_NVIC_BANKS) / 0x80u, word = (offset - SCS_NVIC_BANKS) % 0x80u;
    uint32_t first = BENCH_IRQ0 + (word / 4u) * 32u;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t number = first + i;
        if (!(value >> i & 1u) || number >= nv->count)
            continue;
        if (bank == 0)
            nv->enabled[number] = 1;
        else if (bank == 1)
            nv->enabled[number] = 0;
        else if (bank == 2)
            nv->pending[number] = 1;
        else  /* a level line that is still high keeps the interrupt pending */
            nv->pending[number] = nv->line_level[number - BENCH_IRQ0] && !nv->active[number];
    }
}

static uint64_t bench_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *user)
{
    bench_mmio_t *m = (bench_mmio_t *)user;
    const bench_counter_t *c = m->counter;
    precise_sync(m->st);  /* (a block running in bulk: this instruction's count, the hook after it) */
    if (c && offset == c->offset && size == 4 && m->st->at_site) {
        /* the cycle the engine's read would see: the site's instruction starts at site_count */
        int64_t ticks = c->ticks;
        if (c->running) {
            ticks += (int64_t)(m->st->site_count + 1) - (int64_t)c->anchor;
            if (ticks < 0)
                ticks = 0;
        }
        return ((uint64_t)ticks / c->divisor) & 0xFFFFFFFFu;
    }
    const bench_latch_t *latch = latch_at(m, offset, size);
    if (latch && (m->st->at_site || m->precise))
        return latch->value;  /* (another core sets it only through the engine's timed events) */
    if (m->scs && offset == SCS_ICSR && size == 4 && (m->st->at_site || m->precise)) {
        uint64_t ipsr = 0;
        uc_reg_read(uc, UC_ARM_REG_IPSR, &ipsr);
        return bench_icsr(&m->st->nvic, (uint32_t)ipsr & 0x1FFu);
    }
    return m->read(uc, offset, size, 0);
}

/* The running core wrote its own NVIC's enable/pending bits: what CortexM.interrupts_changed
 * does for a running core (it stops after the write to take a pending exception at once). */
static void interrupts_changed(bench_core_state_t *st)
{
    int pending = bench_nvic_highest_pending(&st->nvic);
    st->irq_hint = pending != 0;
    if (pending)
        st->take_now = st->stop_next = 1;
}

static void bench_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    bench_mmio_t *m = (bench_mmio_t *)user;
    bench_latch_t *latch = latch_at(m, offset, size);
    precise_sync(m->st);
    if (latch && latch->target == m->st && (m->st->at_site || m->precise)) {
        if (m->precise && !m->st->mmio_live) {  /* ahead of another core: the engine's abort */
            m->st->mmio_aborted = 1;
            m->st->emu_stop(uc);
            return;
        }
        /* The target clears its own line (Lpc43xxCreg.write and IrqLine.set for the running core). */
        latch->value = (uint32_t)value;
        if (!(value & 1u) && *latch->wire) {
            *latch->wire = 0;
            m->st->nvic.line_level[latch->irq] = 0;
            interrupts_changed(m->st);
        }
        if (m->precise)
            m->st->stop_next = 1;  /* as the engine stops after a live access (CortexM._after_live_access) */
        return;
    }
    if (m->scs && size == 4 && !(offset & 3u) && offset >= SCS_NVIC_BANKS && offset < SCS_NVIC_BANKS + 0x200u
        && (m->st->at_site || m->precise)) {
        bench_nvic_bank_write(&m->st->nvic, (uint32_t)offset, (uint32_t)value);
        interrupts_changed(m->st);
        return;
    }
    m->write(uc, offset, size, value, 0);
}

/* Map a device window whose accesses go through bench_mmio_read/write. */
int bench_mmio_map(uc_engine *uc, uint64_t base, uint64_t size, bench_mmio_t *m)
{
    return uc_mmio_map(uc, base, size, bench_mmio_read, m, bench_mmio_write, m);
}
