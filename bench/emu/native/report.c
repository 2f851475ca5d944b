/*
 * What the engine reports of the event log (nvic.h: exception steps, SEV, sleeps, wake-ups),
 * in C: each event's trace line, and the hits of the probe rules.
 *
 * Why native: an RPMsg round trip logs ~17 trace lines, and a probe file's points (irq-entry,
 * syscall-entry/-return, sev) look at ~16 events. Formatting each line and calling each
 * probe's callbacks in Python took ~14% of a campaign's time; here it is a loop over the log
 * (Machine.drain_events hashes the text, ProbeRecorder reads the hits when it matches chains).
 * Every event goes through the log, the engine's own (CortexM) as well as the native steps',
 * so these lines and rules are the only ones.
 *
 * Lines are the trace's canonical text (Trace.record): "<cycle> <core> <kind> <fields>",
 * fields as key=value sorted by key, numbers in decimal.
 * Included by corehook.c (one library).
 */

#define BENCH_RULES 32         /* syscall and SEV rules of one probe set */
#define BENCH_CALLS 256        /* system calls in flight a probe set follows */
#define BENCH_THREAD_SIZE 8192 /* ARM Linux kernel stacks: the task's stack base names the thread */
#define BENCH_NAME 32

typedef struct {
    uint64_t cycle;
    uint32_t core, point;
    uint64_t thread;
} bench_hit_t;

typedef struct {
    uint32_t core, pc, sp, number;
    uint64_t thread, seq;  /* seq 0: a free slot */
} bench_call_t;

/* A probe file's points on engine events (bench/measure/probes.py), and the hits so far. */
typedef struct {
    int16_t entry_point[BENCH_MAX_CORES][BENCH_MAX_EXC];  /* irq-entry: point by exception, -1 */
    uint8_t syscalls[BENCH_MAX_CORES];  /* the core has syscall points: follow its SVCalls */
    struct { uint32_t core, number; int32_t entry, ret; } sys[BENCH_RULES];
    struct { uint32_t core, point; } sev[BENCH_RULES];
    uint32_t nsys, nsev;
    bench_call_t calls[BENCH_CALLS];
    uint64_t seq;
    bench_hit_t *hits;
    uint64_t nhits, cap;
} bench_probes_t;

bench_probes_t *bench_probes_new(void)
{
    bench_probes_t *p = calloc(1, sizeof *p);
    if (p)
        memset(p->entry_point, 0xFF, sizeof p->entry_point);
    return p;
}

void bench_probes_free(bench_probes_t *p)
{
    if (p)
        free(p->hits);
    free(p);
}

/* Forget the hits and the calls in flight (a snapshot restore, a new batch). */
void bench_probes_clear(bench_probes_t *p)
{
    p->nhits = 0;
    memset(p->calls, 0, sizeof p->calls);
}

int bench_probes_entry(bench_probes_t *p, uint32_t core, uint32_t exc, uint32_t point)
{
    if (core >= BENCH_MAX_CORES || exc >= BENCH_MAX_EXC)
        return -1;
    p->entry_point[core][exc] = (int16_t)point;
    return 0;
}

/* System call `number` on `core`: its entry and return points (-1: none). */
int bench_probes_syscall(bench_probes_t *p, uint32_t core, uint32_t number, int32_t entry, int32_t ret)
{
    if (core >= BENCH_MAX_CORES || p->nsys >= BENCH_RULES)
        return -1;
    p->sys[p->nsys].core = core;
    p->sys[p->nsys].number = number;
    p->sys[p->nsys].entry = entry;
    p->sys[p->nsys].ret = ret;
    p->nsys++;
    p->syscalls[core] = 1;
    return 0;
}

int bench_probes_sev(bench_probes_t *p, uint32_t core, uint32_t point)
{
    if (core >= BENCH_MAX_CORES || p->nsev >= BENCH_RULES)
        return -1;
    p->sev[p->nsev].core = core;
    p->sev[p->nsev].point = point;
    p->nsev++;
    return 0;
}

/* The hits so far (cycle, core, point, thread), in the order they were found. */
const bench_hit_t *bench_probes_hits(const bench_probes_t *p, uint64_t *n)
{
    *n = p->nhits;
    return p->hits;
}

static void hit(bench_probes_t *p, uint64_t cycle, uint32_t core, uint32_t point, uint64_t thread)
{
    if (p->nhits == p->cap) {
        uint64_t cap = p->cap ? 2 * p->cap : 4096;
        bench_hit_t *grown = realloc(p->hits, cap * sizeof *grown);
        if (!grown)
            abort();  /* (out of memory: nothing sensible is left to report) */
        p->hits = grown;
        p->cap = cap;
    }
    p->hits[p->nhits++] = (bench_hit_t){cycle, core, point, thread};
}

/* The call that resumes at (core, pc, sp), taken out of the table; NULL: none followed. */
static bench_call_t *call_resumed(bench_probes_t *p, uint32_t core, uint32_t pc, uint32_t sp)
{
    for (uint32_t i = 0; i < BENCH_CALLS; i++) {
        bench_call_t *c = &p->calls[i];
        if (c->seq && c->core == core && c->pc == pc && c->sp == sp) {
            c->seq = 0;
            return c;
        }
    }
    return NULL;
}

/* A followed call resumes the thread at its stacked PC, with PSP back above its frame: one
 * per (core, pc, sp), the newest kept (the oldest of a full table gives way). */
static void follow_call(bench_probes_t *p, uint32_t core, uint32_t pc, uint32_t sp, uint32_t number,
                        uint64_t thread)
{
    bench_call_t *slot = call_resumed(p, core, pc, sp);  /* (the same place again: replaced) */
    if (!slot) {  /* a free slot (seq 0), else the oldest */
        slot = &p->calls[0];
        for (uint32_t i = 1; i < BENCH_CALLS && slot->seq; i++)
            if (p->calls[i].seq < slot->seq)
                slot = &p->calls[i];
    }
    *slot = (bench_call_t){core, pc, sp, number, thread, ++p->seq};
}

static void probe_event(bench_probes_t *p, const bench_event_t *e)
{
    uint32_t core = e->core;
    if (core >= BENCH_MAX_CORES)
        return;
    switch (e->kind) {
    case EV_ENTRY:
    case EV_TAIL_ENTRY:
        if (e->number < BENCH_MAX_EXC && p->entry_point[core][e->number] >= 0) {
            hit(p, e->cycle, core, (uint32_t)p->entry_point[core][e->number], 0);
        } else if (e->number == BENCH_SVCALL && p->syscalls[core]) {
            /* The kernel stack (MSP, a THREAD_SIZE block per task) names the thread; the
             * caller's frame is on its process stack. */
            uint64_t thread = e->msp & ~(uint32_t)(BENCH_THREAD_SIZE - 1);
            for (uint32_t i = 0; i < p->nsys; i++) {
                if (p->sys[i].core != core || p->sys[i].number != e->r7)
                    continue;
                if (p->sys[i].entry >= 0)
                    hit(p, e->cycle, core, (uint32_t)p->sys[i].entry, thread);
                if (p->sys[i].ret >= 0)
                    follow_call(p, core, e->frame_pc & ~1u, e->psp + 0x20 + (e->frame_xpsr & 0x200 ? 4 : 0),
                                e->r7, thread);
                break;
            }
        }
        break;
    case EV_RETURN:
        if (p->syscalls[core]) {
            bench_call_t *c = call_resumed(p, core, e->pc, e->sp);
            for (uint32_t i = 0; c && i < p->nsys; i++)
                if (p->sys[i].core == core && p->sys[i].number == c->number && p->sys[i].ret >= 0)
                    hit(p, e->cycle, core, (uint32_t)p->sys[i].ret, c->thread);
        }
        break;
    case EV_DELIVER:  /* the SEV itself was a cycle earlier */
        for (uint32_t i = 0; i < p->nsev; i++)
            if (p->sev[i].core == core)
                hit(p, e->cycle - 1, core, p->sev[i].point, 0);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ trace lines */

static char *put_text(char *at, const char *s)
{
    while (*s)
        *at++ = *s++;
    return at;
}

static char *put_u64(char *at, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *at++ = digits[--n];
    return at;
}

/* Core names as the trace writes them (set once a core is added). */
typedef struct {
    char name[BENCH_MAX_CORES][BENCH_NAME];
} bench_names_t;

/* An event's trace line at `at` (room for BENCH_LINE bytes); returns its end (the same
 * pointer: the event has no line, a SEV's delivery). */
static char *event_line(char *at, const bench_names_t *names, const bench_event_t *e)
{
    if (e->kind == EV_DELIVER || e->core >= BENCH_MAX_CORES)
        return at;
    at = put_u64(at, e->cycle);
    *at++ = ' ';
    at = put_text(at, names->name[e->core]);
    switch (e->kind) {
    case EV_ENTRY:
    case EV_TAIL_ENTRY:
        at = put_u64(put_text(at, " exc-entry exc="), e->number);
        if (e->kind == EV_TAIL_ENTRY)
            at = put_text(at, " tail=1");
        break;
    case EV_RETURN:
        at = put_u64(put_text(put_u64(put_text(at, " exc-return exc="), e->number), " pc="), e->pc);
        break;
    case EV_TAIL_RETURN:
        at = put_text(put_u64(put_text(at, " exc-return exc="), e->number), " tail=1");
        break;
    case EV_SEV:
        at = put_u64(put_text(at, " sev pc="), e->pc);
        break;
    case EV_SLEEP:
        at = put_u64(put_text(at, " sleep pc="), e->pc);
        break;
    default:  /* EV_WAKE */
        at = put_text(at, " wake");
        break;
    }
    *at++ = '\n';
    return at;
}

#define BENCH_LINE (20 + BENCH_NAME + 48)  /* the longest line: cycle, name, "exc-return exc=N pc=N" */

/*
 * The events' trace lines into `text` (room for n * BENCH_LINE bytes), each ending in a
 * newline, and the hits of the `nprobes` probe sets. Returns the text's length; `*lines`
 * is how many lines it holds.
 */
uint64_t bench_report_events(const bench_names_t *names, const bench_event_t *events, uint32_t n,
                             bench_probes_t *const *probes, uint32_t nprobes, char *text, uint32_t *lines)
{
    char *at = text;
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
        const bench_event_t *e = &events[i];
        char *end = event_line(at, names, e);
        count += end != at;
        at = end;
        for (uint32_t k = 0; k < nprobes; k++)
            probe_event(probes[k], e);
    }
    *lines = count;
    return (uint64_t)(at - text);
}
