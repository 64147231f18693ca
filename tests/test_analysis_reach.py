"""Reach metrics on synthetic movements whose answers are known in closed form."""

import math

import numpy as np
import pytest

from stancelab.analysis import NO_FILTER, AnalysisSettings, edge_reach_score, reach_metrics
from stancelab.analysis.reach import ReachMetrics
from stancelab.geometry import FootModel

FS = 100.0


def ramp_movement(foot, hour, centre, dist_mm, off_axis_mm, start_s=1.3, move_s=0.5,
                  total_s=3.0):
    """Still at the centre, then a constant-speed straight move to dist_mm along the target
    direction plus off_axis_mm sideways, then still."""
    t = np.arange(int(total_s * FS) + 1) / FS
    s = np.clip((t - start_s) / move_s, 0.0, 1.0)
    a = foot.clock_angle(hour)
    u = np.array([math.cos(a), math.sin(a)])
    n = np.array([-math.sin(a), math.cos(a)])
    p = np.outer(s * dist_mm, u) + np.outer(s * off_axis_mm, n) + np.asarray(centre)
    return t, p[:, 0], p[:, 1]


@pytest.mark.parametrize("side,hour", [("right", 3), ("left", 3), ("right", 12), ("left", 7)])
def test_ramp_has_exact_answers(side, hour):
    foot = FootModel(260.0, side)
    centre = (40.0, -20.0)
    edge = foot.edge_distance(foot.clock_angle(hour))
    dist, off, zone = 0.8 * edge, 10.0, 15.0
    t, x, y = ramp_movement(foot, hour, centre, dist, off)
    m = reach_metrics(t, x, y, 1.0, centre, foot, hour, 0.8, zone, analysis=NO_FILTER)
    assert m.moved
    assert m.edge_distance_mm == pytest.approx(edge)
    assert m.reaction_time_s == pytest.approx(0.30, abs=1e-9)
    # The move's last step is at 1.80 s; the first sample with no speed, 1.81 s, ends it.
    assert m.movement_time_s == pytest.approx(0.51, abs=1e-9)
    assert m.movement_velocity_mm_s == pytest.approx(math.hypot(dist, off) / 0.51, rel=1e-9)
    assert m.endpoint_excursion_pct == pytest.approx(80.0, rel=1e-9)
    assert m.max_excursion_pct == pytest.approx(80.0, rel=1e-9)
    assert m.directional_control_pct == pytest.approx(100.0 * (dist - off) / dist, rel=1e-9)
    # In the zone once (1-s)^2 dist^2 + s^2 off^2 <= zone^2, and for the whole hold after.
    aa, bb, cc = dist**2 + off**2, -2 * dist**2, dist**2 - zone**2
    s_in = (-bb - math.sqrt(bb * bb - 4 * aa * cc)) / (2 * aa)
    t_in = 1.3 + 0.5 * s_in
    assert m.time_in_zone_s == pytest.approx(3.0 - t_in, abs=1.0 / FS + 1e-9)
    assert m.longest_hold_s == pytest.approx(m.time_in_zone_s)
    tx = centre[0] + 0.8 * edge * math.cos(foot.clock_angle(hour))
    assert m.target_x_mm == pytest.approx(tx)


def test_mirrored_feet_give_identical_metrics():
    """3 o'clock is the outside edge on both feet: mirrored movements score the same."""
    right, left = FootModel(250.0, "right"), FootModel(250.0, "left")
    tr, xr, yr = ramp_movement(right, 3, (0, 0), 60.0, 5.0)
    tl, xl, yl = ramp_movement(left, 3, (0, 0), 60.0, -5.0)
    np.testing.assert_allclose(xl, -xr, atol=1e-12)
    mr = reach_metrics(tr, xr, yr, 1.0, (0, 0), right, 3, 0.8, 15.0)
    ml = reach_metrics(tl, xl, yl, 1.0, (0, 0), left, 3, 0.8, 15.0)
    for k, v in mr.values().items():
        assert ml.values()[k] == pytest.approx(v, rel=1e-9), k


def test_filtered_ramp_is_close_to_the_exact_answer():
    foot = FootModel(260.0, "right")
    edge = foot.edge_distance(foot.clock_angle(2))
    t, x, y = ramp_movement(foot, 2, (0, 0), 0.8 * edge, 0.0)
    m = reach_metrics(t, x, y, 1.0, (0, 0), foot, 2, 0.8, 15.0, analysis=AnalysisSettings())
    assert m.reaction_time_s == pytest.approx(0.30, abs=0.04)
    assert m.endpoint_excursion_pct == pytest.approx(80.0, abs=2.0)
    assert m.max_excursion_pct == pytest.approx(80.0, abs=0.5)
    assert m.directional_control_pct == pytest.approx(100.0, abs=1.0)


def test_movement_away_from_target_is_not_a_reaction():
    foot = FootModel(260.0, "right")
    t, x, y = ramp_movement(foot, 6, (0, 0), 50.0, 0.0)  # moves to the heel
    m = reach_metrics(t, x, y, 1.0, (0, 0), foot, 12, 0.8, 15.0, analysis=NO_FILTER)
    assert not m.moved
    assert math.isnan(m.reaction_time_s) and math.isnan(m.directional_control_pct)
    assert m.max_excursion_pct == pytest.approx(0.0, abs=1e-9)
    assert m.time_in_zone_s == 0.0


def test_start_position_before_cue_sets_the_onset():
    """An athlete already leaning 20 mm toward the target must still move 5 mm more."""
    foot = FootModel(260.0, "right")
    t, x, y = ramp_movement(foot, 3, (20.0, 0.0), 60.0, 0.0)
    m = reach_metrics(t, x, y, 1.0, (0.0, 0.0), foot, 3, 0.8, 15.0, analysis=NO_FILTER)
    assert m.reaction_time_s == pytest.approx(0.30, abs=1e-9)
    assert m.max_excursion_mm == pytest.approx(80.0)


def test_cue_after_segment_is_a_clear_error():
    foot = FootModel(260.0, "right")
    t, x, y = ramp_movement(foot, 3, (0, 0), 60.0, 0.0)
    with pytest.raises(ValueError, match="cue"):
        reach_metrics(t, x, y, 10.0, (0, 0), foot, 3, 0.8, 15.0, analysis=NO_FILTER)


def _fake(foot, hour, reach_mm):
    a = foot.clock_angle(hour)
    edge = foot.edge_distance(a)
    return ReachMetrics(hour=hour, angle_rad=a, edge_distance_mm=edge, target_fraction=1.0,
                        target_x_mm=0.0, target_y_mm=0.0, moved=True, reaction_time_s=0.3,
                        movement_time_s=0.5, movement_velocity_mm_s=100.0,
                        endpoint_excursion_pct=50.0, max_excursion_mm=reach_mm,
                        max_excursion_pct=100.0 * reach_mm / edge,
                        directional_control_pct=90.0, time_in_zone_s=1.0, longest_hold_s=1.0)


def test_edge_reach_score_of_a_circle_is_a_dodecagon():
    foot = FootModel(260.0, "left")
    r = 40.0
    res = [_fake(foot, h, r) for h in range(1, 13)]
    score = edge_reach_score(res, foot)
    assert score["reach_polygon_area_mm2"] == pytest.approx(3.0 * r * r, rel=1e-12)
    assert score["edge_reach_score_pct"] == pytest.approx(300.0 * r * r / foot.area_mm2())
    # Same reach everywhere: weakest (in %) where the edge is farthest from the centre.
    farthest = max(range(1, 13), key=lambda h: foot.edge_distance(foot.clock_angle(h)))
    assert score["weakest_hour"] == farthest


def test_edge_reach_score_full_reach_is_close_to_the_outline():
    foot = FootModel(260.0, "right")
    res = [_fake(foot, h, foot.edge_distance(foot.clock_angle(h))) for h in range(1, 13)]
    score = edge_reach_score(res, foot)
    assert 70.0 < score["edge_reach_score_pct"] < 100.0
    res[3] = _fake(foot, 4, 0.3 * res[3].edge_distance_mm)
    worse = edge_reach_score(res, foot)
    assert worse["weakest_hour"] == 4 and worse["weakest_max_excursion_pct"] == pytest.approx(30)
    assert worse["edge_reach_score_pct"] < score["edge_reach_score_pct"]


def test_recentre_from_quiet_stance():
    from stancelab.analysis import foot_centre_from_quiet_stance
    t = np.arange(400) / FS
    rng = np.random.default_rng(5)
    x = 12.0 + rng.normal(0, 1, t.size)
    y = -8.0 + rng.normal(0, 1, t.size)
    x[300:] += 80.0  # the reach after the quiet part is ignored
    cx, cy = foot_centre_from_quiet_stance(t, x, y, first_s=2.0)
    assert (cx, cy) == pytest.approx((x[:201].mean(), y[:201].mean()))
    with pytest.raises(ValueError, match="placement mark"):
        foot_centre_from_quiet_stance(t, x + 100.0, y)


def test_a_stored_trials_polygon_is_the_scored_one():
    """trial_reach_polygon (Results, Compare, the PDF) reads a stored trial's targets into the
    same polygon reach_polygon gives the edge-reach score; too few targets give None."""
    from stancelab.analysis.reach import reach_polygon, trial_reach_polygon

    angles = [k * math.pi / 6 for k in range(12)]
    reach = [40.0 + 3 * k for k in range(12)]
    metrics = {"targets": [{"angle_rad": a, "max_excursion_mm": r}
                           for a, r in zip(angles, reach, strict=True)]
               + [{"angle_rad": None, "max_excursion_mm": 9.0}]}
    assert np.array_equal(trial_reach_polygon(metrics), reach_polygon(angles, reach))
    assert trial_reach_polygon({"targets": metrics["targets"][:2]}) is None
    assert trial_reach_polygon({}) is None
