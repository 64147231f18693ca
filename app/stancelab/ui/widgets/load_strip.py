"""The load strip: total and corner loads over the last seconds, cheap to redraw at 80 Hz."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem

from stancelab.geometry import CHANNEL_SHORT
from stancelab.ui.widgets.common import BG, CORNER_COLOURS, FG


class _StripCurve(pg.PlotCurveItem):
    """A curve whose bounds are the plot's view range, fixed: pyqtgraph would otherwise
    recompute them from the data (nanmin/nanmax, pixel padding) about 20 times per repaint,
    the largest Python cost of a strip update. Nothing outside the view range shows anyway:
    the view box clips its children to it."""

    bounds = QRectF()

    def boundingRect(self) -> QRectF:
        return self.bounds


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
        self.curves = [_StripCurve(pen=pg.mkPen(FG, width=2))]
        self.curves += [_StripCurve(pen=pg.mkPen(c, width=1)) for c in CORNER_COLOURS]
        for c in self.curves:
            self.addItem(c)
        legend = pi.addLegend(offset=(4, 4), colCount=5)
        for c, name in zip(self.curves, ("total",) + CHANNEL_SHORT):
            legend.addItem(c, name)
        pi.setXRange(-seconds, 0, padding=0)
        pi.disableAutoRange()
        self._top_kg = 0.0
        self._set_top(100.0)
        # Axes, legend and their text (the legend's samples and labels, the axis titles are
        # child items, painted one by one on every repaint otherwise: Python paint calls and
        # text layout) are drawn once into pixmaps; only the curves change.
        for item in (pi.getAxis("left"), pi.getAxis("bottom"), legend):
            for it in _with_descendants(item):
                it.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # The view paints all it exposes: the parent widget need not be repainted under it.
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def _set_top(self, top_kg: float) -> None:
        if top_kg != self._top_kg:
            self._top_kg = top_kg
            self.getPlotItem().setYRange(-5, top_kg, padding=0)
            bounds = QRectF(-self.seconds - 1, -10, self.seconds + 2, top_kg + 20)
            for c in self.curves:
                c.prepareGeometryChange()
                c.bounds = bounds

    #: Every n-th sample is drawn: 400 points over the strip's width look the same as 800 and
    #: halve the line drawing, the bulk of a strip repaint.
    DECIMATE = 2

    def show_history(self, rows: np.ndarray) -> None:
        """``rows`` from RingBuffer.last(): columns t, total, FL, FR, BL, BR, x, y."""
        if len(rows) < 2:
            return
        rows = rows[(len(rows) - 1) % self.DECIMATE::self.DECIMATE]   # keeps the newest row
        t = rows[:, 0] - rows[-1, 0]
        kg = rows[:, 1:6] / 9.80665
        peak = np.nanmax(kg[:, 0]) if np.isfinite(kg[:, 0]).any() else 0.0
        # The y range moves in 25 kg steps only, so the axis is redrawn rarely.
        self._set_top(max(50.0, 25.0 * np.ceil((peak * 1.1) / 25.0)))
        for i, c in enumerate(self.curves):
            c.setData(t, kg[:, i], skipFiniteCheck=True)


def _with_descendants(item) -> list:
    out, todo = [], [item]
    while todo:
        it = todo.pop()
        out.append(it)
        todo.extend(it.childItems())
    return out
