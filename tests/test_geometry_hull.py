"""geometry.convex_hull against scipy.spatial.ConvexHull (the simulator's two-foot outline)."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from stancelab.geometry import TWO_LEG_MARKS_MM, FootModel, convex_hull


def _same_cycle(ours, theirs):
    assert len(ours) == len(theirs)
    k = int(np.flatnonzero((theirs == ours[0]).all(axis=1))[0])
    assert np.array_equal(np.roll(theirs, -k, axis=0), ours)


@pytest.mark.parametrize("length", [220.0, 265.0, 300.0])
def test_hull_of_both_feet_is_qhulls(length):
    pts = np.vstack([FootModel(length, s).outline() + np.asarray(TWO_LEG_MARKS_MM[s])
                     for s in ("left", "right")])
    _same_cycle(convex_hull(pts), pts[ConvexHull(pts).vertices])


def test_hull_of_random_points_and_collinear_points():
    rng = np.random.default_rng(2)
    for n in (3, 10, 500):
        pts = rng.normal(size=(n, 2)) * 50
        _same_cycle(convex_hull(pts), pts[ConvexHull(pts).vertices])
    square = np.array([[0, 0], [1, 0], [2, 0], [2, 2], [1, 1], [0, 2], [0, 1]], float)
    _same_cycle(convex_hull(square), np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float))
    with pytest.raises(ValueError, match="area"):
        convex_hull(np.array([[0, 0], [1, 1], [2, 2]], float))
