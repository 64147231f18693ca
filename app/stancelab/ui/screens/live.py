"""Live screen: the board from above with the stance foot, the COP and its trail, loads below."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from stancelab.geometry import SINGLE_LEG_MARK_MM, TWO_LEG_MARKS_MM, FootModel, G
from stancelab.ui.session import LiveFrame, LiveSession
from stancelab.ui.widgets import BG, FG, BoardCanvas, LoadStrip, big_label

#: The numbers (total load, COP) are rewritten at most this often, and the load strip, 10 s of
#: history that is context, not feedback, repaints at most STRIP_HZ: at 5 Hz it was about a
#: point of a core (bench/bench_live.py --no-probe; docs/benchmarks.md).
NUMBERS_HZ = 5.0
STRIP_HZ = 2.5


class LiveView(QWidget):
    """Renders LiveSession frames. Stance buttons choose which foot outline is drawn."""

    def __init__(self, session: LiveSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.foot_length_mm = 265.0
        self.stance = "right"
        self.setStyleSheet(f"background: {BG}; color: {FG};")
        self.canvas = BoardCanvas()
        self.strip = LoadStrip()
        # Room for its axis and legend whatever the window: under a real X window the canvas
        # otherwise took all but ~40 px of the height at 1280 x 800.
        self.strip.setMinimumHeight(120)
        self.strip.setMaximumHeight(190)
        self.load_label = big_label("—", 44)
        self.cop_label = big_label("", 18, bold=False)
        self.hint = big_label("Step on the board", 22, bold=False)
        self.stance_buttons = QButtonGroup(self)
        row = QHBoxLayout()
        for key, text in (("left", "Left foot"), ("both", "Both feet"), ("right", "Right foot")):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setObjectName(f"stance-{key}")
            b.setChecked(key == self.stance)
            b.clicked.connect(lambda _=False, k=key: self.set_stance(k))
            self.stance_buttons.addButton(b)
            row.addWidget(b)
        side = QVBoxLayout()
        side.addWidget(QLabel("Total load"))
        side.addWidget(self.load_label)
        side.addWidget(self.cop_label)
        side.addStretch(1)
        side.addWidget(self.hint)
        side.addLayout(row)
        top = QHBoxLayout()
        top.addWidget(self.canvas, 3)
        top.addLayout(side, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addWidget(self.strip)
        self._last_strip_t = -math.inf
        self._last_numbers_t = -math.inf
        session.frame.connect(self.on_frame)
        self._draw_feet()

    def set_athlete_foot(self, foot_length_mm: float) -> None:
        self.foot_length_mm = foot_length_mm
        self._draw_feet()

    def set_stance(self, stance: str) -> None:
        self.stance = stance
        for b in self.stance_buttons.buttons():
            b.setChecked(b.objectName() == f"stance-{stance}")
        self._draw_feet()

    def _draw_feet(self) -> None:
        if self.stance == "both":
            # Two outlines: draw the left one as a second curve via a combined polygon with a gap.
            left = FootModel(self.foot_length_mm, "left").outline() + TWO_LEG_MARKS_MM["left"]
            right = FootModel(self.foot_length_mm, "right").outline() + TWO_LEG_MARKS_MM["right"]
            self.canvas.set_feet([left, right])
        else:
            self.canvas.set_foot(FootModel(self.foot_length_mm, self.stance), SINGLE_LEG_MARK_MM)

    def on_frame(self, fr: LiveFrame) -> None:
        if not self.isVisible():
            return
        b = fr.block
        self.canvas.show_cop(b.cop_x_mm, b.cop_y_mm, fr.t_host_last_s)
        t = fr.t_host_last_s
        if t - self._last_numbers_t >= 1.0 / NUMBERS_HZ:
            self._last_numbers_t = t
            total = float(b.total_n[-1])
            self.load_label.setText(f"{total / G:.1f} kg")
            x, y = float(b.cop_x_mm[-1]), float(b.cop_y_mm[-1])
            if math.isnan(x):
                self.cop_label.setText("")
                self.hint.setText("Step on the board")
            else:
                self.cop_label.setText(f"COP  x {x:+.0f} mm   y {y:+.0f} mm")
                self.hint.setText("")
        if t - self._last_strip_t >= 1.0 / STRIP_HZ:
            self._last_strip_t = t
            self.strip.show_history(self.session.history.last())
