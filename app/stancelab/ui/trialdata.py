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
from stancelab.analysis.assessment import (
    DURATION_METRICS,
    SENSOR_FAULT,
    Assessment,
    assess,
    shown_status,
    trial_values,
)
from stancelab.analysis.reach import trial_reach_polygon
from stancelab.calibration import cop_from_forces, default_calibration
from stancelab.station.assessment import load_assessment, record_of
from stancelab.storage import HEADLINE_KEYS, Storage, StorageError, Trial, TrialSummary

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
    """One line of a trial list: when, what, and the status unless completed (a trial recorded
    through a sensor fault says so: assessment.shown_status)."""
    status = shown_status(t.status, t.reason)
    return (f"{t.started[5:16].replace('T', ' ')}  "
            + ("" if status == "completed" else f"({status}) ") + trial_title(t))


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
    polygon whose area is the edge-reach score: analysis.reach.trial_reach_polygon, moved to
    the foot centre the trial was scored around)."""
    pts = trial_reach_polygon(metrics)
    if pts is None:
        return None
    return pts + np.asarray((metrics.get("centre_mm") or (0.0, 0.0))[:2], dtype=float)


def quality_flags(trial: Trial, cop: TrialCop | None, a: Assessment | None = None) -> list[str]:
    """Data-quality notes for the coach: a sensor fault, why the assessment leaves the trial out,
    lost frames, touchdowns, steps off, stops."""
    flags = []
    status = shown_status(trial.status, trial.reason, trial.metrics)
    _, excluded = a.place_of(trial.id) if a is not None else (None, None)
    unscored = " — not scored" if excluded is not None else ""
    if status != "completed":
        flags.append(f"Trial {status}: {trial.reason or 'no reason recorded'}{unscored}")
    elif excluded is not None:
        flags.append(f"Not scored: {excluded.reason}")
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
    """(label, value with unit) of the numbers the assessment scores this trial by
    (assessment.trial_values: single-leg sway over its fixed window only), the coach's first
    scores (storage.HEADLINE_KEYS) first. A trial recorded through a sensor fault has none."""
    m = trial.metrics
    values = trial_values(record_of(trial))
    if shown_status(trial.status, trial.reason, m) != trial.status:
        return []
    window = m.get("window") or {}
    win = f" ({window['window_s']:g} s window)" if window.get("window_s") else ""
    first = HEADLINE_KEYS.get(trial.drill, ())

    def label(k: str) -> str:
        if trial.drill == "single-leg" and k in DURATION_METRICS:
            return label_of(k) + win
        if trial.drill == "clock" and k not in m:
            return label_of(k) + " (mean over targets)"
        return label_of(k)

    rows = [(label(k), fmt(values[k], k)) for k in first if k in values]
    if trial.drill == "single-leg" and window and not window.get("sway"):
        rows.append((f"Sway{win}", f"not comparable: {window.get('reason') or 'too short'}"))
    rows += [(label(k), fmt(v, k)) for k, v in values.items()
             if k not in first and not k.startswith("board_")]
    return rows


def verdict_lines(a: Assessment | None, trial: Trial) -> list[str]:
    """Where the assessment puts this trial: not scored and why, or the session group it counts
    in, the left/right verdict on its drill's first score and the progress since baseline."""
    if a is None:
        return []
    group, excluded = a.place_of(trial.id)
    if excluded is not None:
        return [f"Not scored ({excluded.status}): {excluded.reason}"]
    if group is None:
        return []
    leg = f"{group.leg} leg" if group.leg in ("left", "right") else group.leg or ""
    cond = f", {group.condition}" if group.condition else ""
    lines = [f"Scored with {group.n} valid trial(s) of session {group.session_id} ({leg}{cond})"]
    side = a.side_of(group.drill, group.condition)
    first = [k for k in HEADLINE_KEYS.get(group.drill, ()) if k in group.metrics][:1]
    if side is not None and side.sessions.get(group.leg) == group.session_id:
        for r in side.rows:
            if r.metric in first:
                lines.append(f"{label_of(r.metric)}: left {fmt(r.left, r.metric)}, right "
                             f"{fmt(r.right, r.metric)} — {r.verdict}")
    for p in a.progress:
        if (p.drill, p.leg, p.condition, p.reassessment_session) == \
                (group.drill, group.leg, group.condition, group.session_id) and p.metric in first:
            mdc = "—" if p.mdc95 is None else fmt(p.mdc95, p.metric)
            lines.append(f"Since baseline (session {p.baseline_session}): "
                         f"{p.change:+.3g} {unit_of(p.metric)}, MDC95 {mdc} — {p.verdict}")
    return lines


@dataclass
class TrialDetail:
    """All the Results screen draws for one trial."""

    trial: Trial
    cop: TrialCop
    rows: list[tuple[str, str]]       # headline_metrics
    flags: list[str]                  # quality_flags
    verdict: list[str]                # verdict_lines: the assessment's word on this trial
    status: str                       # shown_status ("sensor fault" for a faulty cell)
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
    athlete_id = storage.session(trial.session_id).athlete_id
    a = load_assessment(storage, athlete_id) if athlete_id is not None else \
        assess([record_of(trial)])
    if cancelled():
        return None
    status = shown_status(trial.status, trial.reason, trial.metrics)
    # Through a faulty cell the COP is bent: no sway figure is drawn from it either.
    sway, ellipse = ellipse95(cop) if status != SENSOR_FAULT else (None, None)
    return TrialDetail(trial, cop, headline_metrics(trial), quality_flags(trial, cop, a),
                       verdict_lines(a, trial), status, sway, ellipse,
                       reach_polygon(trial.metrics))


def warm_up() -> None:
    """Import what the sway metrics use (scipy's filters: 1-2 s the first time), on a short
    made-up trace; run it on the worker so no click pays for it on the UI thread."""
    t = np.arange(200) / 80.0
    sway_metrics(t, 5 * np.sin(t), 3 * np.cos(1.3 * t))
