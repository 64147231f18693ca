"""Whole drills against the simulated board and athlete, driven by the autopilot.

Time comes from the samples only, so each drill runs in a fraction of its sample time. The
board model has realistic offsets and gain spread; the calibration here is the one a perfect
tare + gain fit would give (the virtual board's own parameters).
"""

import time

import numpy as np
import pytest

from stancelab.calibration import Calibration
from stancelab.cli.drill_commands import compare_athlete
from stancelab.drills import (
    ClockBalance,
    DrillRunner,
    DrillWarning,
    Phase,
    PhaseChanged,
    QuietStance,
    Score,
    SingleLegStand,
    TrialDone,
)
from stancelab.drills.base import Drill
from stancelab.drills.events import Aborted
from stancelab.geometry import FootModel
from stancelab.processing import process
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.autopilot import Autopilot
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.sim.virtual_board import VirtualBoard
from stancelab.storage import Storage

FOOT_MM = 265.0


def board(seed=0, faults=None, **athlete_kw):
    athlete_kw.setdefault("stance", "off")
    athlete = VirtualAthlete(foot_length_mm=FOOT_MM, seed=seed, **athlete_kw)
    vb = VirtualBoard(athlete, seed=seed, faults=faults) if faults else None
    src = SimulatedBoard(athlete, realtime=False, seed=seed, board=vb)
    src.open()
    hx = src.board.hx711
    cal = Calibration(board_id=src.state.board_id,
                      offsets_counts=tuple(float(v) for v in hx.offsets_counts),
                      gains_n_per_count=tuple(float(1 / v) for v in hx.counts_per_n))
    return src, cal


def run(src, cal, drill, store=None, athlete_id=None, pilot=None, on_events=None,
        max_polls=20_000):
    runner = DrillRunner(src, cal, drill, store=store, athlete_id=athlete_id)
    pilot = pilot or Autopilot(src)
    events = []
    for _ in range(max_polls):
        if runner.finished:
            break
        new = runner.poll()
        pilot(new)
        if on_events:
            on_events(new, src)
        events += new
    assert runner.finished, "the drill did not finish"
    return runner, events


@pytest.fixture
def store(tmp_path):
    s = Storage(tmp_path / "drills.sqlite3")
    yield s
    s.close()


def test_clock_balance_runs_through_and_stores_every_sample(store):
    src, cal = board(seed=1)
    athlete = store.add_athlete("Ada", FOOT_MM)
    drill = ClockBalance("right", FootModel(FOOT_MM, "right"), target_fraction=0.6)
    runner, events = run(src, cal, drill, store, athlete.id)
    (result,) = runner.results
    assert result.status == "completed"
    assert [t["hour"] for t in result.metrics["targets"]] == [12] + list(range(1, 12))
    # At 60 % of the edge a healthy athlete reaches most targets; each reached one has a score.
    reached = [t for t in result.metrics["targets"] if t["outcome"] == "reached"]
    assert len(reached) >= 9
    assert all(t["score_pct"] is not None and t["score_pct"] > 40 for t in reached)
    assert 0 < result.metrics["edge_reach_score_pct"] < 100
    trial = store.trial(runner.trial_ids[0])
    assert trial.status == "completed" and trial.leg == "right" and trial.drill == "clock"
    assert trial.metrics["edge_reach_score_pct"] == pytest.approx(
        result.metrics["edge_reach_score_pct"])
    assert trial.settings["target_fraction"] == 0.6
    samples = store.read_samples(trial.id)
    assert len(samples) == runner.samples_written > 0
    phases = set(samples.phase)
    assert {"waiting", "countdown", "active", "done"} <= phases
    targets = set(samples.target) - {None}
    assert {"12", "6", "centre"} <= targets
    # Every active sample carries its target; events come in lifecycle order.
    kinds = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert kinds[:3] == [Phase.WAITING, Phase.COUNTDOWN, Phase.ACTIVE] and kinds[-1] == Phase.DONE


def test_weak_left_leg_shows_in_the_comparison(store):
    athlete = store.add_athlete("Weak left", FOOT_MM)
    for i, leg in enumerate(("left", "right")):
        src, cal = board(seed=10 + i, weakness={"left": 0.4})
        run(src, cal, ClockBalance(leg, FootModel(FOOT_MM, leg)), store, athlete.id)
    src, cal = board(seed=12, weakness={"left": 0.4})
    run(src, cal, SingleLegStand(n_trials=2, duration_s=20, rest_s=5,
                                 foot_length_mm=FOOT_MM), store, athlete.id)
    report, _ = compare_athlete(store, athlete.id)
    clock = {r["metric"]: r for r in report["clock"]["rows"]}
    assert clock["edge_reach_score_pct"]["better"] == "right"
    assert clock["edge_reach_score_pct"]["left"] < clock["edge_reach_score_pct"]["right"]
    # The weak leg gets less far toward the long directions (toes, heel), where the reach
    # limit and not the sway decides.
    far = {}
    for session in store.sessions(athlete.id):
        for trial in store.trials(session.id):
            if trial.drill == "clock":
                far[trial.leg] = np.mean([t["max_excursion_pct"] for t in trial.metrics["targets"]
                                          if t["hour"] in (12, 6)])
    assert far["left"] < far["right"] - 5
    single = {r["metric"]: r for r in report["single-leg"]["rows"]}
    assert single["ellipse95_area_mm2"]["better"] == "right"   # the weak leg sways more
    assert single["ellipse95_area_mm2"]["flagged"]
    assert report["single-leg"]["trials"] == {"left": 2, "right": 2}


def test_stepping_off_aborts_the_trial_and_keeps_its_samples(store):
    src, cal = board(seed=3)
    athlete = store.add_athlete("Steps off", FOOT_MM)
    stepped = []

    def step_off_in_first_trial(events, src):
        for e in events:
            if isinstance(e, PhaseChanged) and e.phase == Phase.ACTIVE and not stepped:
                stepped.append(e.t_s)
                src.set_stance("off", 3.0)

    drill = SingleLegStand(legs=["left"], n_trials=2, duration_s=10, rest_s=3)
    runner, events = run(src, cal, drill, store, athlete.id, on_events=step_off_in_first_trial)
    first, second = runner.results
    assert first.status == "aborted" and "stepped off" in first.reason
    assert second.status == "completed"
    aborted = [e for e in events if isinstance(e, Aborted)]
    assert len(aborted) == 1 and aborted[0].code == "stepped-off"
    assert aborted[0].t_s - stepped[0] == pytest.approx(3.0 + 0.3 + 0.4, abs=0.6)
    # Time held until stepping off is still a result.
    assert 2.0 < first.metrics["time_held_s"] < 4.0
    t1 = store.trial(runner.trial_ids[0])
    assert t1.status == "aborted" and "stepped off" in t1.reason
    assert store.sample_count(t1.id) > 80 * 5


@pytest.mark.parametrize("rate, expect_some", [(40.0, True), (0.0, False)])
def test_touchdowns_are_counted(rate, expect_some):
    src, cal = board(seed=4, touchdowns_per_min=rate)
    runner, _ = run(src, cal, SingleLegStand(legs=["right"], n_trials=1, duration_s=30,
                                             rest_s=0))
    m = runner.results[0].metrics
    if expect_some:
        assert m["touchdowns"] >= 1
        assert m["time_held_s"] < 30.0
    else:
        assert m["touchdowns"] == 0
        assert m["time_held_s"] == pytest.approx(30.0, abs=0.1)


def test_early_start_warns_and_restarts_the_countdown():
    src, cal = board(seed=5)
    leaned = []

    def move_during_countdown(events, src):
        for e in events:
            if isinstance(e, PhaseChanged) and e.phase == Phase.COUNTDOWN and not leaned:
                leaned.append(e.t_s)
                src.lean_to((0.0, 60.0), 1.0)      # leans forward 1 s into the countdown
            if isinstance(e, DrillWarning) and e.code == "early-start":
                src.lean_to(None, 0.0)

    runner, events = run(src, cal, SingleLegStand(legs=["left"], n_trials=1, duration_s=5,
                                                  rest_s=0), on_events=move_during_countdown)
    warnings = [e for e in events if isinstance(e, DrillWarning) and e.code == "early-start"]
    assert 1 <= len(warnings) <= 2
    # The first warning comes from the lean (1 s + reaction time into the countdown).
    assert 1.0 < warnings[0].t_s - leaned[0] < 2.5
    countdowns = [e for e in events if isinstance(e, PhaseChanged)
                  and e.phase == Phase.COUNTDOWN]
    assert len(countdowns) == len(warnings) + 1
    # Each restart follows its warning after a full steady window.
    for w, c in zip(warnings, countdowns[1:]):
        assert c.t_s - w.t_s >= 1.0
    active = next(e for e in events if isinstance(e, PhaseChanged) and e.phase == Phase.ACTIVE)
    assert active.t_s - countdowns[-1].t_s == pytest.approx(3.0, abs=0.02)
    assert runner.results[0].status == "completed"


class _IgnoresTargets(Autopilot):
    """Steps on and stands, but never leans: every target must time out."""

    def _handle(self, e):
        if not (hasattr(e, "hour") and hasattr(e, "zone_radius_mm")):
            super()._handle(e)


def test_never_reached_target_times_out_without_a_score():
    src, cal = board(seed=6)
    drill = ClockBalance("left", FootModel(FOOT_MM, "left"), order=[12, 3, 6], timeout_s=4.0)
    runner, events = run(src, cal, drill, pilot=_IgnoresTargets(src))
    result = runner.results[0]
    assert result.status == "completed"
    assert [t["outcome"] for t in result.metrics["targets"]] == ["time-out"] * 3
    assert all(t["score_pct"] is None for t in result.metrics["targets"])
    assert all(t["max_excursion_pct"] < 40 for t in result.metrics["targets"])
    scores = [e for e in events if isinstance(e, Score) and e.outcome == "time-out"]
    assert len(scores) == 3 and all(s.value is None for s in scores)
    assert result.metrics["targets_reached"] == 0
    # Each target lasted exactly its time-out (sample time), not a wall-clock amount.
    cues = [e.t_s for e in events if getattr(e, "hour", None) in (12, 3, 6)]
    ends = [e.t_s for e in scores]
    assert np.allclose(np.subtract(ends, cues), 4.0, atol=1 / 80 + 1e-9)


def test_same_samples_give_identical_events_whatever_the_wall_clock():
    src, cal = board(seed=7)
    recorded = []

    class Recorder:
        def __init__(self, src):
            self.src = src

        def read(self, *a, **k):
            s = self.src.read(*a, **k)
            recorded.append(s)
            return s

        def __getattr__(self, name):
            return getattr(self.src, name)

    _, first = run(Recorder(src), cal, SingleLegStand(legs=["left"], n_trials=1,
                                                           duration_s=5, rest_s=0),
                        pilot=Autopilot(src))
    samples = [s for chunk in recorded for s in chunk]

    def replay(chunk, pause_s):
        drill = SingleLegStand(legs=["left"], n_trials=1, duration_s=5, rest_s=0)
        events = drill.setup()
        for i in range(0, len(samples), chunk):
            events += drill.feed(process(samples[i:i + chunk], cal))
            if pause_s and i < 5 * chunk:
                time.sleep(pause_s)
        return events

    again = replay(20, 0.05)
    assert again == first
    assert replay(7, 0.0) == first      # chunking does not matter either


def test_board_disconnect_marks_the_trial_interrupted(store):
    src, cal = board(seed=8)
    athlete = store.add_athlete("Unplugged", FOOT_MM)

    def unplug(events, src):
        for e in events:
            if isinstance(e, PhaseChanged) and e.phase == Phase.ACTIVE:
                src.close()

    runner, _ = run(src, cal, SingleLegStand(legs=["left"], n_trials=3, duration_s=10),
                         store, athlete.id, on_events=unplug)
    (result,) = runner.results
    assert result.status == "interrupted" and "disconnected" in result.reason
    trial = store.trial(runner.trial_ids[0])
    assert trial.status == "interrupted" and "disconnected" in trial.reason
    assert store.sample_count(trial.id) == runner.samples_written > 0


class _Broken(SingleLegStand):
    cleaned = False

    def active_step(self, j, t):
        if t - self.active_t0 > 1.0:
            raise RuntimeError("bug in a drill")
        super().active_step(j, t)

    def cleanup(self):
        type(self).cleaned = True
        super().cleanup()


def test_an_error_in_a_drill_still_cleans_up_and_keeps_samples(store):
    src, cal = board(seed=9)
    athlete = store.add_athlete("Bug", FOOT_MM)
    drill = _Broken(legs=["right"], n_trials=1, duration_s=10)
    runner = DrillRunner(src, cal, drill, store=store, athlete_id=athlete.id)
    pilot = Autopilot(src)
    with pytest.raises(RuntimeError, match="bug in a drill"):
        for _ in range(2000):
            pilot(runner.poll())
    assert runner.finished and _Broken.cleaned
    trial = store.trial(runner.trial_ids[0])
    assert trial.status == "aborted" and "bug in a drill" in trial.reason
    assert store.sample_count(trial.id) > 0


def test_quiet_stance_reports_sway_and_weight_shares():
    src, cal = board(seed=11, weakness={"left": 0.5})
    runner, events = run(src, cal, QuietStance(duration_s=20, foot_length_mm=FOOT_MM))
    m = runner.results[0].metrics
    assert runner.results[0].status == "completed"
    assert 20 < m["ellipse95_area_mm2"] < 2000
    # The athlete favours the strong right leg: 0.5 + 0.1 * 0.5 = 55 % on the right foot.
    assert m["right_pct"] == pytest.approx(55.0, abs=3.0)
    assert m["left_pct"] + m["right_pct"] == pytest.approx(100.0)
    assert any(isinstance(e, TrialDone) for e in events)


def test_drill_needs_setup_before_feed():
    with pytest.raises(RuntimeError, match="setup"):
        QuietStance().feed(process([], Calibration(board_id=1)))
    assert issubclass(QuietStance, Drill)


def test_the_other_foot_down_is_said_live_where_the_analysis_counts_it():
    """The live touchdown cue (a DrillWarning when the load falls under the analysis's share
    of body weight, and another when the foot is up again) brackets every touchdown the
    analysis counts from the load; none is said when the athlete holds."""
    from stancelab.drills.single_leg import RULES

    for rate in (40.0, 0.0):
        src, cal = board(seed=4, touchdowns_per_min=rate)
        runner, events = run(src, cal, SingleLegStand(legs=["right"], n_trials=1,
                                                      duration_s=30, rest_s=0))
        said = [e for e in events if isinstance(e, DrillWarning)
                and e.code in ("touchdown", "touchdown-over")]
        m = runner.results[0].metrics
        if rate == 0.0:
            assert said == [] and m["touchdowns"] == 0
            continue
        down = [e.t_s for e in said if e.code == "touchdown"]
        up = [e.t_s for e in said if e.code == "touchdown-over"]
        assert down and [e.code for e in said] == \
            ["touchdown", "touchdown-over"] * len(up) + ["touchdown"] * (len(down) - len(up))
        assert all(a < b for a, b in zip(down, up))
        # Every analysed touchdown starts where a live one was said (to the sample), and the
        # live cue never says more touchdowns than the analysis counts.
        starts = m["touchdown_times_s"]
        assert len(down) <= m["touchdowns"]
        for t in down:
            assert min(abs(t - s) for s in starts) <= 1.5 / 80
        # ...and each "foot up again" comes the merge gap after the load came back.
        for t in up:
            assert t - max(s for s in down if s < t) >= RULES.merge_gap_s
