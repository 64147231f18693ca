"""What makes one simulated trial differ from the next: variability, the step-on transient, learning.

A *trial* of the virtual athlete (an *epoch*) starts each time it takes a stance on the board
(``set_stance`` to "both", "left" or "right", and the stance it is built with, which has no
step-on transient: it is already standing). Per epoch:

- **Trial-to-trial variability.** The sway amplitude is multiplied by exp(N(0, amplitude_sd))
  and the pendulum's frequencies (natural and effort corner) by exp(N(0, frequency_sd)), drawn
  from the athlete's own seeded stream. Both legs draw from the same distribution, so a
  symmetric athlete has no systematic left/right difference; the level (condition, weakness,
  learning) is the athlete's own.
- **Step-on transient** (single-leg epochs only). For the first seconds after the foot takes the
  weight the sway is larger, sway x (1 + gain e^(-s/tau)), and the COP overshoots its steady
  place, overshoot_mm x exp(N(0, overshoot_sd)) x e^(-s/tau) (faded in over ramp_s), mostly
  medio-lateral (the body shifting over the stance foot, +-25 degrees), s = seconds since the
  step. On a weak leg tau is x (1 + weak_tau w) and the overshoot x (1 + weak_overshoot w): it
  stabilises later.
- **Learning** across sessions: sway x (1 - LEARNING_MAX (1 - e^(-k / LEARNING_SESSIONS))) after
  k training sessions (``VirtualAthlete(sessions_trained=k)``).

The values, what they are drawn from and what they give through the project's own analysis are in
docs/simulator.md ("Trials" section) and bench/sim_stats.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrialVariability:
    amplitude_sd: float = 0.08    # log-normal sd of the per-trial sway amplitude factor
    frequency_sd: float = 0.05    # log-normal sd of the per-trial frequency factor


@dataclass(frozen=True)
class StepOnTransient:
    gain: float = 0.5             # extra sway at the step: x (1 + gain) at s = 0
    tau_s: float = 1.6            # decay time constant (healthy leg)
    overshoot_mm: float = 45.0    # COP overshoot of its steady place (healthy leg, median)
    overshoot_sd: float = 0.15    # log-normal sd of a trial's overshoot
    ramp_s: float = 0.3           # the overshoot fades in over the first 0.3 s (no velocity jump)
    weak_tau: float = 2.0         # tau x (1 + weak_tau * w) on a leg of weakness w
    weak_overshoot: float = 1.0   # overshoot x (1 + weak_overshoot * w)


DEFAULT_VARIABILITY = TrialVariability()
NO_VARIABILITY = TrialVariability(0.0, 0.0)
DEFAULT_STEP_ON = StepOnTransient()
NO_STEP_ON = StepOnTransient(gain=0.0, overshoot_mm=0.0)
#: Learning: at most 20 % less sway; 1 - e^(-k/8): ~2.4 % after one session, 9 % after 4, 14 %
#: after 8, 19 % after 24 (a model choice, see docs/simulator.md).
LEARNING_MAX = 0.20
LEARNING_SESSIONS = 8.0


def learning_factor(sessions_trained: float) -> float:
    """Sway multiplier after ``sessions_trained`` balance-training sessions (1.0 untrained)."""
    if not sessions_trained >= 0:
        raise ValueError(f"sessions_trained must be 0 or more, not {sessions_trained!r}")
    return 1.0 - LEARNING_MAX * (1.0 - math.exp(-float(sessions_trained) / LEARNING_SESSIONS))


@dataclass(frozen=True)
class Epoch:
    """One trial on the board: its start, stance and its own random factors."""

    t_s: float
    stance: str
    amplitude: float
    frequency: float
    direction: tuple[float, float]   # unit vector of the step-on overshoot (board frame)
    tau_s: float                     # 0: no transient (two-leg stance)
    overshoot_mm: float
    gain: float


def new_epoch(rng: np.random.Generator, t_s: float, stance: str, weakness: dict[str, float],
              variability: TrialVariability, step_on: StepOnTransient) -> Epoch:
    """Draw a trial's factors. The number of draws is fixed, so the stream stays aligned."""
    z_amp, z_freq, z_dir, z_os = rng.standard_normal(4)
    sign = rng.uniform()
    amp = math.exp(variability.amplitude_sd * z_amp)
    freq = math.exp(variability.frequency_sd * z_freq)
    angle = math.radians(25.0) * float(np.clip(z_dir, -2.0, 2.0))   # around the ML axis
    sx = 1.0 if sign < 0.5 else -1.0
    direction = (sx * math.cos(angle), math.sin(angle))
    if stance in ("left", "right"):
        w = weakness.get(stance, 0.0)
        return Epoch(t_s, stance, amp, freq, direction,
                     step_on.tau_s * (1 + step_on.weak_tau * w),
                     step_on.overshoot_mm * math.exp(step_on.overshoot_sd * z_os)
                     * (1 + step_on.weak_overshoot * w), step_on.gain)
    return Epoch(t_s, stance, amp, freq, direction, 0.0, 0.0, 0.0)


def _ramp(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u ** 3 * (10.0 - 15.0 * u + 6.0 * u * u)


def sway_gain(epoch: Epoch, t: np.ndarray) -> np.ndarray:
    """Multiplier of the sway at times t within this epoch (transient included)."""
    g = np.full(len(t), epoch.amplitude)
    if epoch.tau_s > 0 and epoch.gain > 0:
        s = np.maximum(t - epoch.t_s, 0.0)
        g *= 1.0 + epoch.gain * np.exp(-s / epoch.tau_s)
    return g


def overshoot_mm(epoch: Epoch, t: np.ndarray, step_on: StepOnTransient) -> np.ndarray:
    """(N, 2) COP offset of the step-on overshoot (zero for two-leg epochs)."""
    out = np.zeros((len(t), 2))
    if epoch.tau_s <= 0 or epoch.overshoot_mm <= 0:
        return out
    s = np.maximum(t - epoch.t_s, 0.0)
    a = epoch.overshoot_mm * np.exp(-s / epoch.tau_s) * _ramp(s / step_on.ramp_s)
    out[:, 0], out[:, 1] = a * epoch.direction[0], a * epoch.direction[1]
    return out
