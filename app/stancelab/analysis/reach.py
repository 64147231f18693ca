"""Reach (limits-of-stability style) metrics toward one clock target on the stance foot.

Reach is measured from the foot's centre along the target direction, as a percentage of the
distance from the centre to the foot outline's edge in that direction (geometry.FootModel).
Definitions are in docs/metrics.md ("Reach").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from stancelab.analysis.filters import DEFAULT_SETTINGS, AnalysisSettings, prepare
from stancelab.geometry import FootModel, polygon_area


@dataclass(frozen=True)
class ReachSettings:
    onset_mm: float = 5.0              # displacement toward the target that marks a movement
    onset_speed_mm_s: float = 5.0      # onset traced back to where the speed toward it was <= this
    end_speed_fraction: float = 0.10   # primary movement ends below this share of its peak speed
    baseline_s: float = 0.25           # start position: mean COP over this long before the cue

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReachMetrics:
    hour: int
    angle_rad: float
    edge_distance_mm: float
    target_fraction: float
    target_x_mm: float
    target_y_mm: float
    moved: bool                        # False: the COP never moved onset_mm toward the target
    reaction_time_s: float
    movement_time_s: float
    movement_velocity_mm_s: float
    endpoint_excursion_pct: float
    max_excursion_mm: float
    max_excursion_pct: float
    directional_control_pct: float
    time_in_zone_s: float
    longest_hold_s: float
    settings: dict = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items()
                if k in _REACH_METRIC_KEYS}

    def to_dict(self) -> dict:
        return asdict(self)


_REACH_METRIC_KEYS = ("reaction_time_s", "movement_time_s", "movement_velocity_mm_s",
                      "endpoint_excursion_pct", "max_excursion_mm", "max_excursion_pct",
                      "directional_control_pct", "time_in_zone_s", "longest_hold_s")


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[0::2]).max())


def reach_metrics(t_s, x_mm, y_mm, cue_t_s: float, centre_mm, foot: FootModel, hour: int,
                  fraction: float, zone_radius_mm: float,
                  settings: ReachSettings = ReachSettings(),
                  analysis: AnalysisSettings = DEFAULT_SETTINGS) -> ReachMetrics:
    """Metrics of one target attempt: the COP segment around it, the cue time, and where the
    stance foot's centre is on the board (mm)."""
    p = prepare(t_s, x_mm, y_mm, analysis)
    t, x, y, fs = p.t_s, p.x_mm, p.y_mm, p.fs_hz
    angle = foot.clock_angle(hour)
    edge = foot.edge_distance(angle)
    ux, uy = math.cos(angle), math.sin(angle)
    cx, cy = float(centre_mm[0]), float(centre_mm[1])
    along = (x - cx) * ux + (y - cy) * uy
    across = -(x - cx) * uy + (y - cy) * ux
    tx, ty = cx + fraction * edge * ux, cy + fraction * edge * uy

    i0 = int(np.searchsorted(t, cue_t_s, side="left"))
    if i0 >= t.size - 1:
        raise ValueError("the cue comes after the end of the recorded segment")
    before = (t >= cue_t_s - settings.baseline_s) & (t < cue_t_s)
    along0 = float(along[before].mean()) if before.any() else float(along[i0])

    v_along = np.gradient(along, t)
    after = slice(i0, None)
    max_mm = float(along[after].max())
    in_zone = np.hypot(x[after] - tx, y[after] - ty) <= zone_radius_mm
    nan = float("nan")
    common = {"hour": int(hour), "angle_rad": angle, "edge_distance_mm": edge,
              "target_fraction": float(fraction), "target_x_mm": tx, "target_y_mm": ty,
              "max_excursion_mm": max_mm, "max_excursion_pct": 100.0 * max_mm / edge,
              "time_in_zone_s": float(in_zone.sum()) / fs,
              "longest_hold_s": _longest_run(in_zone) / fs,
              "settings": {"reach": settings.to_dict(), "analysis": analysis.to_dict()}}

    crossed = np.flatnonzero(along[i0:] - along0 >= settings.onset_mm)
    if crossed.size == 0:
        return ReachMetrics(moved=False, reaction_time_s=nan, movement_time_s=nan,
                            movement_velocity_mm_s=nan, endpoint_excursion_pct=nan,
                            directional_control_pct=nan, **common)
    cross = i0 + int(crossed[0])
    slow = np.flatnonzero(v_along[i0:cross + 1] <= settings.onset_speed_mm_s)
    onset = i0 + int(slow[-1]) + 1 if slow.size else i0
    onset = min(onset, cross)

    v = v_along[onset:]
    peak = np.maximum.accumulate(v)
    stopped = np.flatnonzero((peak > settings.onset_speed_mm_s)
                             & (v < settings.end_speed_fraction * peak))
    end = onset + int(stopped[0]) if stopped.size else t.size - 1

    seg = slice(onset, end + 1)
    dxs, dys = np.diff(x[seg]), np.diff(y[seg])
    path = float(np.sqrt(dxs * dxs + dys * dys).sum())
    duration = float(t[end] - t[onset])
    progress = float(along[end] - along[onset])
    off_axis = float(np.abs(np.diff(across[seg])).sum())
    return ReachMetrics(
        moved=True,
        reaction_time_s=float(t[onset] - cue_t_s),
        movement_time_s=duration,
        movement_velocity_mm_s=path / duration if duration > 0 else nan,
        endpoint_excursion_pct=100.0 * float(along[end]) / edge,
        directional_control_pct=100.0 * (progress - off_axis) / progress if progress > 0 else nan,
        **common)


def foot_centre_from_quiet_stance(t_s, x_mm, y_mm, mark_mm=(0.0, 0.0), first_s: float = 2.0,
                                  max_shift_mm: float = 40.0) -> tuple[float, float]:
    """Re-centre the foot on the mean COP of the first seconds of quiet stance.

    The printed mark says where the foot should be; in quiet stance the COP sits close to the
    foot's centre, so its mean corrects a foot placed slightly off the mark. A shift larger
    than max_shift_mm means the athlete is not on the mark at all, which is an error."""
    t = np.asarray(t_s, dtype=float)
    x = np.asarray(x_mm, dtype=float)
    y = np.asarray(y_mm, dtype=float)
    ok = (t <= t[0] + first_s) & np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        raise ValueError("no quiet-stance samples to re-centre on; stand still on the mark first")
    cx, cy = float(x[ok].mean()), float(y[ok].mean())
    shift = math.hypot(cx - mark_mm[0], cy - mark_mm[1])
    if shift > max_shift_mm:
        raise ValueError(f"the COP is {shift:.0f} mm from the placement mark; place the foot on "
                         "the printed mark and start again")
    return cx, cy


def reach_polygon(angles_rad, max_excursion_mm) -> np.ndarray:
    """The maximal-excursion points around the foot centre, (N, 2) mm in clock-angle order,
    negative reach counted as 0: the polygon whose area is the edge-reach score (the report
    draws it from a stored trial's targets)."""
    order = sorted(range(len(angles_rad)), key=lambda i: angles_rad[i] % (2 * math.pi))
    r = np.array([max(float(max_excursion_mm[i]), 0.0) for i in order])
    a = np.array([float(angles_rad[i]) for i in order])
    return np.column_stack([r * np.cos(a), r * np.sin(a)]).reshape(-1, 2)


def trial_reach_polygon(metrics: dict) -> np.ndarray | None:
    """:func:`reach_polygon` of a stored clock trial (its ``targets`` metrics), around the foot
    centre; None when fewer than 3 targets have a direction and an excursion."""
    targets = [t for t in metrics.get("targets") or ()
               if isinstance(t, dict) and t.get("angle_rad") is not None
               and t.get("max_excursion_mm") is not None]
    if len(targets) < 3:
        return None
    return reach_polygon([t["angle_rad"] for t in targets],
                         [t["max_excursion_mm"] for t in targets])


def edge_reach_score(results: list[ReachMetrics], foot: FootModel) -> dict:
    """Area of the polygon through the maximal-excursion points (in clock-angle order, negative
    reach counted as 0) as % of the foot outline's area, and the weakest direction."""
    if len(results) < 3:
        raise ValueError("the edge-reach score needs at least 3 target directions")
    pts = reach_polygon([r.angle_rad for r in results], [r.max_excursion_mm for r in results])
    area = polygon_area(pts)
    outline = foot.area_mm2()
    weakest = min(results, key=lambda r: r.max_excursion_pct)
    return {"edge_reach_score_pct": 100.0 * area / outline, "reach_polygon_area_mm2": area,
            "outline_area_mm2": outline, "weakest_hour": weakest.hour,
            "weakest_max_excursion_pct": weakest.max_excursion_pct,
            "n_directions": len(results)}
