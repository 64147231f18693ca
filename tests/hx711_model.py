"""A Python model of the HX711 24-bit load-cell ADC, driven by a virtual clock.

Used by the fake RPi.GPIO in tests/fake_rpi so the Raspberry Pi path can be tested off a Pi.
Time never comes from the wall clock: each GPIO call advances a :class:`VirtualClock` by a
fixed cost (``call_s``) and sleeps advance it by exactly the time asked for, so the library's
own 60 us pulse checks see modelled timing, not the luck of the test machine's scheduler.

Datasheet points enforced (see /work/shared/FIRMWARE_NOTES.md, "HX711 datasheet points"):

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

Behaviours the datasheet leaves open, and the choice made here (documented so the firmware
emulator's C model can make the same ones):

* SCK pulses while DOUT is high and no read is open are ignored (no data, no gain change);
  a host that clocks a not-ready chip shifts in ones (0xFFFFFF).
* A conversion that completes while a read is open (1..24 rising edges seen) is discarded:
  the output register is locked while it is being shifted.
* A conversion that completes while SCK is high is presented at the next falling edge.
* Data not read before the next conversion is overwritten by it (DOUT stays low).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

POWER_DOWN_S = 60e-6
COUNT_MIN = -(1 << 23)
COUNT_MAX = (1 << 23) - 1
SETTLING_S = {10: 0.400, 80: 0.050}
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
    t_power_on_s: float = 0.0
    t_settled_s: float = 0.0
    gain: tuple[str, int] = ("A", 128)
    next_conv_s: float = 0.0
    ready: bool = False
    register: int = 0
    pulses: int = 0               # rising edges in the current (or last) read
    read_open: bool = False
    pending: Conversion | None = None
    presented: Conversion | None = None
    reads: list[Conversion] = field(default_factory=list)  # conversions shifted out in full
    power_downs: int = 0
    discarded: int = 0

    @property
    def period_s(self) -> float:
        return 1.0 / (self.rate_sps * (1.0 + self.osc_ppm * 1e-6))

    def power_on(self, t_s: float) -> None:
        self.powered = True
        self.t_power_on_s = t_s
        self.t_settled_s = t_s + SETTLING_S[self.rate_sps]
        self.next_conv_s = t_s + self.phase_s % self.period_s + self.period_s
        self.gain = ("A", 128)  # power-up resets to channel A, gain 128
        self.ready = False
        self.read_open = False
        self.pulses = 0
        self.pending = None
        self.presented = None

    def power_off(self) -> None:
        self.powered = False
        self.power_downs += 1
        self.ready = False
        self.read_open = False

    def advance(self, t_s: float, sck_high: bool) -> None:
        """Run conversions that complete up to ``t_s``."""
        if not self.powered:
            return
        while self.next_conv_s <= t_s:
            t_conv = self.next_conv_s
            self.next_conv_s += self.period_s
            if t_conv < self.t_settled_s or not self.alive:
                continue
            conv = Conversion(t_conv, to_counts(self.value_fn(t_conv)))
            if self.read_open:
                self.discarded += 1
            elif sck_high:
                self.pending = conv
            else:
                self._present(conv)

    def _present(self, conv: Conversion) -> None:
        self.presented = conv
        self.register = conv.counts & 0xFFFFFF
        self.ready = True
        self.pulses = 0

    def rising_edge(self) -> None:
        if not self.powered:
            return
        if self.ready and not self.read_open:
            self.read_open = True
            self.pulses = 0
        if not self.read_open:
            if 25 <= self.pulses < 27:  # gain-selection pulses after a finished read
                self.pulses += 1
                self._apply_gain()
            return
        self.pulses += 1
        if self.pulses == 24:
            self.reads.append(self.presented)
        if self.pulses >= 25:
            self.read_open = False
            self.ready = False
            self._apply_gain()

    def _apply_gain(self) -> None:
        new = GAIN_BY_PULSES[self.pulses]
        if new != self.gain:
            self.gain = new
            self.t_settled_s = self.next_conv_s - self.period_s + SETTLING_S[self.rate_sps]

    def falling_edge(self) -> None:
        if self.powered and self.pending is not None:
            conv, self.pending = self.pending, None
            self._present(conv)

    def dout(self) -> int:
        if not self.powered or not self.alive:
            return 1
        if self.read_open:
            if self.pulses == 0:
                return 0
            return (self.register >> (24 - self.pulses)) & 1
        return 0 if self.ready else 1


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
            chip.advance(t, self.sck)
        return t

    def set_sck(self, level: bool) -> None:
        t = self._tick()
        if level == self.sck:
            return
        if level:
            self.sck = True
            self.t_sck_high_s = t
            for chip in self.chips.values():
                chip.rising_edge()
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
                else:
                    chip.falling_edge()

    def read_dout(self, pin: int) -> int:
        t = self._tick()
        if self.sck and self.t_sck_high_s is not None and t - self.t_sck_high_s > POWER_DOWN_S:
            for chip in self.chips.values():
                if chip.powered:
                    chip.power_off()
        return self.chips[pin].dout()
