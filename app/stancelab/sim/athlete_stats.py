"""What the virtual athlete is held to, and measurements of it through the project's analysis.

Used by tests/test_sim_athlete.py and bench/sim_stats.py; the ranges and their sources are in
docs/simulator.md.
"""

from __future__ import annotations

import math

import numpy as np

from stancelab.sim.athlete import VirtualAthlete

#: Sway the model aims at, per (stance, eyes, trial seconds): 95 % prediction-ellipse area
#: (mm^2), mean velocity (mm/s), mean frequency (Hz); sources in docs/simulator.md. The tests
#: hold the model to these and bench/sim_stats.py prints them next to the measured values.
TARGET_RANGES = {
    ("both", "open", 60): {"area": (50, 400), "v": (5, 15), "mf": (0.2, 0.7)},
    ("both", "closed", 60): {"area": (80, 700), "v": (7, 25), "mf": (0.2, 0.8)},
    ("left", "open", 30): {"area": (250, 1500), "v": (20, 55), "mf": (0.5, 1.6)},
    ("right", "closed", 30): {"area": (800, 5000), "v": (45, 130), "mf": (0.6, 2.0)},
}


def clock_excursions_pct(leg: str, seed: int, weakness, hold_s: float = 4.0,
                         fs: float = 80.0) -> dict[int, float]:
    """Lean toward each clock target at 100 % of the edge, hold, return to the centre; the
    largest truth-COP excursion along each direction as % of the foot's edge distance."""
    a = VirtualAthlete(stance=leg, weakness=weakness, seed=seed, touchdowns_per_min=0.0)
    foot = a.feet[leg]
    t, out = 2.0, {}
    for hour, x, y in foot.clock_targets(1.0):
        plan = a.lean_to((x, y), t)
        ts = np.arange(plan.start_s, plan.end_s + hold_s, 1 / fs)
        angle = foot.clock_angle(hour)
        along = a.cop_mm(ts) @ np.array([math.cos(angle), math.sin(angle)])
        out[hour] = 100 * along.max() / foot.edge_distance(angle)
        t = a.lean_to(None, ts[-1]).end_s + 1.0
    return out


#: Per single-leg trial, through stancelab.analysis.single_leg (defaults), healthy leg, eyes open:
#: time to stabilisation (s); docs/simulator.md gives the published values it is drawn from.
TTS_RANGE_S = (0.5, 3.0)
#: Trial-to-trial coefficient of variation (%) of one leg's repeated trials, per metric.
CV_RANGE_PCT = {"mean_velocity_mm_s": (7.0, 20.0), "ellipse95_area_mm2": (10.0, 40.0)}
#: Seconds of the drill's lead-in before the timed hold (steady window + countdown).
LEAD_IN_S = 4.0


def single_leg_trials(leg: str, seed: int, n_trials: int = 3, weakness=None, eyes: str = "open",
                      hold_s: float = 30.0, rest_s: float = 10.0, fs: float = 80.0,
                      sessions_trained: int = 0, touchdowns_per_min: float = 0.0, **kw):
    """Single-leg trials as the drill runs them (step on, lead-in, timed hold, step off), scored
    by stancelab.analysis.single_leg on the athlete's truth COP and load sampled at ``fs``."""
    from stancelab.analysis.single_leg import single_leg_metrics

    a = VirtualAthlete(stance="off", seed=seed, weakness=weakness,
                       touchdowns_per_min=touchdowns_per_min, sessions_trained=sessions_trained,
                       **kw)
    foot = a.feet[leg]
    out, t = [], 1.0
    for _ in range(n_trials):
        on = a.set_stance(leg, t)
        a.set_eyes(eyes, on)
        ts = np.arange(on - 0.5, on + LEAD_IN_S + hold_s, 1 / fs)
        cop, load = a.state(ts)
        out.append(single_leg_metrics(ts, cop[:, 0], cop[:, 1], load, a.mass_kg * 9.80665, foot))
        a.set_stance("off", ts[-1])
        t = ts[-1] + rest_s
    return out


def cv_pct(values) -> float:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    return float(100 * v.std(ddof=1) / v.mean()) if len(v) > 1 else float("nan")
