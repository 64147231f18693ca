"""DrillRunner against a real SQLite file: trial boundaries in order, never waiting on a lock.

The runner writes samples through a SampleWriter (its own connection) and trials through the
Storage connection. SQLite has one writer at a time, so if the runner ever started a write on
one connection while the other still held a write transaction it would wait for the busy
timeout (the GUI is single-threaded: nothing could commit meanwhile). The store here has a
1 ms busy timeout, so any such wait fails the test instead of costing seconds.
"""

import sqlite3

import pytest

from stancelab.drills import SingleLegStand, TrialDone
from stancelab.drills.events import TrialStarted
from stancelab.drills.settings import SingleLegSettings
from stancelab.storage import Storage
from test_drills_sim import FOOT_MM, board, run

# Refuses a new trial while another trial of the session is still 'recording': the previous
# trial must be finished (TrialDone stored) before the next one is opened.
_IN_ORDER = """
CREATE TRIGGER test_trials_in_order BEFORE INSERT ON trials
WHEN EXISTS (SELECT 1 FROM trials WHERE session_id = NEW.session_id AND status = 'recording')
BEGIN SELECT RAISE(ABORT, 'a trial opened while the previous one was still recording'); END
"""


@pytest.fixture
def strict_store(tmp_path):
    path = tmp_path / "strict.sqlite3"
    s = Storage(path, busy_timeout_s=0.001)
    con = sqlite3.connect(path)
    con.execute(_IN_ORDER)
    con.commit()
    con.close()
    yield s
    s.close()


@pytest.mark.parametrize("chunk_s", [0.05, 0.25, 2.0])
def test_multi_trial_drill_never_waits_on_the_database(strict_store, chunk_s):
    src, cal = board(seed=2)
    src.chunk_s = chunk_s     # four samples per read (GUI-like) .. two seconds per read
    athlete = strict_store.add_athlete("Lee", FOOT_MM)
    drill = SingleLegStand.from_settings(SingleLegSettings(n_trials=2, duration_s=4.0,
                                                           rest_s=2.0))
    runner, events = run(src, cal, drill, strict_store, athlete.id, max_polls=100_000)

    assert [r.status for r in runner.results] == ["completed"] * 4
    bounds = [(type(e).__name__, getattr(e, "index", None) if isinstance(e, TrialStarted)
               else e.result.index) for e in events if isinstance(e, (TrialStarted, TrialDone))]
    assert bounds == [("TrialStarted", 0), ("TrialDone", 0), ("TrialStarted", 1),
                      ("TrialDone", 1), ("TrialStarted", 2), ("TrialDone", 2),
                      ("TrialStarted", 3), ("TrialDone", 3)]
    trials = strict_store.trials(runner.session_id)
    assert [t.status for t in trials] == ["completed"] * 4
    assert sum(strict_store.sample_count(t.id) for t in trials) == runner.samples_written
    for t in trials:
        assert strict_store.trial(t.id).metrics["time_held_s"] > 0
