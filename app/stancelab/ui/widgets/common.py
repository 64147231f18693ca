"""Colours, the big label and the progress ring: small pieces every screen uses."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSizePolicy, QWidget

BG = "#101418"
FG = "#f2f2f2"
ACCENT = "#ffd400"       # high-contrast yellow on near-black, readable from 2-3 m
OK = "#35d07f"
WARN = "#ff6b3d"
CORNER_COLOURS = ("#4cc9f0", "#f72585", "#7bd389", "#ffb703")


def big_label(text: str = "", pt: int = 40, colour: str = FG, bold: bool = True) -> QLabel:
    lab = QLabel(text)
    f = QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    lab.setFont(f)
    lab.setStyleSheet(f"color: {colour};")
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setWordWrap(True)
    return lab


def seconds_box(lo: float, hi: float, step: float = 1.0) -> QDoubleSpinBox:
    """A spin box for a duration in seconds (drill and exercise settings)."""
    w = QDoubleSpinBox()
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setDecimals(1)
    w.setSuffix(" s")
    return w


class ProgressRing(QWidget):
    """A thick ring that fills clockwise: hold progress readable from across the room."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._fraction = 0.0
        self._text = ""
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_progress(self, fraction: float, text: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction != self._fraction or text != self._text:
            self._fraction, self._text = fraction, text
            self.update()

    @property
    def fraction(self) -> float:
        return self._fraction

    def paintEvent(self, event) -> None:
        full = min(self.width(), self.height()) - 4
        width = max(full / 10, 6)
        side = full - width              # the pen is centred on the circle: keep it inside
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("#2a3038"), width)
        p.setPen(pen)
        p.drawEllipse(rect)
        pen.setColor(QColor(OK if self._fraction >= 1 else ACCENT))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.drawArc(rect, 90 * 16, int(-self._fraction * 360 * 16))
        if self._text:
            f = QFont()
            f.setPointSizeF(max(side / 6, 8))
            f.setBold(True)
            p.setFont(f)
            p.setPen(QColor(FG))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._text)
        p.end()
