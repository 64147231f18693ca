"""COP traces from other systems: force-plate exports, Wii board logs, the PhysioNet HBEDB files.

``stancelab analyze`` reads these besides StanceLab's own raw CSV. A trace is a time (or a
sample index and a known rate) and the COP's x and y. What the reader accepts, and the rules
that keep it from being silently wrong (docs/storage.md, "COP traces from other systems"):

- Layouts: the HBEDB file as PhysioNet publishes it (``'sample interval','Fx',...,'COPx','COPy'``:
  a sample index at 100 Hz, COP in cm; Santos & Duarte 2016, doi:10.7717/peerj.2648), or any
  file with a time column and two COP columns under common names (``t``/``time``/``timestamp``,
  ``x``/``copx``/``cop_x``/``cx``/``cop_ml``, ``y``/``copy``/``cop_y``/``cy``/``cop_ap``), or
  three unnamed columns t, x, y.
- Separators: comma, semicolon or tab (read from the header line); with semicolon or tab a
  decimal comma is accepted.
- Units: read from the column names (``x_mm``, ``COPx (cm)``, ``t [ms]``), else from the caller
  (``--units mm|cm|m``, ``--time-units s|ms``). COP without a unit is refused: 2.5 could be mm or
  cm, a factor of 100 in areas, and nothing in the numbers tells them apart. A time without a
  unit is inferred from its median step only where one reading is plausible (10-1000 samples/s
  as seconds, or as milliseconds) and the choice is returned in ``notes`` for the user to see.

Every error is one line naming the file, the 1-based data row and the fix. Imports neither the
database nor the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stancelab.files.csv_format import CsvFormatError

#: Millimetres per unit of COP, seconds per unit of time.
LENGTH_UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
TIME_UNITS = {"s": 1.0, "ms": 1e-3}

#: The HBEDB layout as published (PhysioNet hbedb, "Data Description": 100 Hz, force in N,
#: moments in N m, centre of pressure in cm), compared on names stripped of quotes and case.
HBEDB_COLUMNS = ("sample interval", "fx", "fy", "fz", "mx", "my", "mz", "copx", "copy")
HBEDB_RATE_HZ = 100.0
HBEDB_LENGTH_UNIT = "cm"

_TIME_NAMES = {"t", "time", "timestamp", "times", "tempo", "zeit"}
_INDEX_NAMES = {"sampleinterval", "sample", "samples", "index", "frame", "n"}
_X_NAMES = {"x", "copx", "cx", "copml", "ml", "xcop", "centerofpressurex"}
_Y_NAMES = {"y", "copy", "cy", "copap", "ap", "ycop", "centerofpressurey"}
_UNIT_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_]*(?:[(\[]\s*(?P<u1>[a-z]+)\s*[)\]]|_(?P<u2>mm|cm|m|s|ms))$")

#: A time without a unit is read as seconds or milliseconds only when its median step gives a
#: sampling rate in this range (samples/s) under exactly one of the two readings.
PLAUSIBLE_RATE_HZ = (10.0, 1000.0)


@dataclass(frozen=True)
class CopTrace:
    t_s: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    layout: str                  # "hbedb" | "columns" | "unnamed"
    notes: tuple[str, ...] = ()  # what was assumed, worded for the user


@dataclass(frozen=True)
class _Column:
    index: int
    kind: str            # "time" | "index" | "x" | "y"
    unit: str | None


def read_cop_trace(path: str | Path, units: str | None = None, time_units: str | None = None,
                   rate_hz: float | None = None) -> CopTrace:
    """The trace in ``path`` in seconds and millimetres; raises CsvFormatError naming the fix.

    ``units`` / ``time_units`` give the COP's and the time's unit where the file does not;
    ``rate_hz`` the sampling rate of a file with a sample index instead of a time."""
    path = Path(path)
    _check_choice(units, LENGTH_UNITS, "--units")
    _check_choice(time_units, TIME_UNITS, "--time-units")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFormatError(f"{path}: not a text file; export the trace as CSV.") from None
    except OSError as e:
        raise CsvFormatError(f"Cannot read {path}: {e.strerror or e}.") from None
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise CsvFormatError(f"{path}: no header and no data rows; is this the right file?")
    delim = _delimiter(lines[0][1])
    first = _cells(lines[0][1], delim)
    header = None if _is_number(first[0], delim) else first
    data = lines[1:] if header is not None else lines
    if not data:
        raise CsvFormatError(f"{path}: a header line but no data rows; export the trace again "
                             "with its samples.")
    layout, cols = _columns(header, path)
    notes: list[str] = []
    if layout == "hbedb":
        if units not in (None, HBEDB_LENGTH_UNIT):
            raise CsvFormatError(f"{path}: an HBEDB file has its COP in cm as published, not "
                                 f"{units}; leave out --units.")
        notes.append(f"HBEDB layout (PhysioNet): sample index at {HBEDB_RATE_HZ:g} Hz, COP in "
                     "cm, as the dataset documents.")
        length_unit, rate_hz = HBEDB_LENGTH_UNIT, HBEDB_RATE_HZ
    else:
        length_unit = _length_unit(cols, units, path)
    table = _parse(data, delim, [c.index for c in cols], path)
    x = table[:, 1] * LENGTH_UNITS[length_unit]
    y = table[:, 2] * LENGTH_UNITS[length_unit]
    t = _time_s(table[:, 0], cols[0], time_units, rate_hz, path, notes)
    _check_increasing(t, data, path)
    return CopTrace(t, x, y, layout, tuple(notes))


def load_xy_csv(path: str | Path, units: str | None = None, time_units: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, x_mm, y_mm) of a trace; see :func:`read_cop_trace`."""
    tr = read_cop_trace(path, units, time_units)
    return tr.t_s, tr.x_mm, tr.y_mm


def sniff_layout(path: str | Path) -> str | None:
    """"hbedb" or "columns" when the file's first line names a COP trace's columns, else None
    (a StanceLab CSV, even a damaged one, or anything else). Reads only the first lines."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            lines = [f.readline() for _ in range(50)]
    except OSError:
        return None
    if any(re.match(r"#\s*format:\s*stancelab-", ln) for ln in lines):
        return None
    head = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not head:
        return None
    cells = _cells(head[0].rstrip("\r\n"), _delimiter(head[0]))
    try:
        return _columns(cells, Path(path))[0]
    except CsvFormatError:
        return None


# -------------------------------------------------------------------------------- the header

def _check_choice(value, choices: dict, flag: str) -> None:
    if value is not None and value not in choices:
        raise CsvFormatError(f"{flag} {value!r}: choose one of {', '.join(choices)}.")


def _delimiter(line: str) -> str:
    if "\t" in line:
        return "\t"
    if ";" in line:
        return ";"
    return ","


def _cells(line: str, delim: str) -> list[str]:
    return [c.strip().strip("'\"").strip() for c in line.split(delim)]


def _is_number(cell: str, delim: str) -> bool:
    try:
        float(cell.replace(",", ".") if delim != "," else cell)
    except ValueError:
        return False
    return True


def _split_unit(name: str) -> tuple[str, str | None]:
    name = name.strip().lower()
    m = _UNIT_SUFFIX.match(name)
    if m and (m.group("u1") or m.group("u2")):
        unit = m.group("u1") or m.group("u2")
        if unit in LENGTH_UNITS or unit in TIME_UNITS:
            return m.group("name"), unit
    return name, None


def _columns(header: list[str] | None, path: Path) -> tuple[str, list[_Column]]:
    """The layout and the (time-or-index, x, y) columns."""
    if header is None:
        return "unnamed", [_Column(0, "time", None), _Column(1, "x", None), _Column(2, "y", None)]
    lowered = tuple(h.lower() for h in header)
    if lowered == HBEDB_COLUMNS:
        return "hbedb", [_Column(0, "index", None), _Column(7, "x", None),
                         _Column(8, "y", None)]
    found: dict[str, _Column] = {}
    for i, raw in enumerate(header):
        name, unit = _split_unit(raw)
        key = re.sub(r"[^a-z0-9]", "", name)
        for kind, names in (("time", _TIME_NAMES), ("index", _INDEX_NAMES), ("x", _X_NAMES),
                            ("y", _Y_NAMES)):
            if key in names and kind not in found:
                found[kind] = _Column(i, kind, unit)
    clock = found.get("time") or found.get("index")
    missing = [w for w, ok in (("a time", clock), ("COP x", found.get("x")),
                               ("COP y", found.get("y"))) if ok is None]
    if missing:
        raise CsvFormatError(
            f"{path}: no column for {' and '.join(missing)} among {', '.join(header)}; name "
            "them t (or time), x (or copx, cop_x, cx) and y (or copy, cop_y, cy), with the unit "
            "as in x_mm or 'COPx (cm)'.")
    return "columns", [clock, found["x"], found["y"]]


def _length_unit(cols: list[_Column], units: str | None, path: Path) -> str:
    named = {c.unit for c in cols[1:] if c.unit is not None}
    bad = [u for u in named if u not in LENGTH_UNITS]
    if bad:
        raise CsvFormatError(f"{path}: a COP column is in {bad[0]!r}, not a length; name it "
                             "with mm, cm or m.")
    if len(named) > 1:
        raise CsvFormatError(f"{path}: the COP columns are in different units "
                             f"({' and '.join(sorted(named))}); convert one of them.")
    if named:
        (unit,) = named
        if units is not None and units != unit:
            raise CsvFormatError(f"{path}: the columns say {unit} but --units says {units}; "
                                 "leave out --units or correct the header.")
        return unit
    if units is None:
        raise CsvFormatError(
            f"{path}: the COP columns do not say their unit (mm, cm or m change areas by 100x); "
            "give --units mm|cm|m, or name the columns like x_mm, y_mm.")
    return units


# -------------------------------------------------------------------------------- the data

def _parse(data: list[tuple[int, str]], delim: str, use: list[int], path: Path) -> np.ndarray:
    need = max(use) + 1
    out = np.empty((len(data), 3))
    decimal_comma = delim != ","
    for row, (line_no, line) in enumerate(data, 1):
        cells = line.split(delim)
        if len(cells) < need:
            raise CsvFormatError(f"{path}, data row {row} (line {line_no}): {len(cells)} "
                                 f"cells, the trace needs {need}; complete or delete the row.")
        for k, j in enumerate(use):
            cell = cells[j].strip().strip("'\"").strip()
            if decimal_comma:
                cell = cell.replace(",", ".")
            if not cell:
                raise CsvFormatError(f"{path}, data row {row} (line {line_no}): column "
                                     f"{j + 1} is empty; fill it in or delete the row.")
            try:
                out[row - 1, k] = float(cell)
            except ValueError:
                raise CsvFormatError(f"{path}, data row {row} (line {line_no}): column "
                                     f"{j + 1} is {cell!r}, not a number; correct it or "
                                     "delete the row.") from None
    return out


def _time_s(values: np.ndarray, col: _Column, time_units: str | None, rate_hz: float | None,
            path: Path, notes: list[str]) -> np.ndarray:
    if col.kind == "index":
        if rate_hz is None:
            raise CsvFormatError(f"{path}: the file numbers its samples but has no time; give "
                                 "the sampling rate with --rate HZ.")
        if not rate_hz > 0:
            raise CsvFormatError(f"{path}: --rate must be more than 0 samples/s.")
        return values / float(rate_hz)
    if col.unit is not None:
        if col.unit not in TIME_UNITS:
            raise CsvFormatError(f"{path}: the time column is in {col.unit!r}; name it with s "
                                 "or ms.")
        if time_units is not None and time_units != col.unit:
            raise CsvFormatError(f"{path}: the time column says {col.unit} but --time-units "
                                 f"says {time_units}; leave out --time-units or correct it.")
        return values * TIME_UNITS[col.unit]
    if time_units is not None:
        return values * TIME_UNITS[time_units]
    steps = np.diff(values)
    step = float(np.median(steps)) if len(steps) else float("nan")
    lo, hi = PLAUSIBLE_RATE_HZ
    readings = [u for u, scale in TIME_UNITS.items()
                if step > 0 and lo <= 1.0 / (step * scale) <= hi]
    if len(readings) != 1:
        raise CsvFormatError(
            f"{path}: the time column does not say its unit and its step ({step:g}) does not "
            "tell seconds from milliseconds; give --time-units s|ms or name it t_s or t_ms.")
    unit = readings[0]
    notes.append(f"time read as {'seconds' if unit == 's' else 'milliseconds'}: its median "
                 f"step {step:g} is {1.0 / (step * TIME_UNITS[unit]):.4g} samples/s that way "
                 "(give --time-units to say otherwise).")
    return values * TIME_UNITS[unit]


def _check_increasing(t: np.ndarray, data: list[tuple[int, str]], path: Path) -> None:
    if len(t) > 1:
        bad = np.flatnonzero(np.diff(t) <= 0)
        if bad.size:
            row = int(bad[0]) + 2          # the later of the two rows, 1-based
            raise CsvFormatError(f"{path}, data row {row} (line {data[row - 1][0]}): time is "
                                 "not increasing; sort the rows by time or remove the "
                                 "duplicate.")
