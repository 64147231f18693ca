"""StanceLab wire protocol v1: frame encoder and a streaming decoder.

The decoder is a pure function of the bytes it is fed: feeding a stream in one chunk or one
byte at a time gives the same messages and the same counters. See docs/protocol.md.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

PROTOCOL_VERSION = 1
SYNC = b"\xa5\x5a"
HEADER_LEN = 4  # sync(2) + type + length
CRC_LEN = 2
MAX_PAYLOAD = 32
MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + CRC_LEN
CHANNELS = 4
SEQ_MOD = 1 << 16
T_MOD = 1 << 32
#: A frame whose sequence number is at most this far behind the last one is a late duplicate.
STALE_WINDOW = 256

# Board -> host
T_SAMPLE = 0x01
T_BOOT = 0x02
T_IDENTITY = 0x20
T_ACK = 0x21
T_PONG = 0x22
# Host -> board
C_IDENTIFY = 0x10
C_START = 0x11
C_STOP = 0x12
C_SET_RATE = 0x13
C_PING = 0x14
C_SET_BOARD_ID = 0x15
C_SET_PLOTTER = 0x16

ACK_OK = 0
ACK_BAD_ARGUMENT = 1
ACK_UNKNOWN_COMMAND = 2
ACK_BAD_LENGTH = 3

# Per-channel status bits (4 bits per channel, channel c at bit 4c).
ST_NOT_READY = 0x1
ST_TIMED_OUT = 0x2
ST_SATURATED = 0x4

COUNT_MIN = -(1 << 23)
COUNT_MAX = (1 << 23) - 1
SUPPORTED_RATES = (10, 80)

_SAMPLE_LEN = 20
SAMPLE_FRAME_LEN = HEADER_LEN + _SAMPLE_LEN + CRC_LEN
_ST_SAMPLE_HEAD = struct.Struct("<HI")
#: A SAMPLE payload in one unpack: seq, t_us, then each 24-bit count as its low 16 bits
#: (unsigned) and its high byte (signed, so ``low | high << 16`` keeps the sign), then status.
_ST_SAMPLE = struct.Struct("<HIHbHbHbHbH")
_ST_IDENTITY = struct.Struct("<BBBBIBBB")
_ST_BOOT = struct.Struct("<BBI")
_ST_PONG = struct.Struct("<II")


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE, the same as avr-libc's _crc_xmodem_update started at 0xFFFF."""
    return binascii.crc_hqx(data, 0xFFFF)


def channel_status(status: int, channel: int) -> int:
    """The 4 status bits of one channel."""
    return (status >> (4 * channel)) & 0xF


class SampleFrame(NamedTuple):
    seq: int
    t_us: int
    counts: tuple[int, int, int, int]
    status: int


class Boot(NamedTuple):
    protocol_version: int
    reset_cause: int
    board_id: int


class Identity(NamedTuple):
    protocol_version: int
    firmware: tuple[int, int, int]
    board_id: int
    channels: int
    rate_sps: int
    streaming: bool

    @property
    def firmware_version(self) -> str:
        return ".".join(str(v) for v in self.firmware)


class Ack(NamedTuple):
    command: int
    result: int


class Pong(NamedTuple):
    token: int
    t_us: int


class Command(NamedTuple):
    """A host -> board command, as the board (or a fake of it) decodes it."""

    type: int
    payload: bytes


class Unknown(NamedTuple):
    type: int
    payload: bytes


Message = SampleFrame | Boot | Identity | Ack | Pong | Command | Unknown


# ---------------------------------------------------------------- encoding

def encode_frame(frame_type: int, payload: bytes = b"") -> bytes:
    if not 0 <= frame_type <= 0xFF:
        raise ValueError(f"frame type {frame_type} out of range")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((frame_type, len(payload))) + payload
    return SYNC + body + crc16(body).to_bytes(2, "little")


def _int24(value: int) -> bytes:
    if not COUNT_MIN <= value <= COUNT_MAX:
        raise ValueError(f"count {value} does not fit in 24 bits")
    return (value & 0xFFFFFF).to_bytes(3, "little")


def encode_sample(seq: int, t_us: int, counts, status: int = 0) -> bytes:
    if len(counts) != CHANNELS:
        raise ValueError(f"expected {CHANNELS} counts, got {len(counts)}")
    payload = (
        _ST_SAMPLE_HEAD.pack(seq % SEQ_MOD, t_us % T_MOD)
        + b"".join(_int24(int(c)) for c in counts)
        + (status & 0xFFFF).to_bytes(2, "little")
    )
    return encode_frame(T_SAMPLE, payload)


def encode_boot(board_id: int, reset_cause: int = 0) -> bytes:
    return encode_frame(T_BOOT, _ST_BOOT.pack(PROTOCOL_VERSION, reset_cause, board_id))


def encode_identity(identity: Identity) -> bytes:
    major, minor, patch = identity.firmware
    return encode_frame(
        T_IDENTITY,
        _ST_IDENTITY.pack(identity.protocol_version, major, minor, patch, identity.board_id,
                          identity.channels, identity.rate_sps, int(identity.streaming)),
    )


def encode_ack(command: int, result: int = ACK_OK) -> bytes:
    return encode_frame(T_ACK, bytes((command, result)))


def encode_pong(token: int, t_us: int) -> bytes:
    return encode_frame(T_PONG, _ST_PONG.pack(token % T_MOD, t_us % T_MOD))


def encode_command(command: int, payload: bytes = b"") -> bytes:
    return encode_frame(command, payload)


def cmd_identify() -> bytes:
    return encode_command(C_IDENTIFY)


def cmd_start() -> bytes:
    return encode_command(C_START)


def cmd_stop() -> bytes:
    return encode_command(C_STOP)


def cmd_set_rate(rate_sps: int) -> bytes:
    return encode_command(C_SET_RATE, bytes((rate_sps & 0xFF,)))


def cmd_ping(token: int) -> bytes:
    return encode_command(C_PING, (token % T_MOD).to_bytes(4, "little"))


def cmd_set_board_id(board_id: int) -> bytes:
    return encode_command(C_SET_BOARD_ID, (board_id % T_MOD).to_bytes(4, "little"))


# ---------------------------------------------------------------- decoding

def _parse(frame_type: int, payload: bytes) -> Message:
    n = len(payload)
    if frame_type == T_SAMPLE and n == _SAMPLE_LEN:
        return _sample(payload, 0)
    if frame_type == T_IDENTITY and n == _ST_IDENTITY.size:
        pv, a, b, c, board_id, ch, rate, streaming = _ST_IDENTITY.unpack(payload)
        return Identity(pv, (a, b, c), board_id, ch, rate, bool(streaming))
    if frame_type == T_BOOT and n == _ST_BOOT.size:
        return Boot(*_ST_BOOT.unpack(payload))
    if frame_type == T_ACK and n == 2:
        return Ack(payload[0], payload[1])
    if frame_type == T_PONG and n == _ST_PONG.size:
        return Pong(*_ST_PONG.unpack(payload))
    if 0x10 <= frame_type <= 0x1F:
        return Command(frame_type, payload)
    return Unknown(frame_type, payload)


def _sample(buf, offset: int) -> SampleFrame:
    seq, t_us, l0, h0, l1, h1, l2, h2, l3, h3, status = _ST_SAMPLE.unpack_from(buf, offset)
    return SampleFrame(seq, t_us, (l0 | h0 << 16, l1 | h1 << 16, l2 | h2 << 16, l3 | h3 << 16),
                       status)


@dataclass
class DecoderStats:
    frames: int = 0            # valid frames of any type
    samples: int = 0           # SAMPLE frames delivered
    crc_errors: int = 0        # sync + plausible length found but CRC failed
    bytes_discarded: int = 0   # bytes skipped while searching for a frame
    lost_frames: int = 0       # SAMPLE frames missing from sequence gaps
    duplicates: int = 0        # SAMPLE frames dropped as repeats or late arrivals
    restarts: int = 0          # sequence restarts (BOOT seen, or a reset inferred)
    extra: dict = field(default_factory=dict)


class Decoder:
    """Streaming frame decoder with sequence tracking.

    ``feed(chunk)`` returns the messages completed by ``chunk``. The internal buffer never
    holds more than one partial frame (< MAX_FRAME bytes) between calls.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecoderStats()
        self._last_seq: int | None = None
        self._last_t: int | None = None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def reset_sequence(self) -> None:
        """Forget the last sequence number (the host just sent START)."""
        self._last_seq = None
        self._last_t = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        if (not self._buf and len(data) == SAMPLE_FRAME_LEN and data[0] == 0xA5
                and data[1] == 0x5A and data[2] == T_SAMPLE and data[3] == _SAMPLE_LEN
                and crc16(data[2:-2]) == data[-2] | data[-1] << 8):
            # What a streaming board's reader gets nearly every time: one whole SAMPLE frame,
            # nothing before it. The loop below gives the same result, with more steps.
            msg = _sample(data, HEADER_LEN)
            self.stats.frames += 1
            if self._accept_sample(msg):
                self.stats.samples += 1
                return [msg]
            return []
        buf = self._buf
        buf += data
        out: list[Message] = []
        pos = 0
        end = len(buf)
        stats = self.stats
        while True:
            i = buf.find(SYNC, pos)
            if i < 0:
                # Keep a trailing first sync byte; drop everything else.
                keep = 1 if end > pos and buf[end - 1] == SYNC[0] else 0
                stats.bytes_discarded += end - pos - keep
                pos = end - keep
                break
            stats.bytes_discarded += i - pos
            pos = i
            if end - pos < HEADER_LEN:
                break
            length = buf[pos + 3]
            if length > MAX_PAYLOAD:
                stats.bytes_discarded += 1
                pos += 1
                continue
            total = HEADER_LEN + length + CRC_LEN
            if end - pos < total:
                break
            body = buf[pos + 2: pos + HEADER_LEN + length]
            crc = buf[pos + total - 2] | (buf[pos + total - 1] << 8)
            if crc16(body) != crc:
                stats.crc_errors += 1
                stats.bytes_discarded += 1
                pos += 1
                continue
            msg = _parse(buf[pos + 2], bytes(body[2:]))
            pos += total
            stats.frames += 1
            if isinstance(msg, SampleFrame):
                if self._accept_sample(msg):
                    stats.samples += 1
                    out.append(msg)
            else:
                if isinstance(msg, Boot):
                    self.reset_sequence()
                    stats.restarts += 1
                out.append(msg)
        del buf[:pos]
        return out

    def _accept_sample(self, s: SampleFrame) -> bool:
        last_seq, last_t = self._last_seq, self._last_t
        if last_seq is not None:
            dseq = (s.seq - last_seq) % SEQ_MOD
            dt = (s.t_us - last_t) % T_MOD
            dt_backward = dt == 0 or dt >= T_MOD // 2
            if dseq == 0 or (dseq >= SEQ_MOD - STALE_WINDOW and dt_backward):
                self.stats.duplicates += 1
                return False
            if dseq < SEQ_MOD // 2 and not dt_backward:
                self.stats.lost_frames += dseq - 1
            else:
                # Sequence and clock disagree with a continuing stream: the board restarted
                # without us seeing its BOOT frame. Count no loss across the restart.
                self.stats.restarts += 1
        self._last_seq, self._last_t = s.seq, s.t_us
        return True


# ---------------------------------------------------------------- bulk decoding

def crc16_table():
    """The 256-entry table of CRC-16/CCITT-FALSE (poly 0x1021), as numpy uint16."""
    import numpy as np

    table = np.zeros(256, dtype=np.uint16)
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table[i] = crc & 0xFFFF
    return table


_CRC_TABLE = None
def decode_samples_bulk(data: bytes):
    """Every valid SAMPLE frame in a recorded byte stream, vectorised with numpy.

    Returns a dict of arrays (seq, t_us, counts (N, 4), status, offset) in stream order. Gives
    the same SAMPLE frames as feeding :class:`Decoder` with the same bytes, before sequence
    filtering (no duplicate or late-frame removal): use it for captures, not live streams.
    """
    import numpy as np

    global _CRC_TABLE
    if _CRC_TABLE is None:
        _CRC_TABLE = crc16_table()
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    n = len(buf) - SAMPLE_FRAME_LEN + 1
    if n <= 0:
        return _empty_bulk()
    # One pass over the bytes for the first sync byte, then narrow the (few) candidates.
    cand = np.flatnonzero(buf[:n] == 0xA5)
    for k, value in ((1, 0x5A), (2, T_SAMPLE), (3, _SAMPLE_LEN)):
        cand = cand[buf[cand + k] == value]
    if len(cand) == 0:
        return _empty_bulk()
    # (26, k): byte j of every candidate frame, contiguous per byte position.
    cols = np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(buf, SAMPLE_FRAME_LEN)[cand].T)
    crc = np.full(len(cand), 0xFFFF, dtype=np.uint16)
    idx = np.empty(len(cand), dtype=np.uint8)
    for j in range(2, HEADER_LEN + _SAMPLE_LEN):
        np.bitwise_xor((crc >> 8).astype(np.uint8), cols[j], out=idx)
        crc = (crc << 8) ^ np.take(_CRC_TABLE, idx)
    got = cols[-2].astype(np.uint16) | (cols[-1].astype(np.uint16) << 8)
    ok = crc == got
    cand, cols = cand[ok], cols[:, ok]
    # A valid-looking frame that overlaps an earlier accepted one is a false sync inside it
    # (the streaming decoder would have consumed those bytes). Rare: resolve with a loop.
    overlap = np.flatnonzero(np.diff(cand) < SAMPLE_FRAME_LEN)
    if len(overlap):
        keep = np.ones(len(cand), dtype=bool)
        end = -1
        for i, pos in enumerate(cand):
            if pos < end:
                keep[i] = False
            else:
                end = pos + SAMPLE_FRAME_LEN
        cand, cols = cand[keep], cols[:, keep]

    def col(j, shift=0):
        return cols[j].astype(np.int64) << shift

    seq = col(4) | col(5, 8)
    t_us = col(6) | col(7, 8) | col(8, 16) | col(9, 24)
    counts = np.empty((len(cand), CHANNELS), dtype=np.int32)
    for ch in range(CHANNELS):
        b = 10 + 3 * ch
        # Put the 24-bit value in the top of an int32, then shift down: sign extension.
        v = (cols[b].astype(np.uint32) << 8) | (cols[b + 1].astype(np.uint32) << 16) \
            | (cols[b + 2].astype(np.uint32) << 24)
        counts[:, ch] = v.view(np.int32) >> 8
    status = col(22) | col(23, 8)
    return {"seq": seq, "t_us": t_us, "counts": counts, "status": status, "offset": cand}


def _empty_bulk():
    import numpy as np

    z = np.zeros(0, dtype=np.int64)
    return {"seq": z, "t_us": z, "counts": np.zeros((0, CHANNELS), np.int32), "status": z,
            "offset": z}
