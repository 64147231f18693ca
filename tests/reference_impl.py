"""A second, deliberately plain implementation of every sway metric, for cross-checking.

Written separately from sway.py and sharing none of its code or library calls: Python lists
and loops only, the 2x2 eigenvalues from the characteristic polynomial, the F quantile from
the closed form of the F(2, m) distribution, the hull by Andrew's monotone chain. Slow by
design (seconds for an hour); used by the tests, never by the app.
"""

from __future__ import annotations

import math


def f2_quantile(p: float, m: int) -> float:
    """Quantile of F(2, m): its CDF is 1 - (1 + 2x/m)^(-m/2), so x = m/2 ((1-p)^(-2/m) - 1)."""
    return m / 2.0 * ((1.0 - p) ** (-2.0 / m) - 1.0)


def eig2_symmetric(a: float, b: float, c: float) -> tuple[float, float, float]:
    """Eigenvalues (larger, smaller) of [[a, b], [b, c]] and the larger one's angle (deg)."""
    half_trace = (a + c) / 2.0
    disc = math.sqrt(((a - c) / 2.0) ** 2 + b * b)
    big, small = half_trace + disc, half_trace - disc
    angle = 0.5 * math.degrees(math.atan2(2.0 * b, a - c))  # in (-90, 90]
    return big, small, angle


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def monotone_chain_area(points) -> float:
    pts = sorted({(float(px), float(py)) for px, py in points})
    if len(pts) < 3:
        return 0.0
    lower: list = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = lower[:-1] + upper[:-1]
    twice = 0.0
    for i in range(len(hull)):
        x1, y1 = hull[i]
        x2, y2 = hull[(i + 1) % len(hull)]
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2.0


def reference_sway(x_mm, y_mm, fs_hz: float) -> dict[str, float]:
    x = [float(v) for v in x_mm]
    y = [float(v) for v in y_mm]
    n = len(x)
    T = (n - 1) / fs_hz
    mx = sum(x) / n
    my = sum(y) / n
    xc = [v - mx for v in x]
    yc = [v - my for v in y]
    sxx = syy = sxy = 0.0
    for i in range(n):
        sxx += xc[i] * xc[i]
        syy += yc[i] * yc[i]
        sxy += xc[i] * yc[i]
    big, small, angle = eig2_symmetric(sxx / (n - 1), sxy / (n - 1), syy / (n - 1))
    small = max(small, 0.0)
    k = 2.0 * (n - 1) * (n + 1) / (n * (n - 2)) * f2_quantile(0.95, n - 2)
    path = path_ml = path_ap = swept = 0.0
    for i in range(n - 1):
        dx = x[i + 1] - x[i]
        dy = y[i + 1] - y[i]
        path += math.sqrt(dx * dx + dy * dy)
        path_ml += abs(dx)
        path_ap += abs(dy)
        swept += abs(xc[i + 1] * yc[i] - yc[i + 1] * xc[i])
    dist = 0.0
    for i in range(n):
        dist += math.sqrt(xc[i] ** 2 + yc[i] ** 2)
    mean_dist = dist / n
    return {
        "n_samples": n,
        "fs_hz": fs_hz,
        "duration_s": T,
        "ellipse95_area_mm2": math.pi * k * math.sqrt(big * small),
        "ellipse95_semi_major_mm": math.sqrt(k * big),
        "ellipse95_semi_minor_mm": math.sqrt(k * small),
        "ellipse95_angle_deg": angle,
        "hull_area_mm2": monotone_chain_area(zip(x, y)),
        "path_length_mm": path,
        "path_length_ml_mm": path_ml,
        "path_length_ap_mm": path_ap,
        "mean_velocity_mm_s": path / T,
        "mean_velocity_ml_mm_s": path_ml / T,
        "mean_velocity_ap_mm_s": path_ap / T,
        "rms_mm": math.sqrt((sxx + syy) / n),
        "rms_ml_mm": math.sqrt(sxx / n),
        "rms_ap_mm": math.sqrt(syy / n),
        "range_ml_mm": max(x) - min(x),
        "range_ap_mm": max(y) - min(y),
        "mean_distance_mm": mean_dist,
        "mean_frequency_hz": (path / T) / (2.0 * math.pi * mean_dist),
        "sway_area_per_s_mm2_s": swept / (2.0 * T),
        "mean_x_mm": mx,
        "mean_y_mm": my,
    }
