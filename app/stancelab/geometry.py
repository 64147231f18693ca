"""Board and foot geometry in the board frame.

Board frame: millimetres, origin at the board centre, +x to the athlete's right (medio-lateral),
+y forward toward the toes (antero-posterior). The foot outline model and the clock directions
live here because the simulator, the drills, the metrics and the views must all agree on them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

CHANNEL_NAMES = ("front-left", "front-right", "back-left", "back-right")
CHANNEL_SHORT = ("FL", "FR", "BL", "BR")
G = 9.80665  # standard gravity, m/s^2


@dataclass(frozen=True)
class BoardGeometry:
    """Where the four load cells sit, in mm. Default: the 600 x 450 mm plywood board of
    hardware/bom.md with cells 50 mm in from each side and from the front and back edges."""

    cells_mm: tuple[tuple[float, float], ...] = ((-250.0, 175.0), (250.0, 175.0),
                                                 (-250.0, -175.0), (250.0, -175.0))
    width_mm: float = 600.0
    depth_mm: float = 450.0

    @property
    def cell_x_mm(self) -> np.ndarray:
        return np.array([c[0] for c in self.cells_mm])

    @property
    def cell_y_mm(self) -> np.ndarray:
        return np.array([c[1] for c in self.cells_mm])

    def span_mm(self) -> tuple[float, float]:
        """Width and depth of the rectangle spanned by the cells (where a COP can be)."""
        xs, ys = self.cell_x_mm, self.cell_y_mm
        return float(xs.max() - xs.min()), float(ys.max() - ys.min())

    def to_dict(self) -> dict:
        return {"cells_mm": [list(c) for c in self.cells_mm],
                "width_mm": self.width_mm, "depth_mm": self.depth_mm}

    @classmethod
    def from_dict(cls, d: dict) -> BoardGeometry:
        return cls(tuple(tuple(float(v) for v in c) for c in d["cells_mm"]),
                   float(d["width_mm"]), float(d["depth_mm"]))


#: The Wii Balance Board: its four sensors on a 433 x 238 mm rectangle (centre to centre, left-right
#: by front-back), the spacing the validation studies use (Bartlett, Ting & Bingham 2014, Gait
#: Posture 39:224, "Accuracy of force and center of pressure measures of the Wii Balance
#: Board"; Leach et al. 2014, Sensors 14:18244); top 511 x 316 mm. Cells FL, FR, BL, BR.
WII_BALANCE_BOARD = BoardGeometry(cells_mm=((-216.5, 119.0), (216.5, 119.0), (-216.5, -119.0),
                                            (216.5, -119.0)), width_mm=511.0, depth_mm=316.0)

# Printed placement marks (see hardware/ placement template): where the centre of each foot goes.
SINGLE_LEG_MARK_MM = (0.0, 0.0)
TWO_LEG_MARKS_MM = {"left": (-90.0, 0.0), "right": (90.0, 0.0)}

# Foot outline model. Half-widths of a footprint as a fraction of foot width, on the lateral and
# medial sides, at fractions s of foot length from the heel (0) to the longest toe (1). The
# shape is a generic adult footprint (narrow heel, medial arch, widest at the metatarsal heads at
# ~70 % of length, big toe medial); it is scaled by foot length and width.
_S = (0.0, 0.03, 0.10, 0.20, 0.35, 0.50, 0.62, 0.72, 0.80, 0.88, 0.95, 1.0)
_LATERAL = (0.0, 0.20, 0.29, 0.31, 0.33, 0.37, 0.41, 0.42, 0.38, 0.28, 0.15, 0.0)
_MEDIAL = (0.0, 0.20, 0.28, 0.28, 0.22, 0.30, 0.50, 0.58, 0.57, 0.50, 0.38, 0.12)
#: Foot width as a fraction of foot length when not measured (adult average ~0.38-0.40).
DEFAULT_WIDTH_RATIO = 0.39


def foot_length_from_eu_size(eu_size: float) -> float:
    """Foot length in mm from a European (Paris point) shoe size: size = 1.5 * (L_cm + 1.5)."""
    return (eu_size / 1.5 - 1.5) * 10.0


@dataclass(frozen=True)
class FootModel:
    """A stance foot: its outline centred on its centroid, for the athlete's left or right."""

    length_mm: float
    side: str  # "left" or "right"
    width_mm: float | None = None

    def __post_init__(self):
        if self.side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', not {self.side!r}")
        if not 150.0 <= self.length_mm <= 350.0:
            raise ValueError(f"foot length {self.length_mm:.0f} mm is outside 150-350 mm")

    @property
    def width(self) -> float:
        return self.width_mm if self.width_mm else DEFAULT_WIDTH_RATIO * self.length_mm

    @property
    def lateral_sign(self) -> float:
        """+1 when the outside of the foot is toward +x (right foot), -1 for the left foot."""
        return 1.0 if self.side == "right" else -1.0

    def outline(self, points_per_side: int = 48) -> np.ndarray:
        """Open polygon (N, 2) in mm (last vertex not repeated), counter-clockwise, centroid
        at the origin. Cached: a FootModel is immutable."""
        return _outline(self.length_mm, self.width, self.lateral_sign, points_per_side).copy()

    def edge_distance(self, angle_rad: float) -> float:
        """Distance from the foot centre to its outline along a direction (math angle)."""
        return ray_polygon_distance(_outline(self.length_mm, self.width, self.lateral_sign, 48),
                                    angle_rad)

    def clock_angle(self, hour: float) -> float:
        """Math angle (rad, from +x, counter-clockwise) of a clock target on this foot.

        12 = toes, 6 = heel; 3 o'clock is the outside (lateral) edge and 9 the inside (medial)
        edge on both feet, so the right foot reads as a clock seen from above and the left foot
        as its mirror image."""
        return math.pi / 2 - self.lateral_sign * hour * math.pi / 6

    def clock_targets(self, fraction: float = 1.0, centre_mm=(0.0, 0.0)) -> list[tuple[int, float, float]]:
        """(hour, x_mm, y_mm) of the 12 targets at ``fraction`` of the edge distance."""
        outline = self.outline()
        out = []
        for hour in range(1, 13):
            a = self.clock_angle(hour)
            r = fraction * ray_polygon_distance(outline, a)
            out.append((hour, centre_mm[0] + r * math.cos(a), centre_mm[1] + r * math.sin(a)))
        return out

    def area_mm2(self) -> float:
        return abs(_signed_area(self.outline()))


@functools.lru_cache(maxsize=64)
def _outline(length_mm: float, width_mm: float, sign: float, points_per_side: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, points_per_side)
    lat = np.interp(s, _S, _LATERAL) * width_mm
    med = np.interp(s, _S, _MEDIAL) * width_mm
    v = (s - 0.5) * length_mm
    lat_side = np.column_stack([sign * lat, v])
    med_side = np.column_stack([-sign * med, v])[::-1]
    poly = np.vstack([lat_side, med_side[1:-1]])
    if _signed_area(poly) < 0:
        poly = poly[::-1]
    poly = poly - polygon_centroid(poly)
    poly.setflags(write=False)
    return poly


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def polygon_centroid(poly: np.ndarray) -> np.ndarray:
    x, y = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2.0
    return np.array([((x + x1) * cross).sum() / (6 * a), ((y + y1) * cross).sum() / (6 * a)])


def polygon_area(poly: np.ndarray) -> float:
    return abs(_signed_area(np.asarray(poly, dtype=float)))


def ray_polygon_distance(poly: np.ndarray, angle_rad: float) -> float:
    """Distance from the origin to the farthest crossing of a ray with a polygon's edges."""
    d = np.array([math.cos(angle_rad), math.sin(angle_rad)])
    p = poly
    q = np.roll(poly, -1, axis=0)
    e = q - p
    denom = d[0] * e[:, 1] - d[1] * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p[:, 0] * e[:, 1] - p[:, 1] * e[:, 0]) / denom
        u = (p[:, 0] * d[1] - p[:, 1] * d[0]) / denom
    ok = (np.abs(denom) > 1e-12) & (u >= 0) & (u <= 1) & (t >= 0)
    if not ok.any():
        raise ValueError("ray does not cross the polygon; is the origin inside it?")
    return float(t[ok].max())


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of 2-D points, counter-clockwise; points on an edge, or off
    it by rounding only (1e-12 of the extent), are left out as qhull merges them, so the vertex
    set and order are those of scipy.spatial.ConvexHull(points).vertices, perhaps starting at
    another vertex (tests/test_geometry_hull.py). Andrew's monotone chain in Python: for
    outlines of a few hundred points, without scipy.spatial's ~0.4 s import on the way to the
    first COP."""
    pts = np.asarray(points, dtype=float)
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    xy = pts[order].tolist()
    tol = 1e-12 * float(np.ptp(pts, axis=0).max()) ** 2    # a cross product: mm^2

    def chain(seq):
        out: list[list[float]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) -
                                     (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= tol:
                out.pop()
            out.append(p)
        return out[:-1]

    hull = chain(xy) + chain(xy[::-1])
    if len(hull) < 3:
        raise ValueError("the points do not span an area (fewer than 3 off one line)")
    return np.array(hull)
