"""The raw CSV format: a file that describes itself and loads back without loss.

A raw file is ``# key: value`` metadata lines, one header line of column names with units in
them, then one row per sample. Numbers are written with a fixed number of decimals per column
(times in whole microseconds, the board clock's resolution), so writing and parsing work on
whole numpy arrays of bytes instead of Python loops over rows. Text cells (drill phase and
target) that a spreadsheet would run as a formula are prefixed with ``'``; import removes it.
Each trial's row count is in the header (``trial.N.samples``), so a file cut off at a line end
is noticed. See docs/storage.md for the format.

This module holds the rules both directions share and imports neither the database nor the UI.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

from stancelab.board.sample_arrays import SampleArrays

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
_NEEDS_QUOTES = re.compile(r'[,;"\n\r#]')


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
    # Commas and semicolons inside strings become \u002c and \u003b so a spreadsheet never
    # splits a metadata line into a cell that begins with a formula character.
    return re.sub(r'"(?:[^"\\]|\\.)*"',
                  lambda m: m.group(0).replace(",", "\\u002c").replace(";", "\\u003b"), text)


def _plain(s: str) -> bool:
    return "," not in s and ";" not in s and not any(ord(c) < 32 or c == "\x7f" for c in s)


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


def metadata_text(metadata: dict) -> str:
    """The ``# key: value`` lines of a header."""
    lines = []
    for key, value in metadata.items():
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            raise ValueError(f"metadata key {key!r} must be letters, digits, _ . -")
        lines.append(f"# {key}: {encode_meta_value(value)}\n")
    return "".join(lines)


# --------------------------------------------------------------------------------------------
# Reading the header


def split_header(raw, path) -> tuple[dict, list[str], int, int]:
    """Metadata dict, column names, number of lines before the data, offset of the data."""
    if raw[:3] == b"\xef\xbb\xbf":
        raise CsvFormatError(f"{path}: this is a spreadsheet export (--excel: semicolons, "
                             "decimal commas); import the plain CSV export (without --excel)")
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
            f"{FORMAT_NAME}', found format {meta.get('format')!r}). For another system's COP "
            f"trace (t,x,y, HBEDB) use `stancelab analyze FILE`.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CsvFormatError(f"{path}: format version {version!r} is newer than this StanceLab "
                             f"understands ({FORMAT_VERSION}); update StanceLab.")
    names = [c.strip() for c in line.split(",")]
    return meta, names, line_no, pos


def check_columns(names: list[str], path) -> None:
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


def check_row_counts(meta: dict, trial: np.ndarray, path) -> None:
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
