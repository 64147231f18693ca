"""A recording that started on the server outlives the server going away, to its very end:
the samples and the trial's end (status, metrics) wait in the station's spool and reach the
server when it is back, the user told each time. A real throw-away PostgreSQL cluster is
killed (`pg_ctl stop -m immediate`) mid-recording (storage_backends.py)."""

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from stancelab import paths
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.station.procedure import FINISHED
from stancelab.station.recording import Recording
from stancelab.storage import SampleArrays, Storage, StorageError
from waiting import wait_for


def cluster_of(pg_server):
    if pg_server.cluster is None:
        pytest.skip("the test server's data folder is unknown (STANCELAB_TEST_POSTGRES_DATA)")
    return pg_server.cluster


def spools() -> list[Path]:
    return sorted((paths.data_dir() / "spool").glob("*.sqlite3"))


def record_killing_the_server(store, cluster, seconds=4.0, kill_at_s=1.0):
    """A `stancelab record` recording of ``seconds``; the server dies ``kill_at_s`` in and
    stays away until after the recording has ended."""
    src = SimulatedBoard(realtime=False, seed=3)
    src.open()
    athlete = store.get_or_add_athlete("Offline")
    killed = []

    def on_event(kind, **d):
        if kind == "progress" and d["done_s"] >= kill_at_s and not killed:
            cluster.stop("immediate")
            killed.append(d["samples"])

    rec = Recording(store, src, athlete.id, seconds, on_event=on_event)
    rec.run()
    assert killed, "the server was never stopped"
    return rec, src


def wait_until(cond, seconds=30.0):
    return wait_for(cond, seconds, every=0.1)


def test_a_trial_that_ends_while_the_server_is_away_reaches_it_whole(pg_server, pg_db,
                                                                    caplog):
    cluster = cluster_of(pg_server)
    caplog.set_level(logging.WARNING, logger="stancelab.storage")
    with Storage(pg_db.target) as store:
        try:
            rec, _ = record_killing_the_server(store, cluster)
            # The recording ran to its end, as if nothing had happened.
            assert rec.status == FINISHED and rec.db_error is None
            assert (rec.trial_status, rec.samples) == ("completed", 320)
            assert store.pending_spools.waiting == [rec.trial.id]
            (path,) = spools()
            said = caplog.text
            assert "Cannot reach the StanceLab server" in said and "local spool" in said
            assert f"Trial {rec.trial.id} ended (completed)" in said
            assert "go to the server as soon as it answers" in said
            # A brand-new trial cannot start: its id comes from the server. Said how to fix.
            with pytest.raises(StorageError) as e:
                store.start_trial(rec.session.id, "quiet")
            assert e.value.kind == "unreachable"
            assert "cannot start without the server" in str(e.value)
            assert "stancelab db use local" in str(e.value)
        finally:
            cluster.start()
        assert wait_until(lambda: not store.pending_spools.waiting), "the spool never moved"
        assert not spools() and not path.exists()
        moved = re.search(rf"is back: trial {rec.trial.id}'s (\d+) samples and its end "
                          r"\(status, metrics\) kept on this station are now on the server",
                          caplog.text)
        assert moved and 0 < int(moved[1]) <= 320
        trial = store.trial(rec.trial.id)
        got = store.read_samples(rec.trial.id)
    with Storage(pg_db.target) as fresh:     # what every other station now sees
        (summary,) = [t for t in fresh.trial_summaries() if t.id == rec.trial.id]
    assert (trial.status, trial.reason) == ("completed", None) and trial.ended
    assert trial.metrics["samples"] == 320 and trial.metrics["lost_frames"] == 0
    assert summary.sample_count == 320 and summary.status == "completed"
    assert len(got) == 320
    assert np.all(np.diff(got.seq) == 1)     # no gap, no duplicate at the switch-overs


def test_a_station_closed_before_the_server_returns_hands_the_end_over_next_time(
        pg_server, pg_db, caplog):
    cluster = cluster_of(pg_server)
    caplog.set_level(logging.WARNING, logger="stancelab.storage")
    store = Storage(pg_db.target)
    try:
        rec, _ = record_killing_the_server(store, cluster, seconds=3.0, kill_at_s=0.5)
        trial_id = rec.trial.id
        store.close()            # the app quits while the server is still away
        assert "stay in this station's spool" in caplog.text
        assert len(spools()) == 1
    finally:
        cluster.start()
    with Storage(pg_db.target) as store:       # the next start moves samples and the end
        ((tid, moved),) = store.recovered_spools
        assert store.recover_interrupted(stale_after_s=0) == []   # it ended: nothing to mend
        trial = store.trial(trial_id)
        n = store.sample_count(trial_id)
    assert tid == trial_id and moved > 0 and not spools()
    assert (trial.status, trial.metrics["samples"], n) == ("completed", 240, 240)


def test_an_end_on_a_reachable_server_is_written_at_once(db):
    with db.open() as store:
        athlete = store.add_athlete("Online")
        s = store.start_session(athlete_id=athlete.id, source_kind="simulated")
        t = store.start_trial(s.id, "quiet")
        store.insert_samples(t.id, SampleArrays.from_samples([]))
        assert store.end_trial(t.id, "aborted", "stopped", {"samples": 0}) is True
        got = store.trial(t.id)
    assert (got.status, got.reason, got.metrics) == ("aborted", "stopped", {"samples": 0})
    assert not spools()


def test_a_drill_whose_server_goes_away_ends_and_arrives(pg_server, pg_db, caplog):
    """The drill runner's path (the app's Drills screen, `stancelab run-drill`): a quiet-stance
    trial whose server dies soon after it started ends completed, and reaches the server."""
    from stancelab.drills import settings as drill_settings
    from stancelab.drills.quiet import QuietStance
    from stancelab.station.drill_run import DrillRun

    cluster = cluster_of(pg_server)
    caplog.set_level(logging.WARNING, logger="stancelab.storage")
    calls = []

    def on_events(events):
        calls.append(len(events))
        if len(calls) == 10:
            cluster.stop("immediate")

    with Storage(pg_db.target) as store:
        src = SimulatedBoard(realtime=False, seed=2)
        src.open()
        athlete = store.get_or_add_athlete("Drill offline")
        drill = QuietStance.from_settings(drill_settings.for_athlete("quiet", {},
                                                                    duration_s=5.0))
        run = DrillRun(store, src, drill, athlete.id, realtime=False, on_events=on_events)
        try:
            run.run()
            assert len(calls) >= 10, "the server was never stopped"
            assert run.status == FINISHED
            (result,) = run.results
            assert result.status == "completed"
            (trial_id,) = run.runner.trial_ids.values()
            assert store.pending_spools.waiting == [trial_id]
        finally:
            cluster.start()
        assert wait_until(lambda: not store.pending_spools.waiting), "the spool never moved"
        trial = store.trial(trial_id)
        n = store.sample_count(trial_id)
    assert trial.status == "completed" and trial.metrics["duration_s"] == pytest.approx(
        result.metrics["duration_s"])
    assert n == run.runner.samples_written > 0 and not spools()
