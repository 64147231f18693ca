"""Writing raw and summary CSV files: whole arrays of bytes, written atomically.

Rows are formatted as a byte matrix (csv_bytes.format_fixed), so an hour of samples is a few
dozen numpy operations; a file appears under its name only once it is complete (atomic_write).
The summary is built from trials and row counts the caller already has, one row per trial.
Imports neither the database nor the UI (transfer.py reads from the Storage).
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stancelab import __version__
from stancelab.analysis.assessment import shown_status
from stancelab.board.sample_arrays import SampleArrays
from stancelab.files import csv_bytes
from stancelab.files.csv_format import (
    COLUMN_NAMES,
    COUNT_COLUMNS,
    FORCE_COLUMNS,
    FORMAT_NAME,
    FORMAT_VERSION,
    RAW_COLUMNS,
    SUMMARY_FORMAT_NAME,
    escape_text,
    metadata_text,
)

# Rows formatted per step: small enough that no single numpy call holds the GIL for long (the
# export runs on the worker beside the UI thread) and that the step stays in cache (10,000
# rows: ~12 ms, against ~108 ms for 50,000 on the development machine).
_CHUNK_ROWS = 10_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Dialect:
    """How cells are separated and decimals marked.

    ``PLAIN`` (the default) is what pandas, R and ``stancelab import`` read: commas, decimal
    points. ``SPREADSHEET`` is for Excel or LibreOffice set to a decimal-comma locale (German,
    French, Spanish, Dutch, ...): UTF-8 with a byte-order mark (so accents and the units' ²
    show right), semicolons (those locales' list separator, which the programs split on when a
    file is opened with a double click) and decimal commas. Chosen over .xlsx because the same
    byte writer makes it (an hour of samples in under a second, no row limit, no new
    dependency); an .xlsx writer would need a library, take far longer for 288,000 rows and
    stop at 1,048,576 rows (3.6 h at 80 Hz)."""

    name: str
    sep: str
    point: str
    bom: bool

    @property
    def suffix(self) -> str:
        return "_excel" if self is not PLAIN else ""


PLAIN = Dialect("csv", ",", ".", False)
SPREADSHEET = Dialect("excel", ";", ",", True)
BOM = "\ufeff"


# --------------------------------------------------------------------------------------------
# Rows as a byte matrix (csv_bytes.format_fixed); 0 bytes are padding, dropped at the end.


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


def _format_rows(columns: dict[str, np.ndarray], dialect: Dialect = PLAIN) -> bytes:
    parts = []
    n = len(columns["trial"])
    comma = np.full((n, 1), ord(dialect.sep), np.uint8)
    for i, (name, decimals) in enumerate(RAW_COLUMNS):
        if i:
            parts.append(comma)
        if decimals is None:
            parts.append(_text_bytes(columns[name]))
        else:
            parts += csv_bytes.format_fixed(columns[name], decimals, ord(dialect.point))
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


def write_raw_csv(path: str | Path, metadata: dict, trial: np.ndarray, samples: SampleArrays,
                  derived: dict[str, np.ndarray], progress: Progress | None = None,
                  dialect: Dialect = PLAIN) -> Path:
    """Write atomically (temporary file, then rename); ``progress(rows_done, rows_total)``.
    A SPREADSHEET file is for reading in a spreadsheet; ``stancelab import`` refuses it."""
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
        out.write(((BOM if dialect.bom else "") + metadata_text(meta)).encode("utf-8"))
        out.write((dialect.sep.join(COLUMN_NAMES) + "\n").encode("ascii"))
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(n, start + _CHUNK_ROWS)
            out.write(_format_rows({k: v[start:stop] for k, v in columns.items()}, dialect))
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


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def write_summary_csv(path: str | Path, trials: Sequence, sample_counts: Sequence[int],
                      metadata: dict | None = None, dialect: Dialect = PLAIN) -> Path:
    """One row per trial; metric columns keep their names, which carry units (``_mm``...).

    ``trials`` are the stored trials (drill, leg, condition, status, reason, started, ended,
    metrics) in file order and ``sample_counts`` their rows: nothing is read again here."""
    if len(trials) != len(sample_counts):
        raise ValueError(f"{len(trials)} trials but {len(sample_counts)} sample counts")
    rows = []
    for number, (t, n) in enumerate(zip(trials, sample_counts), 1):
        row = {"trial": number, "drill": t.drill, "leg": t.leg, "condition": t.condition,
               # "sensor fault", not "completed", for a trial recorded through a dead cell
               "status": shown_status(t.status, t.reason, t.metrics), "reason": t.reason,
               "started": t.started, "ended": t.ended,
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
            if isinstance(v, float) and not math.isfinite(v):
                return ""
            return repr(v).replace(".", dialect.point)
        if isinstance(v, (list, dict)):
            v = json.dumps(v, sort_keys=True)
        return escape_text(str(v))

    def body(out):
        out.write(((BOM if dialect.bom else "") + metadata_text(
            {**meta, "format": SUMMARY_FORMAT_NAME})).encode("utf-8"))
        sep = dialect.sep
        lines = [sep.join(columns)] + [sep.join(cell(r.get(c)) for c in columns) for r in rows]
        out.write(("\n".join(lines) + "\n").encode("utf-8"))

    return atomic_write(Path(path), body)
