"""The 4-week plan: model, tables (migration on a real SQLite file), and a whole simulated plan."""

import sqlite3

import pytest

from stancelab.exercises.plan import PlanItem, PlanSpec, default_plan, progress, schedule
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.exercises import ExercisePerformer
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.station.assessment import load_assessment
from stancelab.station.plan_run import plan_progress, run_plan_session
from stancelab.storage import MIGRATIONS, Storage, StorageError


def test_default_plan_is_the_programme():
    spec = default_plan()
    sched = schedule(spec)
    assert (spec.weeks, spec.per_week) == (4, 3)
    assert [s.kind for s in sched] == ["baseline"] + ["training"] * 12 + ["reassessment"]
    assert [s.label for s in sched[1:4]] == [f"week 1 session {i}" for i in (1, 2, 3)]
    names = {i.name: (i.sets, i.reps) for i in spec.training}
    assert names["squat"] == (3, 10) and names["rdl"] == (3, 10) and names["step-up"] == (1, 6)
    assert {"single-leg", "clock"} <= set(names)
    assert PlanSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="plan item 'lunge'"):
        PlanSpec.from_dict({**spec.to_dict(), "training": [{"name": "lunge"}]})


def test_progress_counts_sessions_per_week_and_says_when_the_reassessment_is_due():
    spec = default_plan()
    p = progress(spec, {0, 1, 2, 4})
    assert p.weeks[0] == {"week": "baseline", "planned": 1, "done": 1, "time_under_load_s": 0.0,
                          "balance_s": 0.0}
    assert (p.weeks[1]["done"], p.weeks[2]["done"]) == (2, 1)
    assert p.next_session.number == 3 and not p.reassessment_due
    p = progress(spec, set(range(13)), {5: (40.0, 20.0), 6: (30.0, 10.0)})
    assert p.reassessment_due and p.next_session.kind == "reassessment"
    assert p.weeks[2]["time_under_load_s"] == 70.0 and p.weeks[2]["balance_s"] == 30.0


def test_migration_to_plans_keeps_an_old_database(tmp_path):
    path = tmp_path / "old.sqlite3"
    with Storage(path, migrations=MIGRATIONS[:2]) as store:
        # Raw SQL: today's add_athlete writes the version-3 row_version column.
        aid = store._insert("INSERT INTO athletes (name, created) VALUES ('Bo', 'x')", ())
        s = store.start_session(athlete_id=aid, source_kind="simulated")
        assert store.schema_version == 2
    with Storage(path) as store:
        assert store.schema_version == 4
        a = store.athlete(aid)
        assert store.athletes()[0].name == "Bo"
        plan = store.start_plan(a.id, default_plan().to_dict())
        assert store.active_plan(a.id) == plan
        store.mark_plan_session(plan.id, 0, [s.id])
        assert [(r.number, r.session_id) for r in store.plan_sessions(plan.id)] == [(0, s.id)]
        second = store.start_plan(a.id, default_plan().to_dict())
        assert store.plan(plan.id).status == "ended" and store.active_plan(a.id) == second
        with pytest.raises(StorageError):
            store.mark_plan_session(plan.id, 1, [9999])       # no such session
    con = sqlite3.connect(path)
    assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")} \
        >= {"plans", "plan_sessions"}
    con.close()


def test_a_simulated_athlete_completes_a_whole_plan(tmp_path):
    # The programme's structure (baseline, 4 weeks x 3, reassessment) with short sessions.
    spec = PlanSpec(4, 3, training=[PlanItem("step-up", 1, 1)],
                    assessment=[PlanItem("step-up", 3, 2)])
    with Storage(tmp_path / "db.sqlite3") as store:
        athlete = store.add_athlete("Ana")
        plan = store.start_plan(athlete.id, spec.to_dict())
        count = {"n": 0}

        def source():
            count["n"] += 1
            va = VirtualAthlete(foot_length_mm=265.0, seed=count["n"], stance="off",
                                weakness={"left": 0.4}, sessions_trained=count["n"] // 2)
            src = SimulatedBoard(ExercisePerformer(va, seed=count["n"], touchdown_rate=0.05),
                                 realtime=False, seed=count["n"], chunk_s=1.0)
            src.open()
            return src

        for number in range(14):
            assert plan_progress(store, plan).reassessment_due == (number == 13)
            due, sessions, results = run_plan_session(store, athlete, plan, source,
                                                      realtime=False, rest_s=3.0)
            assert due.number == number and len(sessions) == 2 * len(
                spec.assessment if due.kind != "training" else spec.training)
            assert all(r.status == "completed" for r in results)
        p = plan_progress(store, plan)
        assert p.done == p.planned == 14 and p.next_session is None
        assert [w["done"] for w in p.weeks] == [1, 3, 3, 3, 3, 1]
        assert all(w["time_under_load_s"] > 0 and w["balance_s"] > 0 for w in p.weeks)
        assert run_plan_session(store, athlete, plan, source, realtime=False) == (None, [], [])
        a = load_assessment(store, athlete.id)
        # left against right at the reassessment: the weak left leg wobbles more
        (side,) = [s for s in a.sides if s.drill == "step-up" and s.condition == "2 reps"]
        assert side.n_left == side.n_right == 3
        rows = {r.metric: r for r in side.rows}
        wobble = [rows[m].verdict for m in ("ml_excursion_mm", "ml_velocity_mm_s")]
        assert "right better" in wobble and "left better" not in wobble
        # baseline -> reassessment per leg, judged against the athlete's own set-to-set noise
        prog = [r for r in a.progress if r.drill == "step-up" and r.condition == "2 reps"
                and r.metric == "ml_velocity_mm_s"]
        assert {r.leg for r in prog} == {"left", "right"}
        assert all(r.mdc95 is not None and r.verdict in ("better", "worse",
                                                         "within measurement noise")
                   for r in prog)
