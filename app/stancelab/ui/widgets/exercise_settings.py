"""The settings page of an exercise run on its own from the drill screen's list.

One page for the three exercises (one-leg squat, RDL with knee drive, step-up to balance): leg,
sets, reps per set, the balance hold after each rep and the rest between sets. It shows the
athlete's saved settings for the exercise chosen (the programme's sets x reps where nothing is
saved), through stancelab.exercises.settings.for_athlete, the same as `stancelab run-exercise`.
The values are used for that run only: the plan (exercises/plan.py) is where a coach sets an
athlete's sets and reps.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QSpinBox, QWidget

from stancelab.exercises.settings import for_athlete
from stancelab.ui.widgets.common import seconds_box as _seconds


class ExercisePage(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.leg = QComboBox()
        self.leg.addItems(["left", "right"])
        self.sets = QSpinBox()
        self.sets.setRange(1, 10)
        self.reps = QSpinBox()
        self.reps.setRange(1, 50)
        self.hold = _seconds(0.5, 30, 0.5)
        self.rest = _seconds(0, 300, 5)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for label, w in (("Leg", self.leg), ("Sets", self.sets), ("Reps per set", self.reps),
                         ("Hold after a rep", self.hold), ("Rest", self.rest)):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            form.addRow(label, w)
        self.kind = "squat"

    def load(self, kind: str, athlete_settings: dict | None) -> None:
        """Show the athlete's settings for ``kind`` (the programme's where none are saved)."""
        s = for_athlete(kind, athlete_settings)
        self.kind = kind
        self.sets.setValue(s.sets)
        self.reps.setValue(s.reps)
        self.hold.setValue(s.hold_s)
        self.rest.setValue(s.rest_s)

    def settings(self, kind: str, athlete_settings: dict | None, foot_length_mm: float):
        """The ExerciseSettings the page shows (ValueError names a bad entry)."""
        return for_athlete(kind, athlete_settings, leg=self.leg.currentText(),
                           sets=self.sets.value(), reps=self.reps.value(),
                           hold_s=self.hold.value(), rest_s=self.rest.value(),
                           foot_length_mm=foot_length_mm)
