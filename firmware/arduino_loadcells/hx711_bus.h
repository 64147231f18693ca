// Four HX711 on one shared PD_SCK, DOUT lines on one port: read all chips in one pulse train.
#ifndef STANCELAB_HX711_BUS_H
#define STANCELAB_HX711_BUS_H

#include <stdint.h>
#include "config.h"

#define HX_COUNT_MAX 8388607L   // 0x7FFFFF: positive full scale (chip saturates here)
#define HX_COUNT_MIN -8388608L  // 0x800000: negative full scale

// Bit c set = chip c has a conversion ready (its DOUT is low). One read of the port samples
// all four lines at the same instant.
static inline uint8_t hx_ready_mask(void)
{
    return (uint8_t)((uint8_t)~HX_DOUT_PINREG & HX_DOUT_MASK) >> HX_DOUT_SHIFT;
}

void hx_begin(uint8_t rate_sps);
// Drive the optional RATE wire (see config.h); harmless when it is not connected.
void hx_set_rate_pin(uint8_t rate_sps);
// Clock 24 data bits plus one gain pulse (next conversion: channel A, gain 128) out of all
// four chips together. out[c] is chip c's sign-extended reading; returns the chips that were
// ready (DOUT low) when the read started: for the others the value is meaningless and the
// caller discards it.
uint8_t hx_read_all(int32_t out[CHANNELS]);

#endif
