"""The recording procedure: set up, execute, shut down in `finally`, whatever happens."""

from __future__ import annotations

import pytest

from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.station.procedure import ABORTED, FAILED, FINISHED, Procedure
from stancelab.station.recording import Recording
from stancelab.storage import Storage, StorageError


def _record(store, seconds=2.0, **kw):
    src = SimulatedBoard(realtime=False, seed=1)
    src.open()
    athlete = store.get_or_add_athlete("Rec")
    return src, Recording(store, src, athlete.id, seconds, **kw)


def test_a_recording_stores_exactly_n_seconds_and_closes_the_board(tmp_path):
    events = []
    with Storage(tmp_path / "db.sqlite3") as store:
        src, rec = _record(store, on_event=lambda kind, **d: events.append(kind))
        rec.run()
        assert rec.status == FINISHED and rec.trial_status == "completed"
        assert store.sample_count(rec.trial.id) == 160 == rec.samples
        assert store.trial(rec.trial.id).status == "completed"
        assert not src.state.connected
        assert events[0] == "started" and "progress" in events


def test_stop_from_outside_ends_it_as_aborted_with_what_was_recorded(tmp_path):
    with Storage(tmp_path / "db.sqlite3") as store:
        def stop_after_first(kind, **d):
            if kind == "progress" and d["samples"] >= 40:
                rec.stop("the coach pressed stop")
        _src, rec = _record(store, seconds=30.0, on_event=stop_after_first)
        rec.run()
        assert rec.status == ABORTED
        trial = store.trial(rec.trial.id)
        assert trial.status == "aborted" and trial.reason == "the coach pressed stop"
        assert 40 <= store.sample_count(rec.trial.id) < 30 * 80


def test_a_failing_startup_still_shuts_the_board(tmp_path):
    with Storage(tmp_path / "db.sqlite3") as store:
        src, rec = _record(store)
        store.close()                 # the database goes away before the trial is created
        with pytest.raises(StorageError):
            rec.run()
        assert rec.status == FAILED
        assert not src.state.connected


def test_a_procedure_runs_once():
    class Once(Procedure):
        def execute(self):
            return 42

    p = Once()
    assert p.run() == 42 and p.status == FINISHED
    with pytest.raises(RuntimeError):
        p.run()
    with pytest.raises(ValueError):
        Recording(None, SimulatedBoard(realtime=False), 1, 0)


def _quiet_run(store, **kw):
    from stancelab.drills import settings as drill_settings
    from stancelab.drills.quiet import QuietStance
    from stancelab.station.drill_run import DrillRun

    src = SimulatedBoard(realtime=False, seed=2)
    src.open()
    athlete = store.get_or_add_athlete("Drill")
    drill = QuietStance.from_settings(drill_settings.for_athlete("quiet", {}, duration_s=5.0))
    return src, DrillRun(store, src, drill, athlete.id, realtime=False, **kw)


def test_a_drill_run_stores_its_trial_and_closes_the_board(tmp_path):
    with Storage(tmp_path / "db.sqlite3") as store:
        src, run = _quiet_run(store)
        run.run()
        assert run.status == FINISHED
        (result,) = run.results
        assert result.status == "completed"
        assert [t.status for t in store.trials(run.session_id)] == ["completed"]
        assert not src.state.connected


def test_a_front_end_that_fails_mid_drill_still_leaves_the_board_closed(tmp_path):
    class ScreenGone(Exception):
        pass

    def explode(events):
        if any(type(e).__name__ == "TrialStarted" for e in events):
            raise ScreenGone

    with Storage(tmp_path / "db.sqlite3") as store:
        src, run = _quiet_run(store, on_events=explode)
        with pytest.raises(ScreenGone):
            run.run()
        assert run.status == FAILED and not src.state.connected
        assert all(t.status != "recording" for t in store.trials(run.session_id))


def test_a_replay_shorter_than_asked_ends_with_what_it_holds(tmp_path):
    from stancelab import cli
    from stancelab.station.replay import ReplayBoard

    csv = tmp_path / "short.csv"
    assert cli.main(["record", "--simulate", "--fast", "--seconds", "1", "--athlete", "R",
                     "--out", str(csv)]) == 0
    with Storage(tmp_path / "db.sqlite3") as store:
        src = ReplayBoard(csv, speed=None)
        src.open()
        rec = Recording(store, src, store.get_or_add_athlete("R").id, 5.0)
        rec.run()                      # used to wait for samples that never come
        assert rec.status == FINISHED and rec.samples == 80
        assert "less than the 5 s" in rec.reason
