"""Left versus right, and baseline versus latest, over dicts of metric values.

Asymmetry = |L - R| / max(|L|, |R|) * 100 (0 when both are 0): symmetric in L and R, bounded
0-100 %, and independent of which side is stronger. Whether lower or higher is better comes
from METRIC_DIRECTION; metrics without a direction get no "better" side.
"""

from __future__ import annotations

import math

LOWER = "lower"
HIGHER = "higher"

METRIC_DIRECTION: dict[str, str] = {
    # sway: less is steadier
    **{k: LOWER for k in (
        "ellipse95_area_mm2", "ellipse95_semi_major_mm", "ellipse95_semi_minor_mm",
        "hull_area_mm2", "path_length_mm", "path_length_ml_mm", "path_length_ap_mm",
        "mean_velocity_mm_s", "mean_velocity_ml_mm_s", "mean_velocity_ap_mm_s", "rms_mm",
        "rms_ml_mm", "rms_ap_mm", "range_ml_mm", "range_ap_mm", "mean_distance_mm",
        "sway_area_per_s_mm2_s")},
    # single leg
    "time_held_s": HIGHER, "touchdowns": LOWER, "time_to_stabilisation_s": LOWER,
    # reach
    "reaction_time_s": LOWER, "movement_time_s": LOWER, "movement_velocity_mm_s": HIGHER,
    "endpoint_excursion_pct": HIGHER, "max_excursion_mm": HIGHER, "max_excursion_pct": HIGHER,
    "directional_control_pct": HIGHER, "time_in_zone_s": HIGHER, "longest_hold_s": HIGHER,
    "edge_reach_score_pct": HIGHER, "weakest_max_excursion_pct": HIGHER,
    # exercises (docs/exercises.md): frontal-plane control, balance after the reps, reps done
    "ml_excursion_mm": LOWER, "ml_velocity_mm_s": LOWER, "balance_held_s": HIGHER,
    "reps_counted": HIGHER, "rep_duration_cv_pct": LOWER,
}
# Deliberately without a direction: mean_frequency_hz, ellipse angle, mean position, n, fs.

DEFAULT_FLAG_PCT = 10.0


def finite_number(v) -> float | None:
    """A metric value as a finite float; None for missing, flags, text, NaN and inf."""
    if type(v) is float:          # most values: the model reads 140,000 for a year's report
        return v if math.isfinite(v) else None
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def asymmetry_pct(left: float, right: float) -> float:
    big = max(abs(left), abs(right))
    return 0.0 if big == 0 else 100.0 * abs(left - right) / big


def better_side(metric: str, left: float, right: float) -> str | None:
    """'left', 'right', 'equal', or None when the metric has no better direction."""
    direction = METRIC_DIRECTION.get(metric)
    if direction is None:
        return None
    if left == right:
        return "equal"
    left_better = left < right if direction == LOWER else left > right
    return "left" if left_better else "right"


def compare_sides(left: dict, right: dict, flag_pct: float = DEFAULT_FLAG_PCT) -> list[dict]:
    """One row per metric present and numeric on both sides, in the left dict's order."""
    rows = []
    for metric, lv in left.items():
        lnum, rnum = finite_number(lv), finite_number(right.get(metric))
        if lnum is None or rnum is None:
            continue
        asym = asymmetry_pct(lnum, rnum)
        rows.append({"metric": metric, "left": lnum, "right": rnum,
                     "asymmetry_pct": asym, "better": better_side(metric, lnum, rnum),
                     "direction": METRIC_DIRECTION.get(metric),
                     "flagged": asym > flag_pct})
    return rows


def trend(baseline: dict, latest: dict) -> list[dict]:
    """Change from a baseline session to the latest, in the metric's units and in % of the
    baseline (None when the baseline is 0); 'improved' follows METRIC_DIRECTION."""
    rows = []
    for metric, bv in baseline.items():
        b, v = finite_number(bv), finite_number(latest.get(metric))
        if b is None or v is None:
            continue
        change = v - b
        direction = METRIC_DIRECTION.get(metric)
        if direction is None or change == 0:
            improved = None
        else:
            improved = change < 0 if direction == LOWER else change > 0
        rows.append({"metric": metric, "baseline": b, "latest": v, "change": change,
                     "change_pct": None if b == 0 else 100.0 * change / abs(b),
                     "direction": direction, "improved": improved})
    return rows
