"""The virtual athlete doing the programme's exercises: squats, RDLs with a knee drive, step-ups.

:class:`ExercisePerformer` wraps a :class:`~stancelab.sim.athlete.VirtualAthlete` (its sway,
stepping on and off, its trials) and is what the virtual board weighs: on top of the athlete's
loads it adds, per rep,

- the vertical force of the centre of mass moving: F = W + m a, with the COM following
  minimum-jerk profiles (Flash & Hogan 1985, J Neurosci 5:1688) down by the rep's depth and up
  again (the force of a controlled squat measured on a force plate is this shape: below body
  weight, above it, below it, back to it; Linthorne 2001, Am J Phys 69:1198, for the force-COM
  relation). The RDL ends in a knee drive: the swing leg (16 % of body mass: thigh 10.0 %, leg
  4.65 %, foot 1.45 %, Winter, Biomechanics and Motor Control of Human Movement, Table 4.1)
  raised about 0.25 m, lifting the body's COM by 0.04 m in 0.35 s;
- medio-lateral COP wobble during the movement (frontal-plane control; the weaker leg wobbles
  more) and a medial drift at the bottom (the knee moving in over the foot);
- touchdowns of the other foot (the floor takes 30-50 % of the weight) after a rep, in the
  balance hold (the weaker leg more often: shorter balance), or at the bottom of a rep;
- partial reps (40 % of the depth).

Depths, tempos and wobble amplitudes are assumptions stated in docs/exercises.md (no published
COP or force trace of these exercises gives them all); what is published is the shape. Each rep's
truth is kept in :attr:`ExercisePerformer.truth`. Reproducible for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stancelab.drills.events import Event, Phase, PhaseChanged, TrialStarted
from stancelab.sim.athlete import VirtualAthlete, corner_loads
from stancelab.sim.autopilot import Autopilot

#: COM drop of a full rep (m): one-leg squat to about 60-80 deg of knee flexion, RDL hinge.
DEPTH_M = {"squat": 0.20, "rdl": 0.15}
#: Descent and ascent times (s), drawn uniformly per rep: a controlled tempo.
TEMPO_S = {"squat": ((1.5, 2.0), (1.2, 1.6)), "rdl": ((1.4, 1.8), (1.1, 1.4))}
KNEE_DRIVE_M, KNEE_DRIVE_S = 0.04, 0.35
PARTIAL_DEPTH = 0.4
#: ML COP wobble during a rep, healthy leg: amplitude (mm) and frequency (Hz); x (1 + 2 w).
WOBBLE_MM, WOBBLE_HZ, MEDIAL_DRIFT_MM = 5.0, 1.3, 4.0
VERTICAL_BAND_HZ = (0.5, 3.0)
#: Touchdown probability per rep's balance hold: base x (1 + 5 w) (as the single-leg model).
TOUCHDOWN_PER_WEAKNESS = 5.0


@dataclass
class RepTruth:
    kind: str
    leg: str
    start_s: float
    end_s: float                 # the movement is over (squat/RDL) or the step-down (step-up)
    depth_m: float
    partial: bool
    touchdown: tuple | None      # (start_s, duration_s, share of weight on the floor)
    where: str                   # "hold" or "bottom" for a touchdown
    balance_s: float             # balance held after the rep until a touchdown (or planned)
    knee_drive: bool = False


def _mj_acc(t: np.ndarray, t0: float, dur: float, dist: float) -> np.ndarray:
    tau = np.clip((t - t0) / dur, 0.0, 1.0)
    inside = (t > t0) & (t < t0 + dur)
    return np.where(inside, dist / dur ** 2 * (60 * tau - 180 * tau ** 2 + 120 * tau ** 3), 0.0)


def _smooth_box(t: np.ndarray, t0: float, dur: float, ramp: float = 0.1) -> np.ndarray:
    def mj(u):
        u = np.clip(u, 0.0, 1.0)
        return u ** 3 * (10 - 15 * u + 6 * u * u)
    return mj((t - t0) / ramp) * (1 - mj((t - t0 - dur + ramp) / ramp))


class ExercisePerformer:
    """A VirtualBoard load function: the athlete's loads plus the reps. Steering calls
    (set_stance, set_eyes, lean_to) and attributes go to the athlete."""

    def __init__(self, athlete: VirtualAthlete, *, seed: int = 0, partial_rate: float = 0.0,
                 touchdown_rate: float = 0.0, bottom_touchdown_share: float = 0.0,
                 knee_drive_miss_rate: float = 0.0):
        self.athlete = athlete
        # The COM's height is bounded, so its vertical acceleration has no power at 0 Hz: the
        # athlete's vertical noise is band-passed 0.5-3 Hz (the default low-pass lets the
        # integrated velocity wander by 4-5 cm/s, as large as a slow squat's). Set before the
        # athlete's first sample: it applies to sway processes created from then on.
        athlete.vertical_band = VERTICAL_BAND_HZ
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
        self.partial_rate = partial_rate
        self.touchdown_rate = touchdown_rate
        self.bottom_touchdown_share = bottom_touchdown_share
        self.knee_drive_miss_rate = knee_drive_miss_rate
        self._moves: list[tuple[float, float, float]] = []     # (t0, duration, COM dz m)
        self._wobbles: list[tuple[float, float, float, float, float]] = []
        self._dips: list[tuple[float, float, float]] = []
        self.truth: list[RepTruth] = []

    def __getattr__(self, name):
        return getattr(self.athlete, name)

    def set_stance(self, stance, t_s):
        return self.athlete.set_stance(stance, t_s)

    def set_eyes(self, eyes, t_s):
        return self.athlete.set_eyes(eyes, t_s)

    def lean_to(self, target, t_s):
        return self.athlete.lean_to(target, t_s)

    # ------------------------------------------------------------ the load function
    def __call__(self, t_s) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        cop, total = self.athlete.state(t)
        m = self.athlete.mass_kg
        t_lo, t_hi = float(t.min()), float(t.max())
        acc = np.zeros(len(t))
        for t0, dur, dz in self._moves:
            if t0 < t_hi and t0 + dur > t_lo:
                acc += _mj_acc(t, t0, dur, dz)
        on = total > 0.5 * m * 9.81
        total = total + np.where(on, m * acc, 0.0)
        for t0, t1, amp, hz, drift in self._wobbles:
            if t0 < t_hi and t1 > t_lo:
                env = np.where((t > t0) & (t < t1), np.sin(np.pi * (t - t0) / (t1 - t0)), 0.0)
                cop[:, 0] += env * (amp * np.sin(2 * np.pi * hz * (t - t0)) + drift * env)
        for t0, dur, share in self._dips:
            if t0 < t_hi and t0 + dur > t_lo:
                total = total * (1 - share * _smooth_box(t, t0, dur))
        return corner_loads(cop, total, self.athlete.geometry)

    # ------------------------------------------------------------ doing a set
    def perform_set(self, kind: str, leg: str, reps: int, hold_s: float, t0: float) -> float:
        """Schedule a set starting at ``t0`` (board time); returns when its last rep ends."""
        if kind == "step-up":
            return self._step_ups(leg, reps, hold_s, t0)
        return self._movements(kind, leg, reps, hold_s, t0)

    def _weak(self, leg: str) -> float:
        return self.athlete.weakness[leg]

    def _td_prob(self, leg: str) -> float:
        return min(self.touchdown_rate * (1 + TOUCHDOWN_PER_WEAKNESS * self._weak(leg)), 0.9)

    def _wobble(self, leg: str, t0: float, t1: float) -> None:
        w, rng = self._weak(leg), self.rng
        side = 1.0 if leg == "left" else -1.0       # medial is toward the other foot
        self._wobbles.append((t0, t1, WOBBLE_MM * (1 + 2 * w) * rng.uniform(0.8, 1.2),
                              WOBBLE_HZ * rng.uniform(0.8, 1.2),
                              side * MEDIAL_DRIFT_MM * (1 + 3 * w)))

    def _movements(self, kind, leg, reps, hold_s, t0) -> float:
        rng = self.rng
        t = t0
        knee_up = False
        for _ in range(reps):
            partial = bool(rng.uniform() < self.partial_rate)
            depth = DEPTH_M[kind] * rng.uniform(0.9, 1.1) * (PARTIAL_DEPTH if partial else 1.0)
            (d0, d1), (a0, a1) = TEMPO_S[kind]
            down, up, pause = rng.uniform(d0, d1), rng.uniform(a0, a1), rng.uniform(0.05, 0.2)
            self._moves.append((t, down, -depth))
            if knee_up:      # the swing leg comes down with the hinge
                self._moves.append((t, 0.6, -KNEE_DRIVE_M))
            self._moves.append((t + down + pause, up, depth))
            end = t + down + pause + up
            drive = kind == "rdl" and rng.uniform() >= self.knee_drive_miss_rate
            if drive:
                kd0 = t + down + pause + 0.8 * up
                self._moves.append((kd0, KNEE_DRIVE_S, KNEE_DRIVE_M))
                end = max(end, kd0 + KNEE_DRIVE_S)
            knee_up = drive
            self._wobble(leg, t, end)
            td, where, balance = None, "", hold_s + rng.uniform(0.4, 0.8)
            nxt = end + balance
            if rng.uniform() < self._td_prob(leg):
                share, dur = rng.uniform(0.3, 0.5), rng.uniform(0.4, 1.0)
                if rng.uniform() < self.bottom_touchdown_share:
                    where, td = "bottom", (t + down - 0.2, dur, share)
                else:
                    u = rng.uniform(0.2, 0.8) * hold_s
                    where, td, balance = "hold", (end + u, dur, share), u
                    nxt = end + u + dur + 1.0
                self._dips.append(td)
            self.truth.append(RepTruth(kind, leg, t, end, depth, partial, td, where,
                                       min(balance, hold_s), drive))
            t = nxt
        return t

    def _step_ups(self, leg, reps, hold_s, t0) -> float:
        rng, a = self.rng, self.athlete
        t = t0
        for _ in range(reps):
            a.set_stance("off", t)
            t_on = t + 0.8 + rng.uniform(1.0, 1.5)
            a.set_stance(leg, t_on)
            self._moves.append((t_on, 0.7, 0.05))        # the push up onto the step
            stay = 0.8 + 2.5 + hold_s + rng.uniform(0.3, 0.8)
            self._wobble(leg, t_on, t_on + 1.5)
            td, balance = None, hold_s
            if rng.uniform() < self._td_prob(leg):
                u = rng.uniform(0.3, 0.8) * hold_s
                td = (t_on + 3.3 + u, rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.5))
                self._dips.append(td)
                balance = u
            self.truth.append(RepTruth("step-up", leg, t_on, t_on + stay, 0.0, False, td,
                                       "hold" if td else "", balance))
            t = t_on + stay
        a.set_stance("off", t)
        return t + 0.8

    @property
    def last_end_s(self) -> float:
        return max((r.end_s for r in self.truth), default=-math.inf)


class ExercisePilot(Autopilot):
    """The drill autopilot (step on for the weigh-in, off to rest) plus: when a set goes
    ACTIVE, the performer does the set the exercise asks for (from the trial's settings)."""

    def __init__(self, target, performer: ExercisePerformer, **kw):
        super().__init__(target, **kw)
        self.performer = performer
        self._board = target if hasattr(target, "board_time_s") else None
        self._set = None

    def _handle(self, e: Event) -> None:
        super()._handle(e)
        if isinstance(e, TrialStarted):
            s = e.settings
            self._set = (e.drill, e.leg, int(s.get("reps", 1)), float(s.get("hold_s", 2.0))) \
                if e.drill in ("squat", "rdl", "step-up") else None
        elif isinstance(e, PhaseChanged) and e.phase == Phase.ACTIVE and self._set:
            now = e.t_s if self._board is None else max(e.t_s, self._board.board_time_s)
            if self._board is not None:
                with self._board.lock:
                    self.performer.perform_set(*self._set, now + 0.5)
            else:
                self.performer.perform_set(*self._set, now + 0.5)
