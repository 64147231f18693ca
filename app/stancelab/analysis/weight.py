"""Weight distribution in two-leg stance: left/right and front/back shares in %.

Two views that answer different questions: the corner forces say how the load sits on the
board's halves; the COP relative to the printed foot marks says how it is shared between the
athlete's feet (lever rule, each foot's load acting at its mark).
"""

from __future__ import annotations

import numpy as np

from stancelab.geometry import TWO_LEG_MARKS_MM


def weight_from_forces(forces_n) -> dict[str, float]:
    """Shares of the time-summed corner forces (N, 4), channel order FL, FR, BL, BR.

    Rows with a NaN are ignored. Equals the lever rule of the COP between the cell lines."""
    f = np.asarray(forces_n, dtype=float)
    if f.ndim != 2 or f.shape[1] != 4:
        raise ValueError(f"forces must have shape (N, 4) in the order FL, FR, BL, BR, not {f.shape}")
    f = f[np.isfinite(f).all(axis=1)]
    per_cell = f.sum(axis=0)
    total = float(per_cell.sum())
    if f.shape[0] == 0 or total <= 0:
        raise ValueError("no load on the board: nobody was standing on it")
    fl, fr, bl, br = (float(v) for v in per_cell)
    return {
        "left_pct": 100.0 * (fl + bl) / total,
        "right_pct": 100.0 * (fr + br) / total,
        "front_pct": 100.0 * (fl + fr) / total,
        "back_pct": 100.0 * (bl + br) / total,
        "mean_load_n": total / f.shape[0],
    }


def weight_from_cop(x_mm, y_mm, marks_mm=None, foot_length_mm: float | None = None
                    ) -> dict[str, float]:
    """Feet shares from the mean COP relative to the left and right foot marks.

    right % = (mean x - left mark x) / (right mark x - left mark x) * 100, clipped to 0-100.
    front % (when the foot length is known): the toe end's share if each foot were a beam
    resting on its heel tip and its toe tip, i.e. 50 + 100 * (mean y - mark y) / foot length.
    """
    marks = marks_mm or TWO_LEG_MARKS_MM
    (xl, yl), (xr, yr) = marks["left"], marks["right"]
    x = np.asarray(x_mm, dtype=float)
    y = np.asarray(y_mm, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise ValueError("the COP is undefined throughout: nobody was standing on the board")
    mx, my = float(x[ok].mean()), float(y[ok].mean())
    right = float(np.clip(100.0 * (mx - xl) / (xr - xl), 0.0, 100.0))
    ap_offset = my - (yl + yr) / 2.0
    out = {"left_pct": 100.0 - right, "right_pct": right,
           "ml_offset_mm": mx - (xl + xr) / 2.0, "ap_offset_mm": ap_offset}
    if foot_length_mm:
        front = float(np.clip(50.0 + 100.0 * ap_offset / foot_length_mm, 0.0, 100.0))
        out.update(front_pct=front, back_pct=100.0 - front)
    return out
