"""Left/right comparison and trends: formula, sign conventions, flags; weight distribution."""

import numpy as np
import pytest

from stancelab.analysis import (
    METRIC_DIRECTION,
    asymmetry_pct,
    better_side,
    compare_sides,
    trend,
    weight_from_cop,
    weight_from_forces,
)
from stancelab.analysis.sway import SwayMetrics


def test_asymmetry_formula():
    assert asymmetry_pct(80.0, 100.0) == pytest.approx(20.0)
    assert asymmetry_pct(100.0, 80.0) == pytest.approx(20.0)
    assert asymmetry_pct(0.0, 0.0) == 0.0
    assert asymmetry_pct(-5.0, 5.0) == pytest.approx(200.0)  # e.g. opposite-signed control


def test_lower_sway_and_higher_reach_are_better():
    assert better_side("ellipse95_area_mm2", 200.0, 100.0) == "right"
    assert better_side("mean_velocity_mm_s", 8.0, 9.0) == "left"
    assert better_side("max_excursion_pct", 60.0, 80.0) == "right"
    assert better_side("time_held_s", 30.0, 21.0) == "left"
    assert better_side("touchdowns", 3.0, 0.0) == "right"
    assert better_side("reaction_time_s", 0.4, 0.4) == "equal"
    assert better_side("mean_frequency_hz", 0.3, 0.5) is None


def test_every_sway_metric_has_a_decision():
    sway_keys = set(SwayMetrics.__dataclass_fields__) - {"settings", "preprocessing"}
    undecided = {"n_samples", "fs_hz", "duration_s", "ellipse95_angle_deg", "mean_frequency_hz",
                 "mean_x_mm", "mean_y_mm"}
    assert sway_keys - undecided <= set(METRIC_DIRECTION)


def test_compare_sides_rows_flags_and_skips():
    left = {"ellipse95_area_mm2": 220.0, "path_length_mm": 500.0, "max_excursion_pct": 70.0,
            "mean_frequency_hz": 0.4, "reaction_time_s": float("nan"), "note": "text"}
    right = {"ellipse95_area_mm2": 200.0, "path_length_mm": 420.0, "max_excursion_pct": 88.0,
             "mean_frequency_hz": 0.4, "reaction_time_s": 0.3}
    rows = {r["metric"]: r for r in compare_sides(left, right)}
    assert set(rows) == {"ellipse95_area_mm2", "path_length_mm", "max_excursion_pct",
                         "mean_frequency_hz"}
    e = rows["ellipse95_area_mm2"]
    assert e["asymmetry_pct"] == pytest.approx(100 * 20 / 220)
    assert e["better"] == "right" and e["direction"] == "lower" and not e["flagged"]
    assert rows["path_length_mm"]["flagged"] and rows["path_length_mm"]["better"] == "right"
    assert rows["max_excursion_pct"]["better"] == "right" and rows["max_excursion_pct"]["flagged"]
    assert rows["mean_frequency_hz"]["better"] is None
    strict = {r["metric"]: r for r in compare_sides(left, right, flag_pct=5.0)}
    assert strict["ellipse95_area_mm2"]["flagged"]


def test_trend_change_units_percent_and_improvement():
    base = {"ellipse95_area_mm2": 100.0, "max_excursion_pct": 70.0, "touchdowns": 0.0,
            "mean_frequency_hz": 0.3}
    latest = {"ellipse95_area_mm2": 80.0, "max_excursion_pct": 63.0, "touchdowns": 2.0,
              "mean_frequency_hz": 0.33}
    rows = {r["metric"]: r for r in trend(base, latest)}
    e = rows["ellipse95_area_mm2"]
    assert (e["change"], e["change_pct"], e["improved"]) == (pytest.approx(-20.0),
                                                              pytest.approx(-20.0), True)
    r = rows["max_excursion_pct"]
    assert r["change"] == pytest.approx(-7.0) and r["change_pct"] == pytest.approx(-10.0)
    assert r["improved"] is False
    assert rows["touchdowns"]["change_pct"] is None and rows["touchdowns"]["improved"] is False
    assert rows["mean_frequency_hz"]["improved"] is None


def test_weight_from_forces_shares():
    f = np.array([[100.0, 150.0, 200.0, 250.0]] * 10)  # FL, FR, BL, BR
    w = weight_from_forces(f)
    assert w["left_pct"] == pytest.approx(300 / 700 * 100)
    assert w["front_pct"] == pytest.approx(250 / 700 * 100)
    assert w["left_pct"] + w["right_pct"] == pytest.approx(100.0)
    assert w["mean_load_n"] == pytest.approx(700.0)
    with pytest.raises(ValueError, match="FL, FR, BL, BR"):
        weight_from_forces(np.ones((5, 3)))


def test_weight_from_cop_lever_rule_between_marks():
    assert weight_from_cop([-90.0], [0.0])["left_pct"] == pytest.approx(100.0)
    assert weight_from_cop([0.0, np.nan], [0.0, 1.0])["right_pct"] == pytest.approx(50.0)
    w = weight_from_cop([45.0], [13.0], foot_length_mm=260.0)
    assert w["right_pct"] == pytest.approx(75.0)
    assert w["front_pct"] == pytest.approx(55.0)
    assert w["ap_offset_mm"] == pytest.approx(13.0)
    assert weight_from_cop([400.0], [0.0])["right_pct"] == 100.0  # clipped
