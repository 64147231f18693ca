"""Whole-array parsing and formatting of fixed-decimal CSV fields, eight bytes at a time.

The raw CSV is written by us with a fixed number of decimals per column, so a field is
``[-]digits[.decimals]`` and its digits can be read as a little-endian 64-bit word: mask off the
bytes in front of the field, subtract ASCII '0' and fold the eight digits with three multiplies
(the SWAR trick). One numpy operation then handles every field of a chunk at once, so the cost
is a few dozen array operations per chunk instead of a Python step per row or per character.
Anything not in that canonical form makes the fast functions return None, and the caller
falls back to the general (slower, error-reporting) parser.
"""

from __future__ import annotations

import numpy as np

#: Bytes of padding in front of a chunk, so reading the 8 bytes that end at a field never
#: starts before the buffer.
PAD = 40

_U = np.uint64
_ONES = 0x0101010101010101
_ASCII0 = _U(0x30 * _ONES)
_HIGH = _U(0x80 * _ONES)
_OVER9 = _U(0x76 * _ONES)             # byte + 0x76 sets bit 7 exactly when byte > 9
_PAIRS, _QUADS, _LOW32 = _U(0x00FF00FF00FF00FF), _U(0x0000FFFF0000FFFF), _U(0xFFFFFFFF)
_ALL = (1 << 64) - 1
#: _KEEP[k] keeps the top k bytes of a word: the last k characters before the word's end.
_KEEP = np.array([(_ALL << (8 * (8 - k))) & _ALL for k in range(9)], np.uint64)
_POW10 = np.array([10 ** k for k in range(19)], np.uint64)


def padded(chunk) -> np.ndarray:
    """The chunk's bytes with PAD zero bytes before and 8 after (field positions shift by PAD)."""
    n = len(chunk)
    buf = np.zeros(PAD + n + 8, np.uint8)
    buf[PAD:PAD + n] = np.frombuffer(chunk, np.uint8)
    return buf


def words(buf: np.ndarray) -> np.ndarray:
    """Every 8-byte window of ``buf`` as one item (a view, no copy); index = window start."""
    return np.ndarray((len(buf) - 7,), "V8", buffer=buf, strides=(1,))


def _digits(win: np.ndarray, ends: np.ndarray, widths: np.ndarray) -> np.ndarray | None:
    """Unsigned value of the ``widths`` (0..8) ASCII digits just before ``ends``; None if any
    of those bytes is not a digit."""
    x = win[ends - 8].view("<u8")
    mask = _KEEP[widths]
    x &= mask
    x ^= _ASCII0 & mask                # digits become 0..9, bytes outside the field stay 0
    if int(np.bitwise_or.reduce((x + _OVER9) | x, axis=None)) & int(_HIGH):
        return None
    x *= _U(2561)                      # 10 * 256 + 1: pairs of digits
    x >>= _U(8)
    x &= _PAIRS
    x *= _U(6553601)                   # 100 * 65536 + 1: groups of four
    x >>= _U(16)
    x &= _QUADS
    x *= _U(42949672960001)            # 10000 * 2**32 + 1: all eight
    x >>= _U(32)
    x &= _LOW32
    return x


def parse_fixed(buf: np.ndarray, win: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                decimals) -> tuple[np.ndarray, np.ndarray] | None:
    """Fields ``[-]d+`` (decimals 0) or ``[-]d+.ddd`` with exactly ``decimals`` decimals, or
    empty -> (int64 value * 10**decimals, empty mask). ``decimals`` is an int or an array that
    broadcasts against ``starts`` (one per column). None if a field is not in that form."""
    decimals = np.asarray(decimals, np.int64)
    width = ends - starts
    empty = width == 0
    neg = buf[starts] == 45            # an empty field starts at its separator: never '-'
    if decimals.any():
        int_end = ends - decimals - 1
        int_width = width - neg - decimals - 1
        ok = (buf[int_end] == 46) & (int_width >= 1)
    else:
        int_end = ends
        int_width = width - neg
        ok = int_width >= 1
    any_empty = bool(empty.any())
    if any_empty:
        ok |= empty
        int_width = np.where(empty, 0, int_width)
    if not ok.all() or int(decimals.max()) > 8:
        return None
    top = int(int_width.max()) if int_width.size else 0
    if top > 18:
        return None
    value = np.zeros(starts.shape, np.uint64)
    for k in range((top + 7) // 8):
        part = _digits(win, int_end - 8 * k, np.clip(int_width - 8 * k, 0, 8))
        if part is None:
            return None
        value += part * _POW10[8 * k]
    if decimals.any():
        frac_width = np.broadcast_to(decimals, starts.shape)
        if any_empty:
            frac_width = np.where(empty, 0, frac_width)
        frac = _digits(win, ends, frac_width)
        if frac is None:
            return None
        value *= _POW10[decimals]
        value += frac
    out = value.view(np.int64)
    np.negative(out, out=out, where=neg)
    return out, empty


def short_text_keys(buf: np.ndarray, win: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray | None:
    """One uint64 per field holding its bytes (fields of at most 8 bytes without NUL bytes,
    so equal keys mean equal text); None when a field is longer."""
    width = ends - starts
    if width.size and int(width.max()) > 8:
        return None
    return win[ends - 8].view("<u8") & _KEEP[width]


def key_text(key: int) -> bytes:
    return int(key).to_bytes(8, "little").lstrip(b"\0")
