"""Today's plan session in the athlete view: its items one after another, then the plan marked.

Started from the Plan screen ("Start today's session"). The steps, what is done of them and the
marking are station/plan_run.py's (the same as `stancelab plan run`): the session due, its
steps not done yet (a session interrupted earlier resumes at its first step not done), each
step's drill or exercise with the plan's sets, reps and rest. Each step runs on the drill
screen's runner and athlete view (ui/screens/drills.py ``run``), so the cue, the rep counter,
the set progress, the rest countdown and the scores are the ones a drill shows. A step that ends
by itself is marked done on the worker; the next starts after ``between_ms`` (Space: at once).
Escape stops the step under way (its samples are kept, as for a drill) and brings the coach's
window back to the Plan screen; the steps done stay done. A step stopped otherwise (the board
disconnected, an error, another athlete chosen) ends the flow the same way, saying why. After the last step the plan session
is marked done, and Space brings the coach's window back.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from stancelab.exercises.plan import PlanSpec
from stancelab.station import plan_run


def exercise_pilot(ctx):
    """On the simulated board in demo mode, when its virtual athlete can perform the exercises'
    sets (sim/exercises.py): the autopilot that follows the cues and performs them (None
    otherwise: the drill screen's own autopilot, or nobody)."""
    src = ctx.session.source
    athlete = getattr(src, "athlete", None)
    if not ctx.demo_autopilot or not hasattr(athlete, "perform_set"):
        return None
    from stancelab.sim.exercises import ExercisePilot

    return ExercisePilot(src, athlete)


class PlanSessionFlow(QObject):
    #: The flow is over: "done" (the plan session marked), "stopped", or what went wrong.
    ended = Signal(str)

    def __init__(self, ctx, drills, between_ms: int = 4000, rest_s: float | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.drills = ctx, drills
        self.between_ms = between_ms
        self.rest_s = rest_s          # overrides the exercises' rest between sets (tests)
        # idle | preparing | running (a step) | between (steps) | finishing | finished
        self.state = "idle"
        self.plan = self.due = None
        self.steps: list[plan_run.PlanStep] = []
        self.total = 0                # steps in the whole session (done earlier included)
        self.position = 0             # index into self.steps of the step under way / next
        self.session_id: int | None = None
        self.outcome = ""
        self._next = QTimer(self)
        self._next.setObjectName("plan-session-next")
        self._next.setSingleShot(True)
        self._next.timeout.connect(self._run_step)
        self._watch = plan_run.StepWatch()
        self._ended = None            # the runner of the step that just ended, to be judged
        drills.drill_finished.connect(self._on_step_finished)
        # Connected after the drill screen: a step's last events reach this after its end.
        ctx.session.drill_events.connect(self._on_events)

    @property
    def active(self) -> bool:
        return self.state != "idle"

    @property
    def step(self) -> plan_run.PlanStep | None:
        return self.steps[self.position] if self.position < len(self.steps) else None

    # -- starting
    def start(self) -> str | None:
        """Begin today's session; a message instead when it cannot start."""
        ctx = self.ctx
        if self.active:
            return "The session is already under way"
        if ctx.session.source is None:
            return "Connect a board first (Board screen)"
        if ctx.athlete is None:
            return "Pick an athlete first (Athletes screen)"
        if self.drills.state == "running":
            return "A drill is running: stop it first"
        self.state = "preparing"
        ctx.worker.submit(self._prepare, ctx.athlete.id, on_done=self._begin,
                          on_error=lambda exc: self._end(f"Could not read the plan: {exc}"),
                          name="PlanSessionFlow.prepare")
        return None

    def _prepare(self, athlete_id: int):
        store = self.ctx.storage
        plan = store.active_plan(athlete_id)
        if plan is None:
            return None, None, [], 0
        due = plan_run.due_session(store, plan)
        if due is None:
            return plan, None, [], 0
        spec = PlanSpec.from_dict(plan.spec)
        return plan, due, plan_run.steps_left(store, plan, due), len(
            plan_run.session_steps(spec, due))

    def _begin(self, prepared) -> None:
        if self.state != "preparing":
            return
        self.plan, self.due, self.steps, self.total = prepared
        if self.plan is None:
            self._end("This athlete has no plan: start one first")
            return
        if self.due is None:
            self._end("The plan is complete")
            return
        self.position, self.session_id = 0, None
        self.drills.flow = self
        if self.ctx.window is not None:
            self.ctx.window.show_screen("Drills")
        if not self.steps:        # every step done, the session not marked (stopped there)
            self._finish_session()
            return
        self._run_step()

    # -- the steps
    def _run_step(self) -> None:
        self._next.stop()
        step = self.step
        if step is None or self.state in ("idle", "finished"):
            return
        ctx = self.ctx
        if ctx.session.source is None:
            self._stop("The board is not connected")
            return
        if ctx.athlete is None or ctx.athlete.id != self.plan.athlete_id:
            self._stop("Another athlete was chosen")
            return
        try:
            task = plan_run.make_task(step, ctx.athlete.settings, rest_s=self.rest_s)
        except ValueError as e:
            self._stop(f"The plan's {step.item.name} cannot run: {e}")
            return
        self.state = "running"
        self._watch, self._ended = plan_run.StepWatch(), None
        pilot = exercise_pilot(ctx) if step.item.is_exercise else None
        self.drills.run(task, self.session_id, pilot or ctx.make_autopilot())
        self.drills.view.set_plan_line(self._where())

    def _where(self) -> str:
        done_before = self.total - len(self.steps)
        return (f"{self.due.label} · {done_before + self.position + 1} of {self.total}: "
                f"{self.step.describe()}")

    def _on_events(self, events: list) -> None:
        if self.state != "running":
            return
        self._watch(events)
        runner, self._ended = self._ended, None
        if runner is not None:
            self._judge(runner)

    def _on_step_finished(self, runner) -> None:
        """The drill screen's drill ended (inside its handling of the events that ended it:
        judged once this has seen them too, in _on_events)."""
        if self.state != "running" or runner is None:
            return
        if self.drills.error:
            self._stop(f"The step stopped because of an error: {self.drills.error}")
            return
        self._ended = runner

    def _judge(self, runner) -> None:
        step = self.step
        if not self._watch.done(runner.drill):
            self._stop(None)
            return
        self.session_id = runner.session_id
        plan, due, sid = self.plan, self.due, runner.session_id
        store = self.ctx.storage
        self.position += 1
        if self.step is None:
            self.state = "finishing"
            self.ctx.worker.submit(
                lambda: (plan_run.record_step(store, plan, due, step, sid),
                         plan_run.finish_session(store, plan, due)),
                on_done=lambda _r: self._session_done(),
                on_error=lambda exc: self._stop(f"Could not mark the session: {exc}"),
                name="PlanSessionFlow.finish")
            return
        self.ctx.worker.submit(plan_run.record_step, store, plan, due, step, sid,
                               on_error=lambda exc: self._stop(f"Could not mark {step.describe()}"
                                                               f" done: {exc}"),
                               name="PlanSessionFlow.record")
        self.state = "between"
        view = self.drills.view
        view.set_cue(f"Next: {self.step.describe()}. Space to start now")
        view.set_plan_line(self._where())
        self._next.start(self.between_ms)

    def _finish_session(self) -> None:
        self.state = "finishing"
        self.ctx.worker.submit(plan_run.finish_session, self.ctx.storage, self.plan, self.due,
                               on_done=lambda _r: self._session_done(),
                               on_error=lambda exc: self._stop(f"Could not mark the session: "
                                                               f"{exc}"),
                               name="PlanSessionFlow.finish")

    def _session_done(self) -> None:
        if self.state != "finishing":        # Escape meanwhile: marked all the same
            self.ctx.results_changed.emit()
            return
        self.state = "finished"
        view = self.drills.view
        view.set_state("done")
        view.set_cue(f"Well done: {self.due.label} is done. Space to finish")
        view.set_plan_line(f"{self.due.label} · done")
        self.outcome = "done"
        self.ctx.results_changed.emit()

    # -- keys (the drill screen hands them over while the flow is on)
    def go(self) -> bool:
        """Space: start the next step now, or after the last one bring the coach back."""
        if self.state == "between":
            self._run_step()
            return True
        if self.state == "finished":
            self.drills.bring_back()
            self._end("done")
            return True
        return self.state in ("running", "finishing", "preparing")

    def escape(self) -> None:
        """Escape: stop here; the steps done stay done (the running step is stopped by the
        drill screen: its end, coming back through _on_step_finished, is then ignored)."""
        if self.state == "finished":
            self._end("done")
        elif self.state != "idle":
            self._stop(None)

    def _stop(self, message: str | None) -> None:
        self._next.stop()
        if self.state == "idle":
            return
        words = message or "Stopped"
        if self.step is not None:
            words += (f". {self.step.describe()} is not done: Start today's session resumes "
                      "there")
        self.drills._tell(words)
        self._end("stopped" if message is None else words)
        if self.drills.state == "running":     # stopped by a problem, not by Escape
            self.drills.stop()
        self.drills.bring_back()               # the coach's window, saying why, in front

    def _end(self, outcome: str) -> None:
        self._next.stop()
        self.state = "idle"
        self.outcome = outcome
        began = self.drills.flow is self
        if began:
            self.drills.flow = None
        self.drills.view.set_plan_line("")
        if self.ctx.window is not None and began:
            self.ctx.window.show_screen("Plan")
        self.ctx.results_changed.emit()
        self.ended.emit(outcome)
