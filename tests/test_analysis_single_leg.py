"""Single-leg stands: stepping on, touchdowns by load and by COP jump, stabilisation."""

import math

import numpy as np
import pytest

from stancelab.analysis import (
    NO_FILTER,
    SingleLegSettings,
    single_leg_metrics,
    time_to_stabilisation,
    touchdown_events,
)
from stancelab.geometry import FootModel

FS = 80.0
BW = 700.0
FOOT = FootModel(260.0, "left")


def stand(total_s=30.0, step_on_s=2.0, settle_amp_mm=15.0, tau_s=0.6, seed=0):
    """Empty board, then a one-leg stand: a decaying wobble on top of small steady sway."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(total_s * FS)) / FS
    load = np.where(t >= step_on_s, BW, 0.0) + rng.normal(0, 5.0, t.size)
    rel = np.clip(t - step_on_s, 0, None)
    wobble = settle_amp_mm * np.exp(-rel / tau_s)
    x = wobble * np.cos(2 * np.pi * 1.5 * rel) + 1.5 * np.sin(2 * np.pi * 0.3 * t) - 90.0
    y = wobble * np.sin(2 * np.pi * 1.1 * rel) + 2.0 * np.sin(2 * np.pi * 0.21 * t + 1.0)
    x, y = x + rng.normal(0, 0.2, t.size), y + rng.normal(0, 0.2, t.size)
    x[t < step_on_s] = np.nan
    y[t < step_on_s] = np.nan
    return t, x, y, load


def test_clean_stand_has_no_touchdowns_and_is_held_to_the_end():
    t, x, y, load = stand()
    m = single_leg_metrics(t, x, y, load, BW, FOOT)
    assert m.stand_start_s == pytest.approx(2.0, abs=1 / FS)
    assert m.touchdowns == 0
    assert m.time_held_s == pytest.approx(t[-1] - 2.0, abs=1 / FS)
    assert 0.3 < m.time_to_stabilisation_s < 3.0
    assert m.sway is not None and m.sway.duration_s > 20
    assert m.values()["time_held_s"] == m.time_held_s
    assert m.to_dict()["settings"]["single_leg"]["touchdown_load_share"] == 0.85


def test_touchdown_by_load_and_by_cop_jump():
    t, x, y, load = stand()
    load[(t >= 12.0) & (t < 12.5)] = 0.6 * BW              # other foot on the floor
    jump = (t >= 20.0) & (t < 20.3)
    x[jump] += 1.3 * FOOT.width                             # other foot put on the board
    events = touchdown_events(t, x, y, load, BW, FOOT)
    starts = [e[0] for e in events if e[0] > 2.5]
    assert len(starts) == 2
    assert starts[0] == pytest.approx(12.0, abs=1 / FS)
    assert starts[1] == pytest.approx(20.0, abs=1 / FS)
    m = single_leg_metrics(t, x, y, load, BW, FOOT)
    assert m.touchdowns == 2
    assert m.time_held_s == pytest.approx(10.0, abs=1 / FS)
    assert m.steady_end_s == pytest.approx(12.0, abs=1 / FS)


def test_cop_jump_threshold_is_a_parameter():
    t, x, y, load = stand()
    x[(t >= 20.0) & (t < 20.3)] += 0.7 * FOOT.width
    assert single_leg_metrics(t, x, y, load, BW, FOOT).touchdowns == 0
    tight = SingleLegSettings(jump_width_fraction=0.5)
    assert single_leg_metrics(t, x, y, load, BW, FOOT, tight).touchdowns == 1


def test_bigger_wobble_takes_longer_to_settle():
    small = time_to_stabilisation(*stand(settle_amp_mm=5.0, step_on_s=0.0)[:3])
    big = time_to_stabilisation(*stand(settle_amp_mm=40.0, step_on_s=0.0)[:3])
    assert big > small
    # Envelope A e^(-t/tau) vs. steady RMS ~ 1.9 mm: settles roughly at tau * ln(A / 2.8 mm).
    assert big == pytest.approx(0.6 * math.log(40.0 / 2.8), abs=0.6)


def test_too_short_to_settle_gives_nan_and_no_sway():
    t, x, y, load = stand(total_s=2.6, step_on_s=2.0)
    m = single_leg_metrics(t, x, y, load, BW, FOOT, analysis=NO_FILTER)
    assert math.isnan(m.time_to_stabilisation_s) and m.sway is None


def test_never_stood_on_is_a_clear_error():
    t, x, y, load = stand()
    with pytest.raises(ValueError, match="body weight"):
        single_leg_metrics(t, x, y, load * 0.5, BW, FOOT)
