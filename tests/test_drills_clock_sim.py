"""The clock drill as the demo shows it: default settings, the simulated athlete on autopilot.

A healthy athlete reaches and holds nearly every target at 80 % of the edge; a weak leg reaches
fewer or less far; and the per-direction excursions are not skewed by where the foot centre is
taken to be (the printed mark, not a short mean of single-leg sway).
"""

import functools

import numpy as np

from stancelab.drills import ClockBalance
from stancelab.drills.settings import ClockSettings
from stancelab.geometry import SINGLE_LEG_MARK_MM, FootModel
from stancelab.sim.autopilot import Autopilot
from test_drills_sim import FOOT_MM, board, run


@functools.cache
def clock_run(leg: str, seed: int, weak: tuple = ()):
    """(targets reached, {hour: max excursion % of edge}, foot centre) of a default clock drill.

    The autopilot commands the athlete at the events' sample times, as the GUI's demo does."""
    src, cal = board(seed=seed, weakness=dict(weak) or None)
    drill = ClockBalance.from_settings(ClockSettings(leg=leg, foot_length_mm=FOOT_MM))
    runner, _ = run(src, cal, drill, pilot=Autopilot(src.athlete))
    (result,) = runner.results
    assert result.status == "completed", result.reason
    reached = sum(r["outcome"] == "reached" for r in drill.target_results)
    return reached, {r["hour"]: r["max_excursion_pct"] for r in drill.target_results}, \
        tuple(drill.centre_mm)


def test_defaults_are_80_percent_targets_on_the_printed_mark():
    s = ClockSettings()
    assert s.target_fraction == 0.8 and s.recentre is False


def test_healthy_athlete_reaches_nearly_every_target_at_80_percent():
    for seed in range(5):
        reached, exc, _ = clock_run("right", seed)
        assert reached >= 10, (seed, reached, exc)
        assert all(60.0 < v < 100.0 for v in exc.values()), (seed, exc)


def test_weak_leg_reaches_fewer_targets_or_less_far():
    for seed in range(5):
        n_ok, exc_ok, _ = clock_run("right", seed)
        n_weak, exc_weak, _ = clock_run("right", seed, (("right", 0.3),))
        assert n_weak < n_ok or np.mean(list(exc_weak.values())) < np.mean(
            list(exc_ok.values())) - 2.0, (seed, n_ok, n_weak, exc_ok, exc_weak)


def test_per_direction_excursions_are_not_skewed_by_the_foot_centre():
    # One athlete, left leg 30 % weaker: each direction of the weak leg should come out below
    # the strong leg's. With the old default (centre = mean COP of the last 0.5 s of the steady
    # stance) the centre wandered by up to 10 mm and 5 of 12 directions came out reversed
    # (8 o'clock read 101 % on the weak leg, 4 o'clock 103 % on the strong one).
    weak = (("left", 0.3),)
    for seed in range(3):
        _, exc_weak, centre_weak = clock_run("left", seed, weak)
        _, exc_strong, centre_strong = clock_run("right", seed, weak)
        assert centre_weak == centre_strong == tuple(float(v) for v in SINGLE_LEG_MARK_MM)
        lower = [h for h in range(1, 13) if exc_weak[h] < exc_strong[h]]
        assert len(lower) >= 9, (seed, exc_weak, exc_strong)
        assert max(exc_weak.values()) < 100.0 and max(exc_strong.values()) < 100.0


def test_opt_in_recentre_uses_the_countdown_and_stays_near_the_mark():
    from stancelab.drills.clock import RECENTRE_MAX_MM

    src, cal = board(seed=1, weakness={"left": 0.3})
    drill = ClockBalance("left", FootModel(FOOT_MM, "left"), recentre=True, order=[12, 3, 6])
    run(src, cal, drill, pilot=Autopilot(src.athlete))
    shift = np.hypot(*(np.asarray(drill.centre_mm) - SINGLE_LEG_MARK_MM))
    assert 0.0 < shift <= RECENTRE_MAX_MM
