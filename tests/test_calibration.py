"""Counts -> forces -> COP, tare and least-squares gains (the arithmetic of calibration.py).

The procedure and where calibrations are kept: tests/test_calibration_procedure.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stancelab import calibration as cal
from stancelab.geometry import BoardGeometry, FootModel, G
from stancelab.sim.factory import point_load

GEOM = BoardGeometry()


def corner_loads(total_n, x_mm, y_mm, geom=GEOM):
    """The bilinear split the simulator uses (exact COP and total)."""
    return point_load(geom, total_n / G, x_mm, y_mm)


TRUE_OFFSETS = np.array([81_234.0, -45_678.0, 12_000.0, 150_321.0])
TRUE_CPN = cal.NOMINAL_COUNTS_PER_N * np.array([1.0, 1.0, 1.0, 1.0])


def to_counts(loads_n, cpn=TRUE_CPN):
    return TRUE_OFFSETS + np.asarray(loads_n) * cpn


@given(st.floats(100, 2000), st.floats(-240, 240), st.floats(-170, 170))
def test_cop_recovers_point_load_position(total, x, y):
    t, cx, cy = cal.cop_from_forces(corner_loads(total, x, y)[None, :], GEOM)
    assert t[0] == pytest.approx(total)
    assert cx[0] == pytest.approx(x, abs=1e-9) and cy[0] == pytest.approx(y, abs=1e-9)


def test_cop_is_undefined_below_the_load_threshold():
    f = np.array([corner_loads(30.0, 0, 0), corner_loads(700.0, 10, -20)])
    t, x, y = cal.cop_from_forces(f, GEOM, min_load_n=50.0)
    assert np.isnan(x[0]) and np.isnan(y[0]) and t[0] == pytest.approx(30.0)
    assert x[1] == pytest.approx(10.0)


def test_tare_averages_a_steady_empty_board():
    rng = np.random.default_rng(1)
    counts = TRUE_OFFSETS + rng.normal(0, 40, size=(400, 4))
    c = cal.tare(cal.default_calibration(7), counts)
    assert np.allclose(c.offsets_counts, TRUE_OFFSETS, atol=10)
    assert c.method == "tare"


@pytest.mark.parametrize("disturb, word", [("noise", "not steady"), ("drift", "drifting")])
def test_tare_refuses_an_unsteady_signal_and_names_the_corner(disturb, word):
    rng = np.random.default_rng(2)
    counts = TRUE_OFFSETS + rng.normal(0, 40, size=(400, 4))
    if disturb == "noise":
        counts[:, 2] += rng.normal(0, 5000, size=400)
    else:
        counts[:, 2] += np.linspace(0, 3000, 400)
    with pytest.raises(cal.CalibrationError, match=f"back-left.*{word}|{word}"):
        cal.tare(cal.default_calibration(7), counts)


MARKS = [(0, 0), (-150, 100), (150, 100), (-150, -100), (150, -100)]


def placements(cpn, mass=20.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [cal.Placement(mass, x, y, tuple(to_counts(corner_loads(mass * G, x, y), cpn)
                                            + rng.normal(0, noise, 4)))
            for x, y in MARKS]


def test_gain_fit_finds_one_wrong_cell():
    cpn = TRUE_CPN * np.array([1.0, 1.0, 0.93, 1.0])  # back-right cell reads 7 % low
    base = cal.tare(cal.default_calibration(7), np.tile(TRUE_OFFSETS, (50, 1)) +
                    np.random.default_rng(3).normal(0, 1, (50, 4)))
    fit = cal.fit_gains(base, placements(cpn, noise=40))
    assert fit.relative_gain_change[2] == pytest.approx(1 / 0.93 - 1, abs=0.01)
    for i in (0, 1, 3):
        assert abs(fit.relative_gain_change[i]) < 0.01
    assert all(v["cop_error_mm"] < 1.0 and abs(v["load_error_pct"]) < 0.2 for v in fit.verification)
    # Before the fit the same placements show the error.
    before = cal.verify(base, placements(cpn))
    assert max(v["cop_error_mm"] for v in before) > 3.0


def test_gain_fit_needs_two_placements_and_rejects_reversed_cell():
    base = cal.Calibration(7, offsets_counts=tuple(TRUE_OFFSETS))
    with pytest.raises(cal.CalibrationError, match="2 or more"):
        cal.fit_gains(base, placements(TRUE_CPN)[:1])
    cpn = TRUE_CPN * np.array([1, -1, 1, 1])
    with pytest.raises(cal.CalibrationError, match="front-right"):
        cal.fit_gains(base, placements(cpn))


def test_clock_targets_mirror_between_feet():
    right, left = FootModel(265, "right"), FootModel(265, "left")
    r = {h: (x, y) for h, x, y in right.clock_targets()}
    lft = {h: (x, y) for h, x, y in left.clock_targets()}
    assert r[3][0] > 0 and lft[3][0] < 0          # 3 o'clock = outside of each foot
    for h in range(1, 13):
        assert lft[h][0] == pytest.approx(-r[h][0]) and lft[h][1] == pytest.approx(r[h][1])
    assert r[12][1] > 0 and r[6][1] < 0           # toes forward, heel back


def test_simulated_chain_meets_the_accuracy_target_after_calibration():
    """Tare + gain fit through the virtual board's bytes, then 70 kg on a 3x3 grid."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "bench_calibration.py"
    spec = importlib.util.spec_from_file_location("bench_calibration", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    r = bench.run(grid=3, hold_s=0.5, seed=5)
    assert r["cop_error_mm"]["max"] <= 1.0
    assert r["load_error_pct"]["max_abs"] <= 0.2
    # The per-cell gain spread of the virtual cells (about +-1 %) is what the fit removed.
    assert max(abs(v) for v in r["fitted_gain_change_pct"]) > 0.3
