/*
 * Exception state and the common exception steps of a Cortex-M core, in C.
 *
 * Why native: the engine took every exception in Python (NVIC priorities, entry, return,
 * tail-chaining), ~20 us each, and a core that needed one ended its lockstep window and
 * went back to the scheduler. An RPMsg round trip has ten of them. The NVIC state now
 * lives here (the Python Nvic is a view of it), and the steps that need no device and
 * no decision of the engine's are taken here: the highest pending exception when it
 * preempts, SVC, and exception return with unstacking or tail-chaining. Anything else
 * (a fault, an escalation, a vector without the Thumb bit, SLEEPONEXIT, a frame outside
 * memory) is left untouched to the Python engine, which remains the reference: with
 * AMP_BENCH_NATIVE_EXC=off it takes every exception itself, and tests compare the traces.
 *
 * What happened is appended to an event log the engine drains in order (trace records,
 * probe callbacks), so nothing is reported differently from the Python path.
 * Included by corehook.c (one library).
 */

/* ARMv7-M group priority: AIRCR.PRIGROUP splits off subpriority bits. */
static inline int group_priority(const bench_nvic_t *nv, int value)
{
    if (value < 0)
        return value;
    return value & ~((2 << nv->prigroup) - 1) & 0xFF;
}

static int active_priority(const bench_nvic_t *nv)
{
    int best = BENCH_THREAD_PRIORITY;
    for (uint32_t n = 1; n < nv->count; n++)
        if (nv->active[n]) {
            int g = group_priority(nv, nv->priority[n]);
            if (g < best)
                best = g;
        }
    return best;
}

int bench_nvic_execution_priority(const bench_nvic_t *nv, uint32_t primask, uint32_t basepri, uint32_t faultmask)
{
    int best = active_priority(nv);
    if (nv->has_basepri && (basepri & nv->priority_mask)) {
        int g = group_priority(nv, (int)(basepri & nv->priority_mask));
        if (g < best)
            best = g;
    }
    if ((primask & 1) && best > 0)
        best = 0;
    if (nv->has_basepri && (faultmask & 1) && best > -1)
        best = -1;
    return best;
}

/* The pending, enabled exception taken first (lowest priority value, then number), or 0. */
int bench_nvic_highest_pending(const bench_nvic_t *nv)
{
    int best = 0, best_priority = 0;
    for (uint32_t n = 1; n < nv->count; n++)
        if (nv->pending[n] && nv->enabled[n] && (!best || nv->priority[n] < best_priority)) {
            best = (int)n;
            best_priority = nv->priority[n];
        }
    return best;
}

static inline int preempts(const bench_nvic_t *nv, int number, int execution_priority)
{
    return group_priority(nv, nv->priority[number]) < execution_priority;
}

static inline void activate(bench_nvic_t *nv, int number)
{
    nv->pending[number] = 0;
    nv->active[number] = 1;
}

/* Exception return: a level interrupt whose line is still high pends again. */
static inline void deactivate(bench_nvic_t *nv, int number)
{
    nv->active[number] = 0;
    if (number >= BENCH_IRQ0 && nv->line_level[number - BENCH_IRQ0])
        nv->pending[number] = 1;
}

static inline void undo_deactivate(bench_nvic_t *nv, int number, uint8_t was_pending)
{
    nv->active[number] = 1;
    nv->pending[number] = was_pending;
}

static int execution_priority_now(uc_engine *uc, const bench_nvic_t *nv, int ignore_primask)
{
    uint64_t primask = 0, basepri = 0, faultmask = 0;
    if (!ignore_primask)
        uc_reg_read(uc, UC_ARM_REG_PRIMASK, &primask);
    if (nv->has_basepri) {
        uc_reg_read(uc, UC_ARM_REG_BASEPRI, &basepri);
        uc_reg_read(uc, UC_ARM_REG_FAULTMASK, &faultmask);
    }
    return bench_nvic_execution_priority(nv, (uint32_t)primask, (uint32_t)basepri, (uint32_t)faultmask);
}

static bench_event_t *log_event(bench_core_state_t *st, uint32_t kind, uint32_t number)
{
    bench_event_log_t *log = st->events;
    if (log->n >= BENCH_EVENT_LOG) {
        log->overflow = 1;  /* cannot happen: the native steps stop before (see native_ready) */
        return &log->e[BENCH_EVENT_LOG - 1];
    }
    bench_event_t *e = &log->e[log->n++];
    memset(e, 0, sizeof *e);
    e->cycle = st->count;
    e->core = st->core_index;
    e->kind = kind;
    e->number = number;
    return e;
}

/* Whether the native steps may run for this core now (else the engine does everything). */
static inline int native_ready(const bench_core_state_t *st)
{
    /* (room for a step's events, and for a SEV's delivery: bench_machine_deliver) */
    return st->native_exc && st->events && st->events->n < BENCH_EVENT_LOG - 16 && !st->yield_req;
}

/*
 * Enter exception `number` with `return_address` stacked (cortexm._enter): 1 done, 0 left to the
 * engine with nothing changed (a vector without the Thumb bit faults; a frame or vector outside
 * memory halts: the engine reports both).
 */
static int native_enter(uc_engine *uc, bench_core_state_t *st, int number, uint32_t return_address)
{
    uint32_t vector_base = st->has_vtor ? st->vtor : 0, vector = 0;
    if (uc_mem_read(uc, (uint64_t)vector_base + 4u * (uint32_t)number, &vector, 4) != UC_ERR_OK || !(vector & 1))
        return 0;
    bench_entry_t entry = {.number = (uint32_t)number, .return_address = return_address,
                           .stkalign = (st->ccr & 0x200) ? 1u : 0u, .vector_base = vector_base};
    if (bench_exc_enter(uc, &entry))
        return 0;  /* wrote nothing the engine will not write again the same way */
    activate(&st->nvic, number);
    st->event_register = 1;  /* exception entry is a WFE wake-up event */
    st->count += st->irq_entry_cycles;
    st->stalled += st->irq_entry_cycles;
    st->pc = entry.vector & ~1u;
    st->irq_hint = bench_nvic_highest_pending(&st->nvic) ? 1 : 0;
    bench_event_t *e = log_event(st, EV_ENTRY, (uint32_t)number);
    if (number == BENCH_SVCALL) {
        uint64_t r7 = 0, psp = 0, msp = 0;
        uint32_t frame[2] = {0, 0};
        uc_reg_read(uc, UC_ARM_REG_R7, &r7);
        uc_reg_read(uc, UC_ARM_REG_PSP, &psp);
        uc_reg_read(uc, UC_ARM_REG_MSP, &msp);
        uc_mem_read(uc, psp + 24, frame, sizeof frame);
        e->r7 = (uint32_t)r7;
        e->psp = (uint32_t)psp;
        e->msp = (uint32_t)msp;
        e->frame_pc = frame[0];
        e->frame_xpsr = frame[1];
    }
    return 1;
}

/* Take the highest pending exception if it preempts (cortexm._take_pending_exception): 1 taken,
 * 0 nothing to take, -1 left to the engine. */
int bench_native_take(uc_engine *uc, bench_core_state_t *st)
{
    if (!native_ready(st))
        return -1;
    int number = bench_nvic_highest_pending(&st->nvic);
    if (!number) {
        st->irq_hint = 0;
        return 0;
    }
    if (!preempts(&st->nvic, number, execution_priority_now(uc, &st->nvic, 0)))
        return 0;
    return native_enter(uc, st, number, (uint32_t)st->pc) ? 1 : -1;
}

/* Exception return through `exc_return` (cortexm._exception_return): 1 done, 0 left to the engine. */
static int native_return(uc_engine *uc, bench_core_state_t *st, uint32_t exc_return)
{
    bench_nvic_t *nv = &st->nvic;
    uint64_t ipsr = 0;
    uc_reg_read(uc, UC_ARM_REG_IPSR, &ipsr);
    int returning = (int)(ipsr & 0x1FF);
    if (exc_return != 0xFFFFFFF1u && exc_return != 0xFFFFFFF9u && exc_return != 0xFFFFFFFDu)
        return 0;
    if (returning == 0 || returning >= (int)nv->count || !nv->active[returning])
        return 0;
    uint8_t was_pending = nv->pending[returning];  /* deactivate() changes only these two */
    deactivate(nv, returning);
    int to_thread = exc_return != 0xFFFFFFF1u, use_psp = exc_return == 0xFFFFFFFDu;
    int pending = bench_nvic_highest_pending(nv);
    uint32_t vector_base = st->has_vtor ? st->vtor : 0;
    if (pending && preempts(nv, pending, execution_priority_now(uc, nv, 0))) {
        uint32_t vector = 0;
        if (uc_mem_read(uc, (uint64_t)vector_base + 4u * (uint32_t)pending, &vector, 4) != UC_ERR_OK) {
            undo_deactivate(nv, returning, was_pending);
            return 0;
        }
        log_event(st, EV_TAIL_RETURN, (uint32_t)returning);
        uint64_t nzcv = 0, lr = exc_return, ipsr_new = (uint64_t)pending;
        uc_reg_write(uc, UC_ARM_REG_IPSR, &ipsr_new);
        uc_reg_read(uc, UC_ARM_REG_APSR_NZCV, &nzcv);
        uc_reg_write(uc, UC_ARM_REG_APSR_NZCV, &nzcv);
        uc_reg_write(uc, UC_ARM_REG_LR, &lr);
        activate(nv, pending);
        st->count += st->tail_chain_cycles;
        st->stalled += st->tail_chain_cycles;
        st->pc = vector & ~1u;
        st->irq_hint = bench_nvic_highest_pending(nv) ? 1 : 0;
        log_event(st, EV_TAIL_ENTRY, (uint32_t)pending);
        return 1;
    }
    if (to_thread && (st->scr & 0x2)) {
        uint32_t still_active = 0;
        for (uint32_t n = 1; n < nv->count; n++)
            still_active += nv->active[n];
        if (!still_active) {  /* SLEEPONEXIT: the engine puts the core to sleep */
            undo_deactivate(nv, returning, was_pending);
            return 0;
        }
    }
    bench_unstack_t unstack = {.use_psp = (uint32_t)use_psp, .to_thread = (uint32_t)to_thread,
                               .v7m = st->is_v7m};
    if (bench_exc_unstack(uc, &unstack)) {
        undo_deactivate(nv, returning, was_pending);
        return 0;
    }
    st->pc = unstack.pc & ~1u;
    bench_event_t *e = log_event(st, EV_RETURN, (uint32_t)returning);
    e->pc = unstack.pc & ~1u;
    e->sp = unstack.new_sp;
    st->irq_hint = bench_nvic_highest_pending(nv) ? 1 : 0;
    return 1;
}

/*
 * The core stopped at an interrupt of Unicorn's (`st->intno`, see bench_hook_intr): take an
 * SVC or an exception return natively (cortexm._handle_interrupt). 1 done, 0 left to the engine.
 */
int bench_native_interrupt(uc_engine *uc, bench_core_state_t *st)
{
    if (!native_ready(st) || !st->intno)
        return 0;
    uint64_t pc = 0;
    uc_reg_read(uc, UC_ARM_REG_PC, &pc);
    int done;
    if (pc >= 0xFFFFFFE0u) {
        done = native_return(uc, st, (uint32_t)pc | 1u);  /* PC read-back lacks the Thumb bit */
    } else if (st->intno == 2 + 1) {  /* SVC: PC is already past the instruction */
        st->pc = pc;
        done = preempts(&st->nvic, BENCH_SVCALL, execution_priority_now(uc, &st->nvic, 0))
            && native_enter(uc, st, BENCH_SVCALL, (uint32_t)pc);
    } else {
        done = 0;
    }
    if (done)
        st->intno = 0;
    return done;
}

/*
 * Why the last emu_start stopped, handled as the engine's _dispatch would when it needs no
 * engine: an exception step (SVC, exception return), a hint (hints.c), or a requested stop
 * or the limit, where the core resumes. 1 when handled (st->pc is where the core goes on), 0 otherwise.
 */
int native_dispatch(uc_engine *uc, bench_core_state_t *st, int precise)
{
    if (st->intno)
        return bench_native_interrupt(uc, st);
    if (st->reason == STOP_HINT)
        return native_hint(uc, st, precise);
    if (st->reason != STOP_REQUEST && st->reason != STOP_LIMIT)
        return 0;
    st->pc = st->stop_pc;
    return 1;
}

/*
 * CortexM.run's loop for what needs no engine, up to st->limit/soft_limit from st->pc: take
 * exceptions, run, handle the stop natively (native_dispatch), again; BENCH_RUN_LIMIT when
 * there. Anything else goes back to the engine: BENCH_RUN_DISPATCH when it must handle why
 * the last run stopped (st->last_err: Unicorn's error; st->pc: where that run began),
 * BENCH_RUN_ENGINE when it goes on with its own loop (a stop it asked for, an exception it
 * takes itself). A lone core runs on its fast instance (bench_run_fast), where device
 * accesses stay exact as before (they stop the run or happen at their sites); a core of the
 * lockstep on its precise one (`precise`: bench_lockstep's native_run), accesses live.
 */
#define BENCH_RUN_STUCK 64  /* runs without progress before the engine looks (it reports a hang) */

int bench_run_loop(uc_engine *uc, bench_core_state_t *st, int precise)
{
    uint64_t last_count = ~0ull, last_pc = ~0ull;
    uint32_t stuck = 0;
    st->last_err = 0;
    for (;;) {
        if (st->yield_req || st->sleep)
            return BENCH_RUN_ENGINE;
        if (st->irq_hint && bench_native_take(uc, st) < 0)
            return BENCH_RUN_ENGINE;
        st->take_now = 0;
        if (st->count >= st->limit || st->count >= st->soft_limit)
            return BENCH_RUN_LIMIT;
        if (st->count != last_count || st->pc != last_pc) {
            last_count = st->count;
            last_pc = st->pc;
            stuck = 0;
        } else if (++stuck > BENCH_RUN_STUCK) {
            return BENCH_RUN_ENGINE;
        }
        st->intno = 0;
        st->reason = STOP_NONE;
        st->at_site = 0;
        if (precise) {
            st->mmio_live = 1;
            precise_run_starts(st, st->pc);
        }
        uc_err err = uc_emu_start(uc, st->pc | 1, 0, 0, 0);
        precise_sync(st);
        if (err != UC_ERR_OK) {
            st->last_err = (uint32_t)err;
            return BENCH_RUN_DISPATCH;
        }
        uint64_t start = st->pc;
        if (!native_dispatch(uc, st, precise)) {
            st->pc = start;
            return BENCH_RUN_DISPATCH;
        }
    }
}

int bench_run_fast(uc_engine *uc, bench_core_state_t *st)
{
    return bench_run_loop(uc, st, 0);
}

/* Unicorn reports an interrupt (SVC, an EXC_RETURN branch, a CPU exception): note it and stop. */
void bench_hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    bench_core_state_t *st = (bench_core_state_t *)user;
    precise_sync(st);
    st->intno = intno + 1;
    st->emu_stop(uc);
}
