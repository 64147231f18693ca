"""Athletes: create, edit and pick who is on the board; their session history.

The list and the history are read on the worker (the history from the session and trial
summaries: no settings or metrics decoded) and drawn on return; see ReloadsWhenShown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stancelab.analysis.assessment import shown_status
from stancelab.geometry import foot_length_from_eu_size
from stancelab.storage import Athlete, SessionSummary, StorageError
from stancelab.ui.widgets import ReloadsWhenShown

SIDES = ("—", "left", "right")


@dataclass
class AthletesView:
    athletes: list[Athlete]
    current_id: int | None             # the athlete being coached (marked in the list)
    focus_id: int | None               # the athlete in the form and the history
    history: list[SessionSummary]      # of focus_id, oldest first
    completed: Counter                 # session id -> trials completed


class AthletesScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._editing_id: int | None = None   # the athlete the form saves to (None: a new one)
        self._editing_version: int | None = None   # its row version when the form was filled
        self._form_id: int | None = None      # the athlete whose fields are in the form
        self._typing_new = False              # the form holds a new athlete being typed
        self.list = QListWidget()
        self.list.setObjectName("athlete-list")
        self.list.currentItemChanged.connect(self._on_pick)
        self.name = QLineEdit()
        self.name.setObjectName("name")
        self.foot = QDoubleSpinBox()
        self.foot.setObjectName("foot-length")
        self.foot.setRange(150, 350)
        self.foot.setDecimals(0)
        self.foot.setSuffix(" mm")
        self.foot.setValue(265)
        self.shoe = QDoubleSpinBox()
        self.shoe.setObjectName("shoe-size")
        self.shoe.setRange(0, 52)
        self.shoe.setDecimals(1)
        self.shoe.setSingleStep(0.5)
        self.shoe.setSpecialValueText("—")
        self.shoe.setToolTip("EU shoe size; fills in the foot length when the length is unknown")
        self.shoe.valueChanged.connect(self._shoe_to_length)
        self.dominant = QComboBox()
        self.dominant.addItems(SIDES)
        self.injured = QComboBox()
        self.injured.addItems(SIDES)
        self.notes = QPlainTextEdit()
        self.notes.setMaximumHeight(90)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        new = QPushButton("New athlete")
        new.clicked.connect(self.new_athlete)
        save = QPushButton("Save")
        save.setObjectName("save")
        save.clicked.connect(self.save)
        use = QPushButton("Coach this athlete")
        use.clicked.connect(self.use_selected)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("EU shoe size", self.shoe)
        form.addRow("Foot length", self.foot)
        form.addRow("Dominant leg", self.dominant)
        form.addRow("Injured side", self.injured)
        form.addRow("Notes", self.notes)
        buttons = QHBoxLayout()
        for b in (new, save, use):
            buttons.addWidget(b)
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["Session", "Started", "Board", "Trials"])
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(buttons)
        right.addWidget(self.message)
        right.addWidget(QLabel("Session history"))
        right.addWidget(self.history, 1)
        lay = QHBoxLayout(self)
        lay.addWidget(self.list, 1)
        lay.addLayout(right, 2)
        self.watch_results(ctx)

    # -- loading (ReloadsWhenShown)
    def load_request(self) -> tuple:
        current = self.ctx.athlete.id if self.ctx.athlete else None
        return current, self._editing_id or current

    def load(self, current_id: int | None, focus_id: int | None) -> AthletesView:
        st = self.ctx.storage
        if focus_id is None:
            return AthletesView(st.athletes(), current_id, None, [], Counter())
        # Scored trials only: one recorded through a sensor fault is not "completed" here either.
        done = Counter(t.session_id for t in st.trial_summaries(focus_id)
                       if shown_status(t.status, t.reason) == "completed")
        return AthletesView(st.athletes(), current_id, focus_id,
                            st.session_summaries(focus_id), done)

    def load_failed(self, message: str) -> None:
        self.message.setText(f"Could not read the athletes: {message}")

    def render(self, v: AthletesView, now: bool = True) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        focus = None
        for a in v.athletes:
            item = QListWidgetItem(a.name + ("  ●" if a.id == v.current_id else ""))
            item.setData(Qt.ItemDataRole.UserRole, a.id)
            self.list.addItem(item)
            if a.id == v.focus_id and not self._typing_new:
                self.list.setCurrentItem(item)
                focus = a
        self.list.blockSignals(False)
        if focus is None:
            return
        if focus.id != self._form_id:
            self._fill_form(focus)
        self._show_history(v.history, v.completed)

    # -- intents
    def _on_pick(self, item, _prev=None) -> None:
        if item is not None:
            self._load(item.data(Qt.ItemDataRole.UserRole))

    def _load(self, athlete_id: int) -> None:
        """Put an athlete in the form now; their history follows from the worker."""
        self._fill_form(self.ctx.storage.athlete(athlete_id))
        self.history.setRowCount(0)
        self.refresh()

    def _fill_form(self, a: Athlete) -> None:
        self._editing_id = self._form_id = a.id
        self._editing_version = a.version   # the save fails, not overwrites, if it changed since
        self._typing_new = False
        self.name.setText(a.name)
        self.shoe.blockSignals(True)
        try:
            self.shoe.setValue(float(a.shoe_size) if a.shoe_size else 0.0)
        except ValueError:
            self.shoe.setValue(0.0)
        self.shoe.blockSignals(False)
        self.foot.setValue(a.foot_length_mm or 265.0)
        self.dominant.setCurrentText(a.dominant_leg or "—")
        self.injured.setCurrentText(a.injured_side or "—")
        self.notes.setPlainText(a.notes or "")

    def _shoe_to_length(self, size: float) -> None:
        if size >= 20:
            length = foot_length_from_eu_size(size)
            if 150 <= length <= 350:
                self.foot.setValue(round(length))

    def new_athlete(self) -> None:
        self._editing_id = self._form_id = None
        self._typing_new = True
        self.list.clearSelection()
        self.name.clear()
        self.shoe.setValue(0)
        self.foot.setValue(265)
        self.dominant.setCurrentIndex(0)
        self.injured.setCurrentIndex(0)
        self.notes.clear()
        self.history.setRowCount(0)
        self.name.setFocus()
        self.message.setText("Type a name and the foot length (or shoe size), then Save.")

    def _fields(self) -> dict:
        side = lambda c: None if c.currentText() == "—" else c.currentText()
        return {"foot_length_mm": float(self.foot.value()),
                "shoe_size": f"{self.shoe.value():g}" if self.shoe.value() else None,
                "dominant_leg": side(self.dominant), "injured_side": side(self.injured),
                "notes": self.notes.toPlainText()}

    def save(self) -> None:
        try:
            if self._editing_id is None:
                a = self.ctx.storage.add_athlete(self.name.text(), **self._fields())
            else:
                a = self.ctx.storage.update_athlete(
                    self._editing_id, expected_version=self._editing_version,
                    name=self.name.text().strip() or "?", **self._fields())
        except StorageError as exc:
            self.message.setText(str(exc))
            return
        self._editing_id = self._form_id = a.id
        self._editing_version = a.version
        self._typing_new = False
        self.message.setText(f"Saved {a.name}.")
        if self.ctx.athlete is None or self.ctx.athlete.id == a.id:
            self.ctx.select_athlete(a)
        else:
            self.refresh()

    def use_selected(self) -> None:
        if self._editing_id is None:
            self.save()
        if self._editing_id is not None:
            self.ctx.select_athlete(self.ctx.storage.athlete(self._editing_id))
            self.message.setText(f"Now coaching {self.ctx.athlete.name}.")

    def _show_history(self, sessions: list[SessionSummary], completed: Counter) -> None:
        self.history.setRowCount(len(sessions))
        for row, s in enumerate(reversed(sessions)):
            for col, text in enumerate((str(s.id), s.started[:16].replace("T", " "),
                                        s.source_kind, f"{completed[s.id]}/{s.trial_count} "
                                        + ", ".join(sorted(s.drills)))):
                self.history.setItem(row, col, QTableWidgetItem(text))
