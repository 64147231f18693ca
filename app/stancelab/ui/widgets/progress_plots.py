"""Progress of each headline metric across sessions, per leg, drawn from the assessment model.

One plot per headline metric of the drill: each leg's session mean (error bar: the SD of the
session's valid trials), the baseline and reassessment sessions marked, and the band of the
minimal detectable change around the baseline (the MDC95 of the model's progress row: a
reassessment inside it is "within measurement noise"). Clicking a point asks for that session's
trial (``trial_clicked``), which the app opens in the Results screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from stancelab.analysis.compare import METRIC_DIRECTION
from stancelab.storage import HEADLINE_KEYS
from stancelab.ui import trialdata as td
from stancelab.ui.widgets.common import BG

LEG_COLOURS = {"left": "#4cc9f0", "right": "#f72585"}
MARKER_COLOUR = "#ffd400"
COLUMNS = 2
#: Each leg's points sit this far beside the session's tick, so close values stay clickable.
DODGE = {"left": -0.1, "right": 0.1}


def headline_metrics(drill: str) -> list[str]:
    """The drill's headline scores that have a better direction (what progress can judge)."""
    return [k for k in HEADLINE_KEYS.get(drill, ()) if k in METRIC_DIRECTION]


def session_ticks(sessions: dict) -> list[tuple[int, str]]:
    """(x, label) per session, in session order: x is the session's ordinal."""
    return [(i, f"{sid}\n{(started or '')[5:10]}") for i, (sid, started) in
            enumerate(sessions.items())]


class ProgressPlots(QWidget):
    trial_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BG)
        self.view.setObjectName("progress-plots")
        key = QLabel(" ".join(f'<span style="color:{c}">●</span> {leg} leg'
                              for leg, c in LEG_COLOURS.items())
                     + " · bar: ± SD of the session's valid trials · band: baseline ± MDC95 "
                       "(a change inside it is within measurement noise) · click a point to "
                       "open that session's trial")
        key.setObjectName("progress-key")
        key.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(key)
        lay.addWidget(self.view, 1)
        #: metric -> PlotItem, and (metric, leg, condition) -> the ScatterPlotItem of its points
        self.plots: dict[str, pg.PlotItem] = {}
        self.points: dict[tuple, pg.ScatterPlotItem] = {}
        #: metric -> {leg: (low, high)} of the MDC band drawn
        self.bands: dict[str, dict] = {}
        #: metric -> {"baseline": x, "reassessment": x} of the markers drawn
        self.markers: dict[str, dict] = {}

    def show_assessment(self, a, drill: str) -> None:
        self.view.clear()
        self.plots.clear()
        self.points.clear()
        self.bands.clear()
        self.markers.clear()
        if a is None:
            return
        x_of = {sid: i for i, sid in enumerate(a.sessions)}
        ticks = session_ticks(a.sessions)
        history = [g for g in a.history if g.drill == drill and g.leg in LEG_COLOURS]
        metrics = [m for m in headline_metrics(drill) if any(m in g.metrics for g in history)]
        for n, metric in enumerate(metrics):
            pi = self.view.addPlot(row=n // COLUMNS, col=n % COLUMNS)
            self.plots[metric] = pi
            self._draw(pi, metric, drill, history, a.progress, x_of, ticks)

    def _draw(self, pi, metric, drill, history, progress, x_of, ticks) -> None:
        pi.setMenuEnabled(False)
        pi.showGrid(x=True, y=True, alpha=0.15)
        pi.getAxis("bottom").setTicks([ticks])
        pi.setLabel("bottom", "session")
        unit = td.unit_of(metric)
        pi.setLabel("left", td.label_of(metric) + (f" ({unit})" if unit else ""))
        keys = dict.fromkeys((g.leg, g.condition) for g in history if metric in g.metrics)
        mdc_text = []
        for leg, cond in keys:
            colour = LEG_COLOURS[leg]
            gs = [g for g in history if (g.leg, g.condition) == (leg, cond) and
                  metric in g.metrics]
            xs = [x_of[g.session_id] + DODGE[leg] for g in gs]
            ys = [g.metrics[metric].mean for g in gs]
            sds = [g.metrics[metric].sd or 0.0 for g in gs]
            dash = Qt.PenStyle.SolidLine if cond == next(iter(keys))[1] else \
                Qt.PenStyle.DashLine
            pi.plot(xs, ys, pen=pg.mkPen(colour, width=2, style=dash))
            pi.addItem(pg.ErrorBarItem(x=np.array(xs, float), y=np.array(ys, float),
                                       height=2 * np.array(sds, float),
                                       pen=pg.mkPen(colour, width=1), beam=0.15))
            scatter = pg.ScatterPlotItem(x=xs, y=ys, data=[g.trial_ids[0] for g in gs],
                                         size=14, brush=pg.mkBrush(colour),
                                         pen=pg.mkPen("#101418", width=1))
            scatter.sigClicked.connect(self._clicked)
            pi.addItem(scatter)
            self.points[(metric, leg, cond)] = scatter
            row = next((p for p in progress if (p.drill, p.leg, p.condition, p.metric) ==
                        (drill, leg, cond, metric)), None)
            if row is None:
                continue
            for kind, sid in (("baseline", row.baseline_session),
                              ("reassessment", row.reassessment_session)):
                if sid in x_of and kind not in self.markers.setdefault(metric, {}):
                    self.markers[metric][kind] = x_of[sid]
                    pi.addItem(pg.InfiniteLine(
                        pos=x_of[sid], angle=90, label=kind,
                        pen=pg.mkPen(MARKER_COLOUR, width=1, style=Qt.PenStyle.DotLine),
                        labelOpts={"position": 0.95, "color": MARKER_COLOUR}))
            if row.mdc95 is None:
                mdc_text.append(f"{leg} —")
                continue
            lo, hi = row.baseline - row.mdc95, row.baseline + row.mdc95
            self.bands.setdefault(metric, {})[leg] = (lo, hi)
            c = pg.mkColor(colour)
            c.setAlpha(45)
            band = pg.LinearRegionItem(values=(lo, hi), orientation="horizontal",
                                       movable=False, brush=pg.mkBrush(c),
                                       pen=pg.mkPen(None))
            band.setZValue(-10)
            pi.addItem(band)
            mdc_text.append(f"{leg} {td.fmt(row.mdc95, metric)}")
        # Short titles: a long one widens its plot past the view.
        title = td.label_of(metric) + (" · MDC95 " + ", ".join(mdc_text) if mdc_text else "")
        conds = list(dict.fromkeys(c for _, c in keys))
        if len(conds) > 1:
            title += f" · dashed: {', '.join(map(str, conds[1:]))}"
        pi.setTitle(title, size="10pt")
        ys = [g.metrics[metric].mean for g in history if metric in g.metrics]
        if ys and max(ys) - min(ys) < 1e-9:     # all equal (0 touchdowns): a readable range
            pad = max(1.0, abs(ys[0]) * 0.1)
            pi.setYRange(ys[0] - pad, ys[0] + pad)

    def _clicked(self, _scatter, points, _ev=None) -> None:
        if len(points):
            self.trial_clicked.emit(int(points[0].data()))
