"""Per-rep and per-set numbers of an exercise, from the set's samples (no state, no Qt).

Definitions and references: docs/exercises.md. The COP is low-passed the way every COP metric
is (analysis.filters.prepare); the depth of a squat or hinge comes from the rep detector (the
area of the descent's leaky COM velocity, exercises.reps).
"""

from __future__ import annotations

import math

import numpy as np

from stancelab.analysis.filters import prepare
from stancelab.analysis.single_leg import time_to_stabilisation
from stancelab.exercises.reps import RepTimes
from stancelab.processing import Block

NAN = float("nan")


def _span(block: Block, t0: float, t1: float) -> slice:
    t = block.t_s
    return slice(int(np.searchsorted(t, t0, "left")), int(np.searchsorted(t, t1, "right")))


def ml_control(block: Block, t0: float, t1: float) -> tuple[float, float]:
    """(range, mean speed) of the medio-lateral COP between t0 and t1: frontal-plane control."""
    sl = _span(block, t0, t1)
    t, x, y = block.t_s[sl], block.cop_x_mm[sl], block.cop_y_mm[sl]
    try:
        p = prepare(t, x, y)
    except ValueError:
        return NAN, NAN
    span = float(p.t_s[-1] - p.t_s[0])
    if span <= 0:
        return NAN, NAN
    return float(np.ptp(p.x_mm)), float(np.abs(np.diff(p.x_mm)).sum() / span)


def stabilisation_s(block: Block, t0: float, t1: float) -> float:
    """Step-up: seconds from load-on until the COP settles (analysis.single_leg's definition)."""
    sl = _span(block, t0, t1)
    try:
        return time_to_stabilisation(block.t_s[sl], block.cop_x_mm[sl], block.cop_y_mm[sl])
    except ValueError:
        return NAN


def rep_metrics(kind: str, number: int, rep: RepTimes, block: Block, weight_n: float,
                balance_end_s: float, hold_s: float, cfg) -> dict:
    """One rep's numbers and its outcome ('counted', 'partial', 'touchdown', 'short hold').

    ``balance_end_s``: when the balance after the rep ended (the next rep, a touchdown, the
    step-down or the end of the set); the balance held is capped at ``hold_s``."""
    duration = rep.end_s - rep.start_s
    td_time = sum(min(b, rep.end_s) - max(a, rep.start_s) for a, b in rep.touchdowns)
    out = {"rep": number, "start_s": rep.start_s, "end_s": rep.end_s, "duration_s": duration,
           "time_under_load_s": max(duration - td_time, 0.0),
           "touchdown": bool(rep.touchdowns)}
    if kind == "step-up":
        tts = stabilisation_s(block, rep.start_s, rep.end_s)
        out["time_to_stabilisation_s"] = tts
        steady_from = rep.start_s + (tts if math.isfinite(tts) else duration)
        first_td = min((a for a, _ in rep.touchdowns), default=math.inf)
        held = max(min(balance_end_s, first_td, rep.end_s) - steady_from, 0.0)
        out["balance_held_s"] = min(held, hold_s)
        ml0, ml1 = rep.loaded_s or rep.start_s, min(first_td, rep.end_s)
    else:
        out["depth_mm"] = NAN if rep.touchdowns else 1000.0 * rep.depth_m
        out["balance_held_s"] = min(max(balance_end_s - rep.end_s, 0.0), hold_s)
        ml0, ml1 = rep.start_s, rep.end_s
        if kind == "rdl":
            out["knee_drive"] = rep.knee_drive_s is not None
    ex, vel = ml_control(block, ml0, ml1) if not rep.touchdowns or kind == "step-up" \
        else (NAN, NAN)
    out["ml_excursion_mm"], out["ml_velocity_mm_s"] = ex, vel
    if rep.touchdowns:
        out["outcome"] = "touchdown"
    elif kind == "step-up":
        out["outcome"] = "counted" if out["balance_held_s"] >= hold_s - 1e-9 else "short hold"
    else:
        out["outcome"] = "counted"
    return out


def classify_depth(reps: list[dict], cfg, final: bool = False) -> None:
    """Squat / RDL: a rep shallower than min_depth_mm, or than partial_fraction x the reference
    depth, is a partial rep. During the set the reference is the median of the earlier counted
    reps (three or more); at the end of the set (``final``) every rep is judged again against
    the median of all the set's reps without a touchdown, so a partial first rep is caught."""
    if final:
        for r in reps:
            if r["outcome"] == "partial":
                r["outcome"] = "counted"
        all_d = [r["depth_mm"] for r in reps if r["outcome"] == "counted"
                 and math.isfinite(r.get("depth_mm", NAN))]
        ref = float(np.median(all_d)) if len(all_d) >= 3 else 0.0
        for r in reps:
            d = r.get("depth_mm", NAN)
            if r["outcome"] == "counted" and math.isfinite(d) and \
                    (d < cfg.min_depth_mm or d < cfg.partial_fraction * ref):
                r["outcome"] = "partial"
        return
    depths: list[float] = []
    for r in reps:
        d = r.get("depth_mm", NAN)
        if r["outcome"] != "counted" or not math.isfinite(d):
            continue
        ref = float(np.median(depths)) if len(depths) >= 3 else 0.0
        if d < cfg.min_depth_mm or d < cfg.partial_fraction * ref:
            r["outcome"] = "partial"
        else:
            depths.append(d)


def _mean(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else NAN


def _cv_pct(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    if len(v) < 2 or np.mean(v) == 0:
        return NAN
    return float(100.0 * np.std(v, ddof=1) / np.mean(v))


def set_metrics(kind: str, reps: list[dict], planned: int, touchdowns: int,
                active_s: float) -> dict:
    """A set's numbers: reps done against planned, means of the reps, consistency (CV)."""
    counted = [r for r in reps if r["outcome"] == "counted"]
    clean = [r for r in reps if not r["touchdown"]]
    out = {"reps_planned": planned, "reps_detected": len(reps), "reps_counted": len(counted),
           "partial_reps": sum(r["outcome"] == "partial" for r in reps),
           "touchdown_reps": sum(r["outcome"] == "touchdown" for r in reps),
           "touchdowns": touchdowns, "reps_done_pct": 100.0 * len(counted) / planned,
           "rep_duration_s": _mean(r["duration_s"] for r in counted),
           "rep_duration_cv_pct": _cv_pct([r["duration_s"] for r in counted]),
           "time_under_load_s": float(sum(r["time_under_load_s"] for r in reps)),
           "balance_held_s": _mean(r["balance_held_s"] for r in reps),
           "balance_total_s": float(sum(r["balance_held_s"] for r in reps)),
           "ml_excursion_mm": _mean(r["ml_excursion_mm"] for r in clean),
           "ml_velocity_mm_s": _mean(r["ml_velocity_mm_s"] for r in clean),
           "duration_s": active_s}
    if kind == "step-up":
        out["time_to_stabilisation_s"] = _mean(r["time_to_stabilisation_s"] for r in reps)
    else:
        out["depth_mm"] = _mean(r["depth_mm"] for r in counted)
        out["depth_cv_pct"] = _cv_pct([r["depth_mm"] for r in counted])
    if kind == "rdl":
        out["knee_drives"] = sum(bool(r.get("knee_drive")) for r in reps)
    out["reps"] = reps
    return out
