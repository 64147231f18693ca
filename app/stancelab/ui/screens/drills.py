"""Drill runner screen: pick a drill, then big cues, countdown, hold ring and results.

Rendered from the drill's events only (Instruction, PhaseChanged, TargetShown, Progress, Score,
TrialDone...). Space, Enter or a foot pedal that sends Page Down drive the flow: start, and at
the end show the results; Escape stops. Nothing needs the mouse while the athlete is on the board.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stancelab.drills import events as ev
from stancelab.drills.clock import ClockBalance
from stancelab.drills.quiet import QuietStance
from stancelab.drills.runner import DrillRunner
from stancelab.drills.settings import for_athlete
from stancelab.drills.single_leg import SingleLegStand
from stancelab.geometry import TWO_LEG_MARKS_MM, FootModel
from stancelab.ui.audio import AudioCues
from stancelab.ui.widgets import ACCENT, FG, OK, WARN, BoardCanvas, ProgressRing, big_label

#: (key, title) of the drills offered, in list order.
DRILLS = (
    ("clock-left", "Clock balance — left foot"),
    ("clock-right", "Clock balance — right foot"),
    ("single-both", "Single-leg stands — left and right"),
    ("single-left", "Single-leg stand — left leg"),
    ("single-right", "Single-leg stand — right leg"),
    ("quiet", "Quiet stance — both feet"),
)
GO_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_PageDown)


class DrillScreen(QWidget):
    drill_finished = Signal(object)   # the DrillRunner, after DrillDone

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner: DrillRunner | None = None
        self.error: str | None = None
        self.autopilot = None
        self.state = "idle"          # idle | running | done
        self.scores: list[str] = []
        # Set when a drill stopped because the board went away; cleared with a "board is back"
        # cue once the board reconnects on its own.
        self.waiting_for_board = False
        ctx.session.state_changed.connect(self._on_board_state)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        # coach panel
        self.choice = QListWidget()
        self.choice.setObjectName("drill-choice")
        self.choice.addItems([t for _, t in DRILLS])
        self.choice.setCurrentRow(0)
        self.choice.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.trials = QSpinBox()
        self.trials.setRange(1, 10)
        self.trials.setValue(3)
        self.duration = QDoubleSpinBox()
        self.duration.setRange(5, 120)
        self.duration.setValue(30)
        self.duration.setSuffix(" s")
        self.rest = QDoubleSpinBox()
        self.rest.setRange(0, 120)
        self.rest.setValue(30)
        self.rest.setSuffix(" s")
        self.eyes_closed = QPushButton("Eyes closed")
        self.eyes_closed.setCheckable(True)
        self.audio = AudioCues()
        self.sound = QPushButton("Sound cues")
        self.sound.setCheckable(True)
        self.sound.setChecked(True)
        self.sound.setToolTip("A tick for the last three countdown seconds and a tone when a "
                              "target is reached or a trial ends (the system bell)")
        self.sound.toggled.connect(lambda on: setattr(self.audio, "enabled", on))
        for w in (self.trials, self.duration, self.rest, self.eyes_closed, self.sound):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        form = QFormLayout()
        form.addRow("Trials per leg", self.trials)
        form.addRow("Stand for", self.duration)
        form.addRow("Rest", self.rest)
        form.addRow("", self.eyes_closed)
        form.addRow("", self.sound)
        self.start_button = QPushButton("Start  (Space)")
        self.start_button.setObjectName("start")
        self.start_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.start_button.clicked.connect(self.go)
        self.stop_button = QPushButton("Stop  (Esc)")
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.athlete_label = QLabel("")
        coach = QVBoxLayout()
        coach.addWidget(self.athlete_label)
        coach.addWidget(self.choice, 1)
        coach.addLayout(form)
        coach.addWidget(self.start_button)
        coach.addWidget(self.stop_button)
        coach_w = QWidget()
        coach_w.setLayout(coach)
        coach_w.setFixedWidth(370)
        self.choice.setStyleSheet("QListWidget { font-size: 15px; } "
                                  "QListWidget::item { padding: 8px 6px; }")

        # athlete view
        self.header = big_label("", 20, colour="#9aa4b1")
        self.cue = big_label("Choose a drill and press Space", 34, colour=ACCENT)
        self.cue.setObjectName("cue")
        self.big = big_label("", 96)
        self.big.setObjectName("countdown")
        self.warning = big_label("", 22, colour=WARN)
        self.ring = ProgressRing()
        self.ring.setMinimumSize(180, 180)
        self.score_label = big_label("", 20, bold=False)
        self.score_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.canvas = BoardCanvas()
        side = QVBoxLayout()
        side.addWidget(self.big)
        side.addWidget(self.ring, 1)
        side.addWidget(self.score_label, 1)
        mid = QHBoxLayout()
        mid.addWidget(self.canvas, 3)
        mid.addLayout(side, 1)
        athlete = QVBoxLayout()
        athlete.addWidget(self.header)
        athlete.addWidget(self.cue)
        athlete.addWidget(self.warning)
        athlete.addLayout(mid, 1)
        lay = QHBoxLayout(self)
        lay.addWidget(coach_w)
        lay.addLayout(athlete, 1)
        ctx.session.frame.connect(self.on_frame)
        ctx.session.drill_events.connect(self.on_events)
        ctx.session.drill_failed.connect(self.on_failed)
        ctx.athlete_changed.connect(self._show_athlete)

    # -- intents
    def activated(self) -> None:
        self._show_athlete(self.ctx.athlete)
        self._preview()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in GO_KEYS and not event.isAutoRepeat():
            self.go()
        elif key == Qt.Key.Key_Escape:
            self.stop()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.state != "running":
            step = -1 if key == Qt.Key.Key_Up else 1
            self.choice.setCurrentRow((self.choice.currentRow() + step) % self.choice.count())
            self.state = "idle"
            self._preview()
        else:
            super().keyPressEvent(event)

    def go(self) -> None:
        """The one button: start when idle, show results when done."""
        if self.state == "idle":
            self.start()
        elif self.state == "done":
            self.state = "idle"
            if self.ctx.window is not None:
                self.ctx.window.show_screen("Results")

    def select(self, key: str) -> None:
        self.choice.setCurrentRow([k for k, _ in DRILLS].index(key))
        if self.state == "done":
            self.state = "idle"
        self._preview()

    def make_drill(self, key: str):
        a = self.ctx.athlete
        settings = a.settings if a is not None else {}
        eyes = "closed" if self.eyes_closed.isChecked() else "open"
        if key.startswith("clock"):
            leg = key.split("-")[1]
            s = for_athlete("clock", settings, leg=leg, foot_length_mm=self.ctx.foot_length_mm)
            return ClockBalance.from_settings(s)
        if key.startswith("single"):
            legs = ("left", "right") if key == "single-both" else (key.split("-")[1],)
            s = for_athlete("single-leg", settings, legs=legs, eyes=eyes,
                            n_trials=self.trials.value(), duration_s=self.duration.value(),
                            rest_s=self.rest.value())
            return SingleLegStand.from_settings(s)
        s = for_athlete("quiet", settings, eyes=eyes, duration_s=self.duration.value())
        return QuietStance.from_settings(s)

    def start(self) -> None:
        ctx = self.ctx
        if ctx.session.source is None:
            self.cue.setText("Connect a board first (Board screen)")
            return
        if ctx.athlete is None:
            self.cue.setText("Pick an athlete first (Athletes screen)")
            return
        key = DRILLS[self.choice.currentRow()][0]
        drill = self.make_drill(key)
        self.runner = DrillRunner(ctx.session.source, ctx.session.calibration, drill,
                                  ctx.storage, ctx.athlete.id, ctx.db_session_id())
        self.autopilot = ctx.make_autopilot()
        self.scores = []
        self.error = None
        self.score_label.setText("")
        self.warning.setText("")
        self.big.setText("")
        self.ring.set_progress(0)
        self.state = "running"
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.choice.setEnabled(False)
        self.canvas.clear_cop()
        ctx.session.run_drill(self.runner)

    def stop(self) -> None:
        if self.state == "running":
            self.ctx.session.stop_drill()

    def shutdown(self) -> None:
        self.stop()

    # -- rendering
    def _show_athlete(self, a) -> None:
        self.athlete_label.setText(f"Athlete: {a.name}" if a is not None else "No athlete")
        if self.state != "running":
            self._preview()

    def _preview(self) -> None:
        """Draw the chosen drill's feet and targets before it starts."""
        key = DRILLS[self.choice.currentRow()][0]
        self.header.setText(DRILLS[self.choice.currentRow()][1])
        self.canvas.set_zone(None)
        length = self.ctx.foot_length_mm
        if key.startswith("clock") or key in ("single-left", "single-right"):
            leg = key.split("-")[1]
            foot = FootModel(length, leg)
            self.canvas.set_foot(foot)
            self.canvas.zoom_to(1.3 * length)
            self.canvas.set_targets(foot.clock_targets(0.8) if key.startswith("clock") else [])
        else:
            self._draw_two_feet(length)
            self.canvas.set_targets([])
            self.canvas.zoom_to(1.3 * length + 180)
        if self.state == "idle":
            self.cue.setText("Press Space to start")

    def _draw_two_feet(self, length: float) -> None:
        left = FootModel(length, "left").outline() + TWO_LEG_MARKS_MM["left"]
        right = FootModel(length, "right").outline() + TWO_LEG_MARKS_MM["right"]
        self.canvas.set_feet([left, right])

    def on_frame(self, fr) -> None:
        if self.state == "running" and self.isVisible():
            b = fr.block
            self.canvas.show_cop(b.cop_x_mm, b.cop_y_mm, fr.t_host_last_s)

    def on_events(self, events: list) -> None:
        if self.autopilot is not None:
            self.autopilot.handle(events)
        for e in events:
            self._render(e)

    def on_failed(self, message: str) -> None:
        self.error = message
        self._finish(ev.DrillDone(t_s=0.0, completed=0, aborted=1))
        self.cue.setText(f"The drill stopped because of an error: {message}")

    def _render(self, e) -> None:
        if isinstance(e, ev.Instruction):
            self.cue.setText(e.text)
        elif isinstance(e, ev.TrialStarted):
            self.header.setText(f"{_title(e.drill)} · trial {e.index + 1} of {e.count} · "
                                f"{e.leg} {'feet' if e.leg == 'both' else 'leg'} · {e.condition}")
            self.warning.setText("")
            if e.leg in ("left", "right"):
                foot = FootModel(self.ctx.foot_length_mm, e.leg)
                self.canvas.set_foot(foot)
                self.canvas.zoom_to(1.3 * foot.length_mm)
                if e.drill == "clock":
                    frac = e.settings.get("target_fraction", 0.8)
                    self.canvas.set_targets(foot.clock_targets(frac))
            else:
                self.canvas.set_targets([])
                self._draw_two_feet(self.ctx.foot_length_mm)
                self.canvas.zoom_to(1.3 * self.ctx.foot_length_mm + 180)
        elif isinstance(e, ev.PhaseChanged):
            self.big.setText("")
            if e.phase in (ev.Phase.COUNTDOWN, ev.Phase.REST) and e.seconds:
                self.big.setText(str(math.ceil(e.seconds)))
            if e.phase == ev.Phase.ACTIVE:
                self.warning.setText("")
            if e.phase in (ev.Phase.WAITING, ev.Phase.COUNTDOWN):
                self.ring.set_progress(0)
        elif isinstance(e, ev.TargetShown):
            if e.hour is None:
                self.canvas.set_zone(e.x_mm, e.y_mm, e.zone_radius_mm)
                self.ring.set_progress(0, "centre")
            else:
                self.canvas.set_zone(e.x_mm, e.y_mm, e.zone_radius_mm)
                self.ring.set_progress(0, f"{e.hour}")
        elif isinstance(e, ev.Progress):
            self._progress(e)
        elif isinstance(e, ev.Score):
            self._score(e)
        elif isinstance(e, ev.DrillWarning):
            self.warning.setText(e.text)
        elif isinstance(e, ev.Aborted):
            self.cue.setText(f"Stopped: {e.reason}")
            self.warning.setText("")
            self.waiting_for_board = e.code == "disconnected"
        elif isinstance(e, ev.TrialDone):
            self.audio.done()
            self.ctx.results_changed.emit()
        elif isinstance(e, ev.DrillDone):
            self._finish(e)

    def _progress(self, e) -> None:
        phase = self.runner.drill.phase if self.runner is not None else None
        if phase in (ev.Phase.COUNTDOWN, ev.Phase.REST) and e.remaining_s is not None:
            left = max(math.ceil(e.remaining_s - 1e-9), 0)
            self.big.setText(str(left))
            if phase == ev.Phase.COUNTDOWN:
                self.audio.countdown(left)
            self.ring.set_progress(e.fraction)
        elif phase == ev.Phase.ACTIVE:
            if self.runner.drill.name == "clock":
                self.ring.set_progress(e.hold_fraction, self.ring._text)
                self.canvas.set_zone_reached(e.hold_fraction > 0)
            else:
                text = f"{e.remaining_s:.0f}s" if e.remaining_s is not None else ""
                self.ring.set_progress(e.fraction, text)

    def _score(self, e) -> None:
        if e.outcome == "reached":
            self.audio.reached(e.label)
        if e.value is None:
            line = f"{e.label}: {e.outcome}"
        else:
            unit = f" {e.unit}" if e.unit and e.unit != "%" else e.unit
            line = f"{e.label}: {e.value:.{0 if abs(e.value) >= 10 else 1}f}{unit}"
        self.scores.append(line)
        self.score_label.setText("\n".join(self.scores[-8:]))

    def _on_board_state(self, st) -> None:
        if st is not None and self.waiting_for_board and st.connected \
                and self.state != "running":
            self.waiting_for_board = False
            self.cue.setText("The board is back. Press Space to start the drill again")
            self.cue.setStyleSheet(f"color: {OK};")

    def _finish(self, e) -> None:
        self.state = "done"
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.choice.setEnabled(True)
        self.canvas.set_zone(None)
        self.big.setText("")
        if e.completed:
            self.cue.setText(f"Done! {e.completed} trial{'s' * (e.completed != 1)} recorded. "
                             "Press Space for the results")
            self.cue.setStyleSheet(f"color: {OK};")
        else:
            self.cue.setStyleSheet(f"color: {FG};")
        self.ring.set_progress(1.0 if e.completed else 0.0, "✓" if e.completed else "")
        runner, self.runner = self.runner, None
        self.autopilot = None
        self.ctx.results_changed.emit()
        self.drill_finished.emit(runner)
        self.cue.setStyleSheet(f"color: {ACCENT};") if not e.completed else None


def _title(drill: str) -> str:
    return {"clock": "Clock balance", "single-leg": "Single-leg stand",
            "quiet": "Quiet stance"}.get(drill, drill)
