"""Several stations on one PostgreSQL server (a real throw-away cluster, storage_backends.py):
recording at once, a third station reading, lost-update detection, the server killed while
recording, passwords never shown, hostile text."""

import json
import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from stancelab.cli import main
from stancelab.storage import SampleArrays, Storage, StorageError
from test_storage import make_samples, new_trial


def station(url, *argv, **popen):
    env = dict(os.environ, STANCELAB_DATABASE_URL=url)
    return subprocess.Popen([sys.executable, "-m", "stancelab", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_two_stations_record_at_once_and_a_third_compares(pg_db, monkeypatch, capsys):
    """Two stations run a 4 s single-leg stand on the same athlete at the same time (left leg
    at one, right at the other); no sample is lost at either, and a third station lists both
    sessions and compares the legs."""
    common = ["run-drill", "single-leg", "--simulate", "--athlete", "Kim", "--trials", "1",
              "--duration", "4", "--rest", "0", "--json"]
    a = station(pg_db.target, *common, "--leg", "left", "--seed", "1")
    b = station(pg_db.target, *common, "--leg", "right", "--seed", "2")
    (_, err_a), (_, err_b) = a.communicate(timeout=180), b.communicate(timeout=180)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    with Storage(pg_db.target) as store:
        (kim,) = store.athletes()
        sessions = store.sessions(kim.id)
        assert len(sessions) == 2
        starts = []
        for s in sessions:
            (trial,) = store.trials(s.id)
            got = store.read_samples(trial.id)
            assert trial.status == "completed"
            # Every sample the station took is on the server, in order, without a hole.
            counted = {t.id: t.sample_count for t in store.trial_summaries(kim.id)}
            assert len(got) == counted[trial.id]
            assert len(got) >= 4 * 80 * 0.9
            assert np.all(np.diff(got.seq.astype(np.int64)) % 65536 == 1)
            assert np.all(np.diff(got.t_s) > 0)
            starts.append((got.t_host_s[0], got.t_host_s[-1]))
        # They really recorded at the same time (host clocks of one machine).
        assert max(s for s, _ in starts) < min(e for _, e in starts)
    monkeypatch.setenv("STANCELAB_DATABASE_URL", pg_db.target)
    assert main(["sessions"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("Kim") >= 2
    assert main(["compare", "--athlete", "Kim", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "single-leg" in json.dumps(report)


def test_a_recording_blocks_no_other_station(pg_db):
    """Unlike one SQLite file, a server lets another station write while a recording holds
    its open transaction (sample writers take no write lock)."""
    with Storage(pg_db.target) as store, Storage(pg_db.target) as other:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id, commit_interval_s=3600)
        w.extend(make_samples(0, 10))
        w.flush()                                   # open transaction on the server
        t0 = time.monotonic()
        other.update_metrics(trial.id, {"x_mm": 1.0})
        other.add_athlete("Meanwhile")
        assert time.monotonic() - t0 < 2.0          # the busy timeout is 5 s
        assert other.sample_count(trial.id) == 0    # uncommitted rows stay invisible
        w.close()
        assert other.sample_count(trial.id) == 10


def test_same_athlete_edited_at_two_stations_is_not_lost(db):
    """Both stations read version 1 of the athlete; the first save wins, the second is refused
    with a conflict (UPDATE ... WHERE id = ? AND row_version = ?) instead of overwriting."""
    with db.open() as one, db.open() as two:
        ada = one.add_athlete("Ada", 250.0, notes="")
        seen_by_one, seen_by_two = one.athlete(ada.id), two.athlete(ada.id)
        assert seen_by_one.version == seen_by_two.version == 1
        saved = one.update_athlete(ada.id, expected_version=seen_by_one.version,
                                   notes="left ankle sprain, week 2")
        assert saved.version == 2
        with pytest.raises(StorageError) as e:
            two.update_athlete(ada.id, expected_version=seen_by_two.version, foot_length_mm=260.0)
        assert e.value.kind == "conflict"
        assert "changed at another station" in str(e.value) and "Reload" in str(e.value)
        now = two.athlete(ada.id)
        assert (now.notes, now.foot_length_mm, now.version) == ("left ankle sprain, week 2",
                                                                250.0, 2)
        # Reloaded, the second station's edit goes through.
        assert two.update_athlete(ada.id, expected_version=now.version,
                                  foot_length_mm=260.0).version == 3


def test_server_killed_mid_recording_loses_nothing(pg_server, pg_db):
    """The server dies (every process killed: `pg_ctl stop -m immediate`) 2 s into a recording
    and comes back 3 s later. The writer keeps taking samples into its local spool, tells the
    user both times, moves the spool when the server is back, and every sample is there."""
    cluster = pg_server.cluster
    if cluster is None:
        pytest.skip("the test server's data folder is unknown (STANCELAB_TEST_POSTGRES_DATA)")
    notices = []
    with Storage(pg_db.target) as store:
        _, trial = new_trial(store)
        w = store.sample_writer(trial.id, commit_interval_s=0.5, on_notice=notices.append)
        i = 0

        def feed(seconds):
            nonlocal i
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                w.extend(make_samples(i, 4))      # 80 samples/s, in real time
                i += 4
                time.sleep(0.05)

        feed(2.0)
        cluster.stop("immediate")
        try:
            feed(3.0)
            assert w.spooling and "Cannot reach the StanceLab server" in (w.notice or "")
        finally:
            cluster.start()
        deadline = time.monotonic() + 30
        while w.spooling and time.monotonic() < deadline:
            feed(0.5)
        assert not w.spooling
        feed(1.0)
        w.close()
        store.finish_trial(trial.id)    # the Storage's own connection reconnects by itself
        got = store.read_samples(trial.id)
        assert store.trial(trial.id).status == "completed"
    assert len(got) == i
    assert got.equals(SampleArrays.from_samples(make_samples(0, i)))
    assert any("Cannot reach" in n and "local spool" in n for n in notices)
    assert any("is back" in n and "now on the server" in n for n in notices)


SECRET = "pa55:w/rd@s3cr3t"   # characters that need percent-encoding in a URL


def test_the_password_is_never_printed_or_logged(pg_server, tmp_path, monkeypatch, capsys,
                                                 caplog):
    from urllib.parse import quote

    url = f"postgresql://stancelab:{quote(SECRET, safe='')}@/nodb?host={tmp_path}&port=1"
    monkeypatch.setenv("STANCELAB_DATABASE_URL", url)
    caplog.set_level(logging.DEBUG)
    assert main(["sessions"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stancelab: error: Cannot reach the StanceLab server")
    assert "postgresql://stancelab@" in err and "Traceback" not in err
    for shown in (err, caplog.text):
        assert SECRET not in shown and quote(SECRET, safe="") not in shown
        assert "pa55" not in shown


def test_redact_and_tls_options_pass_through():
    from stancelab.storage.postgres_backend import PostgresBackend, describe, redact

    url = ("postgresql://coach:top%20secret@db.clinic.example:6543/stancelab?"
           "sslmode=verify-full&sslrootcert=/etc/stancelab/root.crt")
    assert describe(url) == "postgresql://coach@db.clinic.example:6543/stancelab"
    assert redact("failed for top secret and top%20secret", url) == "failed for *** and ***"
    assert redact("host=x password=hunter2 user=y", "postgresql:///x") == (
        "host=x password=*** user=y")
    with pytest.raises(StorageError) as e:       # the driver quotes an unparsable URL whole
        PostgresBackend("postgresql://coach:hunter2@[::1/stancelab")
    assert "hunter2" not in str(e.value) and "\n" not in str(e.value)
    assert "not valid" in str(e.value)
    backend = PostgresBackend(url)
    assert "sslmode=verify-full" in backend._conninfo
    assert "sslrootcert=/etc/stancelab/root.crt" in backend._conninfo
    assert "top secret" not in backend.location


HOSTILE = ["Robert'); DROP TABLE athletes;--", "O'Brien \"Bob\" ?? %s %(x)s $1 $$",
           "Zoë Ünïcødé 名前 🏃", "\\x00\\", "a" * 300, "=HYPERLINK(\"http://x\")"]


def test_hostile_names_and_notes_are_stored_as_text(db):
    """Every query is parameterised: quotes, placeholders of either driver, dollar quotes and
    formulas come back byte for byte and leave the tables alone."""
    with db.open() as store:
        ids = []
        for k, text in enumerate(HOSTILE):
            a = store.add_athlete(text, notes=text[::-1], settings={"note": text})
            s = store.start_session(athlete_id=a.id, source_kind="simulated", notes=text)
            t = store.start_trial(s.id, "quiet", condition=text, settings={text: k})
            store.update_metrics(t.id, {text: float(k)})
            store.finish_trial(t.id, "aborted", reason=text)
            ids.append((a.id, s.id, t.id))
        for text, (aid, sid, tid) in zip(HOSTILE, ids):
            a = store.athlete(aid)
            assert (a.name, a.notes, a.settings) == (text, text[::-1], {"note": text})
            assert store.find_athlete(text).id == aid
            assert store.session(sid).notes == text
            t = store.trial(tid)
            assert (t.condition, t.reason, t.settings, t.metrics) == (text, text, {text: 0 + (
                HOSTILE.index(text))}, {text: float(HOSTILE.index(text))})
        assert sorted(a.name for a in store.athletes()) == sorted(HOSTILE)
        renamed = store.update_athlete(ids[0][0], name=HOSTILE[1] + " 2")
        assert renamed.name == HOSTILE[1] + " 2"


SPOOL_CHILD = """
import sys, time
sys.path[:0] = [{app!r}, {tests!r}]
from test_storage import make_samples, new_trial
from stancelab.storage import Storage
store = Storage({url!r})
_, trial = new_trial(store)
w = store.sample_writer(trial.id, commit_interval_s=0.5)
print("trial", trial.id, flush=True)
i = 0
while True:
    w.extend(make_samples(i, 4))
    i += 4
    print("written", i, int(w.spooling), flush=True)
    time.sleep(0.05)
"""


def test_station_killed_while_offline_hands_its_spool_over_at_next_start(pg_server, pg_db):
    """The server goes away, the station spools, then the station is killed (SIGKILL) before
    the server is back. The next StanceLab opened on that server moves the spool: at most one
    commit interval of samples is lost, as when recording straight to the server."""
    import signal
    from pathlib import Path

    cluster = pg_server.cluster
    if cluster is None:
        pytest.skip("the test server's data folder is unknown (STANCELAB_TEST_POSTGRES_DATA)")
    here = Path(__file__).resolve().parent
    code = SPOOL_CHILD.format(app=str(here.parent / "app"), tests=str(here), url=pg_db.target)
    stopped = False
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          text=True) as child:
        try:
            trial_id = int(child.stdout.readline().split()[1])
            spooled_at = None
            while True:
                line = child.stdout.readline()
                assert line, "recording child died early"
                _, written, spooling = line.split()
                written = int(written)
                if written >= 160 and not stopped:
                    cluster.stop("immediate")
                    stopped = True
                if spooling == "1" and spooled_at is None:
                    spooled_at = written
                if spooled_at is not None and written >= spooled_at + 160:
                    break
        finally:
            os.kill(child.pid, signal.SIGKILL)
            for line in child.stdout:
                written = int(line.split()[1])
            if stopped:
                cluster.start()
    with Storage(pg_db.target) as store:
        ((tid, moved),) = store.recovered_spools
        (rec,) = store.recover_interrupted(stale_after_s=0)
        got = store.read_samples(trial_id)
    assert tid == trial_id == rec.trial_id and moved > 0
    assert written - 80 <= len(got) <= written
    assert got.equals(SampleArrays.from_samples(make_samples(0, len(got))))
    assert not list((Path(os.environ["STANCELAB_DATA_DIR"]) / "spool").glob("*.sqlite3"))


def test_the_documented_grants_are_enough(pg_server):
    """The roles of docs/clinic.md on a real server: the station role (owner of its schema,
    nothing else) creates the tables and records; the reader reads and cannot write; a role
    without a schema is told where the setup is described."""
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict

    base = conninfo_to_dict(pg_server.url)
    tag = f"{os.getpid()}_{time.monotonic_ns() % 10**6}"
    station_role, reader, stranger, schema = (f"station_{tag}", f"reader_{tag}",
                                              f"stranger_{tag}", f"clinic_{tag}")

    def url(role):
        return (f"postgresql://{role}@/{base['dbname']}?host={quote(base['host'])}"
                f"&port={base.get('port', 5432)}&options={quote(f'-csearch_path={schema}')}")

    with pg_server.admin() as admin:
        for role in (station_role, reader, stranger):
            admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {station_role}")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {reader}")
        admin.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {station_role} IN SCHEMA {schema} "
                      f"GRANT SELECT ON TABLES TO {reader}")
    try:
        with Storage(url(station_role)) as store:
            _, trial = new_trial(store)
            with store.sample_writer(trial.id) as w:
                w.extend(make_samples(0, 40))
            store.finish_trial(trial.id)
        with Storage(url(reader)) as store:
            assert store.sample_count(trial.id) == 40
            with pytest.raises(StorageError, match="lacks a right.*docs/clinic.md"):
                store.add_athlete("Not allowed")
        with pytest.raises(StorageError, match="no schema of its own.*docs/clinic.md"):
            Storage(url(stranger))
    finally:
        with pg_server.admin() as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            for role in (reader, stranger, station_role):
                admin.execute(f"DROP OWNED BY {role}")
                admin.execute(f"DROP ROLE {role}")
