"""A virtual StanceLab board: the firmware's behaviour, bytes in and bytes out.

It speaks protocol v1 with the real encoder, so a host drives it exactly like a board on a
serial port: feed it command bytes with :meth:`VirtualBoard.receive`, let time pass with
:meth:`VirtualBoard.advance` and collect the frames that fell due. Loads come from ``load_fn``
(the four corner loads in N at given true times, e.g. a :class:`~stancelab.sim.athlete.VirtualAthlete`)
and become counts in :class:`~stancelab.sim.hx711.HX711Bank`.

Clocks: "true" time (what ``load_fn`` sees) starts at 0 when the board is built and moves only
through ``advance``. The device's ``micros()`` restarts at ``micros_at_boot`` on every
:meth:`boot` and runs ``clock_ppm`` parts per million fast (a 16 MHz resonator or crystal is
never exact). The firmware paces frames on its own clock: one every 1/rate device seconds after
START; each frame's ``t_us`` is when the chips were read, a few tens of microseconds after the
scheduled instant (loop latency).
"""

from __future__ import annotations

import numpy as np

from stancelab.board import protocol
from stancelab.sim.hx711 import (
    NOISE_COUNTS_RMS_80SPS,
    NOMINAL_COUNTS_PER_N,
    ChannelFault,
    HX711Bank,
)

DEFAULT_BOARD_ID = 0x51AB0001
#: Per-cell sensitivity: nominal 2189.9 counts/N with the +-1 % spread of real 200 kg cells.
DEFAULT_COUNTS_PER_N = tuple(NOMINAL_COUNTS_PER_N * f for f in (1.0062, 0.9931, 0.9978, 1.0087))
#: Zero-load readings: each cell's bridge imbalance plus its share of the ~5.5 kg plywood top.
DEFAULT_OFFSETS_COUNTS = (41_327, -18_904, 63_215, 12_688)
#: Slow thermal zero drift, counts/s (about 0.1-0.5 N per hour per cell).
DEFAULT_DRIFT_COUNTS_PER_S = (0.21, -0.14, 0.09, -0.27)
DEFAULT_FIRMWARE = (1, 0, 0)
RESET_POWER_ON = 0x01
RESET_EXTERNAL = 0x02

_US = 1_000_000


# The same CRC-16/CCITT-FALSE table the bulk decoder uses, widened for the shifts below.
_TABLE = protocol.crc16_table().astype(np.uint32)

_MSG_TYPES = {protocol.SampleFrame: protocol.T_SAMPLE, protocol.Boot: protocol.T_BOOT,
              protocol.Identity: protocol.T_IDENTITY, protocol.Ack: protocol.T_ACK,
              protocol.Pong: protocol.T_PONG}
_PAYLOAD_LEN = {protocol.C_IDENTIFY: 0, protocol.C_START: 0, protocol.C_STOP: 0,
                protocol.C_SET_RATE: 1, protocol.C_PING: 4, protocol.C_SET_BOARD_ID: 4,
                protocol.C_SET_PLOTTER: 1}


def encode_samples(seq: np.ndarray, t_us: np.ndarray, counts: np.ndarray,
                   status: np.ndarray) -> bytes:
    """Many SAMPLE frames at once; byte-identical to protocol.encode_sample in a loop."""
    n = len(seq)
    if n == 0:
        return b""
    frame = np.zeros((n, 26), dtype=np.uint8)
    frame[:, 0], frame[:, 1] = 0xA5, 0x5A
    frame[:, 2], frame[:, 3] = protocol.T_SAMPLE, 20
    seq = np.asarray(seq, dtype=np.int64) % protocol.SEQ_MOD
    t_us = np.asarray(t_us, dtype=np.int64) % protocol.T_MOD
    status = np.asarray(status, dtype=np.int64) & 0xFFFF
    for i in range(2):
        frame[:, 4 + i] = (seq >> (8 * i)) & 0xFF
    for i in range(4):
        frame[:, 6 + i] = (t_us >> (8 * i)) & 0xFF
    c24 = np.asarray(counts, dtype=np.int64) & 0xFFFFFF
    for ch in range(4):
        for i in range(3):
            frame[:, 10 + 3 * ch + i] = (c24[:, ch] >> (8 * i)) & 0xFF
    frame[:, 22] = status & 0xFF
    frame[:, 23] = status >> 8
    crc = np.full(n, 0xFFFF, dtype=np.uint32)
    for col in range(2, 24):
        crc = (_TABLE[((crc >> 8) ^ frame[:, col]) & 0xFF] ^ (crc << 8)) & 0xFFFF
    frame[:, 24] = crc & 0xFF
    frame[:, 25] = crc >> 8
    return frame.tobytes()


class VirtualBoard:
    """Device model of the StanceLab firmware on a four-cell board."""

    def __init__(self, load_fn, *, board_id: int = DEFAULT_BOARD_ID, rate_sps: int = 80,
                 seed: int = 0, counts_per_n=DEFAULT_COUNTS_PER_N,
                 offsets_counts=DEFAULT_OFFSETS_COUNTS,
                 noise_counts_rms: float = NOISE_COUNTS_RMS_80SPS,
                 drift_counts_per_s=DEFAULT_DRIFT_COUNTS_PER_S,
                 faults: dict[int, ChannelFault] | None = None,
                 clock_ppm: float = 120.0, micros_at_boot: int = 0,
                 firmware: tuple[int, int, int] = DEFAULT_FIRMWARE,
                 rate_tolerance: float = 0.005) -> None:
        if rate_sps not in protocol.SUPPORTED_RATES:
            raise ValueError(f"rate must be one of {protocol.SUPPORTED_RATES}, not {rate_sps}")
        self.board_id = int(board_id)
        self.firmware = tuple(firmware)
        self.clock_ppm = float(clock_ppm)
        self.micros_at_boot = int(micros_at_boot)
        self.default_rate_sps = rate_sps
        self.hx711 = HX711Bank(load_fn, counts_per_n=counts_per_n, offsets_counts=offsets_counts,
                               noise_counts_rms=noise_counts_rms,
                               drift_counts_per_s=drift_counts_per_s,
                               rate_tolerance=rate_tolerance, seed=seed, faults=faults)
        self._latency_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x51AB]))
        self._rx = protocol.Decoder()
        self.t_s = 0.0             # true time
        self.frames_sent = 0
        self._reset(0.0)

    # -- clocks
    def _reset(self, t_s: float) -> None:
        self._t_boot_s = t_s
        self.streaming = False
        self.plotter = False
        self.rate_sps = self.default_rate_sps
        self.seq = 0
        self._next_frame_us = 0      # unwrapped device micros of the next frame
        self.hx711.power_up(self.rate_sps, t_s)

    def device_us(self, t_s: float | None = None) -> int:
        """Unwrapped device micros() at true time t_s (default: now)."""
        t = self.t_s if t_s is None else t_s
        return self.micros_at_boot + int((t - self._t_boot_s) * _US * (1 + self.clock_ppm * 1e-6))

    def true_time_s(self, device_t_s):
        """True (athlete) time of a device time in seconds since boot, as a host unwraps it."""
        return self._true_s(np.asarray(device_t_s, dtype=float) * _US)

    def _true_s(self, dev_us: np.ndarray) -> np.ndarray:
        return self._t_boot_s + (dev_us - self.micros_at_boot) / (_US * (1 + self.clock_ppm * 1e-6))

    @property
    def period_us(self) -> int:
        return _US // self.rate_sps

    @property
    def load_fn(self):
        return self.hx711.load_fn

    # -- wire
    def boot(self, reset_cause: int = RESET_POWER_ON) -> bytes:
        """Reset the board now (power-up or reset line): idle, micros restarts, BOOT frame."""
        self._reset(self.t_s)
        self._rx = protocol.Decoder()
        return protocol.encode_boot(self.board_id, reset_cause)

    def receive(self, data: bytes) -> bytes:
        """Host -> board bytes; returns the framed answers, in order."""
        out = []
        for msg in self._rx.feed(data):
            if self.plotter:
                continue  # a board in plotter mode ignores frames until reset
            if isinstance(msg, protocol.Command):
                out.append(self._command(msg.type, msg.payload))
            else:
                kind = msg.type if isinstance(msg, protocol.Unknown) else _MSG_TYPES[type(msg)]
                out.append(protocol.encode_ack(kind, protocol.ACK_UNKNOWN_COMMAND))
        return b"".join(out)

    def _command(self, kind: int, payload: bytes) -> bytes:
        want = _PAYLOAD_LEN.get(kind)
        if want is None:
            return protocol.encode_ack(kind, protocol.ACK_UNKNOWN_COMMAND)
        if len(payload) != want:
            return protocol.encode_ack(kind, protocol.ACK_BAD_LENGTH)
        if kind == protocol.C_IDENTIFY:
            return protocol.encode_identity(protocol.Identity(
                protocol.PROTOCOL_VERSION, self.firmware, self.board_id, protocol.CHANNELS,
                self.rate_sps, self.streaming))
        if kind == protocol.C_PING:
            token = int.from_bytes(payload, "little")
            return protocol.encode_pong(token, self.device_us() % protocol.T_MOD)
        if kind == protocol.C_START:
            self.streaming = True
            self.seq = 0
            self._next_frame_us = self.device_us() + self.period_us
        elif kind == protocol.C_STOP:
            self.streaming = False
        elif kind == protocol.C_SET_RATE:
            rate = payload[0]
            if rate not in protocol.SUPPORTED_RATES:
                return protocol.encode_ack(kind, protocol.ACK_BAD_ARGUMENT)
            if rate != self.rate_sps:
                self.rate_sps = rate
                self.hx711.set_rate(rate, self.t_s)
                self._next_frame_us = self.device_us() + self.period_us
        elif kind == protocol.C_SET_BOARD_ID:
            self.board_id = int.from_bytes(payload, "little")  # EEPROM: survives boot()
        elif kind == protocol.C_SET_PLOTTER:
            if payload[0] not in (0, 1):
                return protocol.encode_ack(kind, protocol.ACK_BAD_ARGUMENT)
            ack = protocol.encode_ack(kind, protocol.ACK_OK)
            self.plotter = payload[0] == 1
            return ack
        return protocol.encode_ack(kind, protocol.ACK_OK)

    def advance(self, dt_s: float) -> bytes:
        """Let ``dt_s`` seconds of true time pass; returns the bytes the board sent meanwhile."""
        if dt_s < 0:
            raise ValueError("time only moves forward")
        t_end = self.t_s + dt_s
        out = b""
        if self.streaming or self.plotter:
            end_us = self.device_us(t_end)
            n = 0 if end_us < self._next_frame_us else \
                (end_us - self._next_frame_us) // self.period_us + 1
            if n:
                dev_us = self._next_frame_us + self.period_us * np.arange(n, dtype=np.int64)
                counts, status = self.hx711.read(self._true_s(dev_us))
                self._next_frame_us += n * self.period_us
                if self.plotter:
                    out = "".join("fl:{} fr:{} bl:{} br:{}\r\n".format(*row)
                                  for row in counts.tolist()).encode("ascii")
                else:
                    latency = self._latency_rng.integers(8, 60, n)
                    seq = self.seq + np.arange(n, dtype=np.int64)
                    out = encode_samples(seq, dev_us + latency, counts, status)
                    self.seq = int((self.seq + n) % protocol.SEQ_MOD)
                    self.frames_sent += n
        self.t_s = t_end
        return out
