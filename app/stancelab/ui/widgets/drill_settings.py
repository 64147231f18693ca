"""The settings of the chosen drill, and only those: one page per drill kind.

- clock balance: target (% of the foot's edge), hold, time-out, order, leg
- single-leg stands: trials per leg, duration, rest, eyes, leg order
- quiet stance: duration, eyes
- an exercise (one-leg squat, RDL, step-up): ui/widgets/exercise_settings.py

Values come from and go to the athlete's saved settings through stancelab.drills.settings
(for_athlete / store_for_athlete), the same JSON the command line's --save-settings writes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from stancelab.drills.settings import for_athlete
from stancelab.exercises.settings import KINDS as EXERCISES
from stancelab.ui.widgets.common import seconds_box as _seconds
from stancelab.ui.widgets.exercise_settings import ExercisePage

KINDS = ("clock", "single-leg", "quiet")
LEG_ORDERS = {"left, then right": ("left", "right"), "right, then left": ("right", "left"),
              "left only": ("left",), "right only": ("right",)}
ORDERS = ("clockwise", "counterclockwise", "12 3 6 9", "coach's list")




def _combo(items) -> QComboBox:
    w = QComboBox()
    w.addItems(list(items))
    return w


class DrillSettingsForm(QStackedWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # clock balance
        self.target_pct = QSpinBox()
        self.target_pct.setRange(20, 120)
        self.target_pct.setSingleStep(10)
        self.target_pct.setSuffix(" % of edge")
        self.hold = _seconds(0.2, 10, 0.5)
        self.timeout = _seconds(2, 60)
        self.order = _combo(ORDERS)
        self.hours = QLineEdit()
        self.hours.setPlaceholderText("hours, e.g. 12 2 4 6 8 10")
        self.order.currentTextChanged.connect(
            lambda t: self.hours.setEnabled(t == "coach's list"))
        self.clock_leg = _combo(("left", "right"))
        # single-leg stands
        self.trials = QSpinBox()
        self.trials.setRange(1, 10)
        self.duration = _seconds(5, 120)
        self.rest = _seconds(0, 120)
        self.eyes = _combo(("open", "closed"))
        self.leg_order = _combo(LEG_ORDERS)
        # quiet stance
        self.quiet_duration = _seconds(5, 120)
        self.quiet_eyes = _combo(("open", "closed"))
        pages = (
            (("Target", self.target_pct), ("Hold", self.hold), ("Time-out", self.timeout),
             ("Order", self.order), ("", self.hours), ("Leg", self.clock_leg)),
            (("Trials per leg", self.trials), ("Stand for", self.duration),
             ("Rest", self.rest), ("Eyes", self.eyes), ("Legs", self.leg_order)),
            (("Stand for", self.quiet_duration), ("Eyes", self.quiet_eyes)),
        )
        for rows in pages:
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            for label, w in rows:
                w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
                form.addRow(label, w)
            self.addWidget(page)
        self.exercise = ExercisePage()
        self.addWidget(self.exercise)
        self._saved: dict = {}
        self.load({}, 265.0)

    @property
    def kind(self) -> str:
        i = self.currentIndex()
        return KINDS[i] if i < len(KINDS) else self.exercise.kind

    def set_kind(self, kind: str) -> None:
        if kind in EXERCISES:
            if self.exercise.kind != kind or self.currentWidget() is not self.exercise:
                self.exercise.load(kind, self._saved)
            self.setCurrentWidget(self.exercise)
            return
        self.setCurrentIndex(KINDS.index(kind))

    def load(self, athlete_settings: dict | None, foot_length_mm: float) -> None:
        """Show the athlete's saved settings (defaults where nothing is saved)."""
        self._saved = dict(athlete_settings or {})
        self.exercise.load(self.exercise.kind, self._saved)
        c = for_athlete("clock", athlete_settings, foot_length_mm=foot_length_mm)
        self.target_pct.setValue(round(c.target_fraction * 100))
        self.hold.setValue(c.hold_s)
        self.timeout.setValue(c.timeout_s)
        if isinstance(c.order, str):
            self.order.setCurrentText(c.order)
        else:
            hours = " ".join(str(h) for h in c.order)
            self.order.setCurrentText(hours if hours in ORDERS else "coach's list")
            self.hours.setText(hours)
        self.hours.setEnabled(self.order.currentText() == "coach's list")
        self.clock_leg.setCurrentText(c.leg)
        s = for_athlete("single-leg", athlete_settings)
        self.trials.setValue(s.n_trials)
        self.duration.setValue(s.duration_s)
        self.rest.setValue(s.rest_s)
        self.eyes.setCurrentText(s.eyes)
        order = next((k for k, v in LEG_ORDERS.items() if v == tuple(s.legs)), "left, then right")
        self.leg_order.setCurrentText(order)
        q = for_athlete("quiet", athlete_settings)
        self.quiet_duration.setValue(q.duration_s)
        self.quiet_eyes.setCurrentText(q.eyes)

    def clock_order(self):
        text = self.order.currentText()
        if text in ("clockwise", "counterclockwise"):
            return text
        words = self.hours.text() if text == "coach's list" else text
        try:
            return [int(h) for h in words.replace(",", " ").split()]
        except ValueError:
            raise ValueError("the coach's order is a list of hours between 1 and 12, e.g. "
                             "12 3 6 9") from None

    def settings(self, kind: str, athlete_settings: dict | None, foot_length_mm: float):
        """The drill's settings as the form shows them (ValueError names a bad entry)."""
        if kind in EXERCISES:
            return self.exercise.settings(kind, athlete_settings, foot_length_mm)
        if kind == "clock":
            return for_athlete("clock", athlete_settings, leg=self.clock_leg.currentText(),
                               foot_length_mm=foot_length_mm,
                               target_fraction=self.target_pct.value() / 100,
                               hold_s=self.hold.value(), timeout_s=self.timeout.value(),
                               order=self.clock_order())
        if kind == "single-leg":
            return for_athlete("single-leg", athlete_settings,
                               legs=list(LEG_ORDERS[self.leg_order.currentText()]),
                               eyes=self.eyes.currentText(), n_trials=self.trials.value(),
                               duration_s=self.duration.value(), rest_s=self.rest.value(),
                               foot_length_mm=foot_length_mm)
        return for_athlete("quiet", athlete_settings, eyes=self.quiet_eyes.currentText(),
                           duration_s=self.quiet_duration.value())
