/* Runs the real firmware ELF in simavr with four modelled HX711 chips and a UART <-> pty bridge.
 *
 *   harness --elf FW.elf --values V.txt --seconds 70 --summary S.json --read-log R.csv
 *           [--tol a,b,c,d] [--phase a,b,c,d] [--sps 80] [--rate-pin] [--dead CH:T]...
 *           [--reset-at T]... [--wait-host] [--host-timeout S] [--control]
 *
 * stdout carries only harness lines ("PTY <path>", then "DONE"); simavr's own chatter is sent
 * to stderr. The host opens the printed pty like a USB serial port. With --wait-host the
 * simulation starts only when the host has sent its first byte, so nothing the board sends is
 * lost to the host's open-time flush. With --control, stdin lines act at the current simulated
 * time: "dead N", "reset", "quit".
 *
 * The summary JSON reports SCK timing measured from pin-change cycle stamps (max high time,
 * duration of each 25-pulse read burst), HX711 power-down violations and per-chip counters.
 * The read log has one line per 24-bit word a chip shifted out: start cycle, chip, conversion
 * index, value, so the host side can match every decoded count bit-exactly. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_ioport.h>
#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_irq.h>

#include "hx711_model.h"

#define PIND_ADDR 0x29        /* ATmega328P data-space address of PIND */
#define UCSR0B_ADDR 0xC1
#define RXEN0_BIT 4
#define DOUT_FIRST_PIN 4      /* DOUT of chip c on PD(4 + c) */
#define SCK_PIN 0             /* PB0 */
#define RATE_PIN 1            /* PB1 */
#define MAX_EVENTS 16
#define OUT_CAP (4u << 20)

typedef struct { double t; int chip; } sched_t;

static struct {
    avr_t *avr;
    hx_bus_t bus;
    avr_irq_t *dout_irq[HX_CHIPS];
    avr_irq_t *uart_in;
    int master, slave;
    FILE *ctl, *read_log;
    uint8_t *out; size_t out_len, out_cap; uint64_t out_dropped, tx_bytes, rx_bytes;
    uint8_t in[4096]; size_t in_len;
    uint64_t next_event, next_io, next_feed, byte_cycles, io_cycles, limit;
    sched_t deaths[MAX_EVENTS]; int n_deaths;
    double resets_at[MAX_EVENTS]; int n_resets_at;
    uint64_t reset_cycles[MAX_EVENTS]; int n_resets;
    uint64_t death_cycles[HX_CHIPS];
    int control, stdin_open, quit;
    char stdin_buf[256]; size_t stdin_len;
    long reads_logged;
} g;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void quiet_logger(avr_t *avr, const int level, const char *fmt, va_list ap)
{
    (void)avr;
    if (level <= LOG_WARNING)
        vfprintf(stderr, fmt, ap);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t sec_to_cycles(double s) { return (uint64_t)(s * g.avr->frequency); }

static void bump_next(uint64_t t)
{
    if (t < g.next_event)
        g.next_event = t;
}

/* ---- model callbacks ---------------------------------------------------------------------- */
static void on_dout(void *ctx, int chip, int level)
{
    (void)ctx;
    avr_raise_irq(g.dout_irq[chip], level);
}

static void on_read(void *ctx, int chip, uint64_t start, long index, int32_t value)
{
    (void)ctx;
    g.reads_logged++;
    if (g.read_log)
        fprintf(g.read_log, "%llu,%d,%ld,%d\n", (unsigned long long)start, chip, index, value);
}

static void on_sck(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    hx_bus_sck(&g.bus, g.avr->cycle, (int)value);
    bump_next(hx_bus_next_event(&g.bus));
}

static void on_rate(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    hx_bus_set_rate(&g.bus, g.avr->cycle, value ? 80 : 10);
    bump_next(hx_bus_next_event(&g.bus));
}

static void on_uart_out(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    g.tx_bytes++;
    if (g.out_len >= OUT_CAP) {  /* host stopped reading for good */
        g.out_dropped++;
        return;
    }
    if (g.out_len == g.out_cap) {
        g.out_cap = g.out_cap ? 2 * g.out_cap : 4096;
        g.out = realloc(g.out, g.out_cap);
        if (!g.out)
            die("out of memory");
    }
    g.out[g.out_len++] = (uint8_t)value;
}

/* ---- pty and control ---------------------------------------------------------------------- */
static void flush_out(int wait_ms)
{
    while (g.out_len) {
        ssize_t n = write(g.master, g.out, g.out_len);
        if (n > 0) {
            memmove(g.out, g.out + n, g.out_len - (size_t)n);
            g.out_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return;
        if (wait_ms <= 0)
            return;
        struct pollfd p = {g.master, POLLOUT, 0};
        if (poll(&p, 1, wait_ms) <= 0)
            return;
    }
}

static void do_reset(void)
{
    avr_t *avr = g.avr;
    avr_reset(avr);
    /* avr_reset zeroes the data space, PIN registers included: restore what the chips drive. */
    for (int c = 0; c < HX_CHIPS; c++) {
        uint8_t m = (uint8_t)(1u << (DOUT_FIRST_PIN + c));
        if (g.bus.chip[c].dout)
            avr->data[PIND_ADDR] |= m;
        else
            avr->data[PIND_ADDR] &= (uint8_t)~m;
    }
    /* During reset the SCK pin is released (hi-Z); docs/firmware.md asks for a pull-down. */
    if (g.bus.sck)
        hx_bus_sck(&g.bus, avr->cycle, 0);
    if (g.n_resets < MAX_EVENTS)
        g.reset_cycles[g.n_resets++] = avr->cycle;
}

static void kill_chip(int chip)
{
    if (chip < 0 || chip >= HX_CHIPS || g.bus.chip[chip].dead)
        return;
    hx_bus_kill(&g.bus, g.avr->cycle, chip);
    g.death_cycles[chip] = g.avr->cycle;
}

static void control_line(char *line)
{
    int chip;
    if (sscanf(line, "dead %d", &chip) == 1)
        kill_chip(chip);
    else if (!strncmp(line, "reset", 5))
        do_reset();
    else if (!strncmp(line, "quit", 4))
        g.quit = 1;
    else
        fprintf(stderr, "harness: unknown control line '%s'\n", line);
}

static void poll_io(void)
{
    flush_out(0);
    if (g.out_len > (1u << 20))
        flush_out(5000);  /* host far behind: pause the simulation until it catches up */
    if (g.in_len < sizeof g.in) {
        ssize_t n = read(g.master, g.in + g.in_len, sizeof g.in - g.in_len);
        if (n > 0) {
            g.in_len += (size_t)n;
            g.rx_bytes += (uint64_t)n;
        }
    }
    if (g.control && g.stdin_open) {
        ssize_t n = read(0, g.stdin_buf + g.stdin_len, sizeof g.stdin_buf - 1 - g.stdin_len);
        if (n == 0)
            g.stdin_open = 0;
        else if (n > 0) {
            g.stdin_len += (size_t)n;
            g.stdin_buf[g.stdin_len] = 0;
            char *nl;
            while ((nl = strchr(g.stdin_buf, '\n'))) {
                *nl = 0;
                control_line(g.stdin_buf);
                size_t used = (size_t)(nl - g.stdin_buf) + 1;
                memmove(g.stdin_buf, nl + 1, g.stdin_len - used + 1);
                g.stdin_len -= used;
            }
            if (g.stdin_len == sizeof g.stdin_buf - 1)
                g.stdin_len = 0;
        }
    }
}

/* Feed host bytes at the line rate, only while the receiver is enabled (as a real UART). */
static void feed_uart(uint64_t now)
{
    if (!g.in_len || now < g.next_feed)
        return;
    if (!(g.avr->data[UCSR0B_ADDR] & (1u << RXEN0_BIT))) {
        g.next_feed = now + g.byte_cycles;
        return;
    }
    avr_raise_irq(g.uart_in, g.in[0]);
    memmove(g.in, g.in + 1, --g.in_len);
    g.next_feed = now + g.byte_cycles;
}

static void service(uint64_t now)
{
    hx_bus_advance(&g.bus, now);
    if (now >= g.next_io) {
        poll_io();
        g.next_io = now + g.io_cycles;
    }
    feed_uart(now);
    for (int i = 0; i < g.n_deaths; i++)
        if (g.deaths[i].t >= 0 && now >= sec_to_cycles(g.deaths[i].t)) {
            kill_chip(g.deaths[i].chip);
            g.deaths[i].t = -1;
        }
    for (int i = 0; i < g.n_resets_at; i++)
        if (g.resets_at[i] >= 0 && now >= sec_to_cycles(g.resets_at[i])) {
            do_reset();
            g.resets_at[i] = -1;
        }
    uint64_t t = hx_bus_next_event(&g.bus);
    if (g.next_io < t)
        t = g.next_io;
    if (g.in_len && g.next_feed < t)
        t = g.next_feed;
    if (g.limit < t)
        t = g.limit;
    g.next_event = t;
}

/* ---- setup -------------------------------------------------------------------------------- */
static void parse4(const char *s, double out[HX_CHIPS])
{
    if (sscanf(s, "%lf,%lf,%lf,%lf", &out[0], &out[1], &out[2], &out[3]) != 4)
        die("expected four comma-separated numbers, got '%s'", s);
}

static int32_t *load_values(const char *path, long *rows)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open values file %s", path);
    size_t cap = 4096, n = 0;
    int32_t *v = malloc(cap * sizeof *v);
    long x;
    char word[64];
    while (fscanf(f, "%63s", word) == 1) {
        if (word[0] == '#') {  /* comment to end of line */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {}
            continue;
        }
        x = strtol(word, NULL, 10);
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = (int32_t)x;
    }
    fclose(f);
    if (n == 0 || n % HX_CHIPS)
        die("values file %s must hold rows of %d integers", path, HX_CHIPS);
    *rows = (long)(n / HX_CHIPS);
    return v;
}

static void write_summary(const char *path, double wall_s)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s", path);
    hx_bus_t *b = &g.bus;
    double f_hz = g.avr->frequency;
    double sim_s = g.avr->cycle / f_hz;
    fprintf(f, "{\n  \"sim_seconds\": %.6f,\n  \"wall_seconds\": %.3f,\n", sim_s, wall_s);
    fprintf(f, "  \"frequency_hz\": %.0f,\n  \"cpu_state\": %d,\n", f_hz, g.avr->state);
    fprintf(f, "  \"sck_high_max_us\": %.4f,\n  \"sck_high_max_cycles\": %llu,\n",
            b->sck_high_max * 1e6 / f_hz, (unsigned long long)b->sck_high_max);
    fprintf(f, "  \"sck_highs_over_10us\": %llu,\n  \"sck_pulses\": %llu,\n",
            (unsigned long long)b->highs_over_10us, (unsigned long long)b->pulses_total);
    fprintf(f, "  \"power_down_violations\": %ld,\n  \"first_violation_s\": %.6f,\n",
            b->power_down_violations,
            b->power_down_violations ? b->first_violation / f_hz : -1.0);
    fprintf(f, "  \"read_bursts\": %ld,\n  \"read_bursts_not_25_pulses\": %ld,\n",
            b->bursts, b->bursts_not_25);
    fprintf(f, "  \"read_time_max_us\": %.4f,\n  \"read_time_min_us\": %.4f,\n"
               "  \"read_time_mean_us\": %.4f,\n",
            b->burst_max * 1e6 / f_hz, b->bursts ? b->burst_min * 1e6 / f_hz : 0.0,
            b->bursts ? (double)b->burst_sum / b->bursts * 1e6 / f_hz : 0.0);
    fprintf(f, "  \"uart_tx_bytes\": %llu,\n  \"uart_rx_bytes\": %llu,\n"
               "  \"uart_out_dropped\": %llu,\n",
            (unsigned long long)g.tx_bytes, (unsigned long long)g.rx_bytes,
            (unsigned long long)g.out_dropped);
    fprintf(f, "  \"reads_logged\": %ld,\n  \"resets_s\": [", g.reads_logged);
    for (int i = 0; i < g.n_resets; i++)
        fprintf(f, "%s%.9f", i ? ", " : "", g.reset_cycles[i] / f_hz);
    fprintf(f, "],\n  \"chips\": [\n");
    for (int c = 0; c < HX_CHIPS; c++) {
        hx711_t *h = &b->chip[c];
        fprintf(f, "    {\"chip\": %d, \"tol\": %g, \"conversions\": %ld, \"words_read\": %ld, "
                   "\"dropped_mid_read\": %ld, \"overwritten\": %ld, \"unsettled\": %ld, "
                   "\"power_ups\": %ld, \"gain_changes\": %ld, \"gain_pulses\": %d, "
                   "\"clocks_max\": %d, \"busy_reads\": %ld, \"dead_at_s\": %.9f}%s\n",
                c, h->tol, h->conv_count, h->words_read, h->dropped_mid_read, h->overwritten,
                h->unsettled, h->power_ups, h->gain_changes, h->gain_pulses,
                h->clocks_max, h->busy_reads, h->dead ? g.death_cycles[c] / f_hz : -1.0, c + 1 < HX_CHIPS ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *elf = NULL, *values_path = NULL, *summary = NULL, *read_log = NULL;
    double seconds = 10, host_timeout = 60;
    double tol[HX_CHIPS] = {0.0, 0.005, -0.005, 0.0025};
    double phase[HX_CHIPS] = {0.0, 0.37, 0.71, 0.13};
    int sps = -1, rate_pin = 0, wait_host = 0;
    static struct option opts[] = {
        {"elf", 1, 0, 'e'}, {"values", 1, 0, 'v'}, {"seconds", 1, 0, 's'},
        {"summary", 1, 0, 'S'}, {"read-log", 1, 0, 'L'}, {"tol", 1, 0, 't'},
        {"phase", 1, 0, 'p'}, {"sps", 1, 0, 'r'}, {"rate-pin", 0, 0, 'R'},
        {"dead", 1, 0, 'd'}, {"reset-at", 1, 0, 'x'}, {"wait-host", 0, 0, 'w'},
        {"host-timeout", 1, 0, 'T'}, {"control", 0, 0, 'c'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'e': elf = optarg; break;
        case 'v': values_path = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'S': summary = optarg; break;
        case 'L': read_log = optarg; break;
        case 't': parse4(optarg, tol); break;
        case 'p': parse4(optarg, phase); break;
        case 'r': sps = atoi(optarg); break;
        case 'R': rate_pin = 1; break;
        case 'd':
            if (g.n_deaths == MAX_EVENTS ||
                sscanf(optarg, "%d:%lf", &g.deaths[g.n_deaths].chip, &g.deaths[g.n_deaths].t) != 2)
                die("--dead wants CHIP:SECONDS");
            g.n_deaths++;
            break;
        case 'x':
            if (g.n_resets_at == MAX_EVENTS)
                die("too many --reset-at");
            g.resets_at[g.n_resets_at++] = atof(optarg);
            break;
        case 'w': wait_host = 1; break;
        case 'T': host_timeout = atof(optarg); break;
        case 'c': g.control = 1; g.stdin_open = 1; break;
        default: die("unknown option (see the comment at the top of harness.c)");
        }
    }
    if (!elf)
        die("--elf is required");
    if (sps < 0)
        sps = rate_pin ? 10 : 80;  /* breakouts pull RATE low until the firmware drives it */

    /* Our protocol lines go to the real stdout; simavr's printf chatter goes to stderr. */
    int out_fd = dup(1);
    dup2(2, 1);
    g.ctl = fdopen(out_fd, "w");
    avr_global_logger_set(quiet_logger);

    long rows = 0;
    int32_t *values = values_path ? load_values(values_path, &rows) : NULL;

    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(elf, &fw) != 0)
        die("cannot read ELF %s", elf);
    if (!fw.mmcu[0])
        strcpy(fw.mmcu, "atmega328p");
    if (!fw.frequency)
        fw.frequency = 16000000;
    if (strcmp(fw.mmcu, "atmega328p"))
        die("firmware is for %s, the harness models an atmega328p board", fw.mmcu);
    g.avr = avr_make_mcu_by_name(fw.mmcu);
    if (!g.avr)
        die("simavr does not know %s", fw.mmcu);
    avr_init(g.avr);
    avr_load_firmware(g.avr, &fw);
    g.avr->frequency = fw.frequency;
    g.avr->log = LOG_WARNING;

    uint32_t flags = 0;
    avr_ioctl(g.avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(g.avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_register_notify(avr_io_getirq(g.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                            on_uart_out, NULL);
    g.uart_in = avr_io_getirq(g.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    /* 8N1 at 115200: 10 bits per byte; simavr itself counts 11 (FIRMWARE_NOTES). */
    g.byte_cycles = (uint64_t)(g.avr->frequency * 10.0 / 115200.0);
    g.io_cycles = g.avr->frequency / 1000;  /* talk to the pty every simulated millisecond */

    hx_bus_init(&g.bus, g.avr->frequency, values, rows, tol, phase, sps, on_dout, on_read, NULL);
    for (int c = 0; c < HX_CHIPS; c++) {
        g.dout_irq[c] = avr_io_getirq(g.avr, AVR_IOCTL_IOPORT_GETIRQ('D'), DOUT_FIRST_PIN + c);
        avr_raise_irq(g.dout_irq[c], 1);  /* DOUT high: converting */
    }
    avr_irq_register_notify(avr_io_getirq(g.avr, AVR_IOCTL_IOPORT_GETIRQ('B'), SCK_PIN),
                            on_sck, NULL);
    if (rate_pin)
        avr_irq_register_notify(avr_io_getirq(g.avr, AVR_IOCTL_IOPORT_GETIRQ('B'), RATE_PIN),
                                on_rate, NULL);

    struct termios tio;
    memset(&tio, 0, sizeof tio);
    cfmakeraw(&tio);
    cfsetspeed(&tio, B115200);
    char name[256];
    if (openpty(&g.master, &g.slave, name, &tio, NULL) != 0)
        die("openpty failed: %s", strerror(errno));
    fcntl(g.master, F_SETFL, fcntl(g.master, F_GETFL) | O_NONBLOCK);
    if (g.control)
        fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    if (read_log) {
        g.read_log = fopen(read_log, "w");
        if (!g.read_log)
            die("cannot write %s", read_log);
    }
    fprintf(g.ctl, "PTY %s\n", name);
    fflush(g.ctl);

    if (wait_host) {
        struct pollfd p = {g.master, POLLIN, 0};
        if (poll(&p, 1, (int)(host_timeout * 1000)) <= 0)
            die("no host wrote to %s within %.0f s", name, host_timeout);
    }

    double wall0 = wall_now();
    g.limit = sec_to_cycles(seconds);
    g.next_event = 0;
    for (;;) {
        int state = avr_run(g.avr);
        if (state == cpu_Done || state == cpu_Crashed) {
            fprintf(stderr, "harness: cpu stopped (state %d) at %.6f s\n", state,
                    g.avr->cycle / (double)g.avr->frequency);
            break;
        }
        uint64_t now = g.avr->cycle;
        if (now >= g.next_event) {
            service(now);
            if (now >= g.limit || g.quit)
                break;
        }
    }
    double wall_s = wall_now() - wall0;
    hx_bus_finish(&g.bus);
    flush_out(2000);
    if (g.read_log)
        fclose(g.read_log);
    if (summary)
        write_summary(summary, wall_s);
    fprintf(g.ctl, "DONE %.3f\n", g.avr->cycle / (double)g.avr->frequency);
    fflush(g.ctl);
    return 0;
}
