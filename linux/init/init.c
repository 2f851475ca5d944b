/*
 * amp-bench init: the first user process of the emulated LPC4337's Linux, and the
 * agent the bench drives over the console.
 *
 * No libc exists for ARMv7-M nommu here, so this is freestanding: raw EABI system
 * calls (svc 0, number in r7), position-independent code with no relocations (all
 * data is static and reached PC-relative), loaded as a static-PIE ELF by the kernel's
 * ELF-FDPIC loader.
 *
 * Console protocol: a prompt "amp-bench# "; one command per line:
 *   echo WORDS...          print WORDS
 *   cat PATH               print a file (sysfs, procfs, ...)
 *   write PATH TEXT        write TEXT to a file (e.g. remoteproc's state/firmware)
 *   ls PATH                list a directory
 *   rpmsg-echo DEV SIZES COUNT
 *                          for each size in SIZES (comma-separated, 1..496) send COUNT
 *                          messages of a known pattern to DEV (an RPMsg endpoint
 *                          device) and check each echo byte for byte; prints
 *                          "rpmsg-echo: messages N mismatches M" (and the first errors)
 *   rpmsg-echo2 DEV TTY SIZES COUNT
 *                          the same on two endpoints at once: each message goes to DEV
 *                          (an RPMsg endpoint device) and to TTY (an RPMsg tty, switched to
 *                          raw mode) before either echo is read back; prints
 *                          "rpmsg-echo2: messages N mismatches M"
 *   rpmsg-lat DEV SIZE COUNT SEED
 *                          the latency campaign's loop: COUNT round trips of SIZE bytes
 *                          through DEV (an RPMsg tty, switched to raw mode, or an RPMsg
 *                          endpoint device), one write() then read()s until the echo is
 *                          complete, each payload drawn from SEED and checked word for
 *                          word; prints "rpmsg-lat: messages N mismatches M splits S"
 *                          (S: echoes that took more than one read())
 *   load busy              start a background task that spins forever (CPU load)
 *   load uart TTY          start a background task that reads TTY forever (with bytes
 *                          fed to that UART by the bench: interrupt load)
 *   help                   list the commands
 * Errors print "error: <what>: errno <n>".
 */
#include <stdint.h>

#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_mount 21
#define SYS_mkdir 39
#define SYS_getdents64 217
#define SYS_ioctl 54
#define SYS_execve 11
#define SYS_vfork 190

#define TCGETS 0x5401
#define TCSETS 0x5402

#define O_RDONLY 0
#define O_WRONLY 1
#define O_DIRECTORY 040000

static long syscall3(long n, long a, long b, long c)
{
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r7 __asm__("r7") = n;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}

static long syscall5(long n, long a, long b, long c, long d, long e)
{
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r3 __asm__("r3") = d;
    register long r4 __asm__("r4") = e;
    register long r7 __asm__("r7") = n;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r7) : "memory");
    return r0;
}

static unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void out(const char *s) { syscall3(SYS_write, 1, (long)s, (long)length(s)); }

static void out_n(const char *s, unsigned long n) { syscall3(SYS_write, 1, (long)s, (long)n); }

static void out_number(long v)
{
    char buf[12];
    int i = sizeof(buf);
    int negative = v < 0;
    unsigned long u = negative ? (unsigned long)-v : (unsigned long)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative)
        buf[--i] = '-';
    out_n(buf + i, sizeof(buf) - (unsigned long)i);
}

static void out_hex(unsigned long v)
{
    char buf[10] = {'0', 'x'};
    for (int i = 0; i < 8; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
    out_n(buf, sizeof(buf));
}

static void error(const char *what, long err)
{
    out("error: ");
    out(what);
    out(": errno ");
    out_number(-err);
    out("\n");
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static char *next_word(char *s)
{
    while (*s && *s != ' ')
        s++;
    if (*s)
        *s++ = 0;
    while (*s == ' ')
        s++;
    return s;
}

static void cat(const char *path)
{
    static char buf[512];
    long fd = syscall3(SYS_open, (long)path, O_RDONLY, 0);
    if (fd < 0) {
        error(path, fd);
        return;
    }
    long n;
    while ((n = syscall3(SYS_read, fd, (long)buf, sizeof(buf))) > 0)
        out_n(buf, (unsigned long)n);
    if (n < 0)
        error(path, n);
    syscall3(SYS_close, fd, 0, 0);
}

static void write_file(const char *path, const char *text)
{
    long fd = syscall3(SYS_open, (long)path, O_WRONLY, 0);
    if (fd < 0) {
        error(path, fd);
        return;
    }
    long n = syscall3(SYS_write, fd, (long)text, (long)length(text));
    if (n < 0)
        error(path, n);
    syscall3(SYS_close, fd, 0, 0);
}

static void list(const char *path)
{
    static char buf[1024];
    long fd = syscall3(SYS_open, (long)path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        error(path, fd);
        return;
    }
    long n;
    while ((n = syscall3(SYS_getdents64, fd, (long)buf, sizeof(buf))) > 0) {
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;
            if (name[0] != '.') {
                out(name);
                out("\n");
            }
            off += reclen;
        }
    }
    if (n < 0)
        error(path, n);
    syscall3(SYS_close, fd, 0, 0);
}

static unsigned long parse_number(const char **s)
{
    unsigned long v = 0;
    while (**s >= '0' && **s <= '9')
        v = v * 10 + (unsigned long)(*(*s)++ - '0');
    return v;
}

/* Payload byte i of message n: a pattern that differs per message and per byte. */
static unsigned char pattern(unsigned long n, unsigned long i)
{
    return (unsigned char)((n * 131u + i * 7u + (i >> 3)) ^ 0x5Au);
}

/* The line the bench parses: "<command>: messages N mismatches M". */
static void report(const char *command, unsigned long messages, unsigned long mismatches)
{
    out(command);
    out(": messages ");
    out_number((long)messages);
    out(" mismatches ");
    out_number((long)mismatches);
    out("\n");
}

static void rpmsg_echo(char *args)
{
    static unsigned char tx[512], rx[512];
    char *sizes = next_word(args);
    char *count_text = next_word(sizes);
    const char *c = count_text;
    unsigned long count = parse_number(&c), messages = 0, mismatches = 0;
    long fd = syscall3(SYS_open, (long)args, 2 /* O_RDWR */, 0);
    if (fd < 0) {
        error(args, fd);
        return;
    }
    const char *s = sizes;
    while (*s) {
        unsigned long size = parse_number(&s);
        if (*s == ',')
            s++;
        else if (*s) {
            out("error: bad size list\n");
            break;
        }
        for (unsigned long n = 0; n < count; n++, messages++) {
            for (unsigned long i = 0; i < size; i++)
                tx[i] = pattern(messages, i);
            long w = syscall3(SYS_write, fd, (long)tx, (long)size);
            if (w != (long)size) {
                error("rpmsg write", w < 0 ? w : -5);
                mismatches++;
                continue;
            }
            long r = syscall3(SYS_read, fd, (long)rx, sizeof(rx));
            int bad = r != (long)size;
            for (unsigned long i = 0; !bad && i < size; i++)
                bad = rx[i] != tx[i];
            if (bad) {
                if (mismatches < 5) {
                    out("mismatch: message ");
                    out_number((long)messages);
                    out(" size ");
                    out_number((long)size);
                    out(" got ");
                    out_number(r);
                    out("\n");
                }
                mismatches++;
            }
        }
    }
    syscall3(SYS_close, fd, 0, 0);
    report("rpmsg-echo", messages, mismatches);
}

/* The kernel's struct termios on ARM (asm-generic/termbits.h). */
struct termios_k {
    unsigned int iflag, oflag, cflag, lflag;
    unsigned char line, cc[19];
};

/* Raw mode: bytes pass unchanged, no echo, reads return as soon as a byte is there. */
static long make_raw(long fd)
{
    struct termios_k t;
    long r = syscall3(SYS_ioctl, fd, TCGETS, (long)&t);
    if (r < 0)
        return r;
    t.iflag &= ~(0000001u | 0000002u | 0000010u | 0000040u | 0000100u | 0000200u | 0000400u | 0002000u);
    t.oflag &= ~0000001u;                                   /* OPOST */
    t.lflag &= ~(0000010u | 0000100u | 0000002u | 0000001u | 0100000u); /* ECHO ECHONL ICANON ISIG IEXTEN */
    t.cflag = (t.cflag & ~0000060u) | 0000060u;             /* CS8 */
    t.cc[6] = 1;                                            /* VMIN */
    t.cc[5] = 0;                                            /* VTIME */
    return syscall3(SYS_ioctl, fd, TCSETS, (long)&t);
}

/* Read exactly n bytes (a tty may deliver a message in pieces). */
static long read_all(long fd, unsigned char *buf, unsigned long n)
{
    unsigned long got = 0;
    while (got < n) {
        long r = syscall3(SYS_read, fd, (long)(buf + got), (long)(n - got));
        if (r <= 0)
            return r < 0 ? r : (long)got;
        got += (unsigned long)r;
    }
    return (long)got;
}

static void rpmsg_echo2(char *args)
{
    static unsigned char tx[512], rx[512];
    char *tty = next_word(args);
    char *sizes = next_word(tty);
    char *count_text = next_word(sizes);
    const char *c = count_text;
    unsigned long count = parse_number(&c), messages = 0, mismatches = 0;
    long fd = syscall3(SYS_open, (long)args, 2, 0);
    long td = syscall3(SYS_open, (long)tty, 2 | 0400 /* O_NOCTTY */, 0);
    if (fd < 0 || td < 0) {
        error(fd < 0 ? args : tty, fd < 0 ? fd : td);
        return;
    }
    long r = make_raw(td);
    if (r < 0)
        error("raw mode", r);
    const char *s = sizes;
    while (*s) {
        unsigned long size = parse_number(&s);
        if (*s == ',')
            s++;
        for (unsigned long n = 0; n < count; n++, messages += 2) {
            for (unsigned long i = 0; i < size; i++)
                tx[i] = pattern(messages, i);
            long w1 = syscall3(SYS_write, fd, (long)tx, (long)size);
            long w2 = syscall3(SYS_write, td, (long)tx, (long)size);
            long r1 = syscall3(SYS_read, fd, (long)rx, sizeof(rx));
            int bad1 = w1 != (long)size || r1 != (long)size;
            for (unsigned long i = 0; !bad1 && i < size; i++)
                bad1 = rx[i] != tx[i];
            long r2 = read_all(td, rx, size);
            int bad2 = w2 != (long)size || r2 != (long)size;
            for (unsigned long i = 0; !bad2 && i < size; i++)
                bad2 = rx[i] != tx[i];
            mismatches += (unsigned long)(bad1 + bad2);
        }
    }
    syscall3(SYS_close, fd, 0, 0);
    syscall3(SYS_close, td, 0, 0);
    report("rpmsg-echo2", messages, mismatches);
}

/* Read until n bytes arrived; *reads counts the read() calls it took. */
static long read_counted(long fd, unsigned char *buf, unsigned long n, unsigned long *reads)
{
    unsigned long got = 0;
    *reads = 0;
    while (got < n) {
        long r = syscall3(SYS_read, fd, (long)(buf + got), (long)(n - got));
        ++*reads;
        if (r <= 0)
            return r < 0 ? r : (long)got;
        got += (unsigned long)r;
    }
    return (long)got;
}

static void rpmsg_lat(char *args)
{
    static uint32_t tx[128], rx[128];
    char *size_text = next_word(args);
    char *count_text = next_word(size_text);
    char *seed_text = next_word(count_text);
    const char *c = size_text;
    unsigned long size = parse_number(&c);
    c = count_text;
    unsigned long count = parse_number(&c);
    c = seed_text;
    uint32_t state = (uint32_t)parse_number(&c) * 2654435761u + 1u;
    unsigned long mismatches = 0, splits = 0, n;
    if (size < 1 || size > 496) {
        out("error: size must be 1..496\n");
        return;
    }
    long fd = syscall3(SYS_open, (long)args, 2 | 0400 /* O_RDWR | O_NOCTTY */, 0);
    if (fd < 0) {
        error(args, fd);
        return;
    }
    make_raw(fd); /* an RPMsg endpoint device is not a tty: nothing to do there */
    unsigned long words = (size + 3) / 4;
    for (n = 0; n < count; n++) {
        for (unsigned long i = 0; i < words; i++) {
            state = state * 1664525u + 1013904223u; /* the payload: a seeded LCG stream */
            tx[i] = state;
        }
        rx[words - 1] = tx[words - 1] ^ 0xFFFFFFFFu; /* bytes past `size` compare equal only if echoed */
        long w = syscall3(SYS_write, fd, (long)tx, (long)size);
        unsigned long reads = 0;
        long r = w == (long)size ? read_counted(fd, (unsigned char *)rx, size, &reads) : w;
        int bad = r != (long)size;
        unsigned long tail = size & 3;
        for (unsigned long i = 0; !bad && i < size / 4; i++)
            bad = rx[i] != tx[i];
        if (!bad && tail) {
            uint32_t mask = (1u << (8 * tail)) - 1u;
            bad = (rx[words - 1] & mask) != (tx[words - 1] & mask);
        }
        if (bad) {
            if (mismatches < 5) {
                out("mismatch: message ");
                out_number((long)n);
                out(" got ");
                out_number(r);
                out("\n");
            }
            mismatches++;
        } else if (reads > 1) {
            splits++;
        }
    }
    syscall3(SYS_close, fd, 0, 0);
    out("rpmsg-lat: messages ");
    out_number((long)n);
    out(" mismatches ");
    out_number((long)mismatches);
    out(" splits ");
    out_number((long)splits);
    out("\n");
}

/* Start this program again as a background task: `/init ROLE [ARG]` (vfork + execve, nommu style). */
static void load(char *args)
{
    char *arg = next_word(args);
    if (!same(args, "busy") && !(same(args, "uart") && *arg)) {
        out("error: load busy | load uart TTY\n");
        return;
    }
    char *self_path = "/init"; /* a literal reached PC-relative: this program has no relocations */
    char *argv[] = {self_path, args, *arg ? arg : 0, 0};
    char *envp[] = {0};
    long pid = syscall3(SYS_vfork, 0, 0, 0);
    if (pid == 0) {
        syscall3(SYS_execve, (long)self_path, (long)argv, (long)envp);
        syscall3(SYS_exit, 127, 0, 0);
    }
    if (pid < 0) {
        error("vfork", pid);
        return;
    }
    out("load: started ");
    out(args);
    out(" pid ");
    out_number(pid);
    out("\n");
}

/* Background roles: never return. */
static void busy(void)
{
    volatile uint32_t spin = 0;
    for (;;)
        spin++;
}

static void drain(const char *tty)
{
    static unsigned char buf[64];
    long fd = syscall3(SYS_open, (long)tty, 2 | 0400, 0);
    if (fd >= 0)
        make_raw(fd);
    for (;;)
        if (fd < 0 || syscall3(SYS_read, fd, (long)buf, sizeof(buf)) < 0)
            busy();
}

static void run(char *line)
{
    char *args = next_word(line);
    if (same(line, "echo")) {
        out(args);
        out("\n");
    } else if (same(line, "cat")) {
        cat(args);
    } else if (same(line, "write")) {
        char *text = next_word(args);
        write_file(args, text);
    } else if (same(line, "ls")) {
        list(*args ? args : "/");
    } else if (same(line, "rpmsg-echo")) {
        rpmsg_echo(args);
    } else if (same(line, "rpmsg-echo2")) {
        rpmsg_echo2(args);
    } else if (same(line, "rpmsg-lat")) {
        rpmsg_lat(args);
    } else if (same(line, "load")) {
        load(args);
    } else if (same(line, "help")) {
        out("commands: echo WORDS | cat PATH | write PATH TEXT | ls PATH | rpmsg-echo DEV SIZES COUNT | rpmsg-echo2 DEV TTY SIZES COUNT | rpmsg-lat DEV SIZE COUNT SEED | load busy | load uart TTY | help\n");
    } else if (*line) {
        out("error: unknown command: ");
        out(line);
        out("\n");
    }
}

void _start(void);

void main_loop(long *sp)
{
    static char line[600];
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    if (argc > 1 && same(argv[1], "busy"))
        busy();
    if (argc > 2 && same(argv[1], "uart"))
        drain(argv[2]);
    syscall3(SYS_mkdir, (long)"/proc", 0555, 0);
    syscall3(SYS_mkdir, (long)"/sys", 0555, 0);
    syscall5(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0);
    syscall5(SYS_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", 0, 0);
    /* Device nodes appear as drivers bind (/dev/rpmsgN, /dev/ttyRPMSGn); stdio stays open. */
    syscall5(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0);
    /* Where the kernel loaded this program: the bench resolves probes on its symbols from it. */
    out("amp-bench init ready (_start at ");
    out_hex((unsigned long)&_start);
    out(")\n");
    for (;;) {
        unsigned long used = 0;
        out("amp-bench# ");
        for (;;) {
            char c;
            long n = syscall3(SYS_read, 0, (long)&c, 1);
            if (n <= 0)
                continue;
            if (c == '\r' || c == '\n')
                break;
            if (used < sizeof(line) - 1)
                line[used++] = c;
        }
        line[used] = 0;
        run(line);
    }
}

__attribute__((naked, noreturn)) void _start(void)
{
    __asm__ volatile("mov r0, sp\n"
                     "bl main_loop\n"
                     "movs r0, #0\n"
                     "movs r7, #1\n"
                     "svc 0\n");
}
