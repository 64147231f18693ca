"""Turning stored trials into what the result screens draw (no widgets here).

Everything here reads the storage or computes, so it runs on the worker: the screens call
:func:`load_detail` there and draw the :class:`TrialDetail` it returns on the UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stancelab.analysis import sway_metrics
from stancelab.calibration import cop_from_forces, default_calibration
from stancelab.storage import Storage, StorageError, Trial, TrialSummary

#: Suffix -> unit, longest first, for metric keys named with their unit.
_UNITS = (("_mm2_s", "mm²/s"), ("_mm_s", "mm/s"), ("_mm2", "mm²"), ("_mm", "mm"), ("_pct", "%"),
          ("_hz", "Hz"), ("_deg", "°"), ("_s", "s"), ("_n", "N"), ("_kg", "kg"))
DRILL_TITLES = {"clock": "Clock balance", "single-leg": "Single-leg stand",
                "quiet": "Quiet stance"}


def unit_of(key: str) -> str:
    for suffix, unit in _UNITS:
        if key.endswith(suffix):
            return unit
    return ""


def label_of(key: str) -> str:
    base = key
    for suffix, _ in _UNITS:
        if key.endswith(suffix):
            base = key[: -len(suffix)]
            break
    return base.replace("_", " ").replace("ellipse95", "95 % ellipse").strip().capitalize()


def fmt(value, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        if not math.isfinite(v):
            return "—"
        unit = unit_of(key)
        if not unit and v.is_integer():
            return f"{int(v)}"
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
        return f"{v:.{digits}f} {unit}".strip()
    return str(value)


def trial_title(t: Trial | TrialSummary) -> str:
    leg = "both feet" if t.leg == "both" else f"{t.leg} leg" if t.leg else ""
    return f"{DRILL_TITLES.get(t.drill, t.drill)} · {leg} · {t.condition or ''}".strip(" ·")


def list_text(t: TrialSummary) -> str:
    """One line of a trial list: when, what, and the status unless completed."""
    return (f"{t.started[5:16].replace('T', ' ')}  {trial_title(t)}"
            + ("" if t.status == "completed" else f"  ({t.status})"))


@dataclass
class TrialCop:
    t_s: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    total_n: np.ndarray
    active: np.ndarray      # bool per sample: recorded during the ACTIVE phase
    seq: np.ndarray


def load_cop(storage: Storage, trial: Trial) -> TrialCop:
    """The trial's samples through the calibration its session used."""
    s = storage.read_samples(trial.id)
    session = storage.session(trial.session_id)
    cal = default_calibration(session.board_id, session.firmware)   # a Wii board's own nominal
    if session.calibration_id:
        try:
            cal = storage.calibration(session.calibration_id)
        except StorageError:
            pass
    forces = cal.forces_n(s.counts.astype(float))
    total, x, y = cop_from_forces(forces, cal.geometry)
    active = np.array([p == "active" for p in s.phase], dtype=bool)
    return TrialCop(s.t_s, x, y, total, active, s.seq)


def ellipse95(cop: TrialCop, points: int = 100):
    """Sway metrics of the ACTIVE part and the 95 % prediction ellipse as (x, y) arrays."""
    sel = cop.active & np.isfinite(cop.x_mm)
    if sel.sum() < 20:
        return None, None
    m = sway_metrics(cop.t_s[sel], cop.x_mm[sel], cop.y_mm[sel])
    a, b = m.ellipse95_semi_major_mm, m.ellipse95_semi_minor_mm
    th = math.radians(m.ellipse95_angle_deg)
    u = np.linspace(0, 2 * math.pi, points)
    ex = a * np.cos(u) * math.cos(th) - b * np.sin(u) * math.sin(th) + m.mean_x_mm
    ey = a * np.cos(u) * math.sin(th) + b * np.sin(u) * math.cos(th) + m.mean_y_mm
    return m, np.column_stack([ex, ey])


def reach_polygon(metrics: dict) -> np.ndarray | None:
    """Maximal-excursion points of a clock trial in clock-angle order, in board mm (the same
    polygon whose area is the edge-reach score)."""
    targets = [t for t in metrics.get("targets", []) if t.get("angle_rad") is not None]
    if len(targets) < 3:
        return None
    cx, cy = (metrics.get("centre_mm") or (0.0, 0.0))[:2]
    targets.sort(key=lambda t: t["angle_rad"] % (2 * math.pi))
    r = np.array([max(t.get("max_excursion_mm") or 0.0, 0.0) for t in targets])
    a = np.array([t["angle_rad"] for t in targets])
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])


def quality_flags(trial: Trial, cop: TrialCop | None) -> list[str]:
    """Data-quality notes for the coach: lost frames, touchdowns, steps off, stops."""
    flags = []
    if trial.status != "completed":
        flags.append(f"Trial {trial.status}: {trial.reason or 'no reason recorded'}")
    if cop is not None and len(cop.seq) > 1:
        gaps = (np.diff(cop.seq) % 65536) - 1
        lost = int(gaps[(gaps > 0) & (gaps < 32768)].sum())
        if lost:
            flags.append(f"{lost} frames lost in transmission")
    uneven = uneven_sampling(cop.t_s) if cop is not None else None
    if uneven:
        flags.append(uneven)
    m = trial.metrics
    if m.get("touchdowns"):
        flags.append(f"{m['touchdowns']} touchdown(s) of the other foot")
    if m.get("targets_timed_out"):
        flags.append(f"{m['targets_timed_out']} target(s) not reached in time")
    if cop is not None and len(cop.total_n) and cop.active.any():
        lo = np.nanmin(cop.total_n[cop.active])
        if lo < 50:
            flags.append("Load dropped to nearly zero during the trial (stepped off?)")
    return flags or ["No data-quality problems found"]


#: Sample intervals whose 5th and 95th percentiles differ by more than this factor are called
#: uneven (a serial board's jitter is tens of microseconds; a Wii board's 10-33 ms is uneven).
UNEVEN_INTERVAL_RATIO = 1.5


def uneven_sampling(t_s) -> str | None:
    """A data-quality note when the sample intervals vary a lot, else None. The metrics are
    computed after resampling to the median rate (analysis.filters.prepare)."""
    dt = np.diff(np.asarray(t_s, float))
    dt = dt[dt > 0]
    if len(dt) < 10:
        return None
    lo, med, hi = np.percentile(dt, [5, 50, 95])
    if hi <= UNEVEN_INTERVAL_RATIO * lo:
        return None
    return (f"Uneven sampling: intervals {lo * 1e3:.0f}-{hi * 1e3:.0f} ms (5-95 %), median "
            f"{med * 1e3:.0f} ms; the metrics use the samples resampled to {1 / med:.0f} Hz")


def headline_metrics(trial: Trial) -> list[tuple[str, str]]:
    """(label, value with unit) of the scores a coach reads first, then the rest."""
    m = trial.metrics
    first = {"clock": ("edge_reach_score_pct", "targets_reached", "weakest_hour",
                       "weakest_max_excursion_pct"),
             "single-leg": ("time_held_s", "touchdowns", "time_to_stabilisation_s",
                            "ellipse95_area_mm2", "mean_velocity_mm_s"),
             "quiet": ("ellipse95_area_mm2", "mean_velocity_mm_s", "path_length_mm", "rms_mm",
                       "left_pct", "right_pct")}.get(trial.drill, ())
    rows = [(label_of(k), fmt(m[k], k)) for k in first if k in m]
    for k, v in m.items():
        if k in first or isinstance(v, (dict, list)) or k.startswith("board_"):
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            rows.append((label_of(k), fmt(v, k)))
    return rows


@dataclass
class TrialDetail:
    """All the Results screen draws for one trial."""

    trial: Trial
    cop: TrialCop
    rows: list[tuple[str, str]]       # headline_metrics
    flags: list[str]                  # quality_flags
    sway: object | None               # SwayMetrics of the ACTIVE part (None: too short)
    ellipse: np.ndarray | None        # its 95 % ellipse, (N, 2) mm
    reach: np.ndarray | None          # reach_polygon (clock trials)


def load_detail(storage: Storage, trial_id: int,
                cancelled: Callable[[], bool] = lambda: False) -> TrialDetail | None:
    """Read a trial and its samples and compute what is drawn of it (slow: seconds of samples
    and the sway metrics). None when ``cancelled()`` turns true on the way."""
    trial = storage.trial(trial_id)
    cop = load_cop(storage, trial)
    if cancelled():
        return None
    sway, ellipse = ellipse95(cop)
    return TrialDetail(trial, cop, headline_metrics(trial), quality_flags(trial, cop), sway,
                       ellipse, reach_polygon(trial.metrics))


def warm_up() -> None:
    """Import what the sway metrics use (scipy's filters: 1-2 s the first time), on a short
    made-up trace; run it on the worker so no click pays for it on the UI thread."""
    t = np.arange(200) / 80.0
    sway_metrics(t, 5 * np.sin(t), 3 * np.cos(1.3 * t))
