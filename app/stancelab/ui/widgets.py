"""Drawing pieces shared by the screens: the board canvas, the load strip, the progress ring."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QLabel, QSizePolicy, QWidget

from ..geometry import CHANNEL_SHORT, BoardGeometry, FootModel

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
        side = min(self.width(), self.height()) - 16
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("#2a3038"), max(side / 9, 6))
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


class CopDot(QGraphicsEllipseItem):
    """The COP marker. Records when it was last painted and which sample it showed, so the
    benchmark can measure bytes-arrived to COP-painted latency on the real paint path."""

    def __init__(self, radius_mm: float = 9.0) -> None:
        super().__init__(-radius_mm, -radius_mm, 2 * radius_mm, 2 * radius_mm)
        self.setBrush(QBrush(QColor(ACCENT)))
        self.setPen(QPen(QColor("#000000"), 0))
        self.setZValue(10)
        self.shown_t_host_s: float | None = None
        self.paint_hook = None  # callable(painted_s, shown_t_host_s), set by bench/tests

    def paint(self, painter, option, widget=None) -> None:
        super().paint(painter, option, widget)
        if self.paint_hook is not None and self.shown_t_host_s is not None:
            self.paint_hook(time.monotonic(), self.shown_t_host_s)


class BoardCanvas(pg.PlotWidget):
    """The board seen from above in board millimetres: outline, cells, foot, targets, COP."""

    TRAIL = 24  # samples (0.3 s at 80 Hz): short enough to read as motion, not as clutter

    def __init__(self, geometry: BoardGeometry | None = None, parent=None) -> None:
        super().__init__(parent=parent, background=BG)
        self.geometry = geometry or BoardGeometry()
        pi = self.getPlotItem()
        pi.hideAxis("left")
        pi.hideAxis("bottom")
        pi.setMenuEnabled(False)
        pi.hideButtons()
        vb = pi.getViewBox()
        vb.setAspectLocked(True)
        vb.setMouseEnabled(False, False)
        w, d = self.geometry.width_mm / 2, self.geometry.depth_mm / 2
        vb.setRange(xRange=(-w - 20, w + 20), yRange=(-d - 20, d + 20), padding=0)
        self._board = pg.PlotCurveItem([-w, w, w, -w, -w], [-d, -d, d, d, -d],
                                       pen=pg.mkPen("#8a94a3", width=3))
        self.addItem(self._board)
        cells = pg.ScatterPlotItem(self.geometry.cell_x_mm, self.geometry.cell_y_mm, size=14,
                                   symbol="s", brush=pg.mkBrush("#3a4350"), pen=None)
        self.addItem(cells)
        for (x, y), name in zip(self.geometry.cells_mm, CHANNEL_SHORT):
            t = pg.TextItem(name, color="#8a94a3", anchor=(0.5, 0.5))
            t.setPos(x, y + (22 if y > 0 else -22))
            self.addItem(t)
        self._foot = pg.PlotCurveItem(pen=pg.mkPen("#c9d1d9", width=3),
                                      brush=pg.mkBrush(255, 255, 255, 28), fillLevel=None)
        self.addItem(self._foot)
        self._targets = pg.ScatterPlotItem(size=16, brush=pg.mkBrush("#3d4654"),
                                           pen=pg.mkPen("#8a94a3"))
        self.addItem(self._targets)
        self._target_labels: list[pg.TextItem] = []
        self._zone = QGraphicsEllipseItem(0, 0, 1, 1)
        self._zone.setPen(QPen(QColor(ACCENT), 0))
        self._zone.setBrush(QBrush(QColor(255, 212, 0, 70)))
        self._zone.setVisible(False)
        self.addItem(self._zone)
        self._reach = pg.PlotCurveItem(pen=pg.mkPen(OK, width=3))
        self.addItem(self._reach)
        alphas = np.linspace(20, 200, self.TRAIL).astype(int)
        self._trail_brushes = [pg.mkBrush(255, 212, 0, int(a)) for a in alphas]
        self._trail_sizes = np.linspace(4, 12, self.TRAIL)
        self._trail = pg.ScatterPlotItem(pen=None)
        self.addItem(self._trail)
        self.cop = CopDot()
        self.cop.setVisible(False)
        self.addItem(self.cop)
        self._trail_xy = np.full((self.TRAIL, 2), np.nan)

    def zoom_to(self, span_mm: float) -> None:
        """Show a square of ``span_mm`` around the board centre (a foot fills the screen)."""
        h = span_mm / 2
        self.getPlotItem().getViewBox().setRange(xRange=(-h, h), yRange=(-h, h), padding=0)

    # -- scene content
    def set_foot(self, foot: FootModel | None, centre_mm=(0.0, 0.0)) -> None:
        if foot is None:
            self._foot.setData([], [])
            return
        o = foot.outline() + np.asarray(centre_mm)
        o = np.vstack([o, o[:1]])
        self._foot.setData(o[:, 0], o[:, 1])

    def set_targets(self, targets) -> None:
        """``targets``: (hour, x_mm, y_mm) triples, or empty to hide."""
        for t in self._target_labels:
            self.removeItem(t)
        self._target_labels = []
        if not targets:
            self._targets.setData([], [])
            return
        xs = [t[1] for t in targets]
        ys = [t[2] for t in targets]
        self._targets.setData(xs, ys)
        for hour, x, y in targets:
            lab = pg.TextItem(str(hour), color=FG, anchor=(0.5, 0.5))
            f = QFont()
            f.setPointSize(11)
            f.setBold(True)
            lab.setFont(f)
            r = math.hypot(x, y) or 1.0
            lab.setPos(x + 18 * x / r, y + 18 * y / r)
            self.addItem(lab)
            self._target_labels.append(lab)

    def set_zone(self, x_mm: float | None, y_mm: float = 0.0, radius_mm: float = 0.0,
                 reached: bool = False) -> None:
        if x_mm is None:
            self._zone.setVisible(False)
            return
        self._zone.setRect(x_mm - radius_mm, y_mm - radius_mm, 2 * radius_mm, 2 * radius_mm)
        self._reached = reached
        colour = QColor(OK if reached else ACCENT)
        self._zone.setPen(QPen(colour, 0))
        colour.setAlpha(90)
        self._zone.setBrush(QBrush(colour))
        self._zone.setVisible(True)

    def set_zone_reached(self, reached: bool) -> None:
        """Turn the active zone green while the COP holds inside it."""
        if self._zone.isVisible() and reached != getattr(self, "_reached", False):
            self._reached = reached
            colour = QColor(OK if reached else ACCENT)
            self._zone.setPen(QPen(colour, 0))
            colour.setAlpha(90)
            self._zone.setBrush(QBrush(colour))

    def set_reach_polygon(self, xy_mm) -> None:
        if xy_mm is None or len(xy_mm) == 0:
            self._reach.setData([], [])
            return
        p = np.asarray(xy_mm, dtype=float)
        p = np.vstack([p, p[:1]])
        self._reach.setData(p[:, 0], p[:, 1])

    # -- live
    def show_cop(self, x_mm: np.ndarray, y_mm: np.ndarray, t_host_s: float | None = None) -> None:
        """Append the newest COP samples to the trail and move the dot to the last one."""
        n = min(len(x_mm), self.TRAIL)
        tr = self._trail_xy
        tr[:-n] = tr[n:].copy()
        tr[-n:, 0] = x_mm[-n:]
        tr[-n:, 1] = y_mm[-n:]
        ok = ~np.isnan(tr[:, 0])
        self._trail.setData(tr[ok, 0], tr[ok, 1],
                            brush=[b for b, k in zip(self._trail_brushes, ok) if k],
                            size=self._trail_sizes[ok])
        x, y = float(x_mm[-1]), float(y_mm[-1])
        if math.isnan(x):
            self.cop.setVisible(False)
        else:
            self.cop.setPos(x, y)
            self.cop.shown_t_host_s = None if t_host_s is None or math.isnan(t_host_s) else t_host_s
            self.cop.setVisible(True)

    def clear_cop(self) -> None:
        self._trail_xy[:] = np.nan
        self._trail.setData([], [])
        self.cop.setVisible(False)


class LoadStrip(pg.PlotWidget):
    """Total load and the four corner loads over the last seconds, in kg for readability."""

    def __init__(self, seconds: float = 10.0, parent=None) -> None:
        super().__init__(parent=parent, background=BG)
        self.seconds = seconds
        pi = self.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.setMouseEnabled(False, False)
        pi.setLabel("left", "load", units="kg")
        pi.setLabel("bottom", "time", units="s")
        pi.showGrid(y=True, alpha=0.2)
        pi.setClipToView(True)
        self.curves = [pg.PlotCurveItem(pen=pg.mkPen(FG, width=2))]
        self.curves += [pg.PlotCurveItem(pen=pg.mkPen(c, width=1)) for c in CORNER_COLOURS]
        for c in self.curves:
            self.addItem(c)
        legend = pi.addLegend(offset=(4, 4), colCount=5)
        for c, name in zip(self.curves, ("total",) + CHANNEL_SHORT):
            legend.addItem(c, name)
        pi.setXRange(-seconds, 0, padding=0)

    def show_history(self, rows: np.ndarray) -> None:
        """``rows`` from RingBuffer.last(): columns t, total, FL, FR, BL, BR, x, y."""
        if len(rows) < 2:
            return
        t = rows[:, 0] - rows[-1, 0]
        kg = rows[:, 1:6] / 9.80665
        for i, c in enumerate(self.curves):
            c.setData(t, kg[:, i])
