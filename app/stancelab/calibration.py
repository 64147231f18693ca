"""Counts to forces to centre of pressure, and the arithmetic that fits the numbers.

A calibration is per board (board id): four tare offsets (counts with the board empty) and four
gains (newtons per count). Fitting the gains uses a known mass placed at several marked positions
and least squares over all placements, so one cell with a wrong gain shows up instead of being
averaged away. The procedure that collects the counts is stancelab.station.calibrate; saved
calibrations live in the database (stancelab.station.calibrations).
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from dataclasses import dataclass, field, replace

import numpy as np

from stancelab.geometry import CHANNEL_NAMES, WII_BALANCE_BOARD, BoardGeometry, G

#: Counts per newton of a 200 kg, 2 mV/V cell on an HX711 at gain 128. The excitation voltage
#: cancels: full scale is +-0.5 * AVDD / 128, the cell gives 2 mV/V * AVDD at 200 kg.
NOMINAL_COUNTS_PER_N = (1 << 23) * 128 * 2 * 0.002 / (200 * G)
#: Below this total load COP is undefined (nobody, or a hand, on the board).
DEFAULT_MIN_LOAD_N = 50.0


class CalibrationError(ValueError):
    """A calibration step that cannot give a trustworthy result; the message says what to do."""


@dataclass(frozen=True)
class Calibration:
    board_id: int | None
    offsets_counts: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    gains_n_per_count: tuple[float, float, float, float] = (1 / NOMINAL_COUNTS_PER_N,) * 4
    geometry: BoardGeometry = field(default_factory=BoardGeometry)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC)
                         .isoformat(timespec="seconds"))
    firmware: str | None = None
    method: str = "nominal"  # nominal | tare | tare+gain
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def forces_n(self, counts) -> np.ndarray:
        c = np.asarray(counts, dtype=float)
        return (c - np.asarray(self.offsets_counts)) * np.asarray(self.gains_n_per_count)

    def to_dict(self) -> dict:
        return {"id": self.id, "board_id": self.board_id, "created": self.created,
                "firmware": self.firmware, "method": self.method,
                "offsets_counts": list(self.offsets_counts),
                "gains_n_per_count": list(self.gains_n_per_count),
                "geometry": self.geometry.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        return cls(board_id=d.get("board_id"),
                   offsets_counts=tuple(float(v) for v in d["offsets_counts"]),
                   gains_n_per_count=tuple(float(v) for v in d["gains_n_per_count"]),
                   geometry=BoardGeometry.from_dict(d["geometry"]),
                   created=d["created"], firmware=d.get("firmware"),
                   method=d.get("method", "nominal"), id=d["id"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def default_calibration(board_id: int | None = None, firmware: str | None = None) -> Calibration:
    """Nominal gains and zero offsets: usable for a first look, not for scores. A Wii Balance
    Board (firmware :data:`stancelab.board.wiiboard.FIRMWARE`) has its own: 10 g per unit on
    its sensor rectangle (stancelab.geometry.WII_BALANCE_BOARD)."""
    from stancelab.board import wiiboard

    if firmware == wiiboard.FIRMWARE:
        return Calibration(board_id=board_id, firmware=firmware, method="nominal",
                           gains_n_per_count=(wiiboard.NOMINAL_N_PER_UNIT,) * 4,
                           geometry=WII_BALANCE_BOARD)
    return Calibration(board_id=board_id, firmware=firmware, method="nominal")


DEFAULT_GEOMETRY = BoardGeometry()


def cop_from_forces(forces_n, geometry: BoardGeometry = DEFAULT_GEOMETRY,
                    min_load_n: float = DEFAULT_MIN_LOAD_N):
    """Total load and COP for (N, 4) corner forces; COP is NaN where the load is too small."""
    f = np.atleast_2d(np.asarray(forces_n, dtype=float))
    total = f.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = f @ geometry.cell_x_mm / total
        y = f @ geometry.cell_y_mm / total
    undefined = ~(total >= min_load_n)
    x[undefined] = np.nan
    y[undefined] = np.nan
    return total, x, y


# ---------------------------------------------------------------- tare

def tare(calibration: Calibration, counts, max_noise_counts: float = 400.0,
         max_drift_counts: float = 400.0) -> Calibration:
    """New offsets from counts recorded with the board empty.

    Refuses when the signal is not steady: a per-channel standard deviation above
    ``max_noise_counts`` (someone touching the board) or a drift between the first and last
    quarter above ``max_drift_counts`` (load cells still settling)."""
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or c.shape[1] != 4 or len(c) < 8:
        raise CalibrationError("tare needs at least 8 samples of 4 channels; record longer")
    # Sample-to-sample noise (a slow ramp does not inflate it; the drift check catches ramps).
    sd = np.diff(c, axis=0).std(axis=0, ddof=1) / np.sqrt(2)
    q = max(len(c) // 4, 1)
    drift = np.abs(c[-q:].mean(axis=0) - c[:q].mean(axis=0))
    for i, name in enumerate(CHANNEL_NAMES):
        if sd[i] > max_noise_counts:
            raise CalibrationError(
                f"the {name} corner is not steady (noise {sd[i]:.0f} counts): step off the "
                "board, keep hands and cables still, and tare again")
    for i, name in enumerate(CHANNEL_NAMES):
        if drift[i] > max_drift_counts:
            raise CalibrationError(
                f"the {name} corner is drifting ({drift[i]:.0f} counts during the tare): let the "
                "board settle a minute after power-on and tare again")
    return replace(calibration, offsets_counts=tuple(float(v) for v in c.mean(axis=0)),
                   method="tare", id=uuid.uuid4().hex[:12],
                   created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))


# ---------------------------------------------------------------- gains

@dataclass(frozen=True)
class Placement:
    """A known mass at a known position, with the mean tared counts it produced."""

    mass_kg: float
    x_mm: float
    y_mm: float
    counts: tuple[float, float, float, float]  # mean raw counts over the hold


@dataclass(frozen=True)
class GainFit:
    calibration: Calibration
    relative_gain_change: tuple[float, ...]   # fitted / previous - 1, per cell
    residual_n: float                          # RMS residual of the force equations
    verification: list                         # per placement: dict of errors


def fit_gains(calibration: Calibration, placements: list[Placement],
              max_gain_change: float = 0.25) -> GainFit:
    """Least-squares gains from known-mass placements.

    Each placement j gives three equations in the four unknown gains g_i, with c_ij the tared
    counts: sum_i g_i c_ij = m_j g; sum_i g_i c_ij x_i = m_j g X_j; the same for y. Two or more
    placements away from the centre make the system overdetermined; the fit and its residual
    show a cell whose gain is off."""
    if len(placements) < 2:
        raise CalibrationError("gain calibration needs the mass at 2 or more marked positions "
                               "(5 recommended: centre and the four marks)")
    geom = calibration.geometry
    off = np.asarray(calibration.offsets_counts)
    rows, rhs = [], []
    for p in placements:
        c = np.asarray(p.counts, dtype=float) - off
        w = p.mass_kg * G
        rows += [c, c * geom.cell_x_mm, c * geom.cell_y_mm]
        rhs += [w, w * p.x_mm, w * p.y_mm]
    a, b = np.array(rows), np.array(rhs)
    if np.linalg.matrix_rank(a) < 4:
        raise CalibrationError("the placements do not pin down all four corners: put the mass "
                               "on at least two different marks away from the centre")
    gains, *_ = np.linalg.lstsq(a, b, rcond=None)
    if np.any(gains <= 0):
        bad = [CHANNEL_NAMES[i] for i in np.flatnonzero(gains <= 0)]
        raise CalibrationError(f"the {', '.join(bad)} cell reads backwards or not at all: check "
                               "its wiring (swap the green/white signal wires) and repeat")
    prev = np.asarray(calibration.gains_n_per_count)
    change = gains / prev - 1
    new = replace(calibration, gains_n_per_count=tuple(float(g) for g in gains),
                  method="tare+gain", id=uuid.uuid4().hex[:12],
                  created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    if np.any(np.abs(change) > max_gain_change):
        worst = int(np.argmax(np.abs(change)))
        raise CalibrationError(
            f"the {CHANNEL_NAMES[worst]} cell's gain is {change[worst]:+.0%} from the expected "
            "value: check its mounting and wiring, and that the mass and positions were right")
    residual = float(np.sqrt(np.mean((a[0::3] @ gains - b[0::3]) ** 2)))  # force rows, N
    return GainFit(new, tuple(float(v) for v in change), residual, verify(new, placements))


def verify(calibration: Calibration, placements: list[Placement]) -> list[dict]:
    """COP error (mm) and load error (%) at each placement, for the verification map."""
    out = []
    for p in placements:
        f = calibration.forces_n(np.asarray(p.counts, dtype=float)[None, :])
        total, x, y = cop_from_forces(f, calibration.geometry, min_load_n=0.0)
        w = p.mass_kg * G
        out.append({"x_mm": p.x_mm, "y_mm": p.y_mm, "mass_kg": p.mass_kg,
                    "cop_error_mm": float(np.hypot(x[0] - p.x_mm, y[0] - p.y_mm)),
                    "load_error_pct": float((total[0] - w) / w * 100)})
    return out
