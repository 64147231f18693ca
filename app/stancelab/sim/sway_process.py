"""The virtual athlete's sway as a random process (sim/athlete.py puts it on the board).

Each axis is an inverted pendulum driven by filtered noise (the model is described in
sim/athlete.py and docs/simulator.md); here are its digital filters, designed from the
continuous model by the bilinear transform, and the process that runs them on a 200 Hz grid.
The filters are stancelab.analysis.iir's, which give scipy.signal's coefficients and output to
the last bit without importing it (about 1 s at start-up, on the way to the first COP).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from stancelab.analysis.iir import (
    ExactFilter,
    bilinear,
    butter_bandpass1,
    butter_lowpass,
    lfilter_exact,
)

GRID_HZ = 200.0
_DT = 1.0 / GRID_HZ


@dataclass(frozen=True)
class SwayParams:
    """One axis of sway: COP standard deviation and the pendulum's shape."""

    sd_mm: float
    natural_hz: float   # COM pendulum under postural control
    damping: float
    effort_hz: float    # corner of the 2nd-order low-pass on the driving noise
    c_s2: float = 0.1   # COP - COM lever: c = I / (m g h)


def _design(p: SwayParams) -> tuple[np.ndarray, np.ndarray]:
    """Discrete filter white noise -> COP (unit variance), from the continuous pendulum model."""
    w = 2 * math.pi * p.natural_hz
    tu = 1.0 / (2 * math.pi * p.effort_hz)
    num = [-p.c_s2, 0.0, 1.0]
    den = np.polymul([1.0, 2 * p.damping * w, w * w], np.polymul([tu, 1.0], [tu, 1.0]))
    b, a = bilinear(num, den, _DT)
    h = lfilter_exact(b, a, np.r_[1.0, np.zeros(int(120 * GRID_HZ))], np.zeros(len(a) - 1))[0]
    return b / math.sqrt(float(np.sum(h * h))), a


def _vertical_filter(lo_hz: float, hi_hz: float) -> tuple[np.ndarray, np.ndarray]:
    b, a = butter_bandpass1(lo_hz, hi_hz, GRID_HZ) if lo_hz else \
        butter_lowpass(2, hi_hz, GRID_HZ)
    h = lfilter_exact(b, a, np.r_[1.0, np.zeros(int(20 * GRID_HZ))], np.zeros(len(a) - 1))[0]
    return b / math.sqrt(float(np.sum(h * h))), a


class _SwayProcess:
    """Unit-free sway of one condition: ML, AP COP offsets (mm) and vertical acceleration."""

    def __init__(self, ml: SwayParams, ap: SwayParams, vert_rms: float, scale: float,
                 seed_seq: np.random.SeedSequence, freq: float = 1.0, band=(0.0, 3.0)) -> None:
        self.params, self.band = (ml, ap), band
        self.gains = [ml.sd_mm * scale, ap.sd_mm * scale, vert_rms * scale]
        self.rng, self.seed_seq = np.random.default_rng(seed_seq), seed_seq
        self.retune(freq)

    def retune(self, freq: float) -> None:
        """A trial's own pace: the pendulum's frequencies x freq; restarts the process."""
        self.freq = freq
        self.filters = [_design(replace(p, natural_hz=p.natural_hz * freq,
                                        effort_hz=p.effort_hz * freq)) for p in self.params]
        self.filters.append(_vertical_filter(*self.band))
        self._runners = [ExactFilter(b, a) for b, a in self.filters]
        self.reset()

    def reset(self) -> None:
        self.zi = [[0.0] * run.order for run in self._runners]
        # Start in the stationary regime: run the filters through 60 s of noise first.
        self.next(int(60 * GRID_HZ))

    def next(self, n: int) -> np.ndarray:
        noise = self.rng.standard_normal((n, 3))
        out = np.empty((n, 3))
        for k, run in enumerate(self._runners):
            out[:, k], self.zi[k] = run.run(noise[:, k], self.zi[k])
            out[:, k] *= self.gains[k]
        return out
