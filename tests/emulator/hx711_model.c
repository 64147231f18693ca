/* HX711 datasheet model for the emulator tests; behaviour and choices: hx711_model.h. */
#include "hx711_model.h"

#include <string.h>

#define T2_CYCLES 2            /* DOUT valid 0.1 us after the SCK rising edge (16 MHz) */
#define SETTLE_DISCARDS 3      /* 4th conversion is the first settled one */
#define COUNT_MAX 8388607
#define COUNT_MIN (-8388608)

static double us_to_cycles(const hx_bus_t *bus, double us) { return bus->freq * us * 1e-6; }

static double period(const hx_bus_t *bus, const hx711_t *h)
{
    return bus->freq / ((double)h->sps * (1.0 + h->tol));
}

static void set_dout(hx711_t *h, int level, uint64_t at)
{
    h->dout_next = level;
    h->dout_at = at;
}

static void chip_reset(hx_bus_t *bus, hx711_t *h, uint64_t now, double phase)
{
    h->powered = 1;
    h->gain_pulses = 25;
    h->settle_left = SETTLE_DISCARDS;
    h->ready = 0;
    h->shift_n = 0;
    h->pulses = 0;
    h->clocks = 0;
    h->next_conv = (double)now + period(bus, h) * (1.0 + phase);
    h->power_ups++;
    set_dout(h, 1, now);
}

void hx_bus_init(hx_bus_t *bus, double freq, const int32_t *values, long n_values,
                 const double tol[HX_CHIPS], const double phase[HX_CHIPS], int sps,
                 hx_dout_fn on_dout, hx_read_fn on_read, void *ctx)
{
    memset(bus, 0, sizeof *bus);
    bus->freq = freq;
    bus->values = values;
    bus->n_values = n_values;
    bus->on_dout = on_dout;
    bus->on_read = on_read;
    bus->ctx = ctx;
    bus->burst_min = HX_NEVER;
    for (int c = 0; c < HX_CHIPS; c++) {
        hx711_t *h = &bus->chip[c];
        h->chip = c;
        h->tol = tol[c];
        h->phase = phase[c];
        h->sps = sps;
        h->dout = 1;
        chip_reset(bus, h, 0, phase[c]);
        h->power_ups = 0;
    }
}

static int32_t clamp24(int32_t v)
{
    return v > COUNT_MAX ? COUNT_MAX : (v < COUNT_MIN ? COUNT_MIN : v);
}

static void chip_convert(hx_bus_t *bus, hx711_t *h, uint64_t now)
{
    long k = h->conv_count++;
    h->next_conv += period(bus, h);
    if (h->clocks > h->clocks_max)
        h->clocks_max = h->clocks;
    h->clocks = 0;
    int mid_read = h->shift_n > 0 && h->pulses < 25 &&
                   (double)(now - h->last_rise) < us_to_cycles(bus, 1000.0);
    if (mid_read) {  /* CHOICE: the output register is busy; this conversion is lost */
        h->dropped_mid_read++;
        return;
    }
    if (h->pulses >= 25) {  /* the last read's pulse count selects this conversion's input */
        int g = h->pulses > 27 ? 27 : h->pulses;
        if (g != h->gain_pulses) {
            h->gain_pulses = g;
            h->settle_left = SETTLE_DISCARDS;
            h->gain_changes++;
        }
    }
    h->pulses = 0;
    if (h->settle_left > 0) {
        h->settle_left--;
        h->unsettled++;
        return;
    }
    if (h->ready && h->shift_n == 0)
        h->overwritten++;
    long row = bus->n_values ? k % bus->n_values : 0;
    h->reg = bus->n_values ? clamp24(bus->values[row * HX_CHIPS + h->chip]) : 0;
    h->reg_index = k;
    h->ready = 1;
    h->shift_n = 0;
    set_dout(h, 0, now);
}

static void chip_rise(hx_bus_t *bus, hx711_t *h, uint64_t now, int burst_start)
{
    h->pulses++;
    h->clocks++;
    if (burst_start && !h->ready)
        h->busy_reads++;
    h->last_rise = now;
    if (h->ready && h->shift_n < 24) {
        if (h->shift_n == 0)
            h->read_start = now;
        int bit = (int)(((uint32_t)h->reg >> (23 - h->shift_n)) & 1u);
        h->shift_n++;
        set_dout(h, bit, now + T2_CYCLES);
        if (h->shift_n == 24) {
            h->words_read++;
            if (bus->on_read)
                bus->on_read(bus->ctx, h->chip, h->read_start, h->reg_index, h->reg);
        }
    } else if (h->ready) {  /* 25th pulse ends the word: DOUT back high until the next one */
        h->ready = 0;
        set_dout(h, 1, now + T2_CYCLES);
    }
}

static void burst_close(hx_bus_t *bus)
{
    if (!bus->in_burst)
        return;
    uint64_t d = bus->burst_last_fall - bus->burst_start;
    bus->bursts++;
    if (bus->burst_pulses != 25)
        bus->bursts_not_25++;
    if (d > bus->burst_max)
        bus->burst_max = d;
    if (d < bus->burst_min)
        bus->burst_min = d;
    bus->burst_sum += d;
    bus->in_burst = 0;
}

void hx_bus_sck(hx_bus_t *bus, uint64_t now, int level)
{
    level = level ? 1 : 0;
    if (level == bus->sck)
        return;
    bus->sck = level;
    if (level) {
        bus->rise = now;
        bus->pulses_total++;
        if (bus->in_burst && (double)(now - bus->burst_last_fall) > us_to_cycles(bus, 100.0))
            burst_close(bus);
        int first = !bus->in_burst;
        if (first) {
            bus->in_burst = 1;
            bus->burst_start = now;
            bus->burst_pulses = 0;
        }
        bus->burst_pulses++;
        if (!bus->powered_down)
            for (int c = 0; c < HX_CHIPS; c++)
                if (bus->chip[c].powered && !bus->chip[c].dead)
                    chip_rise(bus, &bus->chip[c], now, first);
    } else {
        uint64_t high = now - bus->rise;
        if (high > bus->sck_high_max)
            bus->sck_high_max = high;
        if ((double)high > us_to_cycles(bus, 10.0))
            bus->highs_over_10us++;
        bus->burst_last_fall = now;
        if (bus->powered_down) {  /* SCK low again: the chips reset and power up */
            bus->powered_down = 0;
            for (int c = 0; c < HX_CHIPS; c++)
                if (!bus->chip[c].dead)
                    chip_reset(bus, &bus->chip[c], now, 0.0);
        }
    }
}

uint64_t hx_bus_next_event(const hx_bus_t *bus)
{
    uint64_t t = HX_NEVER;
    if (bus->sck && !bus->powered_down) {
        uint64_t pd = bus->rise + (uint64_t)us_to_cycles(bus, 60.0) + 1;
        if (pd < t)
            t = pd;
    }
    for (int c = 0; c < HX_CHIPS; c++) {
        const hx711_t *h = &bus->chip[c];
        if (h->dout_at != HX_NEVER && h->dout_at < t)
            t = h->dout_at;
        if (h->powered && !h->dead && (uint64_t)h->next_conv < t)
            t = (uint64_t)h->next_conv;
    }
    return t;
}

void hx_bus_advance(hx_bus_t *bus, uint64_t now)
{
    if (bus->sck && !bus->powered_down &&
        (double)(now - bus->rise) > us_to_cycles(bus, 60.0)) {
        /* SCK high > 60 us: every chip on the bus powers down (a firmware timing violation) */
        bus->powered_down = 1;
        if (bus->power_down_violations++ == 0)
            bus->first_violation = now;
        for (int c = 0; c < HX_CHIPS; c++) {
            hx711_t *h = &bus->chip[c];
            h->powered = 0;
            h->ready = 0;
            h->shift_n = 0;
            set_dout(h, 1, now);
        }
    }
    for (int c = 0; c < HX_CHIPS; c++) {
        hx711_t *h = &bus->chip[c];
        while (h->powered && !h->dead && (uint64_t)h->next_conv <= now)
            chip_convert(bus, h, now);
        if (h->dout_at != HX_NEVER && h->dout_at <= now) {
            h->dout_at = HX_NEVER;
            if (h->dout_next != h->dout) {
                h->dout = h->dout_next;
                if (bus->on_dout)
                    bus->on_dout(bus->ctx, c, h->dout);
            }
        }
    }
}

void hx_bus_set_rate(hx_bus_t *bus, uint64_t now, int sps)
{
    for (int c = 0; c < HX_CHIPS; c++) {
        hx711_t *h = &bus->chip[c];
        if (h->sps == sps)
            continue;
        h->sps = sps;
        if (h->powered && !h->dead) {  /* the filter restarts at the new rate: settle again */
            h->next_conv = (double)now + period(bus, h) * (1.0 + h->phase);
            h->settle_left = SETTLE_DISCARDS;
        }
    }
}

void hx_bus_kill(hx_bus_t *bus, uint64_t now, int chip)
{
    hx711_t *h = &bus->chip[chip];
    h->dead = 1;
    h->ready = 0;
    h->shift_n = 0;
    set_dout(h, 1, now);
}

void hx_bus_finish(hx_bus_t *bus)
{
    burst_close(bus);
}
