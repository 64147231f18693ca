"""Raw and summary CSV files that describe themselves and load back without loss.

A raw file is ``# key: value`` metadata lines, one header line of column names with units in
them, then one row per sample. Numbers are written with a fixed number of decimals per column
(times in whole microseconds, the board clock's resolution), so writing and parsing work on
whole numpy arrays of bytes instead of Python loops over rows. Text cells (drill phase and
target) that a spreadsheet would run as a formula are prefixed with ``'``; import removes it.
See docs/storage.md for the format.
"""

from __future__ import annotations

import csv
import io
import json
import math
import mmap
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stancelab import __version__, csvbytes
from stancelab.storage import SampleArrays, Storage, now_iso

FORMAT_NAME = "stancelab-raw-csv"
FORMAT_VERSION = 1
SUMMARY_FORMAT_NAME = "stancelab-trial-summary-csv"

#: (column, decimals); None marks a text column. Decimals 0 means an integer column.
RAW_COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("trial", 0), ("t_s", 6), ("seq", 0), ("t_host_s", 6),
    ("fl_counts", 0), ("fr_counts", 0), ("bl_counts", 0), ("br_counts", 0),
    ("fl_n", 3), ("fr_n", 3), ("bl_n", 3), ("br_n", 3),
    ("total_n", 3), ("cop_x_mm", 2), ("cop_y_mm", 2),
    ("status", 0), ("phase", None), ("target", None),
)
COLUMN_NAMES = tuple(c for c, _ in RAW_COLUMNS)
COUNT_COLUMNS = ("fl_counts", "fr_counts", "bl_counts", "br_counts")
FORCE_COLUMNS = ("fl_n", "fr_n", "bl_n", "br_n")
DERIVED_COLUMNS = FORCE_COLUMNS + ("total_n", "cop_x_mm", "cop_y_mm")
ATHLETE_FIELDS = ("name", "foot_length_mm", "shoe_size", "dominant_leg", "injured_side", "notes")

_FORMULA_START = "=+-@\t\r'"   # a leading ' is escaped too, so import can always strip one
_NEEDS_QUOTES = re.compile(r'[,"\n\r#]')
_CHUNK_ROWS = 50_000

Progress = Callable[[int, int], None]


class CsvFormatError(ValueError):
    """A CSV file that cannot be read as StanceLab data; the message names file and line."""


@dataclass
class RawCsv:
    """A raw CSV in memory: metadata, the trial number of each row, samples, derived columns."""

    metadata: dict
    trial: np.ndarray                 # int64 trial number (1-based within the file) per row
    samples: SampleArrays
    derived: dict[str, np.ndarray] = field(default_factory=dict)   # forces, total, COP

    def trial_numbers(self) -> list[int]:
        return sorted(set(self.trial.tolist()))

    def trial_samples(self, number: int) -> SampleArrays:
        m = self.trial == number
        s = self.samples
        return SampleArrays(s.seq[m], s.t_s[m], s.t_host_s[m], s.counts[m], s.status[m],
                            s.phase[m], s.target[m])


# --------------------------------------------------------------------------------------------
# Metadata lines and text cells


def encode_meta_value(value) -> str:
    """Strings stay readable as-is unless they would read back as something else."""
    if isinstance(value, str) and value and value == value.strip() and _plain(value):
        try:
            json.loads(value)
        except ValueError:
            return value
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    # Commas inside strings become \u002c so a spreadsheet never splits a metadata line into a
    # cell that begins with a formula character.
    return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace(",", "\\u002c"), text)


def _plain(s: str) -> bool:
    return "," not in s and not any(ord(c) < 32 or c == "\x7f" for c in s)


def decode_meta_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def escape_text(value: str | None) -> str:
    """One text cell: neutralise formula starts, then quote if CSV needs it."""
    if not value:
        return ""
    value = value.replace("\x00", "")
    if value[0] in _FORMULA_START:
        value = "'" + value
    if _NEEDS_QUOTES.search(value):
        value = '"' + value.replace('"', '""') + '"'
    return value


def unescape_text(cell: str) -> str | None:
    """Reverse of escape_text after CSV unquoting: every exported ' prefix was added by us."""
    if not cell:
        return None
    return cell[1:] if cell[0] == "'" else cell


# --------------------------------------------------------------------------------------------
# Rows as a byte matrix (csvbytes.format_fixed); 0 bytes are padding, dropped at the end.


def _text_bytes(values: np.ndarray) -> np.ndarray:
    """Escaped text cells; runs of equal cells (a phase lasts many samples) are encoded once."""
    n = len(values)
    if n == 0:
        return np.zeros((0, 1), np.uint8)
    heads = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    codes: dict = {}
    head_codes = np.array([codes.setdefault(values[h] or "", len(codes)) for h in heads],
                          np.int64)
    encoded = [escape_text(text).encode("utf-8") for text in codes]
    width = max(1, max(len(e) for e in encoded))
    table = np.zeros((len(encoded), width), np.uint8)
    for i, e in enumerate(encoded):
        table[i, :len(e)] = np.frombuffer(e, np.uint8)
    return table[np.repeat(head_codes, np.diff(np.append(heads, n)))]


def _format_rows(columns: dict[str, np.ndarray]) -> bytes:
    parts = []
    n = len(columns["trial"])
    comma = np.full((n, 1), 44, np.uint8)
    for i, (name, decimals) in enumerate(RAW_COLUMNS):
        if i:
            parts.append(comma)
        if decimals is None:
            parts.append(_text_bytes(columns[name]))
        else:
            parts += csvbytes.format_fixed(columns[name], decimals)
    parts.append(np.full((n, 1), 10, np.uint8))
    matrix = np.hstack(parts).ravel()
    return matrix[matrix != 0].tobytes()


# --------------------------------------------------------------------------------------------
# Writing


def derived_columns(counts: np.ndarray, calibration, min_load_n: float) -> dict[str, np.ndarray]:
    from stancelab.calibration import cop_from_forces
    forces = calibration.forces_n(counts) if len(counts) else np.zeros((0, 4))
    total, x, y = cop_from_forces(forces, calibration.geometry, min_load_n) if len(counts) \
        else (np.zeros(0), np.zeros(0), np.zeros(0))
    out = {name: forces[:, k] for k, name in enumerate(FORCE_COLUMNS)}
    out.update(total_n=np.asarray(total), cop_x_mm=np.asarray(x), cop_y_mm=np.asarray(y))
    return out


def metadata_text(metadata: dict) -> str:
    lines = []
    for key, value in metadata.items():
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            raise ValueError(f"metadata key {key!r} must be letters, digits, _ . -")
        lines.append(f"# {key}: {encode_meta_value(value)}\n")
    return "".join(lines)


def write_raw_csv(path: str | Path, metadata: dict, trial: np.ndarray, samples: SampleArrays,
                  derived: dict[str, np.ndarray], progress: Progress | None = None) -> Path:
    """Write atomically (temporary file, then rename); ``progress(rows_done, rows_total)``."""
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "app_version": __version__}
    meta.update(metadata)
    n = len(samples)
    columns = {"trial": np.asarray(trial, np.int64), "t_s": samples.t_s, "seq": samples.seq,
               "t_host_s": samples.t_host_s, "status": samples.status,
               "phase": samples.phase, "target": samples.target}
    for k, name in enumerate(COUNT_COLUMNS):
        columns[name] = samples.counts[:, k]
    columns.update(derived)

    def body(out):
        out.write(metadata_text(meta).encode("utf-8"))
        out.write((",".join(COLUMN_NAMES) + "\n").encode("ascii"))
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(n, start + _CHUNK_ROWS)
            out.write(_format_rows({k: v[start:stop] for k, v in columns.items()}))
            if progress:
                progress(stop, n)
        if progress and n == 0:
            progress(0, 0)

    return atomic_write(Path(path), body)


def atomic_write(path: Path, body: Callable) -> Path:
    """Nothing half-written is ever left under ``path``: write a sibling, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            body(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(text: str, fallback: str = "athlete", max_len: int = 60) -> str:
    """A file name stem from free text that cannot leave its folder on any OS."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:max_len].strip("._-")
    if not text:
        text = fallback
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text


def _session_metadata(store: Storage, session_id: int, trial_ids: Sequence[int],
                      athlete_fields: Sequence[str], analysis: dict | None,
                      min_load_n: float, calibration) -> dict:
    s = store.session(session_id)
    meta = {"exported": now_iso(), "session_started": s.started, "source_kind": s.source_kind,
            "recorded_app_version": s.app_version, "board_id": s.board_id,
            "firmware": s.firmware, "session_notes": s.notes,
            "calibration": calibration.to_dict() if calibration is not None else None,
            "min_load_n": min_load_n, "analysis": analysis or {}}
    unknown = set(athlete_fields) - set(ATHLETE_FIELDS)
    if unknown:
        raise ValueError(f"unknown athlete fields {sorted(unknown)}; choose from {ATHLETE_FIELDS}")
    if athlete_fields and s.athlete_id is not None:
        a = store.athlete(s.athlete_id)
        for name in athlete_fields:
            meta[f"athlete.{name}"] = getattr(a, name)
    meta["trials"] = len(trial_ids)
    for number, tid in enumerate(trial_ids, 1):
        t = store.trial(tid)
        for key in ("drill", "leg", "condition", "settings", "status", "reason", "started",
                    "ended", "metrics"):
            meta[f"trial.{number}.{key}"] = getattr(t, key)
        # The row count lets import notice a file cut off exactly at a line end.
        meta[f"trial.{number}.samples"] = store.sample_count(tid)
    return meta


def _session_calibration(store: Storage, session_id: int):
    from stancelab.calibration import default_calibration
    s = store.session(session_id)
    if s.calibration_id:
        return store.calibration(s.calibration_id)
    return default_calibration(s.board_id, s.firmware)


def export_session(store: Storage, session_id: int, folder: str | Path, *,
                   trial_ids: Sequence[int] | None = None,
                   athlete_fields: Sequence[str] = (), analysis: dict | None = None,
                   min_load_n: float = 50.0, progress: Progress | None = None,
                   stem: str | None = None, raw_path: str | Path | None = None,
                   summary_path: str | Path | None = None) -> tuple[Path, Path | None]:
    """Raw CSV (all or the chosen trials of a session) and its per-trial summary CSV.

    Files are ``<folder>/<stem>_raw.csv`` and ``_summary.csv`` unless ``raw_path`` names the
    raw file exactly (then the summary is written only to ``summary_path``, if given).
    Athlete fields go into the file only when named in ``athlete_fields`` (privacy)."""
    folder = Path(folder) if folder is not None else Path(raw_path).parent
    folder.mkdir(parents=True, exist_ok=True)
    s = store.session(session_id)
    if trial_ids is None:
        trial_ids = [t.id for t in store.trials(session_id)]
    if stem is None:
        who = store.athlete(s.athlete_id).name if s.athlete_id is not None else "session"
        stem = f"{safe_filename(who)}_{safe_filename(s.started[:10], 'date')}_s{session_id}"
    else:
        stem = safe_filename(stem, "session")
    calibration = _session_calibration(store, session_id)
    meta = _session_metadata(store, session_id, trial_ids, athlete_fields, analysis,
                             min_load_n, calibration)
    parts, numbers = [], []
    for number, tid in enumerate(trial_ids, 1):
        arr = store.read_samples(tid)
        parts.append(arr)
        numbers.append(np.full(len(arr), number, np.int64))
    samples = _concat(parts)
    trial = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
    derived = derived_columns(samples.counts, calibration, min_load_n)
    if raw_path is None:
        raw_path, summary_path = folder / f"{stem}_raw.csv", folder / f"{stem}_summary.csv"
    raw = write_raw_csv(raw_path, meta, trial, samples, derived, progress)
    summary = None
    if summary_path is not None:
        summary = write_summary_csv(summary_path, store, trial_ids,
                                    {k: v for k, v in meta.items()
                                     if not k.startswith("trial.")})
    return raw, summary


def _concat(parts: list[SampleArrays]) -> SampleArrays:
    if not parts:
        return SampleArrays.empty()
    return SampleArrays(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                          ("seq", "t_s", "t_host_s", "counts", "status", "phase", "target")))


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def write_summary_csv(path: str | Path, store: Storage, trial_ids: Sequence[int],
                      metadata: dict | None = None) -> Path:
    """One row per trial; metric columns keep their names, which carry units (``_mm``...)."""
    rows = []
    for number, tid in enumerate(trial_ids, 1):
        t = store.trial(tid)
        n = store.sample_count(tid)
        row = {"trial": number, "drill": t.drill, "leg": t.leg, "condition": t.condition,
               "status": t.status, "reason": t.reason, "started": t.started, "ended": t.ended,
               "samples": n}
        metrics: dict = {}
        _flatten("", t.metrics, metrics)
        row.update(metrics)
        rows.append(row)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    meta = {"format": SUMMARY_FORMAT_NAME, "format_version": FORMAT_VERSION,
            "app_version": __version__, **(metadata or {})}

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return "" if isinstance(v, float) and not math.isfinite(v) else repr(v)
        if isinstance(v, (list, dict)):
            v = json.dumps(v, sort_keys=True)
        return escape_text(str(v))

    def body(out):
        out.write(metadata_text({**meta, "format": SUMMARY_FORMAT_NAME}).encode("utf-8"))
        lines = [",".join(columns)] + [",".join(cell(r.get(c)) for c in columns) for r in rows]
        out.write(("\n".join(lines) + "\n").encode("utf-8"))

    return atomic_write(Path(path), body)


# --------------------------------------------------------------------------------------------
# Reading

#: Import refuses files bigger than this (about 7 h at 80 samples/s), before reading any data:
#: import peaks at ~4x the file size (measured), so this bounds memory to ~1 GB (docs/storage.md).
MAX_RAW_CSV_BYTES = 256_000_000
#: ... and stops with an error once a file has more rows than this (tiny rows, same bound).
MAX_RAW_CSV_ROWS = 2_500_000
_READ_CHUNK_BYTES = 1 << 20      # parsed a megabyte at a time: scratch arrays stay in cache


def _split_header(raw, path) -> tuple[dict, list[str], int, int]:
    """Metadata dict, column names, number of lines before the data, offset of the data."""
    meta: dict = {}
    pos = 0
    line_no = 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise CsvFormatError(f"{path}: no column header line; is this a StanceLab raw CSV?")
        line = raw[pos:end].rstrip(b"\r").decode("utf-8", errors="replace")
        line_no += 1
        pos = end + 1
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*([^:]+?)\s*:\s?(.*)$", line)
        if m is None:
            raise CsvFormatError(f"{path}, line {line_no}: metadata lines look like "
                                 f"'# key: value', not {line!r}")
        meta[m.group(1)] = decode_meta_value(m.group(2))
    if meta.get("format") != FORMAT_NAME:
        raise CsvFormatError(
            f"{path}: not a StanceLab raw CSV (the first line should be '# format: "
            f"{FORMAT_NAME}', found format {meta.get('format')!r}). For a plain t,x,y file use "
            f"load_xy_csv.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CsvFormatError(f"{path}: format version {version!r} is newer than this StanceLab "
                             f"understands ({FORMAT_VERSION}); update StanceLab.")
    names = [c.strip() for c in line.split(",")]
    return meta, names, line_no, pos


def _check_columns(names: list[str], path) -> None:
    if names == list(COLUMN_NAMES):
        return
    for want in COLUMN_NAMES:
        if want in names:
            continue
        stem = want.rsplit("_", 1)[0] if "_" in want else want
        similar = [n for n in names if n.rsplit("_", 1)[0] == stem]
        if similar:
            raise CsvFormatError(f"{path}: column {similar[0]!r} has the wrong unit; "
                                 f"expected {want!r}.")
        raise CsvFormatError(f"{path}: column {want!r} is missing (line with column names).")
    raise CsvFormatError(f"{path}: columns must be, in order: {','.join(COLUMN_NAMES)}.")


def _parse_numbers(u: np.ndarray, starts: np.ndarray, ends: np.ndarray, decimals: int,
                   name: str, lines: np.ndarray, path) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-decimal fields -> (int64 value * 10**decimals, empty mask), any decimals up to
    ``decimals``. The general path behind csvbytes.parse_fixed: it names the bad line."""
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
    keys = None if has_nul else csvbytes.short_text_keys(buf, win, starts, ends)
    if keys is None:
        return _text_from_bytes(buf, starts, ends)
    n = len(keys)
    if n == 0:
        return np.empty(0, object)
    heads = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    uniq, inverse = np.unique(keys[heads], return_inverse=True)
    decoded = np.empty(len(uniq), object)
    decoded[:] = [unescape_text(csvbytes.key_text(k).decode("utf-8", "replace")) for k in uniq]
    return np.repeat(decoded[inverse.ravel()], np.diff(np.append(heads, n)))


_INT_COLS = [j for j, (_, d) in enumerate(RAW_COLUMNS) if d == 0]
_DEC_COLS = [j for j, (name, d) in enumerate(RAW_COLUMNS) if d and name not in DERIVED_COLUMNS]
_DERIVED_COLS = [j for j, (name, _) in enumerate(RAW_COLUMNS) if name in DERIVED_COLUMNS]


def _parse_chunk(u: np.ndarray, starts, ends, lines, derived: bool, path,
                 texts: bool = True) -> dict:
    """Every column of one chunk: numbers (int64 scaled, empty mask) and the two text columns."""
    win = csvbytes.words(u)
    out: dict = {}
    groups = [_INT_COLS, _DEC_COLS] + ([_DERIVED_COLS] if derived else [])
    for cols in groups:
        decimals = np.array([[RAW_COLUMNS[j][1]] for j in cols], np.int64)
        fast = csvbytes.parse_fixed(u, win, starts[cols], ends[cols], decimals)
        for k, j in enumerate(cols):
            name, d = RAW_COLUMNS[j]
            if fast is not None:
                out[name] = (fast[0][k], fast[1][k])
                continue
            one = csvbytes.parse_fixed(u, win, starts[j], ends[j], d)
            out[name] = one if one is not None else \
                _parse_numbers(u, starts[j], ends[j], d, name, lines, path)
    if not texts:
        return out
    has_nul = bool((u[csvbytes.PAD:-8] == 0).any())
    for j in (len(RAW_COLUMNS) - 2, len(RAW_COLUMNS) - 1):
        out[RAW_COLUMNS[j][0]] = _text_column(u, win, starts[j], ends[j], has_nul)
    return out


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


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise CsvFormatError(
            f"{path}: the file is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB "
            f"import limit (about {max_bytes / 118 / 80 / 3600:.1f} h at 80 samples/s). Export "
            f"fewer trials per file, or raise csvio.MAX_RAW_CSV_BYTES if this computer has "
            f"the memory (about 4 times the file size).")


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


def _read_mapped(raw, size: int, path: Path, derived: bool, max_rows: int) -> RawCsv:
    meta, names, header_lines, data_start = _split_header(raw, path)
    _check_columns(names, path)
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
        u = csvbytes.padded(numeric)
        starts, ends = _field_bounds(u, ncol - 2, lines, first_line, path, csvbytes.PAD)
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
                u = csvbytes.padded(chunk)
                del chunk
                starts, ends = _field_bounds(u, ncol, None, first_line + rows, path,
                                             csvbytes.PAD)
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
        u = csvbytes.padded(chunk)
        starts, ends = _field_bounds(u, ncol, None, first_line, path, csvbytes.PAD)
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
                             f"fewer trials per file, or raise csvio.MAX_RAW_CSV_ROWS.")


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
    _check_row_counts(meta, values["trial"], path)
    samples = SampleArrays(values["seq"], values["t_s"] * 1e-6, values["t_host_s"] * 1e-6,
                           counts, values["status"], column("phase"), column("target"))
    extra = {}
    if derived:
        for name in DERIVED_COLUMNS:
            d = dict(RAW_COLUMNS)[name]
            extra[name] = np.where(empties(name), np.nan, values[name] / 10.0 ** d)
    return RawCsv(meta, values["trial"], samples, extra)


def _check_row_counts(meta: dict, trial: np.ndarray, path) -> None:
    """Files that state each trial's rows (``trial.N.samples``) must have exactly those."""
    declared = {int(k.split(".")[1]): v for k, v in meta.items()
                if re.fullmatch(r"trial\.\d+\.samples", k)}
    if not declared:
        return
    found = np.bincount(trial, minlength=max(declared) + 1) if len(trial) else \
        np.zeros(max(declared) + 1, np.int64)
    for number in sorted(declared):
        if not isinstance(declared[number], int) or declared[number] != int(found[number]):
            raise CsvFormatError(
                f"{path}: trial {number} has {int(found[number])} rows but the header says "
                f"{declared[number]!r}; the file is incomplete (cut off?) or was edited. "
                f"Export it again from the original database.")


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


# --------------------------------------------------------------------------------------------
# Import into the database


def import_raw_csv(store: Storage, path: str | Path, athlete_id: int | None = None) -> int:
    """Validate the whole file, then write it as a new session in one transaction."""
    from stancelab.calibration import Calibration
    data = read_raw_csv(path, derived=False)
    meta = data.metadata
    cal = meta.get("calibration")
    try:
        calibration = Calibration.from_dict(cal) if cal else None
    except (KeyError, TypeError, ValueError) as e:
        raise CsvFormatError(f"{path}: the calibration metadata line is not valid ({e}).") \
            from None
    numbers = data.trial_numbers()
    declared = meta.get("trials")
    if declared is not None and any(n > declared for n in numbers):
        raise CsvFormatError(f"{path}: rows belong to trial {max(numbers)} but the header "
                             f"describes {declared} trials.")
    with store.transaction():
        if athlete_id is None and isinstance(meta.get("athlete.name"), str):
            fields = {k.split(".", 1)[1]: v for k, v in meta.items()
                      if k.startswith("athlete.") and k != "athlete.name"}
            athlete_id = store.get_or_add_athlete(meta["athlete.name"], **fields).id
        session = store.start_session(
            athlete_id=athlete_id, source_kind=str(meta.get("source_kind") or "import"),
            board_id=meta.get("board_id"), firmware=meta.get("firmware"),
            calibration=calibration, notes=meta.get("session_notes") or "",
            started=meta.get("session_started"),
            app_version=str(meta.get("recorded_app_version") or meta.get("app_version")))
        for number in range(1, (declared or max(numbers, default=0)) + 1):
            def t(key, default=None, number=number):
                return meta.get(f"trial.{number}.{key}", default)
            status = t("status", "completed")
            trial = store.start_trial(session.id, t("drill") or "unknown", leg=t("leg"),
                                      condition=t("condition"), settings=t("settings") or {},
                                      status="recording", started=t("started"))
            store.insert_samples(trial.id, data.trial_samples(number))
            if t("metrics"):
                store.update_metrics(trial.id, t("metrics"))
            store.finish_trial(trial.id, "interrupted" if status == "recording" else status,
                               t("reason"), t("ended"))
    return session.id


# --------------------------------------------------------------------------------------------
# Plain t, x, y files for analysis


def load_xy_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plain COP trace: columns t, x, y (or t_s, x_mm, y_mm) in seconds and millimetres.

    Comment lines start with '#'; a header line is optional (without one the first three
    columns are t, x, y). Returns float arrays (t_s, x_mm, y_mm)."""
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        raise CsvFormatError(f"Cannot read {path}: {e}.") from None
    if not lines:
        raise CsvFormatError(f"{path}: no data rows.")
    head = [c.strip().strip("'\"").lower() for c in lines[0].split(",")]
    cols = (0, 1, 2)
    skip = 0
    try:
        float(head[0])
    except ValueError:
        skip = 1
        want = (("t", "t_s"), ("x", "x_mm"), ("y", "y_mm"))
        found = []
        for options in want:
            match = [i for i, h in enumerate(head) if h in options]
            if not match:
                wrong = [h for h in head if h.split("_")[0] == options[0]]
                hint = f" ({wrong[0]!r} has another unit; convert to s and mm)" if wrong else ""
                raise CsvFormatError(f"{path}: needs columns t, x, y (s, mm); "
                                     f"'{options[0]}' not found{hint}.")
            found.append(match[0])
        cols = tuple(found)
    try:
        table = np.loadtxt(lines[skip:], delimiter=",", usecols=cols, ndmin=2, dtype=float)
    except ValueError as e:
        raise CsvFormatError(f"{path}: {e}") from None
    t, x, y = table[:, 0], table[:, 1], table[:, 2]
    if len(t) > 1 and np.any(np.diff(t) <= 0):
        row = int(np.argmax(np.diff(t) <= 0)) + 1
        raise CsvFormatError(f"{path}: time is not increasing at data row {row + 1}.")
    return t, x, y

