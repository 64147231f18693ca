"""Drill screen: the coach picks a drill and its settings; the athlete sees the athlete view.

Before a drill the athlete view (ui/athlete_view.py) previews the foot and targets inside this
screen; while a drill runs it goes full screen on the athlete's screen (a second screen when
there is one: ui/displays.py) and comes back when the coach presses Escape, or Space at the end
(which also opens the results). Space, Enter or a foot pedal that sends Page Down drive the flow
wherever the keyboard focus is; Escape stops. Nothing needs the mouse while the athlete is on
the board. The drills themselves are Qt-free state machines; this screen renders their events.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stancelab.drills import events as ev
from stancelab.drills.clock import ClockBalance
from stancelab.drills.quiet import QuietStance
from stancelab.drills.runner import DrillRunner
from stancelab.drills.settings import store_for_athlete
from stancelab.drills.single_leg import SingleLegStand
from stancelab.exercises.exercise import Exercise
from stancelab.exercises.settings import KINDS as EXERCISES
from stancelab.ui import displays
from stancelab.ui.athlete_view import AthleteView
from stancelab.ui.audio import AudioCues
from stancelab.ui.plan_session import exercise_pilot
from stancelab.ui.sound import distance_to_zone
from stancelab.ui.widgets import BG
from stancelab.ui.widgets.drill_settings import DrillSettingsForm

#: (kind, title) of the drills offered, in list order.
KINDS = (("clock", "Clock balance"), ("single-leg", "Single-leg stands"),
         ("quiet", "Quiet stance — both feet"), ("squat", "One-leg squat"),
         ("rdl", "One-leg RDL, knee drive"), ("step-up", "Step-up to balance"))
#: Short names :meth:`DrillScreen.select` accepts: kind plus leg or leg order.
DRILLS = {"clock-left": ("clock", "left"), "clock-right": ("clock", "right"),
          "single-both": ("single-leg", "left, then right"),
          "single-left": ("single-leg", "left only"),
          "single-right": ("single-leg", "right only"), "quiet": ("quiet", None),
          **{f"{k}-{leg}": (k, leg) for k in EXERCISES for leg in ("left", "right")}}
GO_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_PageDown)
COACH_KEYS = "Coach: Space start / continue · Esc stop"


class DrillScreen(QWidget):
    drill_finished = Signal(object)   # the DrillRunner, after DrillDone

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner: DrillRunner | None = None
        self.error: str | None = None
        self.autopilot = None
        self.state = "idle"          # idle | running | done
        #: A plan session walking its items through this screen (ui/plan_session.py).
        self.flow = None
        # Set when a drill stopped because the board went away; cleared with a "board is back"
        # cue once the board reconnects on its own.
        self.waiting_for_board = False
        self._athlete_screen = None   # the QScreen the athlete view is full screen on
        self._settings_of: int | None = None   # the athlete whose settings the form shows
        ctx.session.state_changed.connect(self._on_board_state)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        # coach panel
        self.choice = QListWidget()
        self.choice.setObjectName("drill-choice")
        self.choice.addItems([t for _, t in KINDS])
        self.choice.setCurrentRow(0)
        self.choice.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.choice.currentRowChanged.connect(self._on_choice)
        self.form = DrillSettingsForm()
        self.trials, self.duration, self.rest = self.form.trials, self.form.duration, \
            self.form.rest
        self.form.clock_leg.currentIndexChanged.connect(self._preview)
        self.form.exercise.leg.currentIndexChanged.connect(self._preview)
        self.form.leg_order.currentIndexChanged.connect(self._preview)
        self.form.target_pct.valueChanged.connect(self._preview)
        self.place = QComboBox()
        self.place.setObjectName("athlete-place")
        for key, words in displays.PLACES.items():
            self.place.addItem(words, key)
        self.place.setCurrentIndex(list(displays.PLACES).index(displays.athlete_place()))
        self.place.currentIndexChanged.connect(
            lambda _i: displays.set_athlete_place(self.place.currentData()))
        self.place.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.audio = AudioCues()
        self.sound = QPushButton("Sound cues")
        self.sound.setCheckable(True)
        self.sound.setChecked(True)
        self.sound.setToolTip("Ticks for the last countdown seconds, a chime when a target is "
                              "reached or a trial ends, and a tone that rises as the athlete "
                              "nears the target")
        self.sound.toggled.connect(lambda on: setattr(self.audio, "enabled", on))
        self.sound.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.start_button = QPushButton("Start  (Space)")
        self.start_button.setObjectName("start")
        self.start_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.start_button.clicked.connect(self.go)
        self.stop_button = QPushButton("Stop  (Esc)")
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.clicked.connect(self.escape)
        self.stop_button.setEnabled(False)
        self.athlete_label = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #9aa4b1;")
        coach = QVBoxLayout()
        coach.addWidget(self.athlete_label)
        coach.addWidget(self.choice)
        coach.addWidget(self.form)
        coach.addWidget(QLabel("Athlete view"))
        coach.addWidget(self.place)
        coach.addWidget(self.sound)
        coach.addStretch(1)
        coach.addWidget(self.message)
        coach.addWidget(self.start_button)
        coach.addWidget(self.stop_button)
        coach_w = QWidget()
        coach_w.setLayout(coach)
        coach_w.setFixedWidth(370)
        self.choice.setFixedHeight(len(KINDS) * 30)
        self.choice.setStyleSheet("QListWidget { font-size: 15px; } "
                                  "QListWidget::item { padding: 4px 6px; }")

        # the athlete view, here until a drill runs
        self.view = AthleteView()
        self.view.key_pressed.connect(self.keyPressEvent)
        #: The athlete's full-screen window, holding the view while a drill runs.
        self._window = QWidget()
        self._window.setObjectName("athlete-window")
        self._window.setStyleSheet(f"#athlete-window {{ background: {BG}; }}")
        self._window.setWindowTitle("StanceLab — athlete")
        QVBoxLayout(self._window).setContentsMargins(0, 0, 0, 0)
        self._window.installEventFilter(self)
        self.cue, self.canvas, self.ring, self.big = (self.view.cue, self.view.canvas,
                                                       self.view.ring, self.view.big)
        self.view.set_coach_line(COACH_KEYS)
        self._lay = QHBoxLayout(self)
        self._lay.addWidget(coach_w)
        self._lay.addWidget(self.view, 1)
        ctx.session.frame.connect(self.on_frame)
        ctx.session.drill_events.connect(self.on_events)
        ctx.session.drill_failed.connect(self.on_failed)
        ctx.athlete_changed.connect(self._show_athlete)
        app = QGuiApplication.instance()
        app.screenAdded.connect(self._on_screen_added)
        app.screenRemoved.connect(self._on_screen_removed)

    @property
    def scores(self) -> list[str]:
        return self.view.scores

    @property
    def kind(self) -> str:
        return KINDS[self.choice.currentRow()][0]

    # -- intents
    def activated(self) -> None:
        self._show_athlete(self.ctx.athlete)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in GO_KEYS and not event.isAutoRepeat():
            self.go()
        elif key == Qt.Key.Key_Escape:
            self.escape()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.state != "running":
            step = -1 if key == Qt.Key.Key_Up else 1
            self.choice.setCurrentRow((self.choice.currentRow() + step) % self.choice.count())
        else:
            super().keyPressEvent(event)

    def go(self) -> None:
        """The one button: start when idle, show results when done (a plan session in
        progress decides itself)."""
        if self.flow is not None and self.flow.go():
            return
        if self.state == "idle":
            self.start()
        elif self.state == "done":
            self.state = "idle"
            self.bring_back()
            if self.ctx.window is not None:
                self.ctx.window.show_screen("Results")

    def escape(self) -> None:
        """Stop a running drill and bring the coach's window back (Space then opens the
        results, as at the end of a drill)."""
        if self.flow is not None:
            self.flow.escape()
        self.stop()
        self.bring_back()

    def select(self, key: str) -> None:
        kind, leg = DRILLS[key]
        self.choice.setCurrentRow([k for k, _ in KINDS].index(kind))
        if kind == "clock":
            self.form.clock_leg.setCurrentText(leg)
        elif kind == "single-leg":
            self.form.leg_order.setCurrentText(leg)
        elif kind in EXERCISES:
            self.form.exercise.leg.setCurrentText(leg)
        if self.state == "done":
            self.state = "idle"
        self._preview()

    def make_drill(self, kind: str):
        """The drill the form describes, with the athlete's other saved settings (ValueError
        names a bad entry)."""
        a = self.ctx.athlete
        s = self.form.settings(kind, a.settings if a is not None else {},
                               self.ctx.foot_length_mm)
        if kind == "clock":
            return ClockBalance.from_settings(s), s
        if kind == "single-leg":
            return SingleLegStand.from_settings(s), s
        if kind in EXERCISES:
            return Exercise(s), s
        return QuietStance.from_settings(s, foot_length_mm=self.ctx.foot_length_mm), s

    def start(self) -> None:
        ctx = self.ctx
        if ctx.session.source is None:
            self.cue.setText("Connect a board first (Board screen)")
            return
        if ctx.athlete is None:
            self.cue.setText("Pick an athlete first (Athletes screen)")
            return
        try:
            drill, settings = self.make_drill(self.kind)
        except ValueError as e:
            self.message.setText(f"Check the settings: {e}")
            return
        if self.kind not in EXERCISES:
            # Saved per athlete: the next drill of this kind starts from these settings (an
            # exercise's sets and reps are the plan's: this run only).
            ctx.athlete = ctx.storage.update_athlete(
                ctx.athlete.id,
                settings=store_for_athlete(self.kind, settings, ctx.athlete.settings))
        pilot = exercise_pilot(ctx) if self.kind in EXERCISES else None
        self.run(drill, ctx.db_session_id(), pilot or ctx.make_autopilot())

    def run(self, drill, session_id: int | None, autopilot=None) -> None:
        """Run ``drill`` (a drill or an exercise) in the athlete view, recorded in stored
        session ``session_id`` (None: a new one); the plan session (ui/plan_session.py) runs
        its items through this. Board and athlete are checked by the caller."""
        ctx = self.ctx
        self.runner = DrillRunner(ctx.session.source, ctx.session.calibration, drill,
                                  ctx.storage, ctx.athlete.id, session_id)
        self.autopilot = autopilot
        self.error = None
        self.message.setText("")
        self.view.clear()
        self.view.foot_length_mm = ctx.foot_length_mm
        self.cue.setStyleSheet("")
        self.state = "running"
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.choice.setEnabled(False)
        self.form.setEnabled(False)
        note = self.audio.start()
        if note:
            self._tell(note)
        ctx.session.run_drill(self.runner)
        self.present()

    def stop(self) -> None:
        if self.state == "running":
            self.ctx.session.stop_drill()

    def shutdown(self) -> None:
        self.stop()
        self.audio.stop()
        self.bring_back()
        self._window.close()

    # -- where the athlete view is
    @property
    def detached(self) -> bool:
        return self.view.parent() is self._window

    def present(self) -> None:
        """Put the athlete view where the setting says: full screen on the athlete's screen,
        or inside this window."""
        coach = self.window().screen() if self.window() is not None else None
        screen = displays.athlete_screen(self.place.currentData(), QGuiApplication.screens(),
                                         coach)
        if screen is None:
            self.bring_back()
            return
        if not self.detached:
            self._lay.removeWidget(self.view)
            self._window.layout().addWidget(self.view)
        self._full_screen_on(screen)
        if screen is coach or screen == coach:
            self._window.activateWindow()
            self.view.setFocus()                # keys (and the pedal) reach the drill

    def _full_screen_on(self, screen) -> None:
        self._window.winId()                    # its native window, to put on the screen
        self._window.windowHandle().setScreen(screen)
        self._window.setGeometry(screen.geometry())
        self._window.showFullScreen()
        self._athlete_screen = screen

    def bring_back(self) -> None:
        """The athlete view back inside the drill screen; the coach's window in front."""
        self._athlete_screen = None
        if not self.detached:
            return
        self._window.hide()
        self._lay.addWidget(self.view, 1)
        self.view.show()
        win = self.window()
        if win is not None:
            win.activateWindow()
        self.setFocus()

    def eventFilter(self, obj, event) -> bool:
        """The athlete's window closed by the window manager (Alt+F4, its close button) is
        Escape: the drill stops and the view comes back here."""
        if obj is self._window and event.type() == QEvent.Type.Close and self.detached:
            event.ignore()
            self.escape()
            return True
        return super().eventFilter(obj, event)

    def _on_screen_removed(self, screen) -> None:
        if self.detached and self._athlete_screen is not None and \
                (screen is self._athlete_screen or screen == self._athlete_screen):
            self._athlete_screen = None
            # Before Qt moves it anywhere: onto the coach's screen, still full screen.
            remaining = [s for s in QGuiApplication.screens() if s is not screen]
            coach = self.window().screen() if self.window() is not None else None
            target = coach if coach in remaining else (remaining[0] if remaining else None)
            if target is None:
                self.bring_back()
                return
            self._full_screen_on(target)
            self._window.activateWindow()
            self.view.setFocus()
            self._tell("The athlete's screen was unplugged: the athlete view is on this screen "
                       "now (Esc brings the coach's window back)")

    def _on_screen_added(self, _screen) -> None:
        if self.state == "running" and self.detached:
            self.present()     # a TV plugged in mid-drill takes the athlete view

    def _tell(self, text: str) -> None:
        self.message.setText(text)
        if self.ctx.window is not None:
            self.ctx.window.status.setText(text)

    # -- rendering
    def _show_athlete(self, a) -> None:
        self.athlete_label.setText(f"Athlete: {a.name}" if a is not None else "No athlete")
        if self.state != "running":
            # The athlete's saved settings, once per athlete: coming back to this screen keeps
            # what the coach has set since.
            if a is None or a.id != self._settings_of:
                self.form.load(a.settings if a is not None else {}, self.ctx.foot_length_mm)
                self._settings_of = a.id if a is not None else None
            self._preview()

    def _on_choice(self, _row: int) -> None:
        self.form.set_kind(self.kind)
        if self.state == "done":
            self.state = "idle"
        self._preview()

    def _preview(self, *_args) -> None:
        """Draw the chosen drill's feet and targets before it starts."""
        if self.state == "running":
            return
        self.view.header.setText(KINDS[self.choice.currentRow()][1])
        self.canvas.set_zone(None)
        length = self.ctx.foot_length_mm
        kind = self.kind
        if kind == "clock":
            self.view.show_foot(length, self.form.clock_leg.currentText(),
                                self.form.target_pct.value() / 100)
        elif kind == "single-leg":
            self.view.show_foot(length, self.form.leg_order.currentText().split(",")[0]
                                .split()[0])
        elif kind in EXERCISES:
            self.view.show_foot(length, self.form.exercise.leg.currentText())
        else:
            self.view.show_two_feet(length)
        if self.state == "idle":
            self.view.clear()              # the last drill's scores and ring go
            self.view.set_state("idle")
            self.cue.setText("Press Space to start")

    def on_frame(self, fr) -> None:
        if self.state == "running" and self.view.isVisible():
            b = fr.block
            self.canvas.show_cop(b.cop_x_mm, b.cop_y_mm, fr.t_host_last_s)
            if self.view.target_mm is not None and self.audio.guiding:
                self.audio.guide(distance_to_zone(float(b.cop_x_mm[-1]), float(b.cop_y_mm[-1]),
                                                  self.view.target_mm,
                                                  self.ctx.foot_length_mm / 2))

    def on_events(self, events: list) -> None:
        if self.autopilot is not None:
            self.autopilot.handle(events)
        drill = self.runner.drill if self.runner is not None else None
        for e in events:
            self.view.render(e, drill.name if drill else None, drill.phase if drill else None)
            self._sound(e, drill)
            if isinstance(e, ev.Aborted):
                self.waiting_for_board = e.code == "disconnected"
            elif isinstance(e, ev.TrialDone):
                self.ctx.results_changed.emit()
            elif isinstance(e, ev.DrillDone):
                self._finish(e)

    def _sound(self, e, drill) -> None:
        if isinstance(e, ev.Progress) and drill is not None and \
                drill.phase == ev.Phase.COUNTDOWN and e.remaining_s is not None:
            self.audio.countdown(max(math.ceil(e.remaining_s - 1e-9), 0))
        elif isinstance(e, ev.Score) and e.outcome == "reached":
            self.audio.reached(e.label)
        elif isinstance(e, ev.Score) and e.label == "edge reach":
            self.audio.guide(None)
        elif isinstance(e, ev.TrialDone):
            self.audio.guide(None)
            self.audio.done()

    def on_failed(self, message: str) -> None:
        self.error = message
        self._finish(ev.DrillDone(t_s=0.0, completed=0, aborted=1))
        self.cue.setText(f"The drill stopped because of an error: {message}")

    def _on_board_state(self, st) -> None:
        if st is not None and self.waiting_for_board and st.connected \
                and self.state != "running":
            self.waiting_for_board = False
            self.cue.setText("The board is back. Press Space to start the drill again")
            self.view.set_state("waiting")

    def _finish(self, e) -> None:
        self.state = "done"
        self.audio.stop()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.choice.setEnabled(True)
        self.form.setEnabled(True)
        if e.completed:
            self.cue.setText(f"Done! {e.completed} trial{'s' * (e.completed != 1)} recorded. "
                             "Press Space for the results")
        runner, self.runner = self.runner, None
        self.autopilot = None
        self.ctx.results_changed.emit()
        self.drill_finished.emit(runner)
