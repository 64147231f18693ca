"""The plan: today's session, adherence per week, weekly totals, when the reassessment is due.

The coach's view of an athlete's 4-week programme (exercises/plan.py), read on the worker from
the plan tables and the exercise sets (station/plan_run.plan_progress). A plan is started here
or with `stancelab plan start`. "Start today's session" walks the athlete through the session
that is due in the athlete view (ui/plan_session.py), as `stancelab plan run` does in a
terminal; a session stopped half-way resumes at its first item not done.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stancelab.exercises.plan import PlanSpec, Progress, default_plan, items_for
from stancelab.ui.widgets import WARN, ReloadsWhenShown, big_label


@dataclass
class PlanView:
    athlete: str | None
    plan_id: int | None = None
    started: str = ""
    spec: PlanSpec | None = None
    progress: Progress | None = None
    steps_done: int = 0           # of today's session, before an interruption
    steps_total: int = 0
    resume_at: str = ""           # the first step not done, when some are


class PlanScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.view: PlanView | None = None
        lay = QVBoxLayout(self)
        self.title = big_label("Plan", 22)
        self.today = QLabel("")
        self.today.setWordWrap(True)
        self.today.setStyleSheet("font-size: 18px;")
        self.due = QLabel("")
        self.due.setStyleSheet(f"color: {WARN}; font-size: 16px;")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", "sessions done", "time under load",
                                              "balance held"])
        self.table.verticalHeader().setVisible(False)
        self.start = QPushButton("Start the 4-week plan")
        self.start.clicked.connect(self.start_plan)
        self.run_today = QPushButton("Start today's session")
        self.run_today.setObjectName("start-session")
        self.run_today.setStyleSheet("font-size: 16px; padding: 8px;")
        self.run_today.clicked.connect(self.start_session)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.flow = None            # ui/plan_session.PlanSessionFlow, made on first use
        self.flow_options: dict = {}   # its between_ms / rest_s (tests: no pauses)
        for w in (self.title, self.today, self.due, self.run_today, self.message, self.table,
                  self.start):
            lay.addWidget(w)
        self.watch_results(ctx)

    # -- ReloadsWhenShown
    def load_request(self) -> tuple:
        a = self.ctx.athlete
        return (a.id if a is not None else None, a.name if a is not None else None)

    def load(self, athlete_id: int | None, name: str | None) -> PlanView:
        from stancelab.station.plan_run import plan_progress, session_steps, steps_left

        if athlete_id is None:
            return PlanView(None)
        plan = self.ctx.storage.active_plan(athlete_id)
        if plan is None:
            return PlanView(name)
        spec, p = PlanSpec.from_dict(plan.spec), plan_progress(self.ctx.storage, plan)
        v = PlanView(name, plan.id, plan.started, spec, p)
        if p.next_session is not None:
            left = steps_left(self.ctx.storage, plan, p.next_session)
            v.steps_total = len(session_steps(spec, p.next_session))
            v.steps_done = v.steps_total - len(left)
            v.resume_at = left[0].describe() if left and v.steps_done else ""
        return v

    def load_failed(self, message: str) -> None:
        self.today.setText(f"Could not read the plan: {message}")

    def render(self, v: PlanView, now: bool = True) -> None:
        self.view = v
        self.start.setVisible(v.athlete is not None and v.plan_id is None)
        self.run_today.setVisible(v.plan_id is not None and v.progress is not None
                                  and v.progress.next_session is not None)
        self.run_today.setText("Resume today's session" if v.steps_done
                               else "Start today's session")
        if v.athlete is None:
            self.title.setText("Plan")
            self.today.setText("Choose an athlete on the Athletes screen.")
            self.due.setText("")
            self.table.setRowCount(0)
            return
        if v.plan_id is None:
            self.title.setText(f"Plan: {v.athlete}")
            self.today.setText("No plan yet: start the programme (baseline, 4 weeks x 3 "
                               "sessions, reassessment).")
            self.due.setText("")
            self.table.setRowCount(0)
            return
        p, spec = v.progress, v.spec
        self.title.setText(f"Plan: {v.athlete} (started {v.started[:10]}, {p.done} of "
                           f"{p.planned} sessions done)")
        if p.next_session is None:
            self.today.setText("The plan is complete: Compare shows the reassessment against "
                               "the baseline.")
        else:
            items = "; ".join(i.describe() for i in items_for(spec, p.next_session))
            resume = (f" ({v.steps_done} of {v.steps_total} done; it resumes at "
                      f"{v.resume_at})" if v.steps_done else "")
            self.today.setText(f"Today: {p.next_session.label}: {items}{resume}")
        self.due.setText("The reassessment is due." if p.reassessment_due else "")
        self.table.setRowCount(len(p.weeks))
        for r, w in enumerate(p.weeks):
            cells = (w["week"], f"{w['done']} of {w['planned']}",
                     f"{w['time_under_load_s']:.0f} s", f"{w['balance_s']:.0f} s")
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    # -- intents
    def start_session(self) -> None:
        """Walk the athlete through today's session in the athlete view."""
        from stancelab.ui.plan_session import PlanSessionFlow

        win = self.ctx.window
        if win is None:
            return
        if self.flow is None:
            self.flow = PlanSessionFlow(self.ctx, win.screens["Drills"], parent=self,
                                        **self.flow_options)
            self.flow.ended.connect(self._session_ended)
        self.message.setText(self.flow.start() or "")

    def _session_ended(self, outcome: str) -> None:
        self.message.setText({"done": "Today's session is done.",
                              "stopped": "Stopped: the items done are kept; the session "
                                         "resumes at the first item not done."}.get(outcome,
                                                                                    outcome))
        self.mark_stale()

    def start_plan(self) -> None:
        a = self.ctx.athlete
        if a is None:
            return
        spec = default_plan().to_dict()
        self.ctx.worker.submit(self.ctx.storage.start_plan, a.id, spec,
                               on_done=lambda _plan: self.mark_stale(),
                               on_error=lambda exc: self.load_failed(str(exc)),
                               name="PlanScreen.start")
