// Shared-clock HX711 reader with direct port access.
//
// Datasheet timing (HX711 rev 2.0): DOUT is valid 0.1 us after the SCK rising edge (T2), SCK
// high and low at least 0.2 us (T3, T4), and SCK high for more than 60 us powers the chip down.
// Each pulse below holds SCK high for about 0.5 us with interrupts off only for that pulse, so
// no interrupt can stretch it; interrupts (serial, millis) run between pulses, which only
// lengthens SCK low time, which the chip does not limit.
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/delay.h>

#include "hx711_bus.h"

void hx_begin(uint8_t rate_sps)
{
    HX_SCK_PORT &= (uint8_t)~_BV(HX_SCK_BIT);  // SCK low first: a high SCK powers chips down
    HX_SCK_DDR |= _BV(HX_SCK_BIT);
    HX_DOUT_DDR &= (uint8_t)~HX_DOUT_MASK;      // DOUT: inputs, no pull-ups (push-pull outputs)
    HX_DOUT_PORT &= (uint8_t)~HX_DOUT_MASK;
    hx_set_rate_pin(rate_sps);
    HX_RATE_DDR |= _BV(HX_RATE_BIT);
}

void hx_set_rate_pin(uint8_t rate_sps)
{
    if (rate_sps >= 80)
        HX_RATE_PORT |= _BV(HX_RATE_BIT);
    else
        HX_RATE_PORT &= (uint8_t)~_BV(HX_RATE_BIT);
}

// One SCK pulse; returns the DOUT port sampled while SCK is high.
static inline uint8_t hx_pulse(void) __attribute__((always_inline));
static inline uint8_t hx_pulse(void)
{
    uint8_t sreg = SREG;
    cli();
    HX_SCK_PORT |= _BV(HX_SCK_BIT);
    // SCK is high from here: the HX711 60 us power-down rule binds until the clear below.
    // Interrupts are off so nothing can stretch this; 4 cycles = 0.25 us >= T2 and T3.
    __builtin_avr_delay_cycles(4);
    uint8_t port = HX_DOUT_PINREG;
    HX_SCK_PORT &= (uint8_t)~_BV(HX_SCK_BIT);
    SREG = sreg;
    __builtin_avr_delay_cycles(2);  // T4: SCK low >= 0.2 us before the next rising edge
    return port;
}

static inline uint8_t hx_bit(uint8_t port, uint8_t chip)
{
    return (uint8_t)((port >> (HX_DOUT_SHIFT + chip)) & 1U);
}

uint8_t hx_read_all(int32_t out[CHANNELS])
{
    uint8_t sample[24];
    // Which chips are ready, sampled with interrupts off right before the first rising edge
    // (3 cycles, 0.19 us): no interrupt can run between the two. A chip whose DOUT falls in
    // that window is treated as busy and its word discarded: safe, and rarer than 1 in 10^5
    // reads. (Sampled earlier, an interrupt in between would widen the window to microseconds.)
    uint8_t sreg = SREG;
    cli();
    uint8_t ready = hx_ready_mask();
    sample[0] = hx_pulse();  // bit 23 (MSB) first; hx_pulse keeps interrupts off
    SREG = sreg;
    for (uint8_t i = 1; i < 24; i++)
        sample[i] = hx_pulse();

    // 25th pulse: selects channel A, gain 128 for the next conversion and pulls DOUT high.
#ifdef FAULT_LONG_SCK_HIGH
    // BROKEN ON PURPOSE (emulator negative check): SCK held high past the 60 us limit.
    uint8_t fault_sreg = SREG;
    cli();
    HX_SCK_PORT |= _BV(HX_SCK_BIT);
    _delay_us(70);
    HX_SCK_PORT &= (uint8_t)~_BV(HX_SCK_BIT);
    SREG = fault_sreg;
#else
    (void)hx_pulse();
#endif

    for (uint8_t c = 0; c < CHANNELS; c++) {
        uint8_t b[3];
        for (uint8_t k = 0; k < 3; k++) {
            uint8_t v = 0;
            for (uint8_t i = 0; i < 8; i++)
                v = (uint8_t)((v << 1) | hx_bit(sample[8 * k + i], c));
            b[k] = v;
        }
        uint32_t word = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
#ifndef FAULT_NO_SIGN_EXTEND
        if (word & 0x800000UL)
            word |= 0xFF000000UL;  // 24-bit two's complement -> int32
#endif
        out[c] = (int32_t)word;
    }
    return ready;
}
