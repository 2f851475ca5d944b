/*
 * SEV, WFE, WFI and YIELD, and the delivery of a SEV to the other cores, in C.
 *
 * Why native: an RPMsg round trip has three SEVs (each wakes the other core through an
 * event latch and its interrupt line) and two WFI sleeps. In Python each was a hint
 * handled by the engine, a timed event, a device callback raising a line, the NVIC
 * update and the wake-up: ~45% of a round trip's time went to the engine's Python side.
 * Here the hint takes its architectural meaning at its exact cycle, as CortexM._hint
 * does, and the SEV's delivery one cycle later does what Machine.sev's `deliver` does
 * (set the other cores' event registers, wake a WFE, set the sender's event latch and
 * raise the line it drives, wake a WFI the interrupt ends), when the engine's loop
 * reaches that cycle (Machine._fire calls bench_machine_deliver).
 *
 * Ordering: the engine fires its timed events in the order they were scheduled. A SEV is
 * taken here only when no engine event is due at or before its delivery (`horizon`), so
 * the delivery comes first among events of its cycle, as it would have been scheduled
 * first; at most one delivery is pending. Otherwise the hint goes to the engine as before.
 * What happens is logged (EV_SEV, EV_SLEEP, EV_WAKE, EV_DELIVER) and reported by the engine
 * in order: trace records, and the probes' SEV points at the delivery (report.c).
 * Included by corehook.c (one library).
 */

/* The core's priority for waking: its execution priority as if PRIMASK were clear. */
static int wake_priority(uc_engine *uc, const bench_core_state_t *st)
{
    return execution_priority_now(uc, &st->nvic, 1);
}

/* CortexM._wakes: whether pending exception `number` ends the core's sleep. */
static int wakes(uc_engine *uc, const bench_core_state_t *st, int number)
{
    if (st->sleep == SLEEP_WFE && (st->scr & 0x10))  /* SEVONPEND */
        return 1;
    return preempts(&st->nvic, number, wake_priority(uc, st));
}

/* Machine.core_woke, at cycle `now` of the engine's loop. */
static void woke(bench_core_state_t *st, uint64_t now)
{
    st->sleep = SLEEP_NONE;
    if (st->count < now) {
        st->stalled += now - st->count;
        st->count = now;
    }
    log_event(st, EV_WAKE, 0);
}

/* CortexM.interrupts_changed between runs (the engine's loop firing events: no core runs). */
static void interrupts_changed_between(bench_machine_t *m, uint32_t k, uint64_t now)
{
    bench_core_state_t *st = m->st[k];
    int pending = bench_nvic_highest_pending(&st->nvic);
    st->irq_hint = pending ? 1 : 0;
    if (!pending || st->in_reset)
        return;
    st->take_now = 1;
    if (st->sleep && wakes(m->uc[k], st, pending))
        woke(st, now);
}

/* Machine.sev's delivery, due now (m->sev_time): what the sender's SEV does to the others. */
void bench_machine_deliver(bench_machine_t *m)
{
    uint64_t now = m->sev_time;
    uint32_t from = m->sev_core;
    m->sev_time = BENCH_NEVER;
    for (uint32_t k = 0; k < m->ncores; k++) {  /* CortexM.signal_event */
        bench_core_state_t *st = m->st[k];
        if (k == from || st->in_reset)
            continue;
        st->event_register = 1;
        if (st->sleep == SLEEP_WFE) {
            st->event_register = 0;
            woke(st, now);
        }
    }
    bench_event_t *e = log_event(m->st[from], EV_DELIVER, 0);  /* (the probes' SEV points) */
    e->cycle = now;
    bench_latch_t *latch = m->sev_latch[from];  /* Lpc43xxCreg's latch, and IrqLine.set */
    if (!latch)
        return;
    latch->value = 1;
    bench_core_state_t *target = latch->target;
    if (!target || *latch->wire)
        return;
    *latch->wire = 1;
    if (latch->irq < target->nvic.num_irqs) {  /* Nvic.set_line */
        target->nvic.line_level[latch->irq] = 1;
        if (!target->nvic.active[BENCH_IRQ0 + latch->irq])
            target->nvic.pending[BENCH_IRQ0 + latch->irq] = 1;
    }
    interrupts_changed_between(m, target->core_index, now);
}

/*
 * The core stopped before a hint (STOP_HINT): give it its meaning, as CortexM._dispatch and _hint do;
 * 1 when done (st->pc is past it), 0 to leave it to the engine (nothing changed).
 */
int native_hint(uc_engine *uc, bench_core_state_t *st, int precise)
{
    bench_machine_t *m = st->machine;
    if (!m || !native_ready(st))
        return 0;
    if (st->is_v7m) {  /* a conditional hint (inside an IT block): the engine reports it */
        uint64_t xpsr = 0;
        uc_reg_read(uc, UC_ARM_REG_XPSR, &xpsr);
        if (xpsr & 0x0600FC00u)
            return 0;
    }
    uint64_t at = st->count;
    if (st->hint == K_SEV && (m->sev_time != BENCH_NEVER || at + 1 >= m->horizon))
        return 0;  /* not first among the events of its delivery's cycle: the engine orders it */
    uint32_t pc = (uint32_t)st->stop_pc;
    if (!precise && st->use_sites)  /* inside a block next time, its own hook stops there (CortexM._dispatch) */
        bench_learn_site(uc, st, pc);
    st->count = at + 1;
    st->pc = st->stop_pc + st->insn_size;
    if (st->hint == K_SEV) {
        bench_event_t *e = log_event(st, EV_SEV, 0);
        e->cycle = at;
        e->pc = pc;
        st->event_register = 1;
        m->sev_time = at + 1;
        m->sev_core = st->core_index;
        if (st->limit > at + 1)  /* the delivery concerns the other cores: stop there */
            st->limit = at + 1;
        if (m->lockstep && m->lockstep->horizon > at + 1)
            m->lockstep->horizon = at + 1;
    } else if (st->hint == K_WFI) {
        int pending = bench_nvic_highest_pending(&st->nvic);
        if (!pending || !preempts(&st->nvic, pending, wake_priority(uc, st))) {
            st->sleep = SLEEP_WFI;
            log_event(st, EV_SLEEP, 0)->pc = pc;
        }
    } else if (st->hint == K_WFE) {
        if (st->event_register) {
            st->event_register = 0;
        } else {
            int pending = bench_nvic_highest_pending(&st->nvic);
            st->sleep = SLEEP_WFE;
            if (pending && wakes(uc, st, pending))
                st->sleep = SLEEP_NONE;
            else
                log_event(st, EV_SLEEP, 0)->pc = pc;
        }
    }
    return 1;
}
