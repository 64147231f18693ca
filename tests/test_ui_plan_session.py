"""Today's plan session through the GUI on the simulated board (faster than real time) with
real widgets offscreen: every item in the athlete view, the plan session marked done, and a
session stopped with Escape that resumes at its first item not done."""

from __future__ import annotations

from PySide6.QtCore import Qt

import ui_helpers
from stancelab.drills import events as ev
from stancelab.exercises.plan import PlanItem, PlanSpec
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.exercises import ExercisePerformer
from stancelab.station.plan_run import due_session, steps_left

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

SPEC = PlanSpec(1, 2,
                training=[PlanItem("step-up", 1, 1), PlanItem("squat", 1, 2)],
                assessment=[PlanItem("single-leg", 1, 0, 5.0), PlanItem("squat", 2, 2),
                            PlanItem("step-up", 1, 1)])


def _board(ctx, seed: int):
    va = VirtualAthlete(foot_length_mm=265.0, seed=seed, stance="off", weakness={"left": 0.3})
    ctx.connect_simulated(athlete=ExercisePerformer(va, seed=seed), seed=seed)


def _plan_screen(qtbot, ctx, win):
    screen = win.show_screen("Plan")
    screen.flow_options = {"between_ms": 0, "rest_s": 1.0}
    qtbot.waitUntil(lambda: not screen.loading and not ctx.worker.running, timeout=20_000)
    return screen


def _watch(ctx, drills):
    """What the athlete saw: per step its plan line, the rep counters and set headers shown."""
    seen = {"started": [], "counters": [], "headers": set(), "plan_lines": set(), "score_lines": set(), "rest": set(),
            "set_scores": []}

    def on_events(events):
        for e in events:
            if isinstance(e, ev.TrialStarted):
                seen["started"].append((e.drill, e.leg, e.index))
            if isinstance(e, ev.Score) and e.label == "reps counted":
                seen["set_scores"].append(e.value)
        view = drills.view
        if view.rep_counter:
            seen["counters"].append(view.rep_counter)
        seen["headers"].add(view.header.text())
        seen["plan_lines"].add(view.plan_line.text())
        seen["score_lines"].update(view.scores)
        drill = drills.runner.drill if drills.runner is not None else None
        if drill is not None and drill.phase == ev.Phase.REST and view.state == "rest":
            seen["rest"].add(view.big.text())
    ctx.session.drill_events.connect(on_events)
    return seen


def test_a_plan_session_runs_in_the_athlete_view_and_resumes_after_escape(qtbot, app_window):
    ctx, win = app_window
    athlete = ctx.ensure_demo_athlete()
    ctx.select_athlete(athlete)
    store = ctx.storage
    plan = store.start_plan(athlete.id, SPEC.to_dict())
    _board(ctx, 5)
    screen = _plan_screen(qtbot, ctx, win)
    assert screen.run_today.isVisible() and screen.run_today.text() == "Start today's session"
    drills = win.screens["Drills"]
    seen = _watch(ctx, drills)

    # -- the baseline, whole: six steps (each item on the left leg, then the right)
    screen.run_today.click()
    qtbot.waitUntil(lambda: screen.flow.state == "finished", timeout=240_000)
    assert win.current_screen_name() == "Drills" and drills.detached
    assert drills.error is None
    legs = [(d, leg) for d, leg, i in seen["started"] if i == 0]
    assert legs == [("single-leg", "left"), ("single-leg", "right"), ("squat", "left"),
                    ("squat", "right"), ("step-up", "left"), ("step-up", "right")]
    # the rep counter in large type, the set progress, the rest countdown between the sets
    assert {"0/2", "1/2"} <= set(seen["counters"]) and "0/1" in seen["counters"]
    assert any(line == "reps counted: 2 of 2" for line in seen["score_lines"])
    assert "1" in seen["rest"]                      # rest_s=1.0 between the squat sets
    assert any("One-leg squat · set 2 of 2 · left leg" in h for h in seen["headers"])
    assert len(seen["set_scores"]) == 2 * 2 + 2
    assert "baseline · 3 of 6: one-leg squat, left leg" in seen["plan_lines"]
    assert "Well done" in drills.cue.text() and drills.view.state == "done"
    # the plan session is marked done, linked to the one stored session its steps went to
    rows = store.plan_sessions(plan.id)
    assert [r.number for r in rows] == [0] and rows[0].session_id is not None
    trials = store.trials(rows[0].session_id)
    assert sum(t.drill == "squat" and t.status == "completed" for t in trials) == 4
    assert {t.metrics.get("reps_counted") for t in trials if t.drill == "squat"} == {2}
    qtbot.keyClick(drills.view, Qt.Key.Key_Space)          # Space: back to the coach
    assert not drills.detached and win.current_screen_name() == "Plan"
    qtbot.waitUntil(lambda: "1 of 4 sessions done" in screen.title.text(), timeout=20_000)
    assert screen.today.text().startswith("Today: week 1 session 1")

    # -- week 1 session 1, stopped with Escape during the third step (squat, left leg)
    seen["started"].clear()
    screen.run_today.click()
    qtbot.waitUntil(lambda: screen.flow.position == 2 and drills.state == "running"
                    and ("squat", "left", 0) in seen["started"], timeout=120_000)
    qtbot.keyClick(drills.view, Qt.Key.Key_Escape)
    assert screen.flow.state == "idle" and screen.flow.outcome == "stopped"
    assert not drills.detached and win.current_screen_name() == "Plan"
    qtbot.waitUntil(lambda: not ctx.worker.running and "resumes at" in screen.today.text(),
                    timeout=20_000)
    assert "2 of 4 done; it resumes at one-leg squat, left leg" in screen.today.text()
    assert screen.run_today.text() == "Resume today's session"
    due = due_session(store, store.plan(plan.id))
    assert due.number == 1
    assert [(s.item.name, s.leg) for s in steps_left(store, plan, due)] == [
        ("squat", "left"), ("squat", "right")]

    # -- resumed: only the steps not done run; then the session is done
    seen["started"].clear()
    screen.run_today.click()
    qtbot.waitUntil(lambda: screen.flow.state == "finished", timeout=240_000)
    assert [(d, leg) for d, leg, _i in seen["started"]] == [("squat", "left"),
                                                            ("squat", "right")]
    assert [r.number for r in store.plan_sessions(plan.id)] == [0, 1, 1]
    qtbot.keyClick(drills.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "2 of 4 sessions done" in screen.title.text(), timeout=20_000)
    # the stopped squat set is kept (aborted), each item of the session done once
    every = [t for s in store.sessions(athlete.id) for t in store.trials(s.id)]
    squat_left = [t.status for t in every if t.drill == "squat" and t.leg == "left"
                  and t.condition == "2 reps"]
    assert squat_left.count("aborted") == 1


def test_the_apps_simulated_board_performs_the_exercises(app_window):
    ctx, _win = app_window
    src = ctx.simulated_board()          # what the Board screen's "simulated board" connects
    assert hasattr(src.athlete, "perform_set")


def test_an_exercise_runs_on_its_own_from_the_drill_list(qtbot, app_window):
    ctx, win = app_window
    ctx.select_athlete(ctx.ensure_demo_athlete())
    _board(ctx, 6)
    drills = win.show_screen("Drills")
    drills.select("squat-right")
    assert drills.kind == "squat" and drills.form.exercise.sets.value() == 3   # the programme
    assert drills.form.exercise.reps.value() == 10
    drills.form.exercise.sets.setValue(1)
    drills.form.exercise.reps.setValue(3)
    counters = []
    ctx.session.drill_events.connect(lambda _e: counters.append(drills.view.rep_counter))
    drills.setFocus()
    qtbot.keyClick(drills, Qt.Key.Key_Space)
    assert drills.state == "running"
    qtbot.waitUntil(lambda: drills.state == "done", timeout=120_000)
    assert drills.error is None and {"0/3", "1/3", "2/3"} <= set(counters)
    assert "reps counted: 3 of 3" in drills.scores
    trials = [t for s in ctx.storage.sessions(ctx.athlete.id) for t in ctx.storage.trials(s.id)]
    assert [(t.drill, t.leg, t.status, t.metrics["reps_counted"]) for t in trials] == [
        ("squat", "right", "completed", 3)]
    # the plan's sets and reps are not overwritten by a run from the list
    assert "exercises" not in ctx.storage.athlete(ctx.athlete.id).settings


def test_a_board_disconnected_mid_item_stops_the_session_where_it_was(qtbot, app_window):
    ctx, win = app_window
    athlete = ctx.ensure_demo_athlete()
    ctx.select_athlete(athlete)
    plan = ctx.storage.start_plan(athlete.id, SPEC.to_dict())
    _board(ctx, 8)
    screen = _plan_screen(qtbot, ctx, win)
    screen.run_today.click()
    qtbot.waitUntil(lambda: screen.flow.position == 1 and screen.flow.state == "running"
                    and len(ctx.session.history) > 200, timeout=120_000)
    ctx.session.detach()                   # the coach disconnects the board on the Board screen
    assert screen.flow.state == "idle" and screen.flow.outcome == "stopped"
    assert win.current_screen_name() == "Plan" and not win.screens["Drills"].detached
    qtbot.waitUntil(lambda: not ctx.worker.running, timeout=20_000)
    due = due_session(ctx.storage, plan)
    assert due.number == 0 and [s.index for s in steps_left(ctx.storage, plan, due)] == [
        1, 2, 3, 4, 5]
    assert screen.run_today.text() == "Resume today's session"
    assert screen.flow.start() == "Connect a board first (Board screen)"
