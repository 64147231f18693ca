"""Plain COP traces: a CSV of t, x, y in seconds and millimetres, from any force plate or tool.

``stancelab analyze`` reads these besides StanceLab's own raw CSV. Imports neither the database
nor the UI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stancelab.files.csv_format import CsvFormatError


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

