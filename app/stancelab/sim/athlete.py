"""A virtual athlete: quiet-stance sway, leaning toward targets, single-leg touchdowns.

The sway of each axis (medio-lateral x, antero-posterior y) is an inverted pendulum: the body's
centre of mass (COM) moves like a damped second-order system driven by low-pass filtered noise
(the neural "effort"), and the centre of pressure follows COP = COM - c * COM'' with
c = I / (m g h) ~ 0.1 s^2 (Winter 1995), so the COP leads the COM and moves more and faster.
Each condition's parameters put the 95 % prediction-ellipse area, mean velocity and mean
frequency in the ranges reported for healthy adults (docs/simulator.md). Each trial (stance
taken) has its own amplitude and pace, a single-leg trial starts with a step-on transient, and
training sessions reduce the sway (sim/trials.py).

On top of the sway: a deterministic mean COP (where the feet are, plus voluntary leans made of
minimum-jerk movements that start after a reaction time), the total load (body weight, stepping
on and off, touchdowns of the lifted foot beside the board) and a small vertical force
fluctuation. The COP never leaves the base of support (the stance foot, or the convex hull of
both feet): mean + sway goes through a smooth radial soft limit toward the support outline, and
the sway shrinks as the mean COP nears the reach limit, so a weak leg's larger sway does not buy
it a larger reach. Reproducible for a seed, whatever the chunking of queries. Queries come with
non-decreasing times; commands act at ``t_s`` or at the end of what has been generated.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from stancelab.geometry import (
    SINGLE_LEG_MARK_MM,
    TWO_LEG_MARKS_MM,
    BoardGeometry,
    FootModel,
    G,
    convex_hull,
    ray_polygon_distance,
)
from stancelab.sim.sway_process import _DT, GRID_HZ, SwayParams, _SwayProcess
from stancelab.sim.trials import (
    DEFAULT_STEP_ON,
    DEFAULT_VARIABILITY,
    NO_STEP_ON,
    StepOnTransient,
    TrialVariability,
    learning_factor,
    new_epoch,
    overshoot_mm,
    sway_gain,
)

STANCES = ("both", "left", "right", "off")
EYES = ("open", "closed")


# (ML, AP) per (two-leg?, eyes). Chosen with bench/sim_stats.py against the ranges in
# docs/simulator.md.
SWAY = {
    ("both", "open"): (SwayParams(2.2, 0.15, 0.7, 1.5), SwayParams(3.3, 0.15, 0.7, 1.5)),
    ("both", "closed"): (SwayParams(2.7, 0.17, 0.7, 1.7), SwayParams(4.0, 0.17, 0.7, 1.7)),
    ("single", "open"): (SwayParams(5.0, 0.3, 0.7, 1.5), SwayParams(6.5, 0.3, 0.7, 1.5)),
    ("single", "closed"): (SwayParams(8.5, 0.4, 0.6, 1.5), SwayParams(11.0, 0.4, 0.6, 1.5)),
}
#: RMS vertical acceleration of the COM (m/s^2): the load fluctuates by ~0.3 % / ~1 % of weight.
VERTICAL_RMS = {"both": 0.03, "single": 0.1}
#: Reach limit as a fraction of the support edge distance for a healthy leg: the clock drill's
#: default 80 % targets are "hard but reachable" (docs/drills.md); backward stays the shortest
#: reach in mm (heel edge 140 mm, toe edge 118 mm from the foot centre). Why: docs/simulator.md.
REACH_FORWARD, REACH_BACKWARD, REACH_LATERAL, REACH_MEDIAL = 0.92, 0.76, 0.86, 0.90
#: Touchdowns per minute of single-leg stance, healthy leg, eyes open; multipliers below.
TOUCHDOWNS_PER_MIN = 0.5
TOUCHDOWN_EYES_CLOSED = 4.0
TOUCHDOWN_PER_WEAKNESS = 5.0   # rate x (1 + 5 w)
#: Share of body weight the lifted foot takes off the board in a touchdown. At most 0.6, so the
#: board keeps >= 40 % of the weight: a touchdown (tapping down to catch the balance) is not
#: stepping off, which the drills detect below 25 % (StanceSettings.step_off_fraction) and which
#: aborts a trial.
TOUCHDOWN_DEPTH = (0.3, 0.6)
#: Sway near the reach limit: quiet-stance sway x (1 - SWAY_CUT_AT_LIMIT * rho^4),
#: rho = distance of the mean COP from the stance centre / reach limit in that direction.
SWAY_CUT_AT_LIMIT = 0.7
#: The COP follows mean + sway unchanged up to this fraction of the support edge distance; beyond
#: it, it is compressed smoothly (tanh) so that it approaches the edge but never reaches it.
SOFT_LIMIT_KNEE = 0.8
_TABLE_ANGLES = 720
STANCE_SHIFT_S = 0.5           # weight shift between stances
STEP_ON_S = 0.8                # load builds up when stepping on (and off)
CROSSFADE_S = 0.5


class LeanPlan(NamedTuple):
    start_s: float      # when the COP starts moving (command time + reaction time)
    end_s: float
    target_mm: tuple[float, float]   # the mean COP aimed at, after the reach limit


def _min_jerk(tau: np.ndarray) -> np.ndarray:
    tau = np.clip(tau, 0.0, 1.0)
    return tau ** 3 * (10.0 - 15.0 * tau + 6.0 * tau * tau)


def soft_limit(u: np.ndarray, knee: float = SOFT_LIMIT_KNEE) -> np.ndarray:
    """Radial soft saturation of a distance ``u`` in units of the edge distance.

    Identity up to ``knee``, then knee + (1 - knee) tanh((u - knee) / (1 - knee)): continuous
    with a continuous first and second derivative, increasing, and always below 1, so a COP
    moving smoothly outward slows down toward the edge without a velocity jump and never
    crosses it."""
    u = np.asarray(u, dtype=float)
    over = np.maximum(u - knee, 0.0)
    return np.where(u > knee, knee + (1.0 - knee) * np.tanh(over / (1.0 - knee)), u)


class VirtualAthlete:
    """A person on the board; ``athlete(t_s)`` gives the four corner loads (a VirtualBoard load_fn)."""
    vertical_band = (0.0, 3.0)   # Hz: low-pass (lo 0) or band-pass of the vertical COM noise

    def __init__(self, mass_kg: float = 70.0, foot_length_mm: float = 265.0, stance: str = "both",
                 weakness: dict[str, float] | None = None, eyes: str = "open", seed: int = 0,
                 geometry: BoardGeometry | None = None, touchdowns_per_min: float | None = None,
                 reaction_time_s: float = 0.25, history_s: float = 120.0,
                 variability: TrialVariability = DEFAULT_VARIABILITY,
                 step_on: StepOnTransient = DEFAULT_STEP_ON, sessions_trained: int = 0) -> None:
        if not 20.0 <= mass_kg <= 250.0:
            raise ValueError(f"mass {mass_kg} kg is outside 20-250 kg")
        self.mass_kg = float(mass_kg)
        self.foot_length_mm = float(foot_length_mm)
        self.weakness = {"left": 0.0, "right": 0.0}
        for side, w in (weakness or {}).items():
            if side not in self.weakness or not 0.0 <= w <= 1.0:
                raise ValueError(f"weakness must map 'left'/'right' to 0..1, got {weakness!r}")
            self.weakness[side] = float(w)
        self.geometry = geometry or BoardGeometry()
        self.feet = {s: FootModel(self.foot_length_mm, s) for s in ("left", "right")}
        self.touchdowns_per_min = TOUCHDOWNS_PER_MIN if touchdowns_per_min is None \
            else float(touchdowns_per_min)
        self.reaction_time_s = float(reaction_time_s)
        self.history_s = float(history_s)
        self.seed = int(seed)
        root = np.random.SeedSequence(self.seed)
        self._ss_sway, ss_td, ss_plan, ss_trial = root.spawn(4)
        self._td_rng = np.random.default_rng(ss_td)
        self._plan_rng = np.random.default_rng(ss_plan)
        self._check(stance, eyes)
        # Trials (sim/trials.py): per-trial factors, step-on transient, learning.
        self.variability, self.step_on = variability, step_on
        self.learning = learning_factor(sessions_trained)
        self._trial_rng = np.random.default_rng(ss_trial)
        self.epochs = [new_epoch(self._trial_rng, 0.0, stance, self.weakness, variability,
                                 NO_STEP_ON)]   # built standing: already stable
        # Condition timeline: list of (t_s, stance, eyes); loads and bases follow it.
        self._timeline: list[tuple[float, str, str]] = [(0.0, stance, eyes)]
        self._epoch_of = [0]   # the epoch (trial) of each timeline entry
        self._base_steps: list[tuple[float, float, np.ndarray]] = []  # (t0, duration, delta)
        self._base0 = self._base_for(stance)
        self._lean_steps: list[tuple[float, float, np.ndarray]] = []
        self._lean_target = np.zeros(2)   # current final lean offset from the base
        self._load_steps: list[tuple[float, float, float]] = []
        self._load0 = 0.0 if stance == "off" else 1.0
        self._touchdowns: list[tuple[float, float, float]] = []   # (start, duration, depth)
        self._td_next = self._next_candidate(0.0)
        self._sway_seeds = dict(zip([(s, e) for s in ("both", "left", "right") for e in EYES],
                                    self._ss_sway.spawn(6)))
        self._processes: dict[tuple[str, str], _SwayProcess] = {}
        self._tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._g0 = 0                     # grid index of the first stored point
        self._grid = np.zeros((0, 3))    # ML mm, AP mm, vertical m/s^2
        self.plans: list[LeanPlan] = []

    # ------------------------------------------------------------ commands
    @staticmethod
    def _check(stance, eyes):
        if stance not in STANCES:
            raise ValueError(f"stance must be one of {STANCES}, not {stance!r}")
        if eyes not in EYES:
            raise ValueError(f"eyes must be one of {EYES}, not {eyes!r}")

    @property
    def stance(self) -> str:
        return self._timeline[-1][1]

    @property
    def eyes(self) -> str:
        return self._timeline[-1][2]

    def _now(self, t_s: float) -> float:
        return max(float(t_s), self._generated_end_s(), self._timeline[-1][0])

    def set_stance(self, stance: str, t_s: float) -> float:
        """Change stance at t_s ("off" = stepped off the board). Returns when it took effect."""
        self._check(stance, self.eyes)
        t = self._now(t_s)
        old = self.stance
        if stance == old:
            return t
        self._timeline.append((t, stance, self.eyes))
        if stance != "off":
            self.epochs.append(new_epoch(self._trial_rng, t, stance, self.weakness,
                                         self.variability, self.step_on))
        self._epoch_of.append(len(self.epochs) - 1)
        if stance != "off":
            delta = self._base_for(stance) - self._base_final()
            if old == "off":
                self._base_steps.append((t, 1e-6, delta))   # steps on where the marks are
            else:
                self._base_steps.append((t, STANCE_SHIFT_S, delta))
            if np.any(self._lean_target):  # a new stance starts from its foot centre
                self._lean_steps.append((t, STANCE_SHIFT_S, -self._lean_target))
                self._lean_target = np.zeros(2)
        if (old == "off") != (stance == "off"):
            self._load_steps.append((t, STEP_ON_S, 1.0 if old == "off" else -1.0))
        return t

    def set_eyes(self, eyes: str, t_s: float) -> float:
        self._check(self.stance, eyes)
        t = self._now(t_s)
        if eyes != self.eyes:
            self._timeline.append((t, self.stance, eyes))
            self._epoch_of.append(self._epoch_of[-1])
        return t

    def lean_to(self, target_mm, t_s: float) -> LeanPlan:
        """Move the mean COP toward ``target_mm`` (board frame) or back to the centre (None).

        The movement starts after a reaction time and follows a minimum-jerk profile; the target
        is pulled in to this athlete's reach limit in that direction."""
        t = self._now(t_s)
        base = self._base_final()
        if target_mm is None or self.stance == "off":
            offset = np.zeros(2)
        else:
            offset = np.asarray(target_mm, dtype=float) - base
            r = float(np.hypot(*offset))
            if r > 1e-9:
                limit = self.reach_limit_mm(math.atan2(offset[1], offset[0]))
                if r > limit:
                    offset *= limit / r
        delta = offset - self._lean_target
        dist = float(np.hypot(*delta))
        reaction = self.reaction_time_s * float(np.clip(1 + 0.12 * self._plan_rng.standard_normal(),
                                                        0.7, 1.3))
        duration = float(np.clip(0.4 + dist / 120.0, 0.5, 1.6))
        start = t + reaction
        if dist > 0:
            self._lean_steps.append((start, duration, delta))
        self._lean_target = offset
        plan = LeanPlan(start, start + duration, tuple(float(v) for v in base + offset))
        self.plans.append(plan)
        return plan

    # ------------------------------------------------------------ geometry of the stance
    def support_polygon(self, stance: str | None = None) -> np.ndarray:
        """Outline (mm, board frame) of the foot or feet on the board."""
        stance = stance or self.stance
        if stance in ("left", "right"):
            return self.feet[stance].outline() + np.asarray(SINGLE_LEG_MARK_MM)
        pts = np.vstack([self.feet[s].outline() + np.asarray(TWO_LEG_MARKS_MM[s])
                         for s in ("left", "right")])
        return convex_hull(pts)

    def stance_centre_mm(self, stance: str | None = None) -> np.ndarray:
        stance = stance or self.stance
        if stance in ("left", "right"):
            return np.asarray(SINGLE_LEG_MARK_MM, dtype=float)
        return 0.5 * (np.asarray(TWO_LEG_MARKS_MM["left"]) + np.asarray(TWO_LEG_MARKS_MM["right"]))

    def _base_for(self, stance: str) -> np.ndarray:
        if stance == "off":
            return self._base_for("both")
        if stance in ("left", "right"):
            return np.asarray(SINGLE_LEG_MARK_MM, dtype=float)
        wl, wr = self.weakness["left"], self.weakness["right"]
        share_right = 0.5 + 0.1 * (wl - wr)   # the weak side bears a bit less
        left, right = np.asarray(TWO_LEG_MARKS_MM["left"]), np.asarray(TWO_LEG_MARKS_MM["right"])
        return (1 - share_right) * left + share_right * right

    def _base_final(self) -> np.ndarray:
        return self._base0 + sum((d for _, _, d in self._base_steps), np.zeros(2))

    def reach_limit_mm(self, angle_rad: float, stance: str | None = None) -> float:
        """How far from the stance centre this athlete can hold the COP in a direction."""
        stance = stance or self.stance
        centre = self.stance_centre_mm(stance)
        edge = ray_polygon_distance(self.support_polygon(stance) - centre, angle_rad)
        return edge * float(self._reach_fraction(np.asarray(angle_rad, dtype=float), stance))

    def _reach_fraction(self, angle_rad: np.ndarray, stance: str) -> np.ndarray:
        """Reach limit / support edge distance per direction (vectorised)."""
        dx, dy = np.cos(angle_rad), np.sin(angle_rad)
        ap = np.where(dy > 0, REACH_FORWARD, REACH_BACKWARD)
        if stance in ("left", "right"):
            lateral = (dx > 0) == (stance == "right")
            ml = np.where(lateral, REACH_LATERAL, REACH_MEDIAL)
            weak = 1.0 - 0.5 * self.weakness[stance]
        else:
            ml = REACH_LATERAL
            weak = 1.0 - 0.5 * np.where(dx < 0, self.weakness["left"],
                                         self.weakness["right"]) * dx * dx
        return (ap * dy * dy + ml * dx * dx) * weak

    # ------------------------------------------------------------ base of support
    def _support_table(self, stance: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(angles, edge distance, reach limit) around the stance centre, for interpolation."""
        if stance not in self._tables:
            centre = self.stance_centre_mm(stance)
            poly = self.support_polygon(stance) - centre
            ang = np.linspace(-math.pi, math.pi, _TABLE_ANGLES, endpoint=False)
            edge = np.array([ray_polygon_distance(poly, a) for a in ang])
            self._tables[stance] = (ang, edge, edge * self._reach_fraction(ang, stance))
        return self._tables[stance]

    def _bounded(self, stance: str, mean: np.ndarray, sway: np.ndarray) -> np.ndarray:
        """COP on one base of support: sway shrunk near the reach limit, then soft-limited to
        stay inside the support outline."""
        ang, edge, reach = self._support_table(stance)
        centre = self.stance_centre_mm(stance)
        m = mean - centre
        rm = np.hypot(m[:, 0], m[:, 1])
        k = np.ones(len(m))
        lean = rm > 1e-9     # only samples away from the centre need the reach (speed)
        if lean.any():
            lim = np.interp(np.arctan2(m[lean, 1], m[lean, 0]), ang, reach, period=2 * math.pi)
            k[lean] = 1.0 - SWAY_CUT_AT_LIMIT * np.minimum(rm[lean] / lim, 1.0) ** 4
        raw = m + k[:, None] * sway
        r = np.hypot(raw[:, 0], raw[:, 1])
        scale = np.ones(len(r))
        near = np.flatnonzero(r > SOFT_LIMIT_KNEE * edge.min())
        if near.size:
            u = r[near] / np.interp(np.arctan2(raw[near, 1], raw[near, 0]), ang, edge,
                                    period=2 * math.pi)
            out = u > SOFT_LIMIT_KNEE
            scale[near[out]] = soft_limit(u[out], SOFT_LIMIT_KNEE) / u[out]
        return centre + raw * scale[:, None]

    def _support_segments(self) -> list[tuple[float, str]]:
        """(start time, base of support) from the timeline; "off" keeps the two-foot base."""
        out: list[tuple[float, str]] = []
        for t, stance, _ in self._timeline:
            base = "both" if stance == "off" else stance
            if not out or out[-1][1] != base:
                out.append((t, base))
        return out

    def _cop(self, t: np.ndarray, mean: np.ndarray, sway: np.ndarray) -> np.ndarray:
        """Bounded COP; across a stance change the limit blends from the old base of support to
        the new one over the weight shift (STANCE_SHIFT_S), so the COP never jumps."""
        segs = self._support_segments()
        j0 = 0
        for j, (t0, _) in enumerate(segs):
            if t0 + STANCE_SHIFT_S <= t.min():
                j0 = j
        done: dict[str, np.ndarray] = {}

        def on(stance):
            if stance not in done:
                done[stance] = self._bounded(stance, mean, sway)
            return done[stance]

        cop = on(segs[j0][1]).copy()
        for j in range(j0 + 1, len(segs)):
            w = _min_jerk((t - segs[j][0]) / STANCE_SHIFT_S)
            if w.any():
                cop += w[:, None] * (on(segs[j][1]) - on(segs[j - 1][1]))
        return cop

    # ------------------------------------------------------------ sway generation
    def _key(self, stance: str, eyes: str) -> tuple[str, str] | None:
        if stance == "off":
            return None
        return ("both" if stance == "both" else stance, eyes)

    def _process(self, key, freq: float) -> _SwayProcess:
        if key not in self._processes:
            stance, eyes = key
            cond = "both" if stance == "both" else "single"
            ml, ap = SWAY[(cond, eyes)]
            if stance == "both":
                scale = 1.0 + 0.5 * (self.weakness["left"] + self.weakness["right"])
            else:
                scale = 1.0 + self.weakness[stance]
            self._processes[key] = _SwayProcess(ml, ap, VERTICAL_RMS[cond], scale,
                                                self._sway_seeds[key], freq, self.vertical_band)
        return self._processes[key]

    def _generated_end_s(self) -> float:
        return (self._g0 + len(self._grid)) * _DT

    def _switches(self):
        """(grid index where a condition starts, key)."""
        return [(math.ceil(t * GRID_HZ - 1e-9), self._key(s, e)) for t, s, e in self._timeline]

    def _extend(self, t_max: float, t_min: float) -> None:
        need = math.floor(t_max * GRID_HZ) + 2   # grid points [0, need)
        start = self._g0 + len(self._grid)
        if need <= start:
            return
        idx = np.arange(start, need)
        out = np.zeros((len(idx), 3))
        switches = self._switches()
        n_fade = int(CROSSFADE_S * GRID_HZ)
        for j, (i0, key) in enumerate(switches):
            i1 = switches[j + 1][0] + n_fade if j + 1 < len(switches) else need
            lo, hi = max(i0, start), min(i1, need)
            if key is None or hi <= lo:
                continue
            fresh = key not in self._processes
            epoch = self.epochs[self._epoch_of[j]]
            proc = self._process(key, epoch.frequency)
            if lo == i0 and j > 0 and not fresh:
                proc.retune(epoch.frequency)   # a condition that comes back: a new stretch
            seg = proc.next(hi - lo)
            ii = np.arange(lo, hi)
            tt = ii * _DT
            seg[:, :2] = seg[:, :2] * (self.learning * sway_gain(epoch, tt))[:, None] \
                + self.learning * overshoot_mm(epoch, tt, self.step_on)
            w = np.ones(hi - lo)
            if j > 0:
                w *= _min_jerk((ii - i0) / n_fade)
            if j + 1 < len(switches):
                w *= 1.0 - _min_jerk((ii - switches[j + 1][0]) / n_fade)
            out[lo - start:hi - start] += seg * w[:, None]
        self._touchdowns_until(need * _DT)
        self._grid = np.vstack([self._grid, out])
        keep_from = min(need - int(self.history_s * GRID_HZ), int(t_min * GRID_HZ) - 1)
        drop = keep_from - self._g0
        if drop > 0:
            self._grid = self._grid[drop:]
            self._g0 += drop

    # ------------------------------------------------------------ touchdowns
    def _td_max_rate(self) -> float:
        w = max(self.weakness.values())
        return self.touchdowns_per_min * TOUCHDOWN_EYES_CLOSED * (1 + TOUCHDOWN_PER_WEAKNESS * w)

    def _next_candidate(self, t: float) -> float:
        rate = self._td_max_rate()
        return t + self._td_rng.exponential(60.0 / rate) if rate > 0 else math.inf

    def _condition_at(self, t: float) -> tuple[str, str, float]:
        since = 0.0
        cur = self._timeline[0]
        for ev in self._timeline:
            if ev[0] <= t:
                cur = ev
                since = ev[0]
        return cur[1], cur[2], since

    def _touchdowns_until(self, t_end: float) -> None:
        """Thinned Poisson process: candidates at the maximum rate, kept at the current rate."""
        rate_max = self._td_max_rate()
        while self._td_next < t_end:
            t = self._td_next
            u, duration, depth = self._td_rng.uniform(), self._td_rng.uniform(0.3, 1.5), \
                self._td_rng.uniform(*TOUCHDOWN_DEPTH)
            self._td_next = self._next_candidate(t)
            stance, eyes, since = self._condition_at(t)
            if stance not in ("left", "right") or t - since < 1.0:
                continue
            if self._touchdowns and t < sum(self._touchdowns[-1][:2]) + 1.0:
                continue
            rate = self.touchdowns_per_min * (TOUCHDOWN_EYES_CLOSED if eyes == "closed" else 1.0) \
                * (1 + TOUCHDOWN_PER_WEAKNESS * self.weakness[stance])
            if u * rate_max < rate:
                self._touchdowns.append((t, duration, depth))

    @property
    def touchdowns(self) -> list[tuple[float, float, float]]:
        """(start_s, duration_s, fraction of body weight taken by the floor) generated so far."""
        return list(self._touchdowns)

    # ------------------------------------------------------------ outputs
    def _sample_grid(self, t: np.ndarray) -> np.ndarray:
        self._extend(float(t.max()), float(t.min()))
        pos = t * GRID_HZ - self._g0
        if pos.min() < 0:
            raise ValueError(f"times before {self._g0 * _DT:.2f} s are no longer kept "
                             f"(history_s={self.history_s})")
        i = np.minimum(np.floor(pos).astype(np.int64), len(self._grid) - 2)
        f = (pos - i)[:, None]
        return self._grid[i] * (1 - f) + self._grid[i + 1] * f

    @staticmethod
    def _steps(t: np.ndarray, steps, initial) -> np.ndarray:
        out = np.broadcast_to(np.asarray(initial, dtype=float), (len(t),) + np.shape(initial)).copy()
        for t0, dur, delta in steps:
            s = _min_jerk((t - t0) / dur)
            out += s[:, None] * delta if out.ndim == 2 else s * delta
        return out

    def state(self, t_s) -> tuple[np.ndarray, np.ndarray]:
        """Truth: (COP (N, 2) mm, total load (N,) N) at times t_s."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        if len(t) == 0:
            return np.zeros((0, 2)), np.zeros(0)
        g = self._sample_grid(t)
        cop = self._cop(t, self.mean_cop_mm(t), g[:, :2])
        load = self._steps(t, self._load_steps, self._load0)
        for t0, dur, depth in self._touchdowns:
            ramp = 0.1
            inside = _min_jerk((t - t0) / ramp) * (1 - _min_jerk((t - t0 - dur + ramp) / ramp))
            load = load * (1 - depth * inside)
        total = self.mass_kg * (G + g[:, 2]) * np.clip(load, 0.0, None)
        return cop, total

    def mean_cop_mm(self, t_s) -> np.ndarray:
        """Truth: where the athlete means to hold the COP (stance base plus lean), no sway."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        return self._steps(t, self._base_steps, self._base0) \
            + self._steps(t, self._lean_steps, np.zeros(2))

    def cop_mm(self, t_s) -> np.ndarray:
        return self.state(t_s)[0]

    def total_n(self, t_s) -> np.ndarray:
        return self.state(t_s)[1]

    def corner_loads_n(self, t_s) -> np.ndarray:
        """Loads (N, 4) on the cells FL, FR, BL, BR: the bilinear split that gives this COP."""
        cop, total = self.state(t_s)
        return corner_loads(cop, total, self.geometry)

    __call__ = corner_loads_n


def corner_loads(cop_mm: np.ndarray, total_n: np.ndarray, geometry: BoardGeometry) -> np.ndarray:
    """Split a load over four cells at the corners of a rectangle so that sum = total and the
    force-weighted mean position = COP exactly."""
    xs, ys = geometry.cell_x_mm, geometry.cell_y_mm
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    wx = (cop_mm[:, 0] - x0) / (x1 - x0)     # share on the right-hand cells
    wy = (cop_mm[:, 1] - y0) / (y1 - y0)     # share on the front cells
    out = np.empty((len(total_n), 4))
    for c, (cx, cy) in enumerate(geometry.cells_mm):
        fx = wx if cx == x1 else 1 - wx
        fy = wy if cy == y1 else 1 - wy
        out[:, c] = total_n * fx * fy
    return out
