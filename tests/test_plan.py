"""The 4-week plan: model, tables (migration on a real SQLite file), and a whole simulated plan."""

import sqlite3

import pytest

from stancelab.drills.events import Phase, PhaseChanged, TrialStarted
from stancelab.exercises.plan import PlanItem, PlanSpec, default_plan, progress, schedule
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.exercises import ExercisePerformer
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.station.assessment import load_assessment
from stancelab.station.plan_run import (
    due_session,
    plan_progress,
    run_plan_session,
    session_steps,
    steps_left,
)
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
        assert store.schema_version == MIGRATIONS[-1][0]
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


def _source_maker(weak_left: float = 0.4):
    count = {"n": 0}

    def source():
        count["n"] += 1
        va = VirtualAthlete(foot_length_mm=265.0, seed=count["n"], stance="off",
                            weakness={"left": weak_left})
        src = SimulatedBoard(ExercisePerformer(va, seed=count["n"]), realtime=False,
                             seed=count["n"], chunk_s=1.0)
        src.open()
        return src
    return source


def test_an_interrupted_session_resumes_at_the_first_item_not_done(tmp_path):
    spec = PlanSpec(1, 1, training=[PlanItem("step-up", 1, 1)],
                    assessment=[PlanItem("step-up", 1, 1), PlanItem("squat", 1, 2),
                                PlanItem("quiet", 1, 0, 5.0)])
    with Storage(tmp_path / "db.sqlite3") as store:
        athlete = store.add_athlete("Ana")
        plan = store.start_plan(athlete.id, spec.to_dict())
        due = due_session(store, plan)
        assert [(s.item.name, s.leg) for s in session_steps(spec, due)] == [
            ("step-up", "left"), ("step-up", "right"), ("squat", "left"), ("squat", "right"),
            ("quiet", "both")]
        started = []

        def watch(events, stop_at=None):
            for e in events:
                if isinstance(e, TrialStarted):
                    started.append((e.drill, e.leg))
                    if (e.drill, e.leg) == stop_at:
                        raise KeyboardInterrupt      # Ctrl-C in the terminal

        with pytest.raises(KeyboardInterrupt):
            run_plan_session(store, athlete, plan, _source_maker(), realtime=False, rest_s=1.0,
                             on_events=lambda ev: watch(ev, ("squat", "right")))
        # three steps done and kept; the session is not done
        assert [(s.item.name, s.leg) for s in steps_left(store, plan, due)] == [
            ("squat", "right"), ("quiet", "both")]
        assert store.plan_sessions(plan.id) == [] and due_session(store, plan) == due
        started.clear()
        again, sessions, results = run_plan_session(store, athlete, plan, _source_maker(),
                                                    realtime=False, rest_s=1.0,
                                                    on_events=watch)
        assert again == due and started == [("squat", "right"), ("quiet", "both")]
        assert [r.status for r in results] == ["completed", "completed"]
        # the session links the stored sessions of both runs; each item recorded once
        trials = [t for sid in sessions for t in store.trials(sid)]
        done = sorted((t.drill, t.leg) for t in trials if t.status == "completed")
        assert done == sorted([("step-up", "left"), ("step-up", "right"), ("squat", "left"),
                               ("squat", "right"), ("quiet", "both")])
        assert len(sessions) == len(trials) == 5        # one board (a stored session) a step
        # the stopped right squat is kept, in a stored session the plan does not count
        every = [t for x in store.sessions(athlete.id) for t in store.trials(x.id)]
        assert sorted(t.status for t in every if (t.drill, t.leg) == ("squat", "right")) == [
            "aborted", "completed"]
        assert {r.number for r in store.plan_sessions(plan.id)} == {0}
        assert steps_left(store, plan, due) == []
        assert due_session(store, plan).number == 1


def test_plan_steps_on_both_backends(db):
    with db.open() as store:
        a = store.add_athlete("Bo")
        plan = store.start_plan(a.id, default_plan().to_dict())
        s1 = store.start_session(athlete_id=a.id, source_kind="simulated")
        s2 = store.start_session(athlete_id=a.id, source_kind="simulated")
        store.mark_plan_step(plan.id, 0, 0, "single-leg", "left", s1.id)
        store.mark_plan_step(plan.id, 0, 1, "single-leg", "right", s1.id)
        store.mark_plan_step(plan.id, 0, 1, "single-leg", "right", s2.id)   # marked again
        store.mark_plan_step(plan.id, 1, 0, "single-leg", "left", s2.id)
        rows = store.plan_steps(plan.id, 0)
        assert [(r.step, r.name, r.leg, r.session_id) for r in rows] == [
            (0, "single-leg", "left", s1.id), (1, "single-leg", "right", s2.id)]
        assert [r.step for r in store.plan_steps(plan.id, 1)] == [0]
        with pytest.raises(StorageError):
            store.mark_plan_step(plan.id, 0, 2, "clock", "left", 9999)      # no such session
        assert len(store.plan_steps(plan.id, 0)) == 2
    with db.open() as store:      # a second connection reads them
        assert [r.step for r in store.plan_steps(plan.id, 0)] == [0, 1]


def test_migration_5_keeps_a_plan_in_progress(tmp_path):
    path = tmp_path / "v4.sqlite3"
    with Storage(path, migrations=MIGRATIONS[:4]) as store:
        a = store.add_athlete("Cy")
        plan = store.start_plan(a.id, default_plan().to_dict())
        s = store.start_session(athlete_id=a.id, source_kind="simulated")
        store.mark_plan_session(plan.id, 0, [s.id])
        assert store.schema_version == 4
    con = sqlite3.connect(path)
    assert "plan_steps" not in {r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    with Storage(path) as store:
        assert store.schema_version == 5
        plan = store.active_plan(a.id)
        assert due_session(store, plan).number == 1
        assert len(steps_left(store, plan, due_session(store, plan))) == len(
            session_steps(PlanSpec.from_dict(plan.spec), due_session(store, plan)))
        store.mark_plan_step(plan.id, 1, 0, "single-leg", "left", s.id)
        assert len(steps_left(store, plan, due_session(store, plan))) == len(
            session_steps(PlanSpec.from_dict(plan.spec), due_session(store, plan))) - 1
    con = sqlite3.connect(path)
    assert con.execute("SELECT number, step, name, leg FROM plan_steps").fetchall() == [
        (1, 0, "single-leg", "left")]
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone() == (5,)
    con.close()


def test_a_step_whose_last_trial_was_stepped_off_is_done(tmp_path):
    # Stepping off ends the trial (stored as aborted, a result): the step ran to its end. Only a
    # stop from outside (Ctrl-C above, the coach, a disconnected board) leaves it not done.
    spec = PlanSpec(1, 1, training=[PlanItem("step-up", 1, 1)],
                    assessment=[PlanItem("single-leg", 1, 0, 8.0)])
    with Storage(tmp_path / "db.sqlite3") as store:
        athlete = store.add_athlete("Di")
        plan = store.start_plan(athlete.id, spec.to_dict())
        boards = []

        def source():
            va = VirtualAthlete(foot_length_mm=265.0, seed=3, stance="off")
            src = SimulatedBoard(va, realtime=False, seed=3, chunk_s=0.25)
            src.open()
            boards.append(src)
            return src

        def step_off_in_the_trial(events):
            for e in events:
                if isinstance(e, PhaseChanged) and e.phase == Phase.ACTIVE:
                    boards[-1].athlete.set_stance("off", e.t_s + 2.0)

        due, sessions, results = run_plan_session(store, athlete, plan, source, realtime=False,
                                                  on_events=step_off_in_the_trial)
        assert due.kind == "baseline"
        assert [(r.leg, r.status) for r in results] == [("left", "aborted"),
                                                        ("right", "aborted")]
        assert sessions is not None and len(sessions) == 2
        assert {r.number for r in store.plan_sessions(plan.id)} == {0}
