"""A Python model of the HX711 24-bit load-cell ADC, driven by a virtual clock.

Used by the fake RPi.GPIO in tests/fake_rpi so the Raspberry Pi path can be tested off a Pi.
Time never comes from the wall clock: each GPIO call advances a :class:`VirtualClock` by a
fixed cost (``call_s``) and sleeps advance it by exactly the time asked for, so the library's
own 60 us pulse checks see modelled timing, not the luck of the test machine's scheduler.

Datasheet points enforced (HX711 datasheet; see also docs/firmware.md):

* DOUT high = not ready; it falls when a conversion is ready. Conversions complete every
  1/rate s (10 or 80 SPS by the RATE pin), each chip with its own oscillator error (ppm) and
  phase, so chips on one shared SCK drift apart.
* 24 bits, MSB first, two's complement, each bit presented on DOUT after an SCK rising edge.
  DOUT goes high again on the 25th rising edge. 25/26/27 pulses in total select channel A
  gain 128 / channel B gain 32 / channel A gain 64 for the next conversion.
* SCK high for more than 60 us powers the chip down; SCK low powers it up and resets it.
* After power-up or a channel/gain change, no conversion is presented until the output has
  settled: 400 ms at 10 SPS, 50 ms at 80 SPS.
* The output saturates at 0x7FFFFF / 0x800000.

Behaviours the datasheet leaves open: the choices are those of the firmware emulator's C
model (tests/emulator/hx711_model.h), so the Arduino and the Pi paths are tested against the
same chip:

* Settling is counted in conversions: after power-up, reset or a gain change the first 3
  conversions are discarded (DOUT stays high), so the first output comes 4 periods later:
  50 ms at 80 SPS, 400 ms at 10 SPS, the datasheet's settling times.
* SCK pulses while DOUT is high and no word is being shifted shift nothing out; they only
  count toward the gain selection (pulses since the last conversion; >= 25 at a conversion
  selects 25/26/27, more than 27 counts as 27).
* A conversion that completes while a word is being shifted out (first rising edge seen, 25th
  not yet, last edge less than 1 ms ago) is dropped; the output register is busy.
* Data not read before the next conversion is overwritten by it (DOUT stays low).
* A dead chip holds DOUT high forever and never converts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

POWER_DOWN_S = 60e-6
COUNT_MIN = -(1 << 23)
COUNT_MAX = (1 << 23) - 1
SETTLE_DISCARDS = 3  # the 4th conversion after a reset is the first one presented
STALE_READ_S = 1e-3  # a word whose last edge is older than this no longer locks the register
GAIN_BY_PULSES = {25: ("A", 128), 26: ("B", 32), 27: ("A", 64)}


class VirtualClock:
    """Seconds since the start of the test; only GPIO calls and sleeps move it."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._t = start_s
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, dt_s: float) -> float:
        with self._lock:
            if dt_s > 0:
                self._t += dt_s
            return self._t

    def sleep(self, dt_s: float) -> None:
        self.advance(dt_s)


def to_counts(value: float) -> int:
    """Clamp to the converter's range, as the chip's output saturates."""
    return int(max(COUNT_MIN, min(COUNT_MAX, math.floor(value))))


@dataclass
class Conversion:
    t_s: float
    counts: int


@dataclass
class HX711Chip:
    """One chip. ``value_fn(t_s)`` gives the input, in counts, at a conversion instant."""

    value_fn: Callable[[float], float]
    rate_sps: int = 80
    osc_ppm: float = 0.0          # oscillator error: +1000 ppm converts 0.1 % faster
    phase_s: float = 0.0          # offset of this chip's conversion grid after power-up
    alive: bool = True            # False: DOUT stuck high (missing, unpowered or dead chip)
    # -- state
    powered: bool = True
    gain_pulses: int = 25         # selection in force: 25 = A/128, 26 = B/32, 27 = A/64
    settle_left: int = SETTLE_DISCARDS
    next_conv_s: float = 0.0
    ready: bool = False           # the register holds an unread word (DOUT low until shifted)
    register: int = 0
    shift_n: int = 0              # bits of the register shifted out
    pulses: int = 0               # rising edges since the last conversion completed
    last_rise_s: float = -1.0
    presented: Conversion | None = None
    reads: list[Conversion] = field(default_factory=list)  # words shifted out in full
    power_downs: int = 0
    dropped_mid_read: int = 0
    overwritten: int = 0

    @property
    def period_s(self) -> float:
        return 1.0 / (self.rate_sps * (1.0 + self.osc_ppm * 1e-6))

    @property
    def gain(self) -> tuple[str, int]:
        return GAIN_BY_PULSES[self.gain_pulses]

    def power_on(self, t_s: float) -> None:
        """Power-up or reset: channel A gain 128, output settling again."""
        self.powered = True
        self.gain_pulses = 25
        self.settle_left = SETTLE_DISCARDS
        self.ready = False
        self.shift_n = 0
        self.pulses = 0
        self.next_conv_s = t_s + self.phase_s % self.period_s + self.period_s

    def power_off(self) -> None:
        self.powered = False
        self.power_downs += 1
        self.ready = False

    def advance(self, t_s: float) -> None:
        """Run the conversions that complete up to ``t_s``."""
        if not self.powered or not self.alive:
            return
        while self.next_conv_s <= t_s:
            self._convert(self.next_conv_s)
            self.next_conv_s += self.period_s

    def _convert(self, t_conv: float) -> None:
        mid_read = (self.shift_n > 0 and self.pulses < 25
                    and t_conv - self.last_rise_s < STALE_READ_S)
        if mid_read:
            self.dropped_mid_read += 1
            return
        if self.pulses >= 25:
            g = min(self.pulses, 27)
            if g != self.gain_pulses:
                self.gain_pulses = g
                self.settle_left = SETTLE_DISCARDS
        self.pulses = 0
        if self.settle_left > 0:
            self.settle_left -= 1
            return
        if self.ready and self.shift_n == 0:
            self.overwritten += 1
        self.presented = Conversion(t_conv, to_counts(self.value_fn(t_conv)))
        self.register = self.presented.counts & 0xFFFFFF
        self.ready = True
        self.shift_n = 0

    def rising_edge(self, t_s: float) -> None:
        if not self.powered:
            return
        self.pulses += 1
        self.last_rise_s = t_s
        if self.ready and self.shift_n < 24:
            self.shift_n += 1
            if self.shift_n == 24:
                self.reads.append(self.presented)
        elif self.ready:  # the 25th pulse ends the word: DOUT back high until the next one
            self.ready = False

    def dout(self) -> int:
        if not self.powered or not self.alive or not self.ready:
            return 1
        if self.shift_n == 0:
            return 0
        return (self.register >> (24 - self.shift_n)) & 1


class HX711Bus:
    """Four (or any number of) chips on one shared SCK line, each with its own DOUT pin."""

    def __init__(self, clock: VirtualClock, sck_pin: int, chips: dict[int, HX711Chip],
                 call_s: float = 1e-6) -> None:
        self.clock = clock
        self.sck_pin = sck_pin
        self.chips = chips            # DOUT pin -> chip
        self.call_s = call_s          # virtual time one GPIO call takes
        self.sck = False
        self.t_sck_high_s: float | None = None
        self.max_sck_high_s = 0.0
        self.stall_next_high_s = 0.0  # test hook: the next SCK-high lasts this much longer
        t = clock.now()
        for chip in chips.values():
            chip.power_on(t)

    def _tick(self) -> float:
        t = self.clock.advance(self.call_s)
        for chip in self.chips.values():
            chip.advance(t)
        return t

    def set_sck(self, level: bool) -> None:
        t = self._tick()
        if level == self.sck:
            return
        if level:
            self.sck = True
            self.t_sck_high_s = t
            for chip in self.chips.values():
                chip.rising_edge(t)
            if self.stall_next_high_s:
                stall, self.stall_next_high_s = self.stall_next_high_s, 0.0
                self.clock.advance(stall)
                t = self._tick()
        else:
            high_s = t - self.t_sck_high_s
            self.max_sck_high_s = max(self.max_sck_high_s, high_s)
            self.sck = False
            for chip in self.chips.values():
                if chip.powered and high_s > POWER_DOWN_S:
                    chip.power_off()
                if not chip.powered:
                    chip.power_on(t)

    def read_dout(self, pin: int) -> int:
        t = self._tick()
        if self.sck and self.t_sck_high_s is not None and t - self.t_sck_high_s > POWER_DOWN_S:
            for chip in self.chips.values():
                if chip.powered:
                    chip.power_off()
        return self.chips[pin].dout()
