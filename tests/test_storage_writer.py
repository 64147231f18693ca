"""The sample writer's own thread (on both backends, the `db` fixture): the caller never commits (never fsyncs), never waits for
another program's write lock, and hears of a database failure (a real full disk) at its next
call, with everything committed before intact."""

import json
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from small_disk import run_on_small_tmpfs
from stancelab.storage import SampleArrays, Storage, StorageError
from stancelab.storage.sqlite_backend import SqliteConnection
from test_storage import make_samples, new_trial

APP = str(Path(__file__).resolve().parents[1] / "app")
TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture
def commits_by_thread(monkeypatch, db):
    """Thread names of every COMMIT any connection makes (the real commit still runs)."""
    seen: list[str] = []
    if db.kind == "sqlite":
        cls = SqliteConnection
    else:
        from stancelab.storage.postgres_backend import PostgresConnection as cls
    real = cls.commit

    def commit(self):
        seen.append(threading.current_thread().name)
        real(self)

    monkeypatch.setattr(cls, "commit", commit)
    return seen


def test_extend_and_commit_never_commit_on_the_callers_thread(db, commits_by_thread):
    with db.open() as store:
        _, trial = new_trial(store)
        commits_by_thread.clear()
        w = store.sample_writer(trial.id, commit_interval_s=0.5)
        for i in range(0, 240, 4):       # three seconds of device time: commits are due
            w.extend(make_samples(i, 4))
        w.commit()                       # the caller waits, the writer thread commits
        w.extend(make_samples(240, 4))
        w.close()
        assert store.read_samples(trial.id).equals(SampleArrays.from_samples(
            make_samples(0, 244)))
    assert len(commits_by_thread) >= 6 and w.commits == len(commits_by_thread)
    assert set(commits_by_thread) == {f"stancelab-sample-writer-{trial.id}"}


def test_a_pause_in_the_stream_is_committed_by_the_thread(db):
    path = db.target
    with Storage(path) as store, Storage(path) as other:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id, commit_interval_s=0.2)
        try:
            w.extend(make_samples(0, 3))     # then nothing: no extend, no tick
            deadline = time.monotonic() + 30
            # The thread counts a commit just after it lands: wait for both to be seen.
            while (other.sample_count(trial.id) < 3 or w.committed < 3) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            assert other.sample_count(trial.id) == 3 == w.committed
            assert other.trial_summaries()[0].sample_count == 3
        finally:
            w.close()   # a failure here must not leave the thread running into later tests


def test_extend_does_not_wait_for_another_programs_write_lock(db):
    """The other connection holds the write lock while the caller hands over samples: extend
    returns (on SQLite the writer thread waits; a server's sample writers need no lock), and
    the rows land."""
    path = db.target
    with Storage(path) as store, Storage(path) as other:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id, commit_interval_s=0.05)
        with other.transaction():
            other.add_athlete("Holds the lock")
            for i in range(0, 80, 4):
                w.extend(make_samples(i, 4))   # would wait 5 s and fail if it wrote here
            if db.kind == "sqlite":
                assert w.committed == 0
        w.commit()
        assert store.sample_count(trial.id) == 80
        w.close()


def test_writer_thread_is_joined_and_calls_after_close_are_refused(db):
    with db.open() as store:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id)
        w.extend(make_samples(0, 4))
        w.close()
        w.close()
        assert not any(t.name.startswith("stancelab-sample-writer")
                       for t in threading.enumerate())
        with pytest.raises(StorageError, match="closed"):
            w.extend(make_samples(4, 4))


_REFUSE_LATE_SAMPLES = {"sqlite": ["""
CREATE TRIGGER test_refuse_late_samples BEFORE INSERT ON samples WHEN NEW.idx >= 200
BEGIN SELECT RAISE(ABORT, 'test: writing refused'); END
"""], "postgresql": ["""
CREATE FUNCTION test_refuse_late_samples() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.idx >= 200 THEN RAISE EXCEPTION 'test: writing refused'; END IF; RETURN NEW; END $$
""", """CREATE TRIGGER test_refuse_late_samples BEFORE INSERT ON samples FOR EACH ROW
EXECUTE FUNCTION test_refuse_late_samples()"""]}


def test_a_failing_writer_stops_the_drill_and_keeps_what_was_committed(db):
    """The database refuses samples after the 200th (a trigger, on the writer thread): the
    runner's next poll raises it, the trial is closed with the reason, nothing is left open."""
    from stancelab.drills import SingleLegStand
    from stancelab.drills.runner import DrillRunner
    from stancelab.sim.autopilot import Autopilot
    from test_drills_sim import FOOT_MM, board

    with db.open() as store:
        for sql in _REFUSE_LATE_SAMPLES[db.kind]:
            store._write(sql)
        src, cal = board(seed=5)
        src.chunk_s = 0.05
        athlete = store.add_athlete("Lee", FOOT_MM)
        runner = DrillRunner(src, cal, SingleLegStand(legs=["left"], n_trials=1,
                                                      duration_s=20, rest_s=1),
                             store=store, athlete_id=athlete.id)
        pilot = Autopilot(src)
        with pytest.raises(StorageError, match="writing refused"):
            for _ in range(20_000):
                pilot(runner.poll())
        assert runner.finished
        (trial,) = store.trials(runner.session_id)
        assert trial.status == "aborted" and "writing refused" in trial.reason
        kept = store.read_samples(trial.id)
        assert 0 < len(kept) <= 200 and list(kept.seq) == sorted(kept.seq)
        assert store.trial_summaries()[0].sample_count == len(kept)
    assert not any(t.name.startswith("stancelab-sample-writer") for t in threading.enumerate())


# ------------------------------------------------------------------ a real full disk

FULL_CHILD = textwrap.dedent("""
    import json, shutil, sys, threading
    sys.path[:0] = [{app!r}, {tests!r}]
    from test_storage import make_samples, new_trial
    from stancelab.storage import Storage, StorageError
    db, out = sys.argv[1], sys.argv[2]
    store = Storage(db)
    _, trial = new_trial(store)
    w = store.sample_writer(trial.id, commit_interval_s=0.5)
    i, first, again = 0, None, []
    try:
        while i < 10_000_000:
            w.extend(make_samples(i, 40))    # half a second of device time per batch
            i += 40
    except StorageError as e:
        first = e
    for call in (w.extend, w.tick, w.flush, w.commit):
        try:
            call(make_samples(i, 4)) if call == w.extend else call()
            again.append("no error")
        except StorageError as e:
            again.append(str(e) == str(first))
    try:
        w.close()
        closed = "ok"
    except StorageError as e:
        closed = str(e)
    threads = [t.name for t in threading.enumerate() if t.name.startswith("stancelab-")]
    for suffix in ("", "-wal"):
        shutil.copy(db + suffix, out + suffix)
    print(json.dumps({{"message": str(first), "kind": first.kind, "handed": i,
                      "committed": w.committed, "trial": trial.id, "again": again,
                      "closed": closed, "threads": threads}}))
""")

FULL_SCRIPT = """
set -u
mount -t tmpfs -o size=384k tmpfs "$1/mnt" || exit 97
"$2" -c "$3" "$1/mnt/db.sqlite3" "$1/out/db.sqlite3"
"""


def test_full_disk_on_the_writer_thread_reaches_the_caller(tmp_path):
    """A 384 KiB tmpfs in a private user+mount namespace (`unshare -rm`): SQLite gets ENOSPC
    on the writer thread; the caller's next call raises the worded error, every later call
    too, close() does not repeat it, and the committed samples are all there, in order."""
    r = run_on_small_tmpfs(tmp_path, FULL_SCRIPT, sys.executable,
                           FULL_CHILD.format(app=APP, tests=TESTS))
    if r.returncode == 97 or "unshare" in r.stderr and not r.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["kind"] == "disk_full"
    assert got["message"].startswith("The disk is full: cannot write to ")
    assert "Free some disk space." in got["message"]
    assert got["again"] == [True, True, True, True]
    assert got["closed"] == "ok" and got["threads"] == []
    assert 0 < got["committed"] < got["handed"]
    with Storage(tmp_path / "out" / "db.sqlite3") as store:
        store.check()
        (rec,) = store.recover_interrupted(stale_after_s=0)
        samples = store.read_samples(got["trial"])
    assert rec.samples == got["committed"] == len(samples)
    assert samples.equals(SampleArrays.from_samples(make_samples(0, len(samples))))
