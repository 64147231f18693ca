"""Preprocessing: the inlined zero-phase filter equals scipy's, gains at the cut-off, NaN gaps,
uneven timestamps, and clear errors for inputs that cannot be analysed."""

import math

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from stancelab.analysis import NO_FILTER, AnalysisSettings, prepare
from stancelab.analysis.filters import lowpass


@pytest.mark.parametrize("order", [1, 2, 4])
def test_zero_phase_equals_scipy_sosfiltfilt(order):
    rng = np.random.default_rng(order)
    x, y = np.cumsum(rng.standard_normal((2, 700)), axis=1)
    fx, fy = lowpass(x, y, 80.0, AnalysisSettings(filter_order=order))
    sos = butter(order, 10.0, fs=80.0, output="sos")
    np.testing.assert_allclose(fx, sosfiltfilt(sos, x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fy, sosfiltfilt(sos, y), rtol=0, atol=1e-12)


def _gain(freq_hz, cfg, fs=100.0):
    t = np.arange(4000) / fs
    s = np.sin(2 * np.pi * freq_hz * t)
    out, _ = lowpass(s, s, fs, cfg)
    mid = slice(1000, 3000)
    return math.sqrt(2 * np.mean(out[mid] ** 2)), out, s


def test_default_is_effective_fourth_order_zero_phase():
    cfg = AnalysisSettings()
    assert _gain(1.0, cfg)[0] == pytest.approx(1.0, abs=0.002)
    assert _gain(10.0, cfg)[0] == pytest.approx(0.5, abs=0.01)  # |H|^2 of butter(2) = 1/2
    assert _gain(30.0, cfg)[0] < 0.02
    _, out, s = _gain(3.0, cfg)
    lags = np.arange(-5, 6)
    xc = [np.dot(out[1000:3000], s[1000 + k:3000 + k]) for k in lags]
    assert lags[int(np.argmax(xc))] == 0  # no phase delay


def test_forward_only_has_half_power_at_cutoff_and_a_delay():
    cfg = AnalysisSettings(zero_phase=False)
    assert _gain(10.0, cfg)[0] == pytest.approx(1 / math.sqrt(2), abs=0.01)
    _, out, s = _gain(3.0, cfg)
    lags = np.arange(-10, 1)
    xc = [np.dot(out[1000:3000], s[1000 + k:3000 + k]) for k in lags]
    assert lags[int(np.argmax(xc))] < 0


def test_settings_round_trip_and_description():
    cfg = AnalysisSettings(filter_order=4, cutoff_hz=6.0, zero_phase=True)
    d = cfg.to_dict()
    assert AnalysisSettings.from_dict(d) == cfg
    assert "effective order 8" in d["filter_description"]
    assert NO_FILTER.describe() == "no low-pass filter"


def test_short_input_for_filtfilt_is_a_clear_error():
    t = np.arange(8) / 80.0
    with pytest.raises(ValueError, match="too short.*filter off"):
        prepare(t, np.zeros(8), np.zeros(8))
    assert prepare(t, np.zeros(8), np.zeros(8), NO_FILTER).x_mm.size == 8


@pytest.mark.parametrize("bad", [{"cutoff_hz": 40.0}, {"cutoff_hz": 55.0}])
def test_cutoff_above_nyquist_is_a_clear_error(bad):
    t = np.arange(200) / 80.0
    with pytest.raises(ValueError, match="below half the sample rate"):
        prepare(t, np.zeros(200), np.zeros(200), AnalysisSettings(**bad))


def test_bad_timestamps_and_lengths():
    with pytest.raises(ValueError, match="strictly increase"):
        prepare([0, 1, 1, 2, 3], np.zeros(5), np.zeros(5), NO_FILTER)
    with pytest.raises(ValueError, match="same length"):
        prepare(np.arange(5), np.zeros(4), np.zeros(5), NO_FILTER)
    with pytest.raises(ValueError, match="anyone on the board"):
        prepare(np.arange(10), np.full(10, np.nan), np.zeros(10), NO_FILTER)


def test_nan_ends_dropped_short_gap_bridged_long_gap_splits():
    fs = 100.0
    t = np.arange(1000) / fs
    x = 2.0 * t
    y = -t
    x[:10] = np.nan          # empty board at the start
    x[500:505] = np.nan      # 50 ms dropout: bridged
    y[990:] = np.nan         # stepped off at the end
    p = prepare(t, x, y, NO_FILTER)
    assert p.t_s[0] == pytest.approx(0.10) and p.t_s[-1] == pytest.approx(9.89)
    np.testing.assert_allclose(p.x_mm, 2.0 * p.t_s, atol=1e-12)  # linear data: interp exact
    assert p.bridged_s == pytest.approx(0.05)
    assert p.dropped_s == pytest.approx(0.20)

    x2 = 2.0 * t
    x2[300:350] = np.nan     # 0.5 s gap: longer than max_gap_s, keep the longer part
    p2 = prepare(t, x2, y, NO_FILTER)
    assert p2.t_s[0] == pytest.approx(3.50) and p2.t_s[-1] == pytest.approx(9.89)


def test_uneven_timestamps_resampled_to_uniform():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.0100, 0.0150, 2000))
    p = prepare(t, 3.0 * t + 1.0, np.sin(t), NO_FILTER)
    assert p.resampled
    assert p.fs_hz == pytest.approx(1.0 / np.median(np.diff(t)))
    np.testing.assert_allclose(np.diff(p.t_s), 1.0 / p.fs_hz, rtol=1e-9)
    np.testing.assert_allclose(p.x_mm, 3.0 * p.t_s + 1.0, atol=1e-9)
    forced = prepare(t, 3.0 * t, np.sin(t), AnalysisSettings(filter_enabled=False,
                                                            resample_hz=50.0))
    assert forced.fs_hz == 50.0


def test_even_timestamps_pass_through_untouched():
    t = 1000.0 + np.arange(300) / 80.0
    x = np.random.default_rng(2).standard_normal(300)
    p = prepare(t, x, x, NO_FILTER)
    assert not p.resampled and p.fs_hz == pytest.approx(80.0)
    np.testing.assert_array_equal(p.x_mm, x)
