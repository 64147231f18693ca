"""A plan session from start to end, and where an athlete stands in the plan.

:func:`session_steps` lists the session that is due (exercises.plan) as steps: each item on
both legs, left first. Each step is marked done in the store as it ends by itself
(:func:`record_step`), so an interrupted session resumes at its first step not done
(:func:`steps_left`); when none is left the plan session is marked done with the stored
sessions its steps were recorded in (:func:`finish_session`). Both front ends walk the steps:
:func:`run_plan_session` (`stancelab plan run`) runs each as its own procedure on a fresh board
(a drill through station.drill_run, an exercise through station.exercise_run); the app runs them
in its athlete view (ui/plan_session.py). :func:`plan_progress` reads the plan, the sessions
done and the exercise sets' time under load and balance from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stancelab.drills import settings as drill_settings
from stancelab.drills.events import Aborted
from stancelab.exercises.exercise import Exercise
from stancelab.exercises.plan import (
    PlanItem,
    PlanSession,
    PlanSpec,
    Progress,
    items_for,
    progress,
    schedule,
)
from stancelab.exercises.settings import TITLES, for_athlete
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


@dataclass(frozen=True)
class PlanStep:
    """One item of a plan session on one leg (the quiet stance: both feet), in session order."""

    index: int
    item: PlanItem
    leg: str

    def describe(self) -> str:
        title = TITLES.get(self.item.name, DRILL_TITLES.get(self.item.name, self.item.name))
        return f"{title}, {'both feet' if self.leg == 'both' else self.leg + ' leg'}"


DRILL_TITLES = {"single-leg": "single-leg stands", "clock": "clock balance",
                "quiet": "quiet stance"}


def due_session(store, plan) -> PlanSession | None:
    """The plan session to do next: the first of the schedule not done (None: complete)."""
    done = {r.number for r in store.plan_sessions(plan.id)}
    return next((s for s in schedule(PlanSpec.from_dict(plan.spec)) if s.number not in done),
                None)


def session_steps(spec: PlanSpec, session: PlanSession) -> list[PlanStep]:
    """The session's items on each leg, left first (the quiet stance once, on both feet)."""
    steps: list[PlanStep] = []
    for item in items_for(spec, session):
        for leg in ("both",) if item.name == "quiet" else LEGS:
            steps.append(PlanStep(len(steps), item, leg))
    return steps


def steps_left(store, plan, session: PlanSession) -> list[PlanStep]:
    """The session's steps not done yet: all of them, or after an interruption the ones from
    where it stopped (a step counts as done only as the same item on the same leg)."""
    done = {(r.step, r.name, r.leg) for r in store.plan_steps(plan.id, session.number)}
    return [s for s in session_steps(PlanSpec.from_dict(plan.spec), session)
            if (s.index, s.item.name, s.leg) not in done]


def make_task(step: PlanStep, athlete_settings: dict, *, rest_s: float | None = None):
    """The drill or exercise (a Drill) of one step, with the athlete's saved settings and the
    plan's sets, reps and seconds; ``rest_s`` overrides the exercises' rest (tests)."""
    item, a = step.item, dict(athlete_settings)
    if item.is_exercise:
        return Exercise(for_athlete(item.name, a, leg=step.leg, sets=item.sets, reps=item.reps,
                                    rest_s=rest_s))
    return _drill(item.name, step.leg, item, a)


class StepWatch:
    """Fed a step's events, tells whether the step ran to its end (sets ended by a stepped-off
    rep or the idle time-out included) or was stopped from outside: the coach, Ctrl-C, a
    disconnected board, an error (an Aborted event with any code but a stepped-off trial's).
    Only a step that ran to its end is done."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self, events) -> None:
        for e in events:
            if isinstance(e, Aborted) and e.code != "stepped-off":
                self.stopped = True

    def done(self, task) -> bool:
        return bool(task.finished) and not self.stopped


def record_step(store, plan, session: PlanSession, step: PlanStep, session_id: int) -> None:
    store.mark_plan_step(plan.id, session.number, step.index, step.item.name, step.leg,
                         session_id)


def finish_session(store, plan, session: PlanSession) -> list[int]:
    """Mark the plan session done, linked to the stored sessions its steps were recorded in
    (more than one when it was resumed); returns them."""
    sessions = sorted({r.session_id for r in store.plan_steps(plan.id, session.number)})
    store.mark_plan_session(plan.id, session.number, sessions)
    return sessions


def run_plan_session(store, athlete, plan, open_source: Callable, *, realtime: bool = True,
                     on_events: Callable | None = None, rest_s: float | None = None):
    """Run the plan session that is due from its first step not done, each step on a fresh
    board from ``open_source``; returns (PlanSession, stored session ids, results of this
    run). A step stopped from outside ends the run with the steps before it kept: the session
    is then not done and (None for the ids) resumes there next time."""
    due = due_session(store, plan)
    if due is None:
        return None, [], []
    a_settings = dict(athlete.settings)
    results = []
    for step in steps_left(store, plan, due):
        task = make_task(step, a_settings, rest_s=rest_s)
        watch = StepWatch()

        def events(evs, watch=watch):
            watch(evs)
            if on_events is not None:
                on_events(evs)
        run = ExerciseRun(store, open_source(), task, athlete.id, realtime=realtime,
                          on_events=events)
        run.run()
        results.extend(run.results)
        if not watch.done(task):
            return due, None, results
        record_step(store, plan, due, step, run.session_id)
    return due, finish_session(store, plan, due), results


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
