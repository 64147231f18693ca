"""Storage on both backends (a real SQLite file, a real PostgreSQL server: the `db` fixture of
storage_backends.py): schema, migrations, writers, crash safety, two processes."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from stancelab import paths
from stancelab.board.source import Sample
from stancelab.calibration import default_calibration
from stancelab.storage import MIGRATIONS, SampleArrays, Storage, StorageError, quantise_us

APP = str(Path(__file__).resolve().parents[1] / "app")


def make_samples(start: int, n: int, phase=None):
    """Deterministic samples as the board produces them (device time in whole microseconds)."""
    out = []
    for i in range(start, start + n):
        t_us = 1_000_000 + i * 12_500
        out.append(Sample(i % 65536, t_us * 1e-6, 5000.0 + i * 0.0125 + (i % 7) * 1e-4,
                          (1000 + i, -2000 - i, (i * 37) % 5000 - 2500, 8_388_607 - i),
                          status=(i % 3 == 0) * 0x1))
    return out


def new_trial(store: Storage, drill="quiet_stance"):
    a = store.get_or_add_athlete("Ada Runner", foot_length_mm=255.0, dominant_leg="right")
    s = store.start_session(athlete_id=a.id, source_kind="simulated", board_id=7,
                            firmware="1.0.0", calibration=default_calibration(7, "1.0.0"))
    return s, store.start_trial(s.id, drill, leg="left", condition="eyes open",
                                settings={"seconds": 30})


def test_default_path_and_pragmas():
    with Storage() as store:
        assert store.path == paths.database_path()
        assert store.schema_version == MIGRATIONS[-1][0]
        assert store._q("PRAGMA journal_mode") == [("wal",)]
        assert store._q("PRAGMA foreign_keys") == [(1,)]


def test_athletes_sessions_trials_roundtrip(db):
    path = db.target
    with Storage(path) as store:
        session, trial = new_trial(store)
        with pytest.raises(StorageError, match="already exists"):
            store.add_athlete("ada RUNNER")
        store.update_metrics(trial.id, {"path_length_mm": 412.5})
        store.update_metrics(trial.id, {"ellipse95_mm2": 150.0})
        store.finish_trial(trial.id)
    with Storage(path) as store:
        (a,) = store.athletes()
        assert (a.name, a.foot_length_mm, a.dominant_leg) == ("Ada Runner", 255.0, "right")
        s = store.session(session.id)
        assert (s.athlete_id, s.board_id, s.firmware, s.source_kind) == (a.id, 7, "1.0.0",
                                                                        "simulated")
        assert store.calibration(s.calibration_id).board_id == 7
        (t,) = store.trials(session.id)
        assert t.status == "completed" and t.settings == {"seconds": 30}
        assert t.metrics == {"path_length_mm": 412.5, "ellipse95_mm2": 150.0}
        assert t.ended is not None


def test_foreign_keys_are_enforced(db):
    with db.open() as store, pytest.raises(StorageError):
        store.start_trial(999, "clock")


def test_samples_write_and_read_back(db):
    with db.open() as store:
        _, trial = new_trial(store)
        samples = make_samples(65530, 20)  # crosses the 16-bit sequence wrap
        with store.sample_writer(trial.id) as w:
            w.extend(samples[:10], phase="hold", target="3")
            w.extend(samples[10:], phase=None)
        got = store.read_samples(trial.id)
        expected = SampleArrays.from_samples(samples, ["hold"] * 10 + [None] * 10,
                                             ["3"] * 10 + [None] * 10)
        assert got.equals(expected)
        assert got.seq[5] == 65535 and got.seq[6] == 0
        assert got.counts[0].tolist() == [66530, -67530, (65530 * 37) % 5000 - 2500,
                                          8_388_607 - 65530]


def test_writer_commits_by_device_time(db):
    path = db.target
    with Storage(path) as store:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id, commit_interval_s=1.0)
        # Fed much faster than real time: device time alone must trigger commits.
        for i in range(0, 400, 4):
            w.extend(make_samples(i, 4))
        w.flush()   # the writer thread has inserted all (commits by wall clock may follow)
        assert w.commits >= 4
        assert w.written - w.committed <= 80
        with Storage(path) as other:  # another connection sees only committed rows
            before = w.committed
            n = other.sample_count(trial.id)
            assert before <= n <= w.committed and n % 4 == 0
        w.close()
        assert store.sample_count(trial.id) == 400


def test_writer_resumes_index_after_reopen(db):
    with db.open() as store:
        _, trial = new_trial(store)
        with store.sample_writer(trial.id) as w:
            w.extend(make_samples(0, 5))
        with store.sample_writer(trial.id) as w:
            w.extend(make_samples(5, 5))
        assert store.read_samples(trial.id).seq.tolist() == list(range(10))


def test_read_samples_of_one_hour(db):
    n = 288_000
    with db.open() as store:
        _, trial = new_trial(store)
        i = np.arange(n)
        arrays = SampleArrays(i % 65536, quantise_us(i * 0.0125), quantise_us(i * 0.0125 + 9.5),
                              np.column_stack([i, -i, 2 * i, 3 * i]), np.zeros(n, np.int64),
                              np.full(n, "hold", object), np.full(n, None, object))
        store.insert_samples(trial.id, arrays)
        assert store.read_samples(trial.id).equals(arrays)


def test_newer_schema_is_refused(db):
    path = db.target
    with Storage(path) as store:
        store._write("INSERT INTO schema_version VALUES (99, 'future', 'x')")
    with pytest.raises(StorageError, match="newer StanceLab.*schema version 99"):
        Storage(path)


def test_an_older_app_is_told_the_version_it_needs(db):
    """A station running an older StanceLab than the one that last upgraded the database is
    refused, and the message names the version to install."""
    newest = MIGRATIONS[-1][0]
    later = MIGRATIONS + [(newest + 1, "a later release", ["CREATE TABLE later (x INTEGER)"])]
    with Storage(db.target, migrations=later):   # the station already on the new release...
        pass
    from stancelab.storage import schema
    with Storage(db.target, migrations=later) as store:
        assert store._q("SELECT value FROM stancelab_info WHERE key = 'min_app_version'") == [
            (schema.__version__,)]
        store._write("UPDATE stancelab_info SET value = '9.4.0' WHERE key = 'min_app_version'")
    with pytest.raises(StorageError) as e:      # ...and one still on this one
        Storage(db.target)
    assert e.value.kind == "newer_schema"
    assert f"schema version {newest + 1}" in str(e.value)
    assert "StanceLab 9.4.0 or newer is needed" in str(e.value)
    assert "Update StanceLab to 9.4.0" in str(e.value)


def test_migration_applies_in_order_and_keeps_data(db):
    path = db.target
    with Storage(path) as store:
        store.add_athlete("Bo")
    newest = MIGRATIONS[-1][0]
    later = MIGRATIONS + [(newest + 1, "athlete height",
                           ["ALTER TABLE athletes ADD COLUMN height_cm DOUBLE PRECISION"])]
    with Storage(path, migrations=later) as store:
        assert store.schema_version == newest + 1
        assert store._q("SELECT name, height_cm FROM athletes") == [("Bo", None)]
    with pytest.raises(StorageError, match="newer"):
        Storage(path)  # this build only knows up to `newest`


def test_corrupted_file_names_the_file(tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match="broken.sqlite3.*damaged or is not a StanceLab"):
        Storage(path)


def test_recover_interrupted_leaves_live_recordings(db):
    path = db.target
    with Storage(path) as store:
        _, dead = new_trial(store)
        _, live = new_trial(store)
        with store.sample_writer(dead.id) as w:
            w.extend(make_samples(0, 30))
        store._write("UPDATE trials SET heartbeat_unix = 0 WHERE id = ?", (dead.id,))
        (rec,) = store.recover_interrupted()
        assert (rec.trial_id, rec.samples) == (dead.id, 30)
        assert store.trial(dead.id).status == "interrupted"
        assert "30 samples kept" in store.trial(dead.id).reason
        assert store.trial(live.id).status == "recording"
        assert store.recover_interrupted() == []


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {app!r})
    sys.path.insert(0, {tests!r})
    from test_storage import make_samples, new_trial
    from stancelab.storage import Storage
    store = Storage({path!r})
    _, trial = new_trial(store)
    w = store.sample_writer(trial.id, commit_interval_s=0.5)
    print("trial", trial.id, flush=True)
    i = 0
    while True:
        w.extend(make_samples(i, 4))   # 4 samples = 50 ms of device time, fed at 4x real time
        i += 4
        print("written", i, flush=True)
        time.sleep(0.0125)
""")


def test_sigkill_while_recording_loses_at_most_one_second(db):
    path = db.target
    code = CHILD.format(app=APP, tests=str(Path(__file__).parent), path=str(path))
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          text=True) as child:
        trial_id = int(child.stdout.readline().split()[1])
        written = 0
        try:
            while written < 800:  # ten seconds of device time
                line = child.stdout.readline()
                assert line, "recording child died early"
                written = int(line.split()[1])
        finally:
            os.kill(child.pid, signal.SIGKILL)
        # Drain what the child printed before it died: the true last write.
        for line in child.stdout:
            written = int(line.split()[1])
    with Storage(path) as store:
        (rec,) = store.recover_interrupted(stale_after_s=0)
        got = store.read_samples(trial_id)
    assert rec.trial_id == trial_id and rec.samples == len(got)
    assert written - 80 <= len(got) <= written + 4  # at most one second (80 samples) lost
    assert got.equals(SampleArrays.from_samples(make_samples(0, len(got))))


def test_second_writer_waits_for_the_first(tmp_path):
    """SQLite, WAL: readers never block; a second writer waits (busy timeout) until the first
    commits. (On a server a recording blocks nobody: test_clinic.py.)"""
    path = tmp_path / "db.sqlite3"
    with Storage(path) as store:
        _, trial = new_trial(store)
    w = store.sample_writer(trial.id, commit_interval_s=3600)
    w.extend(make_samples(0, 10))
    w.flush()  # inserted by the writer thread: an open write transaction, not committed
    reader = Storage(path, busy_timeout_s=5)
    assert reader.sample_count(trial.id) == 0  # reading is not blocked
    done = threading.Event()

    def write_metrics():
        reader.update_metrics(trial.id, {"x_mm": 1.0})
        done.set()

    th = threading.Thread(target=write_metrics)
    th.start()
    assert not done.wait(0.3)  # blocked behind the open transaction
    w.commit()
    th.join(10)
    assert done.is_set()
    assert reader.trial(trial.id).metrics == {"x_mm": 1.0}
    assert reader.sample_count(trial.id) == 10
    w.close()
    reader.close()


def test_second_writer_gives_up_with_a_clear_message(db):
    """Another program holds a write transaction open; this one waits its busy timeout for the
    write lock (SQLite's, or the server's advisory lock) and then says so."""
    path = db.target
    holder = Storage(path)
    holder.transaction().__enter__()
    holder.add_athlete("Holds the lock")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {APP!r})
        from stancelab.storage import Storage, StorageError
        s = Storage({str(path)!r}, busy_timeout_s=0.2)
        try:
            s.add_athlete("Cy")
        except StorageError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         timeout=60)
    holder._db.rollback()
    holder._lock.release()
    holder.close()
    assert "is busy" in out.stdout and out.returncode == 0, out.stderr


def test_only_the_backend_imports_sqlite3(tmp_path):
    """The seam for a second backend is checked by import-linter (pyproject.toml)."""
    from test_architecture import _broken_copy, _lint_imports

    r = _lint_imports(_broken_copy(tmp_path, "storage/store.py", "import sqlite3"))
    assert r.returncode != 0
    assert "Only the storage backend knows" in r.stdout.split("Broken contracts")[-1]


def test_only_the_postgres_backend_imports_psycopg(tmp_path):
    from test_architecture import _broken_copy, _lint_imports

    r = _lint_imports(_broken_copy(tmp_path, "storage/store.py", "import psycopg"))
    assert r.returncode != 0
    assert "Only the PostgreSQL backend knows" in r.stdout.split("Broken contracts")[-1]


def test_a_long_trial_is_read_in_steps_and_comes_back_whole(db, monkeypatch):
    """read_samples reads READ_CHUNK_ROWS rows per query (no long GIL hold beside the UI): the
    steps join into exactly what was stored, at and across every step boundary."""
    from stancelab.storage import samples as samples_mod

    monkeypatch.setattr(samples_mod, "READ_CHUNK_ROWS", 7)
    with db.open() as store:
        _, trial = new_trial(store)
        stored = SampleArrays.from_samples(make_samples(0, 23), phase="hold")
        store.insert_samples(trial.id, stored)
        back = store.read_samples(trial.id)
        assert len(back) == 23 and back.equals(stored)
        _, empty = new_trial(store)
        assert len(store.read_samples(empty.id)) == 0
