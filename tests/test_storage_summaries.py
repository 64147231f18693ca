"""Summary queries (trial_summaries, session_summaries, trials_for_athlete) on both backends (the `db` fixture),
and the version 2 migration that fills their columns for databases recorded before it."""

import json

import pytest

from stancelab.storage import MIGRATIONS, SampleArrays, Storage
from test_storage import make_samples, new_trial

CLOCK_METRICS = {"edge_reach_score_pct": 71.5, "targets_reached": 11, "sensor_ok": True,
                 "targets": [{"hour": 3, "max_excursion_pct": 80.0},
                             {"hour": 9, "max_excursion_pct": None}],
                 "centre_mm": [1.0, 2.0], "weakest_hour": 9}


def _record(store, athlete, drill, leg, n, metrics, started):
    s = store.start_session(athlete_id=athlete.id, source_kind="simulated", started=started)
    t = store.start_trial(s.id, drill, leg=leg, condition="eyes open")
    with store.sample_writer(t.id) as w:
        w.extend(make_samples(0, n))
    store.update_metrics(t.id, metrics)
    store.finish_trial(t.id)
    return s, t


@pytest.fixture
def store(db):
    with db.open() as s:
        yield s


def test_trial_summaries_carry_counts_and_headline_numbers(store):
    ada = store.add_athlete("Ada")
    bo = store.add_athlete("Bo")
    # Ada's later session is created first: the order is by session start, not by id.
    _, t2 = _record(store, ada, "quiet", "both", 7, {"path_length_mm": 400.5},
                     "2026-02-01T10:00:00.000+01:00")
    s1, t1 = _record(store, ada, "clock", "left", 12, CLOCK_METRICS,
                     "2026-01-01T10:00:00.000+01:00")
    _record(store, bo, "quiet", "both", 3, {}, "2026-01-15T10:00:00.000+01:00")
    got = store.trial_summaries(ada.id)
    assert [t.id for t in got] == [t1.id, t2.id]
    first = got[0]
    assert (first.session_id, first.session_started, first.athlete_id, first.drill, first.leg,
            first.condition, first.status, first.sample_count) == (
        s1.id, "2026-01-01T10:00:00.000+01:00", ada.id, "clock", "left", "eyes open",
        "completed", 12)
    assert first.ended is not None and first.reason is None
    # The clock's headline keys that are numbers (not sensor_ok, centre_mm), and the per-hour
    # excursion as the compare screen names it.
    assert first.headline == {"edge_reach_score_pct": 71.5, "targets_reached": 11.0,
                              "weakest_hour": 9.0, "3 o'clock max_excursion_pct": 80.0}
    assert got[1].headline == {"path_length_mm": 400.5} and got[1].sample_count == 7
    assert [t.athlete_id for t in store.trial_summaries()] == [ada.id, bo.id, ada.id]
    bare = store.trial_summaries(ada.id, headline=False)
    assert [t.headline for t in bare] == [{}, {}]
    assert [(t.id, t.sample_count, t.status) for t in bare] == [
        (t.id, t.sample_count, t.status) for t in got]


def test_headline_follows_every_metrics_update(store):
    _, trial = new_trial(store, drill="quiet")
    store.update_metrics(trial.id, {"rms_mm": 3.0, "left_pct": 40.0, "hull_area_mm2": 9.0})
    store.update_metrics(trial.id, {"rms_mm": 2.5, "right_pct": float("nan")})
    (t,) = store.trial_summaries()
    # The quiet stance's headline keys only (no hull area), numbers only (no NaN).
    assert t.headline == {"rms_mm": 2.5, "left_pct": 40.0}
    assert t.status == "recording" and t.sample_count == 0
    assert store.trial(trial.id).metrics["hull_area_mm2"] == 9.0


def test_recording_trial_counts_committed_samples(store):
    _, trial = new_trial(store)
    w = store.sample_writer(trial.id)
    w.extend(make_samples(0, 20))
    w.commit()
    assert store.trial_summaries()[0].sample_count == 20
    w.close()


def test_session_summaries(store):
    ada = store.add_athlete("Ada")
    s1, _ = _record(store, ada, "clock", "left", 5, {}, "2026-01-01T10:00:00.000+01:00")
    for drill, n in (("single-leg", 4), ("clock", 6)):
        t = store.start_trial(s1.id, drill)
        store.insert_samples(t.id, SampleArrays.from_samples(make_samples(0, n)))
        store.finish_trial(t.id, "aborted", "stopped")
    empty = store.start_session(athlete_id=None, source_kind="replay", board_id=7)
    got = store.session_summaries()
    assert [(s.id, s.athlete_name, s.trial_count, s.sample_count, s.drills) for s in got] == [
        (s1.id, "Ada", 3, 15, ("clock", "single-leg")),
        (empty.id, None, 0, 0, ())]
    assert (got[1].board_id, got[1].source_kind, got[1].athlete_id) == (7, "replay", None)
    assert [s.id for s in store.session_summaries(ada.id)] == [s1.id]
    assert store.session_summaries(ada.id + 99) == []


def test_trials_for_athlete_is_trials_of_each_session(store):
    ada = store.add_athlete("Ada")
    _record(store, ada, "quiet", "both", 3, {"rms_mm": 1.0}, "2026-03-01T10:00:00.000+01:00")
    _record(store, ada, "clock", "left", 3, CLOCK_METRICS, "2026-01-01T10:00:00.000+01:00")
    by_session = sorted((t for s in store.sessions(ada.id) for t in store.trials(s.id)),
                        key=lambda t: (store.session(t.session_id).started, t.id))
    assert store.trials_for_athlete(ada.id) == by_session
    assert store.trials_for_athlete(ada.id)[0].metrics == CLOCK_METRICS


def test_migration_to_version_2_fills_counts_and_metrics(db):
    path = db.target
    v1 = [m for m in MIGRATIONS if m[0] == 1]
    with Storage(path, migrations=v1) as old:
        aid = old._insert("INSERT INTO athletes (name, created) VALUES ('Ada', 'x')", ())
        s = old.start_session(athlete_id=aid, source_kind="simulated")
        old_trial = old._insert(
            "INSERT INTO trials (session_id, drill, status, started, metrics) "
            "VALUES (?, 'clock', 'completed', 'x', ?)",
            (s.id, json.dumps(CLOCK_METRICS)))
        old._write_many("INSERT INTO samples (trial_id, idx, seq, t_s, t_host_s, fl_counts, "
                        "fr_counts, bl_counts, br_counts, status) "
                        "VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, 0)",
                        [(old_trial, i) for i in range(9)])
    with Storage(path) as store:
        assert store.schema_version == MIGRATIONS[-1][0]
        (t,) = store.trial_summaries()
        assert t.sample_count == 9
        assert t.headline["3 o'clock max_excursion_pct"] == 80.0
        assert store.session_summaries()[0].sample_count == 9
        assert store._q("SELECT COUNT(*) FROM trial_metrics") == [(4,)]
