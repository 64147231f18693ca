"""Small IIR filters in numpy: Butterworth design, the bilinear transform, filtering with state.

Why not scipy.signal: importing it costs about 1 s of CPU (most of it wrapping its functions
for other array libraries), and the simulated athlete (the default board) needs its filters on
the way to the first COP painted. The design functions take scipy's own steps, so their
coefficients are the same, and ``lfilter_exact`` runs scipy.signal.lfilter's transposed direct
form II with the same operations in the same order, so the simulator's output is unchanged to
the last bit; tests/test_iir.py checks all of them against scipy.signal on random input.

``lfilter_exact`` loops in Python (about 0.3 us per sample for a 4th-order filter): right for
the simulator, which filters a few samples per tick and 60 s when a trial starts, and for the
analysis low-pass of short traces while scipy.signal is not loaded (``butter_lowpass_sos2`` and
``lfilter_zi``, exact: analysis/filters.py), not for hour-long traces (the analysis low-pass
keeps scipy.signal for those, imported on first use).
"""

from __future__ import annotations

import math

import numpy as np


def butter_lowpass(order: int, cutoff_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Digital Butterworth low-pass ``(b, a)`` (as scipy.signal.butter(order, cutoff_hz,
    fs=fs_hz)): the analog prototype's poles, pre-warped to the cut-off, mapped by the bilinear
    transform, the zeros all at z = -1, unit gain at DC. The same steps as scipy's, so the
    coefficients agree to the last bit or two."""
    if order < 1:
        raise ValueError("the filter order must be at least 1")
    if not 0.0 < cutoff_hz < fs_hz / 2:
        raise ValueError(f"cut-off {cutoff_hz:g} Hz must be between 0 and {fs_hz / 2:g} Hz")
    wo = _warp(cutoff_hz, fs_hz)
    poles = -np.exp(1j * np.pi * np.arange(-order + 1, order, 2) / (2 * order)) * wo
    return _bilinear_zpk(np.array([], complex), poles, wo ** order)


def butter_lowpass_sos2(cutoff_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The one second-order section ``(b, a)`` of scipy.signal.butter(2, cutoff_hz, fs=fs_hz,
    output="sos") bit for bit (the analysis low-pass's default design): ``butter_lowpass``'s
    steps with numpy's tan, as scipy takes them (``math.tan`` can differ in the last bit, which
    the simulator's coefficients keep). tests/test_iir.py compares them over thousands of
    rates."""
    if not 0.0 < cutoff_hz < fs_hz / 2:
        raise ValueError(f"cut-off {cutoff_hz:g} Hz must be between 0 and {fs_hz / 2:g} Hz")
    wo = 2.0 * 2.0 * float(np.tan(np.pi * (2.0 * cutoff_hz / fs_hz) / 2.0))
    poles = -np.exp(1j * np.pi * np.arange(-1, 2, 2) / 4) * wo
    return _bilinear_zpk(np.array([], complex), poles, wo ** 2)


def lfilter_zi(b, a) -> np.ndarray:
    """The state that starts (b, a) in the steady state of a unit step, as
    scipy.signal.lfilter_zi computes it (the same linear system, solved by numpy): scale it by
    the first sample to start a trace without a transient."""
    b, a = _normalise(b, a)
    n = len(a)
    if n < 2:
        return np.zeros(0)
    companion = np.zeros((n - 1, n - 1))
    companion[0, :] = -a[1:]
    companion[1:, :-1] += np.eye(n - 2)
    return np.linalg.solve(np.eye(n - 1) - companion.T, b[1:] - a[1:] * b[0])


def butter_bandpass1(lo_hz: float, hi_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Digital Butterworth band-pass of prototype order 1 (as scipy.signal.butter(1, [lo, hi],
    "band", fs=fs_hz)): the prototype pole -1 moved to the pre-warped band, bilinear-mapped."""
    if not 0.0 < lo_hz < hi_hz < fs_hz / 2:
        raise ValueError(f"band {lo_hz:g}-{hi_hz:g} Hz must lie inside 0-{fs_hz / 2:g} Hz")
    w1, w2 = _warp(lo_hz, fs_hz), _warp(hi_hz, fs_hz)
    bw, wo = w2 - w1, math.sqrt(w1 * w2)
    p = np.array([-1.0 + 0j]) * bw / 2
    root = np.sqrt(p ** 2 - wo ** 2)
    return _bilinear_zpk(np.zeros(1, complex), np.concatenate([p + root, p - root]), bw)


def _warp(f_hz: float, fs_hz: float) -> float:
    # scipy's pre-warp on its normalised scale (sample rate 2): 4 tan(pi f / fs), rad/s.
    return 2.0 * 2.0 * math.tan(math.pi * (2.0 * f_hz / fs_hz) / 2.0)


def _bilinear_zpk(z: np.ndarray, p: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Analog zeros, poles, gain on the sample-rate-2 scale -> digital (b, a)."""
    fs2 = 4.0
    zd = np.append((fs2 + z) / (fs2 - z), -np.ones(len(p) - len(z)))
    pd = (fs2 + p) / (fs2 - p)
    kd = k * np.real(np.prod(fs2 - z) / np.prod(fs2 - p))
    return kd * np.real(np.poly(zd)), np.real(np.poly(pd))


def bilinear(num, den, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous transfer function num(s)/den(s) (highest power first) to a digital ``(b, a)``
    by the bilinear transform, as scipy.signal.cont2discrete((num, den), dt, "bilinear") does
    it (controller canonical state space, Tustin's map of it, back to a transfer function), so
    the coefficients are the same: the simulator's 4th-order filters, whose poles sit near
    z = 1, magnify any difference in them."""
    num = np.atleast_1d(np.asarray(num, dtype=float))
    den = np.atleast_1d(np.asarray(den, dtype=float))
    if len(num) > len(den) or den[0] == 0:
        raise ValueError("bilinear needs a proper transfer function with den[0] != 0")
    num, den = num / den[0], den / den[0]
    n = len(den) - 1
    num = np.concatenate([np.zeros(n + 1 - len(num)), num])
    A = np.vstack([-den[None, 1:], np.eye(n - 1, n)])
    B = np.eye(n, 1)
    C = num[None, 1:] - num[0] * den[None, 1:]
    ima = np.eye(n) - 0.5 * dt * A
    ad = np.linalg.solve(ima, np.eye(n) + 0.5 * dt * A)
    bd = np.linalg.solve(ima, dt * B)
    cd = np.linalg.solve(ima.T, C.T).T
    dd = num[0] + 0.5 * (C @ bd)[0, 0]
    a = np.poly(ad)
    return np.poly(ad - bd @ cd) + (dd - 1.0) * a, a


def _normalise(b, a) -> tuple[np.ndarray, np.ndarray]:
    b = np.atleast_1d(np.asarray(b, dtype=float))
    a = np.atleast_1d(np.asarray(a, dtype=float))
    if a[0] == 0:
        raise ValueError("a[0] must be non-zero")
    m = max(len(a), len(b))
    b = np.pad(b, (0, m - len(b))) / a[0]
    a = np.pad(a, (0, m - len(a))) / a[0]
    return b, a


def lfilter_exact(b, a, x, zi) -> tuple[np.ndarray, np.ndarray]:
    """1-D ``x`` through (b, a) from state ``zi`` sample by sample; ``(y, zf)`` bit for bit as
    scipy.signal.lfilter(b, a, x, zi=zi) (its C loop's operations in its order)."""
    y, zf = ExactFilter(b, a).run(x, [float(v) for v in np.ravel(zi)])
    return y, np.array(zf)


class ExactFilter:
    """``lfilter_exact`` with the coefficients prepared once (the simulator calls it every
    tick with a few samples, where preparing them cost more than filtering)."""

    def __init__(self, b, a) -> None:
        b, a = _normalise(b, a)
        self.order = len(a) - 1
        self._b = [float(v) for v in b]
        self._a = [float(v) for v in a]

    def run(self, x, zi: list[float]) -> tuple[np.ndarray, list[float]]:
        """``x`` from the state ``zi`` (a list of floats) -> (y, the state after, a list)."""
        m, bl, al = self.order, self._b, self._a
        z = list(zi)
        if len(z) != m:
            raise ValueError(f"zi must hold {m} values, got {len(z)}")
        b0 = bl[0]
        xs = np.asarray(x, dtype=float).tolist()
        y = [0.0] * len(xs)
        if m == 2:                               # unrolled: the simulator's vertical filter
            b1, b2, a1, a2 = bl[1], bl[2], al[1], al[2]
            z0, z1 = z
            for i, xn in enumerate(xs):
                yn = z0 + b0 * xn
                z0 = z1 + xn * b1 - yn * a1
                z1 = xn * b2 - yn * a2
                y[i] = yn
            z = [z0, z1]
        elif m == 4:                             # unrolled: the simulator's sway filters
            b1, b2, b3, b4 = bl[1:]
            a1, a2, a3, a4 = al[1:]
            z0, z1, z2, z3 = z
            for i, xn in enumerate(xs):
                yn = z0 + b0 * xn
                z0 = z1 + xn * b1 - yn * a1
                z1 = z2 + xn * b2 - yn * a2
                z2 = z3 + xn * b3 - yn * a3
                z3 = xn * b4 - yn * a4
                y[i] = yn
            z = [z0, z1, z2, z3]
        else:
            for i, xn in enumerate(xs):
                yn = z[0] + b0 * xn if m else b0 * xn
                for k in range(m - 1):
                    z[k] = z[k + 1] + xn * bl[k + 1] - yn * al[k + 1]
                if m:
                    z[m - 1] = xn * bl[m] - yn * al[m]
                y[i] = yn
        return np.array(y), z
