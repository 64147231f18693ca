// StanceLab board firmware: build-time configuration (pins, rates, limits, fault switches).
// Everything the rest of the sketch needs to know about the wiring lives here.
#ifndef STANCELAB_CONFIG_H
#define STANCELAB_CONFIG_H

#include <avr/io.h>

#define FW_MAJOR 1
#define FW_MINOR 1
#define FW_PATCH 0
#define PROTOCOL_VERSION 1
#define SERIAL_BAUD 115200UL
#define CHANNELS 4

// ---- Pins (Arduino Uno / Nano, ATmega328P) ------------------------------------------------
// The four HX711 DOUT lines share PORTD so one read of PIND samples all four at the same
// instant: channel c (0 FL, 1 FR, 2 BL, 3 BR) is on D(4+c) = PD(4+c). D2/D3 are avoided on
// purpose (INT0/INT1), D0/D1 are the USB serial link.
#define HX_DOUT_PINREG PIND
#define HX_DOUT_DDR DDRD
#define HX_DOUT_PORT PORTD
#define HX_DOUT_SHIFT 4
#define HX_DOUT_MASK 0xF0
// Shared PD_SCK on D8 = PB0.
#define HX_SCK_PORT PORTB
#define HX_SCK_DDR DDRB
#define HX_SCK_BIT 0
// Optional: RATE pins of all four breakouts tied to D9 = PB1 (high = 80 SPS, low = 10 SPS).
// Most breakouts hard-wire RATE to GND (10 SPS); without this wire the rate is a jumper or
// solder change on each board and SET_RATE then only changes the frame pacing.
#define HX_RATE_PORT PORTB
#define HX_RATE_DDR DDRB
#define HX_RATE_BIT 1

// ---- Timing -------------------------------------------------------------------------------
#define DEFAULT_RATE_SPS 80
// Each chip's conversion period is measured from when its DOUT goes low. Until measured (after
// reset or SET_RATE) it is taken as PERIOD_MAX_US, the slowest an HX711 converts (10 SPS with a
// slow oscillator); intervals below PERIOD_MIN_US are glitches and ignored.
#define PERIOD_MAX_US 110000UL
#define PERIOD_MIN_US 5000UL
// Once one chip is ready, a chip still busy 1.25 of its periods + LATE_MARGIN_US later is left
// out of the read so the others keep streaming (about 17.6 ms at 80 SPS, 127 ms at 10 SPS).
#define LATE_MARGIN_US 2000UL
// DOUT not seen low for TIMEOUT_PERIODS of that chip's periods -> TIMED_OUT: 75 ms at 80 SPS,
// 600 ms at 10 SPS, 660 ms before the first measurement. Longer than the 4 periods a chip
// stays silent while it settles after power-up, a RATE change or a gain change.
#define TIMEOUT_PERIODS 6UL
// Readings a chip produces after it was clocked while busy are discarded (flagged NOT_READY):
// such a chip may have shifted out part of a word and needs one full read to resynchronise.
#define RECOVER_READS 2
// A command frame that stalls mid-way for this long is dropped.
#define RX_STALL_MS 100UL

// ---- EEPROM layout ------------------------------------------------------------------------
#define EE_BOARD_ID_ADDR 0x10
#define EE_MAGIC_ADDR 0x14
#define EE_MAGIC 0x5A

// ---- Plotter mode -------------------------------------------------------------------------
#ifndef STANCELAB_PLOTTER
#define STANCELAB_PLOTTER 0
#endif

// ---- Deliberately broken variants (OFF by default) -----------------------------------------
// Only for the emulator tests, which prove they would catch each fault:
//   -DFAULT_LONG_SCK_HIGH   holds SCK high ~70 us on the 25th pulse (HX711 powers down)
//   -DFAULT_NO_SIGN_EXTEND  keeps the 24-bit word unsigned (negative counts read as huge)
//   -DFAULT_NO_TIMEOUT      waits for all four DOUT lines with no timeout (dead chip hangs)

#endif
