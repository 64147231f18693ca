"""The database under stress, through the `stancelab` command: damaged or newer files, two
recorders at once, and the disk filling up while recording. What is not about SQLite's file
runs on both backends (the `db` fixture; the commands reach the server through
STANCELAB_DATABASE_URL)."""

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from small_disk import run_on_small_tmpfs
from stancelab.cli import main
from stancelab.storage import Storage

COMMANDS = [
    ["sessions"],
    ["record", "--simulate", "--fast", "--seconds", "1"],
    ["run-drill", "quiet", "--simulate", "--fast", "--duration", "2"],
    ["export", "--session", "1", "--out", "x.csv"],
    ["compare", "--athlete", "Ana"],
]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_database(n=1600) -> Path:
    """A closed database with one 80 Hz recording of ``n`` samples for athlete Ana."""
    from stancelab.board.source import Sample

    with Storage() as store:
        athlete = store.add_athlete("Ana")
        session = store.start_session(athlete_id=athlete.id, source_kind="simulated")
        trial = store.start_trial(session.id, "recording")
        with store.sample_writer(trial.id) as w:
            w.extend([Sample(i, i / 80, i / 80, (i, -i, 2 * i, 7), 0) for i in range(n)])
        store.finish_trial(trial.id, "completed")
        return store.path


def random_bytes(db: Path) -> None:
    db.write_bytes(np.random.default_rng(1).integers(0, 256, 64 * 1024, np.uint8).tobytes())


def truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def header_smashed(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[:16] = b"NOT SQLITE HDR\x00\x00"
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [random_bytes, truncated, header_smashed])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_damaged_database_gives_a_clear_message_and_stays_untouched(
        tmp_path, monkeypatch, capsys, damage, argv):
    monkeypatch.chdir(tmp_path)
    db = recorded_database()
    damage(db)
    before = digest(db)
    listing = sorted(p.name for p in db.parent.iterdir())
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("stancelab: error:") and "Traceback" not in err
    assert "damaged or is not a StanceLab database" in err and str(db) in err
    assert "Rename or move that file away" in err   # the fix
    assert digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == listing
    assert not (tmp_path / "x.csv").exists()


def use_backend(db, monkeypatch) -> None:
    """Commands and Storage() open the test's database: the server through the variable a
    station sets, or (SQLite) the data directory's file as before."""
    if db.kind == "postgresql":
        monkeypatch.setenv("STANCELAB_DATABASE_URL", db.target)


def _newer(store) -> None:
    store._write("INSERT INTO schema_version VALUES (7, 'from the future', 'x')")
    store._write("CREATE TABLE future_things (x INTEGER)")


def fingerprint(db, path: Path | None) -> str:
    """The file's digest, or on a server every table's rows in a canonical order."""
    if db.kind == "sqlite":
        return digest(path)
    import psycopg
    with psycopg.connect(db.target) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() ORDER BY table_name")]
        dump = [(t, conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()) for t in tables]
    return hashlib.sha256(repr(dump).encode()).hexdigest()


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_newer_schema_is_refused_without_touching_the_file(db, tmp_path, monkeypatch, capsys,
                                                           argv):
    monkeypatch.chdir(tmp_path)
    use_backend(db, monkeypatch)
    path = recorded_database(160)
    with Storage() as store:
        _newer(store)
    before = fingerprint(db, path)
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert "written by a newer StanceLab (schema version 7" in err
    assert "Update StanceLab" in err and "STANCELAB_DATA_DIR" in err
    assert fingerprint(db, path) == before


# ------------------------------------------------------------------ two programs, one file

def _record(seconds, name, seed):
    return subprocess.Popen([sys.executable, "-m", "stancelab", "record", "--simulate",
                             "--seconds", str(seconds), "--athlete", name, "--seed", str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_recorders_on_one_database_both_succeed(db, monkeypatch):
    """Two stations at once. SQLite's WAL lets both write in turn (each waits for the other's
    commit, busy timeout 5 s); a server takes both side by side. The second start must not
    mistake the first, live recording for a crashed one."""
    use_backend(db, monkeypatch)
    a = _record(4, "Same", 1)
    b = _record(4, "Same", 2)
    (_, err_a), (_, err_b) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert "Recovered" not in err_a + err_b
    with Storage() as store:
        (athlete,) = store.athletes()   # one athlete, however the two starts interleaved
        sessions = store.sessions()
        assert len(sessions) == 2 and {s.athlete_id for s in sessions} == {athlete.id}
        for s in sessions:
            (trial,) = store.trials(s.id)
            got = store.read_samples(trial.id)
            assert trial.status == "completed"
            assert len(got) == trial.metrics["samples"] and len(got) >= 320
            assert np.all(np.diff(got.t_s) > 0)


def test_same_new_athlete_from_two_programs_at_once(db):
    """The second program's lookup and insert wait for the first one's transaction."""
    path = db.target
    first, second = Storage(path), Storage(path)
    got, errors = [], []
    with first.transaction():
        first.add_athlete("Neo")

        def other():
            try:
                got.append(second.get_or_add_athlete("Neo"))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        th = threading.Thread(target=other)
        th.start()
        th.join(0.3)   # give it time to run into the first program's open transaction
    th.join(10)
    assert errors == [] and len(got) == 1
    assert [a.name for a in first.athletes()] == ["Neo"] and got[0].id == first.athletes()[0].id
    first.close()
    second.close()


# ------------------------------------------------------------------ disk full

FULL_SCRIPT = """
set -u
mount -t tmpfs -o size=512k tmpfs "$1/mnt" || exit 97
export STANCELAB_DATA_DIR="$1/mnt/data"
"$2" -m stancelab record --simulate --fast --seconds 36000 --athlete Full \
    > "$1/out/stdout.txt" 2> "$1/out/stderr.txt"
echo $? > "$1/out/rc.txt"
cp "$1"/mnt/data/stancelab.sqlite3 "$1"/mnt/data/stancelab.sqlite3-wal "$1/out/"
"""


def test_full_disk_stops_the_recording_cleanly_and_keeps_what_was_committed(tmp_path):
    """A real full file system: a 512 KiB tmpfs mounted in a private user+mount namespace
    (`unshare -rm`, no root needed where user namespaces are enabled). SQLite gets ENOSPC from
    the kernel while the recorder writes; the database files are copied out before the
    namespace (and its tmpfs) goes away."""
    r = run_on_small_tmpfs(tmp_path, FULL_SCRIPT, sys.executable)
    if r.returncode != 0 and not (tmp_path / "out" / "rc.txt").exists():
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    out = tmp_path / "out"
    err = (out / "stderr.txt").read_text()
    assert (out / "rc.txt").read_text().strip() == "2", err
    assert "Traceback" not in err
    assert "stancelab: error: the disk is full; recording stopped." in err
    assert "Free some disk space" in err
    kept = int(err.split("The ")[-1].split(" samples")[0])
    assert kept > 0
    with Storage(out / "stancelab.sqlite3") as store:
        store.check()
        recovered = store.recover_interrupted(stale_after_s=0)
        (trial,) = store.trials(1)
        got = store.read_samples(trial.id)
    assert trial.status == "interrupted"
    assert [r.trial_id for r in recovered] in ([], [trial.id])
    assert len(got) == kept   # exactly what the message said was kept
    assert np.all(np.diff(got.seq) == 1) and np.all(np.diff(got.t_s) > 0)   # no hole, no repeat


def test_two_programs_creating_the_same_new_database_at_once(db):
    """Four open a database that does not exist yet (or an empty server schema); the schema
    is created exactly once."""
    target = db.target
    code = ("import sys, time; from stancelab.storage import Storage; "
            "t = float(sys.argv[2]); time.sleep(max(0.0, t - time.time())); "
            "s = Storage(sys.argv[1]); print(s.schema_version); s.close()")
    start = __import__("time").time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", code, target, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    with Storage(target) as s:
        versions = s._q("SELECT version FROM schema_version")
    assert len(versions) == len({v for (v,) in versions})
