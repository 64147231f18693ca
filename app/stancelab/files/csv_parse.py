"""Reading a raw CSV fast: memory-mapped, parsed a megabyte at a time on a few threads.

Numeric columns are parsed on whole arrays of bytes (csv_bytes); a file with quoted text cells
goes through the csv module for its rows, then the same numeric parser. Anything unexpected
falls back to a general parser that names the file, the line and the fix (CsvFormatError).
Imports neither the database nor the UI: station/replay.py reads raw CSVs through it.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
from pathlib import Path

import numpy as np

from stancelab.board.sample_arrays import SampleArrays
from stancelab.files import csv_bytes
from stancelab.files.csv_format import (
    COLUMN_NAMES,
    COUNT_COLUMNS,
    DERIVED_COLUMNS,
    RAW_COLUMNS,
    CsvFormatError,
    RawCsv,
    check_columns,
    check_row_counts,
    split_header,
    unescape_text,
)

#: Import refuses files bigger than this (about 7 h at 80 samples/s), before reading any data:
#: import peaks at ~4x the file size (measured), so this bounds memory to ~1 GB (docs/storage.md).
MAX_RAW_CSV_BYTES = 256_000_000
#: ... and stops with an error once a file has more rows than this (tiny rows, same bound).
MAX_RAW_CSV_ROWS = 2_500_000
_READ_CHUNK_BYTES = 1 << 20      # parsed a megabyte at a time: scratch arrays stay in cache


def read_raw_csv(path: str | Path, derived: bool = True, *,
                 max_bytes: int | None = None, max_rows: int | None = None) -> RawCsv:
    """Parse and validate a raw CSV; raises CsvFormatError naming the line.

    The file is memory-mapped and parsed a megabyte at a time into numeric columns, so memory
    is the result arrays plus a few MB; files over ``max_bytes`` (default MAX_RAW_CSV_BYTES)
    or ``max_rows`` are refused with the reason."""
    path = Path(path)
    max_bytes = MAX_RAW_CSV_BYTES if max_bytes is None else max_bytes
    max_rows = MAX_RAW_CSV_ROWS if max_rows is None else max_rows
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            _check_size(path, size, max_bytes)
            if size == 0:
                raise CsvFormatError(f"{path}: the file is empty; is this a StanceLab raw CSV?")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as raw:
                return _read_mapped(raw, size, path, derived, max_rows)
    except OSError as e:
        raise CsvFormatError(f"Cannot read {path}: {e.strerror or e}.") from None


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise CsvFormatError(
            f"{path}: the file is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB "
            f"import limit (about {max_bytes / 118 / 80 / 3600:.1f} h at 80 samples/s). Export "
            f"fewer trials per file, or raise stancelab.files.csv_parse.MAX_RAW_CSV_BYTES if "
            f"this computer has the memory (about 4 times the file size).")


def _read_mapped(raw, size: int, path: Path, derived: bool, max_rows: int) -> RawCsv:
    meta, names, header_lines, data_start = split_header(raw, path)
    check_columns(names, path)
    first_line = header_lines + 1
    ncol = len(COLUMN_NAMES)
    crlf = raw.find(b"\r", data_start) >= 0
    parts: list[dict] = []
    line_parts: list[np.ndarray] = []
    if raw.find(b'"', data_start) >= 0:
        # The csv module reads CRLF and LF line ends alike and keeps line breaks inside quoted
        # cells as they are; replacing CRLF here would change such a cell.
        data = raw[data_start:]
        if data and not data.endswith(b"\n"):
            data += b"\n"
        numeric, texts, lines = _unquote_rows(data, ncol, first_line, path)
        del data
        _check_rows(len(lines), max_rows, path)
        u = csv_bytes.padded(numeric)
        starts, ends = _field_bounds(u, ncol - 2, lines, first_line, path, csv_bytes.PAD)
        part = _parse_chunk(u, starts, ends, lines, derived, path, texts=False)
        part["phase"], part["target"] = (_objects(t) for t in texts)
        parts.append(part)
        line_parts.append(lines)
    else:
        try:
            parts, line_parts = _parse_chunks_parallel(raw, data_start, size, crlf, first_line,
                                                       path, derived, max_rows)
        except CsvFormatError:
            # Line numbers in a message need the rows of every chunk before: say it exactly,
            # chunk after chunk.
            parts, line_parts = [], []
            rows = 0
            for chunk in _data_chunks(raw, data_start, size, crlf):
                u = csv_bytes.padded(chunk)
                del chunk
                starts, ends = _field_bounds(u, ncol, None, first_line + rows, path,
                                             csv_bytes.PAD)
                lines = first_line + rows + np.arange(starts.shape[1])
                rows += len(lines)
                _check_rows(rows, max_rows, path)
                parts.append(_parse_chunk(u, starts, ends, lines, derived, path))
                line_parts.append(lines)
    return _assemble(meta, parts, line_parts, derived, path)


#: Chunks parsed at once. numpy releases the GIL in the bulk of the parsing, so two threads use
#: two cores; at most this many 1 MB chunks are in memory at a time.
_PARSE_THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else (os.cpu_count() or 1)))


def _parse_chunks_parallel(raw, data_start, size, crlf, first_line, path, derived, max_rows):
    """Parse chunks on a few threads. Line numbers in errors are approximate here; the caller
    re-parses sequentially to report an error exactly."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    ncol = len(COLUMN_NAMES)

    def work(chunk):
        u = csv_bytes.padded(chunk)
        starts, ends = _field_bounds(u, ncol, None, first_line, path, csv_bytes.PAD)
        lines = np.arange(starts.shape[1])
        return _parse_chunk(u, starts, ends, lines + first_line, derived, path), len(lines)

    parts, line_parts, rows = [], [], 0
    with ThreadPoolExecutor(_PARSE_THREADS) as pool:
        pending = deque()
        chunks = _data_chunks(raw, data_start, size, crlf)
        for chunk in chunks:
            pending.append(pool.submit(work, chunk))
            if len(pending) >= 2 * _PARSE_THREADS:
                rows = _collect(pending.popleft(), parts, line_parts, rows, first_line, path,
                                max_rows)
        while pending:
            rows = _collect(pending.popleft(), parts, line_parts, rows, first_line, path,
                            max_rows)
    return parts, line_parts


def _collect(future, parts, line_parts, rows, first_line, path, max_rows) -> int:
    part, n = future.result()
    line_parts.append(first_line + rows + np.arange(n))
    parts.append(part)
    rows += n
    _check_rows(rows, max_rows, path)
    return rows


def _check_rows(rows: int, max_rows: int, path) -> None:
    if rows > max_rows:
        raise CsvFormatError(f"{path}: more than {max_rows:,} rows, the import limit "
                             f"(about {max_rows / 80 / 3600:.1f} h at 80 samples/s). Export "
                             f"fewer trials per file, or raise "
                             f"stancelab.files.csv_parse.MAX_RAW_CSV_ROWS.")


def _data_chunks(raw, start: int, end: int, crlf: bool):
    """Byte chunks of whole lines (about _READ_CHUNK_BYTES each), each ending with a newline."""
    pos = start
    while pos < end:
        stop = end
        if pos + _READ_CHUNK_BYTES < end:
            nl = raw.find(b"\n", pos + _READ_CHUNK_BYTES, end)
            stop = end if nl < 0 else nl + 1
        chunk = raw[pos:stop]
        if crlf:
            chunk = chunk.replace(b"\r\n", b"\n")
        if not chunk.endswith(b"\n"):
            chunk += b"\n"
        yield chunk
        pos = stop


def _field_bounds(u: np.ndarray, ncol: int, lines: np.ndarray | None, first_line: int, path,
                  offset: int = 0):
    """(starts, ends) of every field, each (ncol, rows), as positions in ``u``; the data
    begins at ``offset``. Rows with another number of fields are reported by line."""
    cand = np.flatnonzero(u <= 44)     # ',' is 44 and '\n' 10: one compare finds both
    c = u[cand]
    is_nl = c == 10
    keep = is_nl | (c == 44)
    if not keep.all():                 # text cells with spaces, quotes' marks, '#'...
        cand, is_nl = cand[keep], is_nl[keep]
    seps = cand
    rows = int(np.count_nonzero(is_nl))
    if len(seps) != rows * ncol or not is_nl.reshape(rows, ncol)[:, -1].all():
        nl = seps[is_nl]
        commas_per_row = np.bincount(np.searchsorted(nl, seps[~is_nl]), minlength=rows)
        row = int(np.argmax(commas_per_row != ncol - 1))
        line = lines[row] if lines is not None else first_line + row
        raise CsvFormatError(f"{path}, line {line}: expected {ncol} fields, "
                             f"found {commas_per_row[row] + 1}.")
    ends = seps.reshape(rows, ncol).T.copy()
    starts = np.empty_like(ends)
    if rows:
        starts[0, 0] = offset
        starts[0, 1:] = ends[-1, :-1] + 1
        starts[1:] = ends[:-1] + 1
    return starts, ends


_INT_COLS = [j for j, (_, d) in enumerate(RAW_COLUMNS) if d == 0]
_DEC_COLS = [j for j, (name, d) in enumerate(RAW_COLUMNS) if d and name not in DERIVED_COLUMNS]
_DERIVED_COLS = [j for j, (name, _) in enumerate(RAW_COLUMNS) if name in DERIVED_COLUMNS]


def _parse_chunk(u: np.ndarray, starts, ends, lines, derived: bool, path,
                 texts: bool = True) -> dict:
    """Every column of one chunk: numbers (int64 scaled, empty mask) and the two text columns."""
    win = csv_bytes.words(u)
    out: dict = {}
    groups = [_INT_COLS, _DEC_COLS] + ([_DERIVED_COLS] if derived else [])
    for cols in groups:
        decimals = np.array([[RAW_COLUMNS[j][1]] for j in cols], np.int64)
        fast = csv_bytes.parse_fixed(u, win, starts[cols], ends[cols], decimals)
        for k, j in enumerate(cols):
            name, d = RAW_COLUMNS[j]
            if fast is not None:
                out[name] = (fast[0][k], fast[1][k])
                continue
            one = csv_bytes.parse_fixed(u, win, starts[j], ends[j], d)
            out[name] = one if one is not None else \
                _parse_numbers(u, starts[j], ends[j], d, name, lines, path)
    if not texts:
        return out
    has_nul = bool((u[csv_bytes.PAD:-8] == 0).any())
    for j in (len(RAW_COLUMNS) - 2, len(RAW_COLUMNS) - 1):
        out[RAW_COLUMNS[j][0]] = _text_column(u, win, starts[j], ends[j], has_nul)
    return out


def _parse_numbers(u: np.ndarray, starts: np.ndarray, ends: np.ndarray, decimals: int,
                   name: str, lines: np.ndarray, path) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-decimal fields -> (int64 value * 10**decimals, empty mask), any decimals up to
    ``decimals``. The general path behind csv_bytes.parse_fixed: it names the bad line."""
    n = len(starts)
    lengths = ends - starts
    empty = lengths == 0
    width = int(lengths.max()) if n else 0
    value = np.zeros(n, np.int64)
    if width == 0:
        return value, empty
    last = len(u) - 1
    neg = ~empty & (u[np.minimum(starts, last)] == 45)
    pos = starts + neg
    frac = np.zeros(n, np.int64)
    n_digits = np.zeros(n, np.int64)
    seen_dot = np.zeros(n, bool)
    bad = lengths > 20
    for k in range(min(width, 21)):
        idx = pos + k
        active = idx < ends
        b = u[np.minimum(idx, last)]
        is_digit = active & (b >= 48) & (b <= 57)
        is_dot = active & (b == 46)
        bad |= active & ~is_digit & ~is_dot
        bad |= is_dot & seen_dot
        seen_dot |= is_dot
        np.multiply(value, 10, out=value, where=is_digit)
        np.add(value, b.astype(np.int64) - 48, out=value, where=is_digit)
        frac += is_digit & seen_dot
        n_digits += is_digit
    bad |= ~empty & (n_digits == 0)
    bad |= frac > decimals
    if bad.any():
        row = int(np.argmax(bad))
        text = bytes(u[starts[row]:ends[row]]).decode("utf-8", "replace")
        kind = "a whole number" if decimals == 0 else f"a number with at most {decimals} decimals"
        raise CsvFormatError(f"{path}, line {lines[row]}: {name} must be {kind}, "
                             f"not {text!r}.")
    if decimals:
        value *= (10 ** np.arange(decimals, -1, -1, dtype=np.int64))[frac]
    np.negative(value, out=value, where=neg)
    return value, empty


def _unquote_rows(data: bytes, ncol: int, first_line: int, path):
    """Slow path for files with quoted text cells (csv module). Returns the numeric fields
    re-joined for the fast parser, the two text columns, and each row's line in the file."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    rows, lines = [], []
    previous = 0
    for r in reader:
        lines.append(first_line + previous)
        previous = reader.line_num
        if len(r) != ncol:
            raise CsvFormatError(f"{path}, line {lines[-1]}: expected {ncol} fields, "
                                 f"found {len(r)}.")
        rows.append(r)
    numeric = "".join(",".join(r[:-2]) + "\n" for r in rows).encode("ascii", "replace")
    texts = [[unescape_text(r[-2]) for r in rows], [unescape_text(r[-1]) for r in rows]]
    return numeric, texts, np.array(lines, np.int64)


def _text_from_bytes(u: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    lengths = ends - starts
    n = len(starts)
    out = np.empty(n, object)
    width = int(lengths.max()) if n else 0
    if width == 0:
        out[:] = None
        return out
    pos = np.arange(width)
    b = np.where(pos < lengths[:, None], u[np.minimum(starts[:, None] + pos, len(u) - 1)], 0)
    keys = np.ascontiguousarray(b.astype(np.uint8)).view(f"S{width}").ravel()
    uniq, inverse = np.unique(keys, return_inverse=True)
    decoded = np.empty(len(uniq), object)
    decoded[:] = [unescape_text(k.decode("utf-8", "replace")) for k in uniq]
    return decoded[inverse.ravel()]


def _text_column(buf, win, starts, ends, has_nul: bool) -> np.ndarray:
    """Text cells; runs of equal cells (a drill phase lasts many samples) are decoded once."""
    keys = None if has_nul else csv_bytes.short_text_keys(buf, win, starts, ends)
    if keys is None:
        return _text_from_bytes(buf, starts, ends)
    n = len(keys)
    if n == 0:
        return np.empty(0, object)
    heads = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    uniq, inverse = np.unique(keys[heads], return_inverse=True)
    decoded = np.empty(len(uniq), object)
    decoded[:] = [unescape_text(csv_bytes.key_text(k).decode("utf-8", "replace")) for k in uniq]
    return np.repeat(decoded[inverse.ravel()], np.diff(np.append(heads, n)))


def _assemble(meta: dict, parts: list[dict], line_parts: list[np.ndarray], derived: bool,
              path) -> RawCsv:
    def column(name):
        if not parts:
            return np.zeros(0, object if name in ("phase", "target") else np.int64)
        if name in ("phase", "target"):
            return np.concatenate([p[name] for p in parts])
        return np.concatenate([p[name][0] for p in parts])

    def empties(name):
        if not parts:
            return np.zeros(0, bool)
        return np.concatenate([p[name][1] for p in parts])

    lines = np.concatenate(line_parts) if line_parts else np.zeros(0, np.int64)
    numeric = [name for name, d in RAW_COLUMNS
               if d is not None and (derived or name not in DERIVED_COLUMNS)]
    values = {name: column(name) for name in numeric}
    for name in ("trial", "t_s", "seq", "t_host_s", "status") + COUNT_COLUMNS:
        empty = empties(name)
        if empty.any():
            row = int(np.argmax(empty))
            what = "NaN or empty" if name in COUNT_COLUMNS else "empty"
            raise CsvFormatError(f"{path}, line {lines[row]}: {name} is {what}; every "
                                 f"sample needs {name}.")
    n = len(lines)
    counts = np.column_stack([values[c] for c in COUNT_COLUMNS]) if n else np.zeros((0, 4),
                                                                                     np.int64)
    _validate(values, counts, lines, path)
    check_row_counts(meta, values["trial"], path)
    samples = SampleArrays(values["seq"], values["t_s"] * 1e-6, values["t_host_s"] * 1e-6,
                           counts, values["status"], column("phase"), column("target"))
    extra = {}
    if derived:
        for name in DERIVED_COLUMNS:
            d = dict(RAW_COLUMNS)[name]
            extra[name] = np.where(empties(name), np.nan, values[name] / 10.0 ** d)
    return RawCsv(meta, values["trial"], samples, extra)


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), object)
    out[:] = values
    return out


def _validate(values: dict, counts: np.ndarray, lines: np.ndarray, path) -> None:
    def fail(mask, message):
        if mask.any():
            row = int(np.argmax(mask))
            raise CsvFormatError(f"{path}, line {lines[row]}: {message}")

    trial, t_us, seq = values["trial"], values["t_s"], values["seq"]
    fail(trial < 1, "trial numbers start at 1.")
    fail((seq < 0) | (seq > 65535), "seq must be 0..65535.")
    fail((counts < -(1 << 23)) | (counts >= (1 << 23)), "counts must fit 24 bits "
         "(-8388608..8388607).")
    fail(values["status"] < 0, "status must not be negative.")
    if len(trial) > 1:
        same = np.diff(trial) == 0
        step = np.diff(t_us)
        bad_trial = np.concatenate([[False], np.diff(trial) < 0])
        fail(bad_trial, "trial numbers must not go down; rows of one trial stay together.")
        fail(np.concatenate([[False], same & (step == 0)]),
             "duplicate sample: the same t_s as the line before.")
        fail(np.concatenate([[False], same & (step < 0)]),
             "time goes backwards (t_s smaller than the line before).")
