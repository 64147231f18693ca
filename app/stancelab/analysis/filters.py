"""Analysis settings and COP preprocessing: gaps, uniform resampling, low-pass.

Every number StanceLab reports depends on these choices, so they travel as one frozen
``AnalysisSettings`` whose ``to_dict()`` is written next to every result.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import asdict, dataclass

import numpy as np

from stancelab.analysis import iir

#: Fewest samples any sway metric accepts (the exact 95 % ellipse needs n > 2 and a covariance).
MIN_SAMPLES = 4
#: Longest trace (padded, per axis) run through iir.py's Python loop while scipy.signal is not
#: loaded (its import costs about 0.65 s of CPU; the loop about 0.35 us a sample and pass, so
#: at most about 2 ms per trace): a stabilogram's 10 s window at 80 Hz is 819. 30 s trials
#: and longer go to scipy, which filters them 20-40x faster.
LOOP_MAX_SAMPLES = 1200
#: Samples the loop may filter in one process before scipy.signal is imported after all (about
#: 50 ms of looping), so that many short traces cost at most that much more.
_loop_budget = [150_000]


@dataclass(frozen=True)
class AnalysisSettings:
    """How a COP trace is prepared before metrics.

    Default: Butterworth design order 2, cut-off 10 Hz, run forward-backward (sosfiltfilt).
    Forward-backward doubles the attenuation, so the effective response is 4th order, zero
    phase, -6 dB (gain 0.5) at 10 Hz. Quiet-stance sway lives below ~2 Hz and voluntary reach
    movements below ~5 Hz, so 10 Hz keeps the movement and removes load-cell noise and the
    board's mechanical ringing; zero phase keeps reaction times and event times unshifted.
    """

    filter_enabled: bool = True
    filter_order: int = 2          # Butterworth design order (effective order x2 when zero_phase)
    cutoff_hz: float = 10.0
    zero_phase: bool = True        # True: forward-backward (sosfiltfilt); False: forward only
    resample_hz: float | None = None  # None: the median rate of the timestamps
    max_gap_s: float = 0.1         # NaN gaps up to this are bridged by linear interpolation

    def __post_init__(self):
        if self.filter_order < 1:
            raise ValueError("filter_order must be at least 1")
        if self.cutoff_hz <= 0:
            raise ValueError("cutoff_hz must be positive")
        if self.resample_hz is not None and self.resample_hz <= 0:
            raise ValueError("resample_hz must be positive or None")
        if self.max_gap_s < 0:
            raise ValueError("max_gap_s must be >= 0")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["filter_description"] = self.describe()
        return d

    def describe(self) -> str:
        if not self.filter_enabled:
            return "no low-pass filter"
        run = "forward-backward (zero phase)" if self.zero_phase else "forward only"
        eff = 2 * self.filter_order if self.zero_phase else self.filter_order
        return (f"Butterworth design order {self.filter_order}, cut-off {self.cutoff_hz:g} Hz, "
                f"{run}, effective order {eff}")

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisSettings:
        keys = {"filter_enabled", "filter_order", "cutoff_hz", "zero_phase", "resample_hz",
                "max_gap_s"}
        return cls(**{k: v for k, v in d.items() if k in keys})


DEFAULT_SETTINGS = AnalysisSettings()
NO_FILTER = AnalysisSettings(filter_enabled=False)


@dataclass(frozen=True)
class Prepared:
    """A COP trace on a uniform time base, ready for metrics."""

    t_s: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    fs_hz: float
    dropped_s: float   # time left out: NaN at the ends and segments cut off by long gaps
    bridged_s: float   # time inside short NaN gaps filled by interpolation
    resampled: bool


@functools.lru_cache(maxsize=64)
def _design(order: int, cutoff_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Second-order sections and their unit-step initial state (cached: designing costs more
    than filtering a 30 s trial). Order 2, the default, is one section that iir.py designs
    bit for bit as scipy does, without importing scipy.signal."""
    if order == 2:
        b, a = iir.butter_lowpass_sos2(cutoff_hz, fs_hz)
        return np.concatenate([b, a])[None, :], iir.lfilter_zi(b, a)[None, :]
    from scipy.signal import butter, sosfilt_zi  # imported on first use: ~1 s at start-up

    sos = butter(order, cutoff_hz, btype="low", fs=fs_hz, output="sos")
    return sos, sosfilt_zi(sos)


def _padlen(sos: np.ndarray) -> int:
    # scipy's sosfiltfilt default padding, stated here so the short-input check matches it.
    n_zero = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - n_zero)


def lowpass(x_mm: np.ndarray, y_mm: np.ndarray, fs_hz: float,
            settings: AnalysisSettings) -> tuple[np.ndarray, np.ndarray]:
    """Low-pass both axes as the settings say (returns the inputs when the filter is off)."""
    if not settings.filter_enabled:
        return x_mm, y_mm
    if settings.cutoff_hz >= fs_hz / 2:
        raise ValueError(f"cut-off {settings.cutoff_hz:g} Hz must be below half the sample rate "
                         f"({fs_hz / 2:g} Hz); lower cutoff_hz or turn the filter off")
    sos, zi1 = _design(settings.filter_order, float(settings.cutoff_hz), float(fs_hz))
    sos = sos.copy()
    xy = np.vstack([x_mm, y_mm])
    n = xy.shape[1]

    pad = _padlen(sos)
    if len(sos) == 1 and _loop_allowed(n + 2 * pad):
        # A short trace (a stabilogram's window) before anything loaded scipy.signal: iir.py's
        # loop is bit for bit lfilter's (tests/test_iir.py), so only the time differs.
        _loop_budget[0] -= 4 * (n + 2 * pad)
        section = iir.ExactFilter(sos[0, :3], sos[0, 3:])

        def run(sig):
            return np.vstack([section.run(row, (zi1[0] * row[0]).tolist())[0] for row in sig])
    else:
        run = _scipy_run(sos, zi1)
    if not settings.zero_phase:
        out = run(xy)
        return out[0], out[1]
    if n <= pad:
        raise ValueError(f"{n} samples ({n / fs_hz:.2f} s) are too short for the "
                         f"forward-backward filter (needs more than {pad}); record a longer "
                         "trial or analyse with the filter off")
    # scipy.signal.sosfiltfilt's algorithm (odd extension, steady-state start both ways),
    # inlined to skip its per-call set-up, which dominates on 30 s trials.
    ext = np.concatenate([2 * xy[:, :1] - xy[:, pad:0:-1], xy,
                          2 * xy[:, -1:] - xy[:, -2:-pad - 2:-1]], axis=1)
    back = run(run(ext)[:, ::-1])
    out = back[:, ::-1][:, pad:-pad]
    return np.ascontiguousarray(out[0]), np.ascontiguousarray(out[1])


def _loop_allowed(samples: int) -> bool:
    return samples <= LOOP_MAX_SAMPLES and _loop_budget[0] > 0 and \
        "scipy.signal" not in sys.modules


def _scipy_run(sos: np.ndarray, zi1: np.ndarray):
    from scipy.signal import lfilter, sosfilt

    def run(sig):
        # Start in the steady state of the first sample (no step transient). One section
        # (design order <= 2) runs through lfilter, the same transposed direct form II as
        # sosfilt with half its per-call overhead, which matters on 30 s trials.
        if len(sos) == 1:
            return lfilter(sos[0, :3], sos[0, 3:], sig, axis=-1, zi=zi1[0] * sig[:, :1])[0]
        return sosfilt(sos, sig, axis=-1, zi=zi1[:, None, :] * sig[:, 0][None, :, None])[0]

    return run


def prepare(t_s, x_mm, y_mm, settings: AnalysisSettings = DEFAULT_SETTINGS) -> Prepared:
    """Drop undefined COP, put the trace on a uniform time base and low-pass it.

    NaN (nobody on the board) is never turned into zero. Leading and trailing NaN are dropped;
    interior gaps up to ``max_gap_s`` are bridged by linear interpolation; a longer gap splits
    the trace and the longest valid part is kept (``dropped_s`` says how much was left out).
    """
    t = np.asarray(t_s, dtype=float).ravel()
    x = np.asarray(x_mm, dtype=float).ravel()
    y = np.asarray(y_mm, dtype=float).ravel()
    if not (t.size == x.size == y.size):
        raise ValueError(f"t, x and y must have the same length ({t.size}, {x.size}, {y.size})")
    if t.size < MIN_SAMPLES:
        raise ValueError(f"{t.size} samples are too few to analyse; need at least {MIN_SAMPLES}")
    if not np.isfinite(t.sum()) and not np.isfinite(t).all():
        raise ValueError("timestamps contain NaN or inf; fix or drop those samples")
    dt = np.diff(t)
    if dt.min() <= 0:
        raise ValueError("timestamps must strictly increase; sort the samples and drop duplicates")
    span_s = float(t[-1] - t[0])

    bridged_s = 0.0
    # A finite sum means every value is finite: the common case costs no boolean arrays.
    all_valid = bool(np.isfinite(x.sum()) and np.isfinite(y.sum()))
    if not all_valid:
        valid = np.isfinite(x) & np.isfinite(y)
        all_valid = bool(valid.all())
    if not all_valid:
        vi = np.flatnonzero(valid)
        if vi.size < MIN_SAMPLES:
            raise ValueError("the COP is undefined in almost every sample (is anyone on the "
                             "board? check the calibration's minimum load)")
        tv = t[vi]
        gaps = np.flatnonzero(np.diff(tv) > settings.max_gap_s + 1e-12)
        starts = np.concatenate([[0], gaps + 1])
        ends = np.concatenate([gaps, [vi.size - 1]])
        k = int(np.argmax(tv[ends] - tv[starts]))
        seg = vi[starts[k]:ends[k] + 1]
        t, x, y = t[seg[0]:seg[-1] + 1], x[seg[0]:seg[-1] + 1], y[seg[0]:seg[-1] + 1]
        valid = valid[seg[0]:seg[-1] + 1]
        all_valid = bool(valid.all())
        dt = np.diff(t)
        if not all_valid:
            tv = t[valid]
            gap_dt = np.diff(tv)
            step = np.median(dt)
            bridged_s = float(np.sum(gap_dt[gap_dt > 1.5 * step] - step))
    if t.size < MIN_SAMPLES or t[-1] <= t[0]:
        raise ValueError("too few valid COP samples to analyse")

    if settings.resample_hz:
        fs = float(settings.resample_hz)
    elif all_valid and dt.max() - dt.min() <= 0.01 * (t[-1] - t[0]) / (t.size - 1):
        fs = (t.size - 1) / float(t[-1] - t[0])  # already even: the exact mean rate
    else:
        fs = float(1.0 / np.median(dt))
    step = 1.0 / fs
    uniform = all_valid and dt.max() - step <= 0.01 * step and step - dt.min() <= 0.01 * step
    if uniform:
        resampled = False
    else:
        m = int(np.floor((t[-1] - t[0]) * fs + 1e-9)) + 1
        if m < MIN_SAMPLES:
            raise ValueError(f"only {m} samples at {fs:g} Hz; record a longer trial")
        grid = t[0] + np.arange(m) * step
        if not all_valid:
            t, x, y = t[valid], x[valid], y[valid]
        x = np.interp(grid, t, x)
        y = np.interp(grid, t, y)
        t = grid
        resampled = True
    x, y = lowpass(x, y, fs, settings)
    dropped_s = max(0.0, span_s - float(t[-1] - t[0]))
    return Prepared(t, x, y, fs, dropped_s, bridged_s, resampled)
