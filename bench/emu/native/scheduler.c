/*
 * The scheduler's iterations that need no engine, in C (Machine.run's loop; see machine.py).
 *
 * Why: with exceptions, hints and SEV deliveries native, an RPMsg round trip still went
 * through the engine's Python loop eight times (a lone run of the M4 up to its SEV, the
 * delivery, a lockstep episode while the M0 echoes, again for its SEV, ...), each time
 * switching instances and draining logs from Python: about a third of a round trip's time.
 * bench_machine_run does those iterations exactly as the engine's loop would, in the same
 * order, and hands over to the engine where that loop would do anything else: an engine
 * event due, a core that needs the engine, no core to run, `until`. It also returns after
 * any iteration in which a device callback of the engine's ran (`engine_called`), so the
 * engine's stop conditions (a console match) are looked at where they were before; its
 * logs (events, probe hits) are drained when it returns.
 *
 * Included by corehook.c (one library).
 */

enum { MR_AGAIN = 0, MR_ENGINE = 1, MR_LOCKSTEP = 2, MR_LONE = 3 };

/*
 * Switch core k between its fast and precise instance, carrying the registers over
 * (CortexM._select). Each instance caches translated code, and neither sees the other's
 * writes (facts: trap 10). The precise instance records the pages it executes and writes;
 * on a switch, the fast instance drops what the precise one wrote, and the precise one
 * drops its code if a page it executed has changed since.
 */
void bench_select(bench_machine_t *m, uint32_t k, int precise)
{
    bench_core_state_t *st = m->st[k];
    if ((uint32_t)precise == st->precise)
        return;
    uc_engine *target = precise ? m->precise[k] : m->fast[k];
    bench_copy_registers(m->uc[k], target, (int)st->is_v7m);
    if (precise) {
        bench_exec_age(target, st);
        if (bench_exec_changed(st)) {
            uc_ctl_flush_tb(target);
            bench_exec_forget(st);
        }
        bench_precise_enter(target, st);
    } else {
        bench_exec_remember(st);
        bench_drop_written(target, st);
    }
    m->uc[k] = target;
    st->precise = (uint32_t)precise;
}

static inline int runnable(const bench_core_state_t *st)
{
    return !st->in_reset && !st->sleep && !st->halted;
}

/* CortexM.prepare_native_run: what the hooks report is cleared before a run. */
static inline void prepare_run(bench_core_state_t *st)
{
    st->intno = 0;
    st->mmio_aborted = 0;
    st->reason = STOP_NONE;
    st->at_site = 0;
}

/* Machine._fire for a SEV's native delivery. */
static void fire_sev(bench_machine_t *m)
{
    if (m->idle_time < m->sev_time)
        m->idle_time = m->sev_time;
    bench_machine_deliver(m);
}

/* Machine.run's lone core: CortexM.run(limit, pause=count + quantum) while its iterations are native. */
static int lone_step(bench_machine_t *m, uint32_t k, uint64_t limit)
{
    bench_core_state_t *st = m->st[k];
    bench_select(m, k, 0);
    st->yield_req = 0;
    st->limit = limit;
    st->soft_limit = st->count + m->quantum < limit ? st->count + m->quantum : limit;
    prepare_run(st);
    m->running = k + 1;
    st->emulating = 1;
    int outcome = bench_run_loop(m->fast[k], st, 0);
    st->emulating = 0;
    if (outcome == BENCH_RUN_LIMIT)
        m->running = 0;  /* (else the engine goes on with the run: still running) */
    return outcome;
}

/* Machine._run_lockstep for the machine's two cores, up to its engine part. */
static int pair_step(bench_machine_t *m, uint64_t horizon)
{
    bench_lockstep_t *ls = m->pair;
    for (uint32_t k = 0; k < ls->n; k++) {
        bench_select(m, k, 1);
        prepare_run(m->st[k]);
        m->st[k]->in_lockstep = 1;
        ls->pc[k] = m->st[k]->pc;
    }
    ls->horizon = horizon;
    ls->err = 0;
    int stopped = bench_lockstep(ls);
    uint32_t needing = stopped >= 0 ? (uint32_t)stopped % BENCH_NEEDS_ENGINE_BEFORE_RUN : ls->n;
    for (uint32_t k = 0; k < ls->n; k++) {
        m->st[k]->in_lockstep = 0;
        m->st[k]->pc = ls->pc[k];
        if (k != needing)
            prepare_run(m->st[k]);  /* what a window undid reported nothing that happened */
    }
    return stopped;
}

/*
 * Machine.run's iterations, from its look at the next event on, while they need no engine:
 * MR_AGAIN when the engine's loop should look at its stop conditions (and drain) and call
 * again; MR_ENGINE when its next iteration is the engine's (nothing of it done here);
 * MR_LOCKSTEP / MR_LONE when a lockstep episode or a lone run needs the engine: it goes on
 * from `handover`, as its own iteration would after bench_lockstep or bench_run_fast.
 */
int bench_machine_run(bench_machine_t *m)
{
    m->engine_called = 0;
    bench_event_log_t *log = m->st[0]->events;
    for (;;) {
        if (log->n > BENCH_EVENT_LOG / 2)
            return MR_AGAIN;
        int sev_next = m->sev_time != BENCH_NEVER && m->sev_time <= m->horizon;  /* first of its cycle */
        uint64_t next = sev_next ? m->sev_time : m->horizon;
        uint32_t n = 0, first = 0;
        for (uint32_t k = 0; k < m->ncores; k++)
            if (runnable(m->st[k]) && (!n++ || m->st[k]->count < m->st[first]->count))
                first = k;
        if (!n) {
            if (sev_next && next <= m->until) {
                fire_sev(m);
                continue;
            }
            return MR_ENGINE;
        }
        bench_core_state_t *st = m->st[first];
        if (next <= st->count) {
            if (!sev_next)
                return MR_ENGINE;
            fire_sev(m);
            continue;
        }
        if (st->count >= m->until)
            return MR_ENGINE;
        uint64_t limit = m->until < next ? m->until : next;
        if (n == 2 && m->pair && m->pair->n == 2) {
            int stopped = pair_step(m, limit);
            if (stopped >= 0) {
                m->handover = stopped;
                m->handover_horizon = limit;
                return MR_LOCKSTEP;
            }
        } else if (n == 1 && st->native_exc) {
            int outcome = lone_step(m, first, limit);
            if (outcome != BENCH_RUN_LIMIT) {
                m->handover = outcome;
                m->handover_core = first;
                return MR_LONE;
            }
        } else {
            return MR_ENGINE;
        }
        if (m->engine_called)
            return MR_AGAIN;
    }
}
