"""A plan session from start to end, and where an athlete stands in the plan.

:func:`run_plan_session` runs each item of the session that is due (exercises.plan) on both
legs, left first, each as its own procedure on a fresh board from ``open_source`` (a drill
through station.drill_run, an exercise through station.exercise_run), then marks the plan
session done with the stored sessions it was recorded in. :func:`plan_progress` reads the plan,
the sessions done and the exercise sets' time under load and balance from the store.
"""

from __future__ import annotations

from collections.abc import Callable

from stancelab.drills import settings as drill_settings
from stancelab.exercises.exercise import Exercise
from stancelab.exercises.plan import PlanSpec, Progress, items_for, progress, schedule
from stancelab.exercises.settings import for_athlete
from stancelab.station.exercise_run import ExerciseRun

LEGS = ("left", "right")


def _drill(name: str, leg: str, item, a_settings: dict):
    from stancelab.drills.clock import ClockBalance
    from stancelab.drills.quiet import QuietStance
    from stancelab.drills.single_leg import SingleLegStand

    if name == "single-leg":
        over = {"legs": [leg], "n_trials": item.sets, "duration_s": item.seconds or None}
        return SingleLegStand.from_settings(drill_settings.for_athlete(name, a_settings, **over))
    if name == "clock":
        return ClockBalance.from_settings(drill_settings.for_athlete(name, a_settings, leg=leg))
    s = drill_settings.for_athlete(name, a_settings, duration_s=item.seconds or None)
    return QuietStance.from_settings(s, foot_length_mm=a_settings.get("foot_length_mm"))


def run_plan_session(store, athlete, plan, open_source: Callable, *, realtime: bool = True,
                     on_events: Callable | None = None, rest_s: float | None = None):
    """Run the plan session that is due; returns (PlanSession, stored session ids, results)."""
    spec = PlanSpec.from_dict(plan.spec)
    done = {r.number for r in store.plan_sessions(plan.id)}
    due = next((s for s in schedule(spec) if s.number not in done), None)
    if due is None:
        return None, [], []
    a_settings = dict(athlete.settings)
    sessions, results = [], []
    for item in items_for(spec, due):
        for leg in LEGS if item.name != "quiet" else ("both",):
            if item.is_exercise:
                s = for_athlete(item.name, a_settings, leg=leg, sets=item.sets, reps=item.reps,
                                rest_s=rest_s)
                task = Exercise(s)
            else:
                task = _drill(item.name, leg, item, a_settings)
            run = ExerciseRun(store, open_source(), task, athlete.id, realtime=realtime,
                              on_events=on_events)
            run.run()
            sessions.append(run.session_id)
            results.extend(run.results)
            if item.name == "quiet":
                break
    store.mark_plan_session(plan.id, due.number, sessions)
    return due, sessions, results


def plan_progress(store, plan) -> Progress:
    spec = PlanSpec.from_dict(plan.spec)
    rows = store.plan_sessions(plan.id)
    totals: dict[int, tuple[float, float]] = {}
    for r in rows:
        tul, bal = totals.get(r.number, (0.0, 0.0))
        for t in store.trials(r.session_id):
            if t.drill in ("squat", "rdl", "step-up") and t.status == "completed":
                tul += float(t.metrics.get("time_under_load_s") or 0.0)
                bal += float(t.metrics.get("balance_total_s") or 0.0)
        totals[r.number] = (tul, bal)
    return progress(spec, {r.number for r in rows}, totals)
