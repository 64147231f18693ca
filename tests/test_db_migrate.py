"""`stancelab db migrate --to postgresql://...`: a laptop's SQLite database onto a real server,
idempotently, with a progress bar and a row count on both sides."""

import pytest

from stancelab.cli import main
from stancelab.storage import SampleArrays, Storage, StorageError, server_copy
from test_storage import make_samples
from test_storage_summaries import CLOCK_METRICS


def laptop():
    """The laptop's own database (the data directory's SQLite file): two athletes, three
    sessions, one with two trials, a calibration."""
    from stancelab.calibration import default_calibration

    with Storage() as store:
        ada = store.add_athlete("Ada", 250.0, notes="right knee")
        bo = store.add_athlete("Bo")
        plan = [(ada, [("clock", 400, CLOCK_METRICS), ("quiet", 150, {"rms_mm": 2.0})]),
                (bo, [("quiet", 90, {"rms_mm": 3.5})]), (ada, [])]
        for k, (athlete, trials) in enumerate(plan):
            s = store.start_session(athlete_id=athlete.id, source_kind="simulated", board_id=7,
                                    calibration=default_calibration(7, "1.0.0"),
                                    started=f"2026-0{k + 1}-01T10:00:00.000+01:00")
            for drill, n, metrics in trials:
                t = store.start_trial(s.id, drill, leg="left")
                store.insert_samples(t.id, SampleArrays.from_samples(make_samples(k * 1000, n)))
                store.update_metrics(t.id, metrics)
                store.finish_trial(t.id)
        # Ada's first plan (ended), her second (active, two plan sessions done), Bo's.
        first = store.start_plan(ada.id, {"weeks": 4, "note": "first"}, "2026-01-01")
        second = store.start_plan(ada.id, {"weeks": 4, "note": "second"}, "2026-02-01")
        ada_sessions = [s.id for s in store.sessions(ada.id)]
        store.mark_plan_session(second.id, 1, ada_sessions[:1], "2026-02-02T10:00:00")
        store.mark_plan_session(second.id, 2, ada_sessions, "2026-02-04T10:00:00")
        # plan session 3 cut short after its first item (it resumes there, on either side)
        store.mark_plan_step(second.id, 3, 0, "clock", "left", ada_sessions[0],
                             "2026-02-06T10:00:00")
        store.start_plan(bo.id, {"weeks": 2}, "2026-03-01")
        assert store.plan(first.id).status == "ended"
        return store.path


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_migrate_copies_everything_and_again_copies_nothing(pg_db, capsys):
    path = laptop()
    with Storage(pg_db.target) as server:   # another station already added ADA and a session
        other = server.add_athlete("ADA", 240.0)
        server.start_session(athlete_id=other.id, source_kind="serial")
    code, out, err = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 0, err
    assert "Copying" in err and "samples" in err        # the progress line
    assert "3 sessions copied (640 samples), 0 already on the server" in out
    assert "athletes: 1 added, 1 matched by name; 3 training plans copied, 0 already" in out
    for table in ("athletes", "calibrations", "sessions", "trials", "trial_metrics", "samples",
                  "plans", "plan_sessions", "plan_steps"):
        assert any(line.startswith(table) and line.endswith("ok") for line in out.splitlines())
    assert "Check passed" in out
    with Storage(path) as local, Storage(pg_db.target) as server:
        assert sorted(a.name for a in server.athletes()) == ["ADA", "Bo"]
        ada = server.find_athlete("ada")
        assert (ada.foot_length_mm, ada.id) == (240.0, other.id)   # the server's record stays
        copied = [s for s in server.sessions() if s.source_kind == "simulated"]
        assert len(copied) == 3
        for mine, theirs in zip(local.sessions(), copied):
            assert (theirs.started, theirs.board_id, theirs.calibration_id) == (
                mine.started, mine.board_id, mine.calibration_id)
            assert server.athlete(theirs.athlete_id).name.lower() == \
                local.athlete(mine.athlete_id).name.lower()
            for a, b in zip(local.trials(mine.id), server.trials(theirs.id), strict=True):
                assert (a.drill, a.status, a.metrics, a.settings) == (b.drill, b.status,
                                                                      b.metrics, b.settings)
                assert server.read_samples(b.id).equals(local.read_samples(a.id))
        assert server.trial_summaries(ada.id)[0].headline["3 o'clock max_excursion_pct"] == 80.0
        # The plans: Ada's active one with its plan sessions pointing at the server's copies.
        plan = server.active_plan(ada.id)
        assert plan.spec == {"weeks": 4, "note": "second"} and plan.started == "2026-02-01"
        server_ids = {s.started: s.id for s in copied}
        local_ids = {s.id: s.started for s in local.sessions()}
        mine = local.active_plan(local.find_athlete("Ada").id)
        ada_sessions_local = [x.id for x in local.sessions(local.find_athlete("Ada").id)]
        assert [(p.number, p.session_id, p.done) for p in server.plan_sessions(plan.id)] == [
            (p.number, server_ids[local_ids[p.session_id]], p.done)
            for p in local.plan_sessions(mine.id)]
        assert len(server.plan_sessions(plan.id)) == 3
        assert [(p.step, p.name, p.leg, p.session_id, p.done)
                for p in server.plan_steps(plan.id, 3)] == [
            (0, "clock", "left", server_ids[local_ids[ada_sessions_local[0]]],
             "2026-02-06T10:00:00")]
        assert server.active_plan(server.find_athlete("Bo").id).spec == {"weeks": 2}
        before = server._q("SELECT COUNT(*) FROM samples")
        plans_before = server._q("SELECT COUNT(*) FROM plans")
    code, out, _ = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 0
    assert "0 sessions copied (0 samples), 3 already on the server" in out
    assert "0 training plans copied, 3 already there" in out and "Check passed" in out
    with Storage(pg_db.target) as server:
        assert server._q("SELECT COUNT(*) FROM samples") == before
        assert server._q("SELECT COUNT(*) FROM plans") == plans_before
        assert server._q("SELECT COUNT(*) FROM plan_sessions") == [(3,)]
        assert server._q("SELECT COUNT(*) FROM plan_steps") == [(1,)]
        assert len(server.sessions()) == 4


def test_an_athlete_with_a_plan_on_the_server_keeps_it_active(pg_db, capsys):
    laptop()
    with Storage(pg_db.target) as server:
        bo = server.add_athlete("bo")
        server.start_plan(bo.id, {"weeks": 6, "set": "at the clinic"}, "2026-03-05")
    code, out, _ = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 0 and "bo already had an active plan on the server" in out
    assert "Check passed" in out
    with Storage(pg_db.target) as server:
        bo = server.find_athlete("Bo")
        assert server.active_plan(bo.id).spec == {"weeks": 6, "set": "at the clinic"}
        assert sorted(s for (s,) in server._q("SELECT status FROM plans WHERE athlete_id = ?",
                                               (bo.id,))) == ["active", "ended"]


def test_every_table_and_column_of_the_schema_is_one_the_copy_handles(tmp_path):
    """The next schema change cannot forget `db migrate`: a table or column of a new database
    that server_copy.HANDLED does not name fails here (and the command refuses it)."""
    import sqlite3

    Storage(tmp_path / "new.sqlite3").close()
    con = sqlite3.connect(tmp_path / "new.sqlite3")
    found = {t: tuple(c for (c,) in con.execute("SELECT name FROM pragma_table_info(?)", (t,)))
             for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                     "AND name NOT LIKE 'sqlite_%'")}
    con.close()
    assert set(found) == set(server_copy.HANDLED), (
        "a table is new or gone: teach storage/server_copy.py to copy it (and HANDLED)")
    for table, cols in found.items():
        assert set(cols) == set(server_copy.HANDLED[table]), (
            f"{table}'s columns changed: teach storage/server_copy.py to copy them")


@pytest.mark.parametrize("sql, named", [
    ("CREATE TABLE exercise_notes (id INTEGER PRIMARY KEY, text TEXT)", "table exercise_notes"),
    ("ALTER TABLE trials ADD COLUMN coach_rating INTEGER", "trials.coach_rating"),
])
def test_migrate_refuses_data_it_does_not_know(pg_db, capsys, sql, named):
    import sqlite3

    path = laptop()
    con = sqlite3.connect(path)
    con.execute(sql)
    con.commit()
    con.close()
    code, _, err = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 2 and named in err and "nothing was copied" in err
    assert "Update StanceLab" in err and "Traceback" not in err
    with Storage(pg_db.target) as server:
        assert server.sessions() == [] and server.athletes() == []


def test_a_copy_cut_off_keeps_whole_sessions_and_goes_on(pg_db, capsys, monkeypatch):
    laptop()
    real, calls = server_copy._copy_session, []

    def fail_on_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            real(*a, **k)               # its rows are written, then the connection "drops"
            raise StorageError("Cannot reach the StanceLab server (test).", "unreachable")
        return real(*a, **k)

    monkeypatch.setattr(server_copy, "_copy_session", fail_on_second)
    code, _, err = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 2 and "run the same command again" in err and "Traceback" not in err
    with Storage(pg_db.target) as server:
        assert len(server.sessions()) == 1          # the second session rolled back whole
        assert server._q("SELECT COUNT(*) FROM samples") == [(550,)]
    monkeypatch.setattr(server_copy, "_copy_session", real)
    code, out, _ = run(capsys, "db", "migrate", "--to", pg_db.target)
    assert code == 0 and "2 sessions copied (90 samples), 1 already on the server" in out
    assert "Check passed" in out


@pytest.mark.parametrize("argv, message", [
    (["--to", "/tmp/x.sqlite3"], "--to must be a postgresql:// URL"),
    (["--to", "postgresql://u@/x", "--from", "/nonexistent/db.sqlite3"], "no database file"),
])
def test_migrate_refuses_bad_arguments(capsys, argv, message):
    code, _, err = run(capsys, "db", "migrate", *argv)
    assert code == 2 and message in err and "Traceback" not in err


# ------------------------------------------------------------------ stancelab db use / show

def test_db_use_sets_the_station_server_without_a_password(pg_db, monkeypatch, capsys):
    from stancelab.storage.backends import setting_path

    code, _, err = run(capsys, "db", "use", "postgresql://coach:hunter2@/stancelab")
    assert code == 2 and "does not keep passwords" in err and "hunter2" not in err
    code, _, err = run(capsys, "db", "use", "postgresql://coach@/x?host=/nonexistent")
    assert code == 2 and "Cannot reach the StanceLab server" in err
    assert not setting_path().exists()              # nothing kept of either
    code, out, _ = run(capsys, "db", "use", pg_db.target)
    assert code == 0 and "now uses postgresql://" in out
    assert "hunter2" not in setting_path().read_text()
    with Storage() as store:                         # every command and the app follow it
        assert store.path is None
        store.add_athlete("On the server")
    with Storage(pg_db.target) as store:
        assert [a.name for a in store.athletes()] == ["On the server"]
    code, out, _ = run(capsys, "db", "show")
    assert "set with `stancelab db use`" in out
    monkeypatch.setenv("STANCELAB_DATABASE_URL", "postgresql://other@elsewhere/db")
    code, out, _ = run(capsys, "db", "show")
    assert out.startswith("postgresql://other@elsewhere/db") and "STANCELAB_DATABASE_URL" in out
    monkeypatch.delenv("STANCELAB_DATABASE_URL")
    assert run(capsys, "db", "use", "local")[0] == 0
    with Storage() as store:
        assert store.path is not None and store.athletes() == []
