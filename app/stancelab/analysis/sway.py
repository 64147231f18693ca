"""Sway metrics of a COP trace (quiet stance, single-leg steady part).

Conventions (docs/metrics.md has the references): positional metrics on mean-removed COP;
T = (n - 1) / fs, the time the n samples span, so a path of n - 1 steps is divided by the
time those steps take; RMS and mean distance use the n denominator; the ellipse uses the
sample covariance (n - 1 denominator) and the exact F-based 95 % prediction region.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from stancelab.analysis.filters import DEFAULT_SETTINGS, MIN_SAMPLES, AnalysisSettings, prepare

PREDICTION_LEVEL = 0.95


@dataclass(frozen=True)
class SwayMetrics:
    n_samples: int
    fs_hz: float
    duration_s: float
    ellipse95_area_mm2: float
    ellipse95_semi_major_mm: float
    ellipse95_semi_minor_mm: float
    ellipse95_angle_deg: float      # major axis, from +x (ML, right) counter-clockwise, (-90, 90]
    hull_area_mm2: float
    path_length_mm: float
    path_length_ml_mm: float
    path_length_ap_mm: float
    mean_velocity_mm_s: float
    mean_velocity_ml_mm_s: float
    mean_velocity_ap_mm_s: float
    rms_mm: float
    rms_ml_mm: float
    rms_ap_mm: float
    range_ml_mm: float
    range_ap_mm: float
    mean_distance_mm: float
    mean_frequency_hz: float
    sway_area_per_s_mm2_s: float
    mean_x_mm: float                # where the sway happened (board frame), before mean removal
    mean_y_mm: float
    settings: dict = field(default_factory=dict)
    preprocessing: dict = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """The numeric metrics only (what comparisons and trends work on)."""
        d = asdict(self)
        d.pop("settings")
        d.pop("preprocessing")
        return d

    def to_dict(self) -> dict:
        return asdict(self)


def prediction_factor(n: int, level: float = PREDICTION_LEVEL) -> float:
    """c in area = pi * c * sqrt(l1 * l2): 2(n-1)(n+1)/(n(n-2)) * F_level(2, n-2)."""
    if n < 3:
        raise ValueError("the prediction ellipse needs at least 3 samples")
    m = n - 2
    # F(2, m) has a closed-form quantile: m/2 * ((1 - level)^(-2/m) - 1) (no scipy needed).
    f_quantile = m / 2.0 * ((1.0 - level) ** (-2.0 / m) - 1.0)
    return 2.0 * (n - 1) * (n + 1) / (n * (n - 2)) * f_quantile


# Samples per block. Metrics are accumulated block by block so that temporaries stay in the
# CPU cache and no hour-long temporary arrays are allocated (page faults dominated otherwise).
_CHUNK = 16384


def _blocks(n: int):
    return range(0, n, _CHUNK)


def _octagon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points extreme in x, x+y, y, y-x, -x, -x-y, -y, x-y (counter-clockwise)."""
    best = np.full(8, -np.inf)
    idx = np.zeros(8, dtype=np.intp)
    for a in _blocks(x.size):
        cx, cy = x[a:a + _CHUNK], y[a:a + _CHUNK]
        s, d = cx + cy, cx - cy
        for k, (arr, sign) in enumerate(((cx, 1), (s, 1), (cy, 1), (d, -1),
                                         (cx, -1), (s, -1), (cy, -1), (d, 1))):
            i = int(np.argmax(arr) if sign > 0 else np.argmin(arr))
            v = sign * float(arr[i])
            if v > best[k]:
                best[k], idx[k] = v, a + i
    return idx


def hull_area(x: np.ndarray, y: np.ndarray) -> float:
    """Convex hull area. Points strictly inside the octagon of extreme points cannot be hull
    vertices and are dropped first (Akl-Toussaint), so qhull sees a few thousand points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 3:
        return 0.0
    idx = _octagon(x, y)
    px, py = x[idx], y[idx]
    ex, ey = np.roll(px, -1) - px, np.roll(py, -1) - py
    # Strictly left of every edge (counter-clockwise): ex*y - ey*x > ex*py - ey*px.
    edges = [(ex[i], ey[i], ex[i] * py[i] - ey[i] * px[i]) for i in range(8)
             if ex[i] != 0.0 or ey[i] != 0.0]
    keep_x, keep_y = [px], [py]
    for a in _blocks(x.size):
        cx, cy = x[a:a + _CHUNK], y[a:a + _CHUNK]
        inside = np.ones(cx.size, dtype=bool)
        for exi, eyi, k in edges:
            inside &= exi * cy - eyi * cx > k
        out = ~inside
        keep_x.append(cx[out])
        keep_y.append(cy[out])
    pts = np.column_stack([np.concatenate(keep_x), np.concatenate(keep_y)])
    from scipy.spatial import ConvexHull, QhullError  # on first use: ~0.4 s at start-up

    try:
        return float(ConvexHull(pts).volume)
    except QhullError:  # all points on a line (or one point): the hull has no area
        return 0.0


def sway_from_uniform(x_mm, y_mm, fs_hz: float) -> dict[str, float]:
    """All sway metrics of an already prepared (uniform, filtered or not) trace."""
    x = np.ascontiguousarray(x_mm, dtype=float)
    y = np.ascontiguousarray(y_mm, dtype=float)
    n = x.size
    if n < MIN_SAMPLES:
        raise ValueError(f"{n} samples are too few for sway metrics; need at least {MIN_SAMPLES}")
    if not (np.isfinite(x.sum()) and np.isfinite(y.sum())):
        raise ValueError("the COP contains NaN or inf; prepare() the trace first")
    T = (n - 1) / fs_hz
    mx, my = float(x.mean()), float(y.mean())

    sxx = syy = sxy = dist_sum = path = path_ml = path_ap = cross_sum = 0.0
    for a in _blocks(n):
        b = min(n, a + _CHUNK + 1)  # one sample of overlap so the differences join up
        xc = x[a:b] - mx
        yc = y[a:b] - my
        m = min(_CHUNK, n - a)  # samples owned by this block
        xo, yo = xc[:m], yc[:m]
        # einsum, not np.dot: BLAS may hand a long dot to helper threads, which stall
        # when other programs share the CPU.
        sxx += float(np.einsum("i,i->", xo, xo))
        syy += float(np.einsum("i,i->", yo, yo))
        sxy += float(np.einsum("i,i->", xo, yo))
        dist_sum += float(np.sqrt(xo * xo + yo * yo).sum())
        if b - a > 1:
            dx, dy = np.diff(xc), np.diff(yc)
            path += float(np.sqrt(dx * dx + dy * dy).sum())
            path_ml += float(np.abs(dx).sum())
            path_ap += float(np.abs(dy).sum())
            cross_sum += float(np.abs(xc[1:] * yc[:-1] - yc[1:] * xc[:-1]).sum())

    cov = np.array([[sxx, sxy], [sxy, syy]]) / (n - 1)
    evals, evecs = np.linalg.eigh(cov)
    l_min, l_max = max(float(evals[0]), 0.0), max(float(evals[1]), 0.0)
    c = prediction_factor(n)
    vx, vy = evecs[:, 1]
    angle = math.degrees(math.atan2(vy, vx))
    if angle <= -90.0:
        angle += 180.0
    elif angle > 90.0:
        angle -= 180.0
    mean_dist = dist_sum / n
    v = path / T
    return {
        "n_samples": n,
        "fs_hz": float(fs_hz),
        "duration_s": T,
        "ellipse95_area_mm2": math.pi * c * math.sqrt(l_min * l_max),
        "ellipse95_semi_major_mm": math.sqrt(c * l_max),
        "ellipse95_semi_minor_mm": math.sqrt(c * l_min),
        "ellipse95_angle_deg": angle,
        "hull_area_mm2": hull_area(x, y),
        "path_length_mm": path,
        "path_length_ml_mm": path_ml,
        "path_length_ap_mm": path_ap,
        "mean_velocity_mm_s": v,
        "mean_velocity_ml_mm_s": path_ml / T,
        "mean_velocity_ap_mm_s": path_ap / T,
        "rms_mm": math.sqrt((sxx + syy) / n),
        "rms_ml_mm": math.sqrt(sxx / n),
        "rms_ap_mm": math.sqrt(syy / n),
        "range_ml_mm": float(x.max() - x.min()),
        "range_ap_mm": float(y.max() - y.min()),
        "mean_distance_mm": mean_dist,
        "mean_frequency_hz": v / (2.0 * math.pi * mean_dist) if mean_dist > 0 else float("nan"),
        "sway_area_per_s_mm2_s": cross_sum / (2.0 * T),
        "mean_x_mm": mx,
        "mean_y_mm": my,
    }


def sway_metrics(t_s, x_mm, y_mm, settings: AnalysisSettings = DEFAULT_SETTINGS) -> SwayMetrics:
    """Sway metrics of a raw COP trace (board frame, mm) with its device timestamps (s)."""
    p = prepare(t_s, x_mm, y_mm, settings)
    vals = sway_from_uniform(p.x_mm, p.y_mm, p.fs_hz)
    pre = {"dropped_s": p.dropped_s, "bridged_s": p.bridged_s, "resampled": p.resampled,
           "mean_removed": True, "duration_convention": "T = (n - 1) / fs",
           "ellipse": "95 % prediction ellipse, exact F form, n-1 covariance"}
    return SwayMetrics(**vals, settings=settings.to_dict(), preprocessing=pre)
