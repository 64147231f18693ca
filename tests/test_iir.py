"""stancelab.analysis.iir against scipy.signal: the same coefficients and the same output."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as sg

from stancelab.analysis import iir
from stancelab.sim.athlete import SWAY
from stancelab.sim.sway_process import _design


def _close(ours, theirs, tol=1e-12):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    assert np.max(np.abs(ours - theirs)) <= tol * max(1.0, np.max(np.abs(theirs)))


@pytest.mark.parametrize("order,fc,fs", [(1, 10, 80), (2, 10, 80), (2, 3, 200), (2, 0.4, 200),
                                         (3, 7, 100), (4, 25, 100)])
def test_butter_lowpass_is_scipys(order, fc, fs):
    b, a = iir.butter_lowpass(order, fc, fs)
    b2, a2 = sg.butter(order, fc, fs=fs)
    _close(b, b2)
    _close(a, a2)


@pytest.mark.parametrize("lo,hi", [(0.1, 3.0), (0.5, 3.0), (2.0, 40.0)])
def test_butter_bandpass_is_scipys(lo, hi):
    b, a = iir.butter_bandpass1(lo, hi, 200.0)
    b2, a2 = sg.butter(1, [lo, hi], "band", fs=200.0)
    _close(b, b2)
    _close(a, a2)


def test_bilinear_is_scipys_cont2discrete_on_the_simulators_pendulums():
    rng = np.random.default_rng(1)
    for _ in range(20):
        w = 2 * math.pi * rng.uniform(0.1, 0.6)
        tu = 1 / (2 * math.pi * rng.uniform(1.0, 2.5))
        num = [-rng.uniform(0.05, 0.15), 0.0, 1.0]
        den = np.polymul([1.0, 2 * rng.uniform(0.5, 0.8) * w, w * w],
                         np.polymul([tu, 1.0], [tu, 1.0]))
        b, a = iir.bilinear(num, den, 1 / 200)
        b2, a2, _ = sg.cont2discrete((num, den), 1 / 200, method="bilinear")
        _close(b, np.ravel(b2))
        _close(a, a2)


def _filters():
    yield sg.butter(2, 3.0, fs=200.0)
    yield sg.butter(1, [0.5, 3.0], "band", fs=200.0)
    yield sg.butter(1, 10.0, fs=80.0)
    yield [0.3, -0.2], [2.0]                         # FIR, a[0] != 1
    yield [1.0, 0.5], [2.0, -0.4, 0.1]               # a[0] != 1
    for p in SWAY.values():
        yield _design(p[0])                          # the simulator's 4th-order sway filters


@pytest.mark.parametrize("n", [1, 2, 37, 2000])
def test_lfilter_exact_is_scipys_lfilter_on_random_input(n):
    rng = np.random.default_rng(n)
    for b, a in _filters():
        m = max(len(a), len(b)) - 1
        x = rng.standard_normal(n)
        zi = rng.standard_normal(m)
        y, zf = iir.lfilter_exact(b, a, x, zi)
        y2, zf2 = sg.lfilter(b, a, x, zi=zi)
        _close(y, y2)                                 # the brief: 1e-12
        _close(zf, zf2)
        # Same operations in the same order: the same bits (the simulator's runs unchanged).
        assert np.array_equal(y, y2) and np.array_equal(zf, zf2)


def test_lfilter_exact_carries_its_state_across_chunks():
    b, a = _design(SWAY[("single", "closed")][1])
    x = np.random.default_rng(5).standard_normal(500)
    whole, zf = iir.lfilter_exact(b, a, x, np.zeros(4))
    z, parts = np.zeros(4), []
    for i in range(0, 500, 37):
        y, z = iir.lfilter_exact(b, a, x[i:i + 37], z)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), whole) and np.array_equal(z, zf)


def test_bad_designs_are_refused_in_words():
    with pytest.raises(ValueError, match="cut-off"):
        iir.butter_lowpass(2, 50.0, 80.0)
    with pytest.raises(ValueError, match="band"):
        iir.butter_bandpass1(3.0, 1.0, 200.0)
    with pytest.raises(ValueError, match="proper"):
        iir.bilinear([1.0, 0.0, 0.0], [1.0, 1.0], 0.01)


def test_the_analysis_section_and_its_start_state_are_scipys_to_the_last_bit():
    """filters.py designs its default low-pass (order 2, one section) with iir.py instead of
    importing scipy.signal: every stored metric depends on these numbers, so they must be
    scipy's exactly, not nearly."""
    rng = np.random.default_rng(3)
    rates = list(np.arange(20.5, 400.0, 0.5)) + list(rng.uniform(21.0, 5000.0, 400))
    for fs in rates:
        for fc in (10.0, 5.0, 2.5, 9.99, 0.4):
            if fc >= fs / 2:
                continue
            sos = sg.butter(2, fc, fs=fs, output="sos")
            b, a = iir.butter_lowpass_sos2(fc, fs)
            assert np.array_equal(np.concatenate([b, a]), sos[0]), (fs, fc)
            assert np.array_equal(iir.lfilter_zi(b, a), sg.sosfilt_zi(sos)[0]), (fs, fc)
    for b, a in _filters():
        assert np.array_equal(iir.lfilter_zi(b, a), sg.lfilter_zi(b, a))


@pytest.mark.parametrize("n,fs,zero_phase", [(801, 80.0, True), (40, 80.0, True),
                                             (1100, 100.0, False), (500, 37.3, True)])
def test_lowpass_gives_the_same_bits_through_the_loop_and_through_scipy(monkeypatch, n, fs,
                                                                        zero_phase):
    from stancelab.analysis import filters

    rng = np.random.default_rng(n)
    x, y = rng.normal(0, 5, n).cumsum(), rng.normal(0, 5, n).cumsum() - 300
    settings = filters.AnalysisSettings(zero_phase=zero_phase)
    monkeypatch.setattr(filters, "_loop_allowed", lambda samples: True)
    loop = filters.lowpass(x, y, fs, settings)
    monkeypatch.setattr(filters, "_loop_allowed", lambda samples: False)
    scipy_ = filters.lowpass(x, y, fs, settings)
    sos = sg.butter(2, 10.0, fs=fs, output="sos")
    assert np.array_equal(loop[0], scipy_[0]) and np.array_equal(loop[1], scipy_[1])
    if zero_phase:
        direct = sg.sosfiltfilt(sos, np.vstack([x, y]), axis=-1)
        _close(scipy_[0], direct[0], 1e-9)


def test_a_stabilogram_window_is_filtered_without_importing_scipy_signal():
    """The report's stabilograms (10 s windows) must not pay scipy.signal's import (about
    0.65 s of the `stancelab report` command); a 30 s trial still goes to scipy."""
    code = ("import sys, numpy as np\n"
            "from stancelab.analysis.filters import prepare\n"
            "t = np.arange(801) / 80.0\n"
            "prepare(t, np.sin(t), np.cos(t))\n"
            "print('scipy.signal' in sys.modules)\n"
            "t = np.arange(2400) / 80.0\n"
            "prepare(t, np.sin(t), np.cos(t))\n"
            "print('scipy.signal' in sys.modules)\n")
    app = str(Path(__file__).resolve().parents[1] / "app")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": app})
    assert out.stdout.split() == ["False", "True"]
