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
#: For d decimals, the bytes before the point (_BEFORE_DOT[d]) and after it (_AFTER_DOT[d]) in
#: the word that ends with the field.
_AFTER_DOT = np.array([(_ALL << (8 * (8 - d))) & _ALL if d else 0 for d in range(8)], np.uint64)
_BEFORE_DOT = np.array([(1 << (8 * (7 - d))) - 1 for d in range(8)], np.uint64)


def padded(chunk) -> np.ndarray:
    """The chunk's bytes with PAD zero bytes before and 8 after (field positions shift by PAD)."""
    n = len(chunk)
    buf = np.zeros(PAD + n + 8, np.uint8)
    buf[PAD:PAD + n] = np.frombuffer(chunk, np.uint8)
    return buf


def words(buf: np.ndarray) -> np.ndarray:
    """Every 8-byte window of ``buf`` as one item (a view, no copy); index = window start."""
    return np.ndarray((len(buf) - 7,), "V8", buffer=buf, strides=(1,))


def _fold(x: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Words whose ``mask`` bytes are ASCII digits (others 0) -> their values, in place."""
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


def _digits(win: np.ndarray, ends: np.ndarray, widths: np.ndarray) -> np.ndarray | None:
    """Unsigned value of the ``widths`` (0..8) ASCII digits just before ``ends``; None if any
    of those bytes is not a digit."""
    x = win[ends - 8].view("<u8")
    mask = _KEEP[widths]
    x &= mask
    return _fold(x, mask)


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
    if decimals.any() and top + int(decimals.max()) <= 7:
        value = _one_word(win, ends, int_width, decimals, empty if any_empty else None)
        if value is None:
            return None
        out = value.view(np.int64)
        np.negative(out, out=out, where=neg)
        return out, empty
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


def _one_word(win, ends, int_width, decimals, empty) -> np.ndarray | None:
    """``d+.ddd`` fields of at most 8 bytes (point checked by the caller): close the gap of
    the point by moving the integer digits up one byte, then fold all digits at once."""
    x = win[ends - 8].view("<u8")
    x_int = x & _BEFORE_DOT[decimals]
    x &= _AFTER_DOT[decimals]
    x_int <<= _U(8)
    x |= x_int
    digit_count = int_width + decimals
    if empty is not None:
        digit_count = np.where(empty, 0, digit_count)
    mask = _KEEP[digit_count]
    x &= mask
    return _fold(x, mask)


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


# Writing: numbers become right-aligned ASCII in a byte matrix, four digits per table lookup.
# Zero bytes are padding; the caller drops them when it joins the rows.

_QUADS4 = np.frombuffer("".join(f"{k:04d}" for k in range(10_000)).encode("ascii"), "<u4")


def format_fixed(values: np.ndarray, decimals: int, point: int = 46) -> list[np.ndarray]:
    """(n, k) uint8 blocks that side by side read ``[-]digits[.decimals]`` per row; NaN -> all
    zero (an empty cell). ``point`` is the decimal mark's byte (44, a comma, for spreadsheets
    in decimal-comma locales).

    Floats are rounded half-to-even at ``decimals``; at least one digit before the point."""
    n = len(values)
    if decimals == 0 and values.dtype.kind in "iu":
        ints = values.astype(np.int64, copy=False)
        missing = None
    else:
        scaled = np.round(np.asarray(values, float) * 10.0 ** decimals)
        finite = np.isfinite(scaled)
        missing = None if finite.all() else ~finite
        ints = (scaled if missing is None else np.where(finite, scaled, 0)).astype(np.int64)
    neg = ints < 0
    mag = np.abs(ints)
    top = int(mag.max()) if n else 0
    n_digits = max(len(str(top)), decimals + 1)
    groups = (n_digits + 3) // 4
    quads = np.empty((n, groups), "<u4")
    rest = mag
    for g in range(groups - 1, -1, -1):
        rest, rem = np.divmod(rest, 10_000)
        quads[:, g] = _QUADS4[rem]
    digits = quads.view(np.uint8)                      # (n, 4 * groups), most significant first
    width = 4 * groups
    hidden = np.full(n, width - decimals - 1, np.int64)     # leading zeros to blank
    for k in range(decimals + 1, n_digits):
        hidden -= mag >= 10 ** k
    digits *= np.arange(width) >= hidden[:, None]
    sign = np.where(neg, np.uint8(45), np.uint8(0))[:, None]
    if missing is not None:
        digits[missing] = 0
        sign[missing] = 0
    if not decimals:
        return [sign, digits]
    dot = np.where(missing, np.uint8(0), np.uint8(point))[:, None] if missing is not None \
        else np.full((n, 1), point, np.uint8)
    return [sign, digits[:, :width - decimals], dot, digits[:, width - decimals:]]
