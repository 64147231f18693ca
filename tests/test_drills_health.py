"""A cell that dies during a drill: the runner warns at once, naming the corner, and the trial
recorded through the fault keeps its samples but is stored unscored, with the reason."""

from stancelab.analysis.assessment import shown_status
from stancelab.cli.render import TextRenderer, summary_lines
from stancelab.drills import SingleLegStand
from stancelab.drills.events import DrillWarning, TrialDone
from stancelab.drills.settings import SingleLegSettings
from stancelab.sim.hx711 import ChannelFault
from stancelab.storage import Storage
from test_drills_sim import FOOT_MM, board, run


def faulty_board(fault):
    return board(seed=4, faults=fault)


def single_leg(n=2):
    return SingleLegStand.from_settings(SingleLegSettings(n_trials=n, duration_s=6.0, rest_s=2.0))


def test_dead_cell_mid_drill_is_named_and_its_trials_are_not_scored(tmp_path):
    store = Storage(tmp_path / "h.sqlite3")
    src, cal = faulty_board({1: ChannelFault("dead", at_s=12.0)})
    athlete = store.add_athlete("Sam", FOOT_MM)
    runner, events = run(src, cal, single_leg(), store, athlete.id, max_polls=100_000)
    warnings = [e for e in events if isinstance(e, DrillWarning) and e.code == "sensor-dead"]
    assert warnings and "front-right" in warnings[0].text
    assert warnings[0].t_s <= 12.0 + 1.0 + 0.05   # named within 1 s of sample time
    trials = store.trials(runner.session_id)
    faulty = [t for t in trials if not t.metrics["sensor_ok"]]
    assert faulty, "a trial recorded through the dead cell must be flagged"
    for t in faulty:
        assert "sensor fault" in t.reason
        assert not any("ellipse" in k or "velocity" in k for k in t.metrics)
        assert store.sample_count(t.id) > 0       # the samples are kept
        assert shown_status(t.status, t.reason, t.metrics) == "sensor fault"
        assert shown_status(t.status, t.reason) == "sensor fault"   # lists: columns only
    # the terminal says so too: the drill's own results carry the fault, not the dropped scores
    faulty_ids = {t.id for t in faulty}
    shown = [r for r in runner.results if runner.trial_ids[r.index] in faulty_ids]
    assert shown and all(not any("ellipse" in k for k in r.metrics) for r in shown)
    done = [line for e in events if isinstance(e, TrialDone) and e.result in shown
            for line in TextRenderer().render(e)]
    assert done and all("sensor fault (recorded through a sensor fault" in x for x in done)
    lines = summary_lines(shown)
    assert all("sensor fault" in x and "held" not in x for x in lines)
    store.close()
    src.close()


def test_healthy_board_scores_every_trial(tmp_path):
    store = Storage(tmp_path / "h.sqlite3")
    src, cal = faulty_board(None)
    athlete = store.add_athlete("Sam", FOOT_MM)
    runner, events = run(src, cal, single_leg(1), store, athlete.id, max_polls=100_000)
    assert not [e for e in events if isinstance(e, DrillWarning) and e.code.startswith("sensor")]
    for t in store.trials(runner.session_id):
        assert t.metrics["sensor_ok"] is True
        assert any("ellipse" in k for k in t.metrics)
    store.close()
    src.close()
