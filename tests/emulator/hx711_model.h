/* HX711 24-bit load-cell ADC, modelled from the datasheet for the firmware emulator tests.
 *
 * Time is counted in MCU clock cycles. Four chips share one PD_SCK line (the bus), each has
 * its own DOUT and its own RC oscillator, so each converts at its nominal rate times (1 + tol).
 *
 * What the model enforces (datasheet rev 2.0) and the choices where the datasheet is silent:
 * - DOUT high = no conversion ready; it falls when a conversion completes.
 * - Data: 24 bits, two's complement, MSB first; each SCK rising edge shifts one bit out and
 *   DOUT shows it T2 = 0.1 us later (2 cycles at 16 MHz). The 25th rising edge pulls DOUT high.
 * - 25/26/27 pulses in total select channel A gain 128 / channel B gain 32 / channel A gain 64
 *   for the next conversion; a change of gain or channel restarts output settling.
 * - SCK high for more than 60 us powers the chip down (recorded as a violation; the test fails
 *   on any); SCK low again resets it: gain A/128, output settling.
 * - Settling: after power-up, reset, gain or RATE change the first 3 conversions are discarded
 *   and DOUT stays high, so the first output comes 4 conversion periods later (50 ms at 80 SPS,
 *   400 ms at 10 SPS, the datasheet settling times).
 * - Output saturates at 0x7FFFFF / 0x800000 (input values are clamped).
 * - CHOICE: a conversion that completes while the chip is being shifted out (first rising
 *   edge seen, 25th not yet, last edge < 1 ms ago) does not touch the output register: it is
 *   dropped and counted. A conversion that completes while an earlier one sits unread replaces
 *   it (counted as overwritten).
 * - CHOICE: pulses while DOUT is high and no word is being shifted only count toward the gain
 *   selection; they shift nothing out.
 * - A dead chip holds DOUT high forever and never converts.
 * - Per chip, the most SCK pulses between two conversion completions is recorded (clocks_max):
 *   a firmware that reads each conversion once gives 25; one that also clocks the chip while it
 *   converts gives 50. Bursts that start on a chip with no word ready are counted (busy_reads).
 * - Rates: each chip runs at sps * (1 + tol) with its own start phase (fraction of a period),
 *   so tests can skew chips against each other and against the MCU crystal. */
#ifndef HX711_MODEL_H
#define HX711_MODEL_H

#include <stdint.h>

#define HX_CHIPS 4
#define HX_NEVER UINT64_MAX

typedef void (*hx_dout_fn)(void *ctx, int chip, int level);
typedef void (*hx_read_fn)(void *ctx, int chip, uint64_t start_cycle, long index, int32_t value);

typedef struct {
    int chip;
    double phase;            /* start offset, fraction of a period (chips are not in step) */
    double tol;              /* oscillator error, e.g. +0.005 = 80.4 SPS at 80 nominal */
    int sps;                 /* nominal rate from the RATE pin: 10 or 80 */
    int powered, dead;
    double next_conv;        /* cycle of the next conversion completion */
    int settle_left;         /* conversions still to discard */
    int gain_pulses;         /* 25, 26 or 27: selection in force for the next conversion */
    int ready;               /* output register holds an unread word (DOUT low until shifted) */
    int32_t reg;
    long reg_index;          /* conversion index of the word in reg */
    long conv_count;         /* index of the next conversion */
    int shift_n;             /* bits of reg shifted out */
    int pulses;              /* SCK pulses since the last conversion completed */
    int clocks;              /* SCK pulses since the last conversion, whatever happened to it */
    int clocks_max;          /* most pulses seen between two conversions (datasheet: 25-27) */
    long busy_reads;         /* read bursts that began while the chip had no word ready */
    uint64_t read_start, last_rise;
    int dout, dout_next;
    uint64_t dout_at;
    /* statistics */
    long words_read, dropped_mid_read, overwritten, unsettled, power_ups, gain_changes;
} hx711_t;

typedef struct {
    hx711_t chip[HX_CHIPS];
    double freq;             /* MCU clock, Hz */
    const int32_t *values;   /* values[k * HX_CHIPS + c]: chip c's k-th conversion */
    long n_values;
    hx_dout_fn on_dout;
    hx_read_fn on_read;
    void *ctx;
    /* SCK and its timing */
    int sck;
    uint64_t rise, fall;
    uint64_t sck_high_max, pulses_total, highs_over_10us;
    int powered_down;
    long power_down_violations;
    uint64_t first_violation;
    /* read bursts: pulses closer than BURST_GAP belong to one read */
    uint64_t burst_start, burst_last_fall;
    int burst_pulses, in_burst;
    long bursts, bursts_not_25;
    uint64_t burst_max, burst_min, burst_sum;
} hx_bus_t;

void hx_bus_init(hx_bus_t *bus, double freq, const int32_t *values, long n_values,
                 const double tol[HX_CHIPS], const double phase[HX_CHIPS], int sps,
                 hx_dout_fn on_dout, hx_read_fn on_read, void *ctx);
uint64_t hx_bus_next_event(const hx_bus_t *bus);
void hx_bus_advance(hx_bus_t *bus, uint64_t now);
void hx_bus_sck(hx_bus_t *bus, uint64_t now, int level);
void hx_bus_set_rate(hx_bus_t *bus, uint64_t now, int sps);
void hx_bus_kill(hx_bus_t *bus, uint64_t now, int chip);
void hx_bus_finish(hx_bus_t *bus);

#endif
