"""Sway metrics: exact analytic cases, invariance and scaling properties, and a cross-check
against the independent plain-loop implementation on the real reference recording."""

import math
import os
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import f as f_dist

from reference_impl import (
    eig2_symmetric,
    f2_quantile,
    monotone_chain_area,
    reference_sway,
)
from stancelab.analysis import NO_FILTER, AnalysisSettings, prepare, sway_from_uniform, sway_metrics
from stancelab.analysis.sway import hull_area, prediction_factor

_DEFAULT_REFERENCE = (pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
                      / "hbedb_BDS00001.csv")
REFERENCE = pathlib.Path(os.environ.get("STANCELAB_REFERENCE_CSV", str(_DEFAULT_REFERENCE)))
REL = 1e-9


def load_reference():
    if not REFERENCE.exists():
        pytest.fail(f"reference recording not found at {REFERENCE} (it ships in tests/data/)")
    d = np.genfromtxt(REFERENCE, delimiter=",", skip_header=1)
    return d[:, 0] / 100.0, d[:, 7] * 10.0, d[:, 8] * 10.0  # s, mm, mm (100 Hz, COP in cm)


def c95(n):
    return 2 * (n - 1) * (n + 1) / (n * (n - 2)) * f_dist.ppf(0.95, 2, n - 2)


# ---------------------------------------------------------------- analytic cases

def test_circle_exact():
    n, r, fs = 400, 12.0, 80.0
    th = 2 * np.pi * np.arange(n) / n
    m = sway_from_uniform(r * np.cos(th) + 30.0, r * np.sin(th) - 7.0, fs)
    chord = 2 * r * math.sin(math.pi / n)
    assert m["path_length_mm"] == pytest.approx((n - 1) * chord, rel=REL)
    assert m["duration_s"] == pytest.approx((n - 1) / fs, rel=REL)
    assert m["mean_velocity_mm_s"] == pytest.approx(chord * fs, rel=REL)
    assert m["hull_area_mm2"] == pytest.approx(n / 2 * r * r * math.sin(2 * math.pi / n), rel=REL)
    assert m["rms_mm"] == pytest.approx(r, rel=REL)
    assert m["rms_ml_mm"] == pytest.approx(r / math.sqrt(2), rel=REL)
    assert m["rms_ap_mm"] == pytest.approx(r / math.sqrt(2), rel=REL)
    assert m["mean_distance_mm"] == pytest.approx(r, rel=REL)
    assert m["range_ml_mm"] == pytest.approx(2 * r, rel=REL)
    assert m["range_ap_mm"] == pytest.approx(2 * r, rel=REL)
    assert m["mean_frequency_hz"] == pytest.approx(math.sin(math.pi / n) * fs / math.pi, rel=REL)
    assert m["sway_area_per_s_mm2_s"] == pytest.approx(
        r * r * math.sin(2 * math.pi / n) * fs / 2, rel=REL)
    var = r * r / 2 * n / (n - 1)
    assert m["ellipse95_area_mm2"] == pytest.approx(math.pi * c95(n) * var, rel=REL)
    assert m["ellipse95_semi_major_mm"] == pytest.approx(math.sqrt(c95(n) * var), rel=REL)
    assert m["mean_x_mm"] == pytest.approx(30.0, rel=REL)


@pytest.mark.parametrize("phi_deg", [0.0, 30.0, 89.0, -45.0])
def test_ellipse_exact_area_axes_angle(phi_deg):
    n, a, b = 360, 20.0, 6.0
    th = 2 * np.pi * np.arange(n) / n
    u, v = a * np.cos(th), b * np.sin(th)
    phi = math.radians(phi_deg)
    x = u * math.cos(phi) - v * math.sin(phi)
    y = u * math.sin(phi) + v * math.cos(phi)
    m = sway_from_uniform(x, y, 100.0)
    k = c95(n) * n / (2 * (n - 1))
    assert m["ellipse95_area_mm2"] == pytest.approx(math.pi * k * a * b, rel=REL)
    assert m["ellipse95_semi_major_mm"] == pytest.approx(math.sqrt(k) * a, rel=REL)
    assert m["ellipse95_semi_minor_mm"] == pytest.approx(math.sqrt(k) * b, rel=REL)
    assert m["ellipse95_angle_deg"] == pytest.approx(phi_deg, abs=1e-7)
    assert m["rms_mm"] == pytest.approx(math.sqrt((a * a + b * b) / 2), rel=REL)


def test_prediction_ellipse_holds_95_percent_of_gaussian_points():
    rng = np.random.default_rng(3)
    cov = np.array([[9.0, 4.0], [4.0, 4.0]])
    pts = rng.multivariate_normal([0, 0], cov, size=200_000)
    m = sway_from_uniform(pts[:, 0], pts[:, 1], 100.0)
    # The true 95 % region of this Gaussian has area pi * chi2_95(2) * sqrt(det cov).
    assert m["ellipse95_area_mm2"] == pytest.approx(math.pi * 5.991464547 * math.sqrt(20.0),
                                                    rel=0.01)


def test_straight_line_exact():
    n, d, alpha = 101, 0.5, math.radians(30.0)
    k = np.arange(n)
    x, y = k * d * math.cos(alpha), k * d * math.sin(alpha)
    m = sway_from_uniform(x, y, 50.0)
    assert m["path_length_mm"] == pytest.approx((n - 1) * d, rel=REL)
    assert m["path_length_ml_mm"] == pytest.approx((n - 1) * d * math.cos(alpha), rel=REL)
    assert m["path_length_ap_mm"] == pytest.approx((n - 1) * d * math.sin(alpha), rel=REL)
    assert m["mean_velocity_mm_s"] == pytest.approx(d * 50.0, rel=REL)
    # Zero up to rounding: the minor eigenvalue is ~eps * major, so the area is ~sqrt(eps).
    major = m["ellipse95_semi_major_mm"]
    assert m["ellipse95_semi_minor_mm"] < 1e-6 * major
    assert m["ellipse95_area_mm2"] < 1e-6 * major**2
    assert m["ellipse95_angle_deg"] == pytest.approx(30.0, abs=1e-7)
    assert m["hull_area_mm2"] == 0.0
    assert m["rms_mm"] == pytest.approx(d * math.sqrt((n * n - 1) / 12), rel=REL)
    assert m["range_ml_mm"] == pytest.approx((n - 1) * d * math.cos(alpha), rel=REL)
    assert m["sway_area_per_s_mm2_s"] == pytest.approx(0.0, abs=1e-9)


def test_square_path_exact():
    side, m_per, fs = 10.0, 25, 40.0
    s = np.arange(m_per) / m_per * side
    z, full = np.zeros(m_per), np.full(m_per, side)
    x = np.concatenate([s, full, side - s, z, [0.0]])
    y = np.concatenate([z, s, full, side - s, [0.0]])
    m = sway_from_uniform(x, y, fs)
    T = 4 * m_per / fs
    assert m["path_length_mm"] == pytest.approx(4 * side, rel=REL)
    assert m["path_length_ml_mm"] == pytest.approx(2 * side, rel=REL)
    assert m["path_length_ap_mm"] == pytest.approx(2 * side, rel=REL)
    assert m["mean_velocity_mm_s"] == pytest.approx(4 * side / T, rel=REL)
    assert m["mean_velocity_ml_mm_s"] == pytest.approx(2 * side / T, rel=REL)
    assert m["hull_area_mm2"] == pytest.approx(side * side, rel=REL)
    assert m["range_ml_mm"] == pytest.approx(side, rel=REL)
    assert m["range_ap_mm"] == pytest.approx(side, rel=REL)
    # One closed loop around an inside point sweeps exactly the square's area.
    assert m["sway_area_per_s_mm2_s"] == pytest.approx(side * side / T, rel=REL)


def test_prediction_factor_limits():
    assert prediction_factor(10) == pytest.approx(c95(10), rel=1e-12)
    assert prediction_factor(10**7) == pytest.approx(5.991464547, rel=1e-5)  # chi2_95(2)


def test_hull_matches_qhull_on_all_points():
    from scipy.spatial import ConvexHull
    rng = np.random.default_rng(7)
    for n in (5, 50, 40_000):
        x, y = np.cumsum(rng.standard_normal((2, n)), axis=1)
        assert hull_area(x, y) == pytest.approx(ConvexHull(np.column_stack([x, y])).volume,
                                                rel=1e-12)


def test_sway_metrics_writes_settings_next_to_result():
    t = np.arange(500) / 100.0
    m = sway_metrics(t, np.sin(t), np.cos(2 * t))
    d = m.to_dict()
    assert d["settings"]["cutoff_hz"] == 10.0 and d["settings"]["zero_phase"] is True
    assert "effective order 4" in d["settings"]["filter_description"]
    assert d["preprocessing"]["duration_convention"] == "T = (n - 1) / fs"
    assert "settings" not in m.values()


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="too few"):
        sway_from_uniform([0.0, 1.0, 2.0], [0.0, 1.0, 0.0], 100.0)


# ---------------------------------------------------------------- properties

def _walk(seed, n):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((2, n)), axis=1)


INVARIANT_UNDER_ROTATION = ("ellipse95_area_mm2", "ellipse95_semi_major_mm",
                            "ellipse95_semi_minor_mm", "hull_area_mm2", "path_length_mm",
                            "mean_velocity_mm_s", "rms_mm", "mean_distance_mm",
                            "mean_frequency_hz", "sway_area_per_s_mm2_s")
AREAS = ("ellipse95_area_mm2", "hull_area_mm2", "sway_area_per_s_mm2_s")
LENGTHS = ("ellipse95_semi_major_mm", "path_length_mm", "path_length_ml_mm",
           "path_length_ap_mm", "mean_velocity_mm_s", "rms_mm", "rms_ml_mm", "range_ap_mm",
           "mean_distance_mm")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 2000),
       dx=st.floats(-300, 300), dy=st.floats(-300, 300))
def test_translation_invariance(seed, n, dx, dy):
    x, y = _walk(seed, n)
    a = sway_from_uniform(x, y, 80.0)
    b = sway_from_uniform(x + dx, y + dy, 80.0)
    for k, v in a.items():
        if k in ("mean_x_mm", "mean_y_mm"):
            continue
        assert b[k] == pytest.approx(v, rel=1e-6, abs=1e-6), k
    assert b["mean_x_mm"] == pytest.approx(a["mean_x_mm"] + dx, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 2000), deg=st.floats(-180, 180))
def test_rotation_invariance(seed, n, deg):
    x, y = _walk(seed, n)
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    a = sway_from_uniform(x, y, 80.0)
    b = sway_from_uniform(c * x - s * y, s * x + c * y, 80.0)
    for k in INVARIANT_UNDER_ROTATION:
        assert b[k] == pytest.approx(a[k], rel=1e-7, abs=1e-9), k
    turn = (b["ellipse95_angle_deg"] - a["ellipse95_angle_deg"] - deg) % 180.0
    if a["ellipse95_semi_major_mm"] > 1.01 * a["ellipse95_semi_minor_mm"]:
        assert min(turn, 180.0 - turn) < 1e-5


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 2000), scale=st.floats(0.01, 100))
def test_scaling_laws(seed, n, scale):
    x, y = _walk(seed, n)
    a = sway_from_uniform(x, y, 80.0)
    b = sway_from_uniform(scale * x, scale * y, 80.0)
    for k in AREAS:
        assert b[k] == pytest.approx(scale**2 * a[k], rel=1e-7), k
    for k in LENGTHS:
        assert b[k] == pytest.approx(scale * a[k], rel=1e-7), k
    assert b["mean_frequency_hz"] == pytest.approx(a["mean_frequency_hz"], rel=1e-7)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 600),
       fs=st.sampled_from([50.0, 80.0, 100.0]))
def test_fast_matches_reference_on_random_data(seed, n, fs):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((2, n)) * rng.uniform(0.1, 50, size=(2, 1))
    a, b = sway_from_uniform(x, y, fs), reference_sway(x, y, fs)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-8, abs=1e-9), k


# ---------------------------------------------------------------- reference recording

@pytest.mark.parametrize("cfg", [NO_FILTER, AnalysisSettings()], ids=["unfiltered", "filtered"])
def test_reference_recording_matches_plain_loop_implementation(cfg):
    t, x, y = load_reference()
    p = prepare(t, x, y, cfg)
    assert p.fs_hz == pytest.approx(100.0) and not p.resampled and p.x_mm.size == 6000
    fast = sway_metrics(t, x, y, cfg).values()
    slow = reference_sway(p.x_mm, p.y_mm, p.fs_hz)
    assert set(fast) == set(slow)
    for k in slow:
        assert fast[k] == pytest.approx(slow[k], rel=1e-9, abs=1e-12), k


def test_reference_recording_plausible_and_filter_effect():
    """Quiet stance: cm-scale sway; filtering changes path a lot and the ellipse very little."""
    t, x, y = load_reference()
    raw = sway_metrics(t, x, y, NO_FILTER)
    filt = sway_metrics(t, x, y)
    assert 10 < raw.ellipse95_area_mm2 < 1000
    assert 0.1 < raw.mean_frequency_hz < 2
    assert filt.path_length_mm < raw.path_length_mm
    assert abs(filt.ellipse95_area_mm2 / raw.ellipse95_area_mm2 - 1) < 0.01


def test_reference_helpers_are_right():
    assert f2_quantile(0.95, 30) == pytest.approx(f_dist.ppf(0.95, 2, 30), rel=1e-12)
    big, small, angle = eig2_symmetric(2.0, 1.0, 2.0)
    assert (big, small, angle) == pytest.approx((3.0, 1.0, 45.0))
    assert monotone_chain_area([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2), (1, 0)]) == 4.0
