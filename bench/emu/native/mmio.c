/*
 * Device registers the fast instance reads without calling into Python.
 *
 * Why: a device access costs a Python callback (~10-15 us with the engine's bookkeeping),
 * and Linux reads its clocksource, a timer's counter, about five times per RPMsg round
 * trip, and the NVIC's ICSR at every interrupt. Both are functions of state kept here: a
 * counter of the cycle alone (the device model keeps a mirror of its state, bench_counter_t),
 * ICSR of the native NVIC and IPSR. A 4-byte read of them at a device-access site
 * (bench_hook_site), where the instruction's cycle is known, is answered natively, with the
 * value the model's own read would give there. Every other access, and these anywhere else
 * (a replay, the precise instance), goes to the engine's callbacks as before.
 * Included by corehook.c (one library).
 */

typedef struct {
    uint64_t offset;   /* the register's offset in its device's window */
    uint32_t running;  /* counting (else it holds `ticks`) */
    int64_t ticks;     /* ticks counted at cycle `anchor` */
    uint64_t anchor;
    uint64_t divisor;  /* ticks per count (a prescaler + 1), >= 1 */
} bench_counter_t;

typedef struct {
    bench_core_state_t *st;
    uc_cb_mmio_read_t read;    /* the engine's callbacks, for everything else */
    uc_cb_mmio_write_t write;
    bench_counter_t *counter;  /* NULL: none in this window */
    uint64_t icsr_offset;      /* where the window has the core's ICSR, ~0: nowhere */
} bench_mmio_t;

/* ICSR as the engine's SystemControlSpace._icsr computes it. */
static uint32_t icsr_value(uc_engine *uc, const bench_core_state_t *st)
{
    const bench_nvic_t *nv = &st->nvic;
    uint64_t ipsr = 0;
    uc_reg_read(uc, UC_ARM_REG_IPSR, &ipsr);
    uint32_t active = (uint32_t)ipsr & 0x1FFu;
    int pending = bench_nvic_highest_pending(nv);
    uint32_t value = active | ((uint32_t)pending << 12);
    if (pending >= BENCH_IRQ0)
        value |= 1u << 22;  /* ISRPENDING */
    int others = 0;
    for (uint32_t n = 0; n < BENCH_MAX_EXC; n++)
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

static uint64_t bench_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *user)
{
    bench_mmio_t *m = (bench_mmio_t *)user;
    const bench_counter_t *c = m->counter;
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
    if (offset == m->icsr_offset && size == 4 && m->st->at_site)
        return icsr_value(uc, m->st);
    return m->read(uc, offset, size, 0);
}

static void bench_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    bench_mmio_t *m = (bench_mmio_t *)user;
    m->write(uc, offset, size, value, 0);
}

/* Map a device window whose accesses go through bench_mmio_read/write. */
int bench_mmio_map(uc_engine *uc, uint64_t base, uint64_t size, bench_mmio_t *m)
{
    return uc_mmio_map(uc, base, size, bench_mmio_read, m, bench_mmio_write, m);
}
