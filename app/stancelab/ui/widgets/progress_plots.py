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
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

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


#: At most this many sessions are labelled on an axis; the others get an unlabelled tick.
MAX_TICK_LABELS = 12


def session_ticks(sessions: dict) -> list[list[tuple[int, str]]]:
    """The bottom axis's ticks, ``[major, minor]``: (x, label) in session order, x being the
    session's ordinal. Up to MAX_TICK_LABELS sessions are labelled (the first and the latest
    always), the rest are minor ticks: a year's 150 two-line labels were unreadable and made
    each plot's paint several times slower."""
    items = list(sessions.items())
    step = max(1, -(-len(items) // MAX_TICK_LABELS))
    labelled = set(range(0, len(items), step)) | ({len(items) - 1} if items else set())
    major = [(i, f"{sid}\n{(started or '')[5:10]}") for i, (sid, started) in enumerate(items)
             if i in labelled]
    minor = [(i, "") for i in range(len(items)) if i not in labelled]
    return [major, minor]


class _Page:
    """One drill's plots, kept while the assessment they show is current."""

    def __init__(self, drill: str) -> None:
        self.drill = drill
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BG)
        self.view.setObjectName(f"progress-plots-{drill}")
        self.assessment = None          # the Assessment drawn (or being drawn)
        #: metric -> PlotItem, and (metric, leg, condition) -> the ScatterPlotItem of its points
        self.plots: dict[str, pg.PlotItem] = {}
        self.points: dict[tuple, pg.ScatterPlotItem] = {}
        #: metric -> {leg: (low, high)} of the MDC band drawn
        self.bands: dict[str, dict] = {}
        #: metric -> {"baseline": x, "reassessment": x} of the markers drawn
        self.markers: dict[str, dict] = {}
        self.queue: list[str] = []      # metrics still to draw, in order
        self.context: tuple = ()

    def reset(self, a) -> None:
        self.view.clear()
        for d in (self.plots, self.points, self.bands, self.markers):
            d.clear()
        self.queue = []
        self.view.setUpdatesEnabled(True)
        self.assessment = a
        if a is None:
            return
        x_of = {sid: i for i, sid in enumerate(a.sessions)}
        history = [g for g in a.history if g.drill == self.drill and g.leg in LEG_COLOURS]
        self.queue = [m for m in headline_metrics(self.drill)
                      if any(m in g.metrics for g in history)]
        self.context = (self.drill, history, a.progress, x_of, session_ticks(a.sessions))


class ProgressPlots(QWidget):
    """Each drill has its own page of plots, drawn when the widget is visible, one plot per
    turn of the event loop, and kept while the assessment is the same: picking the other drill
    and back costs nothing, and the coach's clicks are handled between the steps. With a year
    of data a plot takes 15-25 ms to build; drawing them all at once, as before, held the UI
    thread for 140-200 ms at each pick of a drill, even with the Progress tab hidden
    (bench/bench_scale.py, "pick the drill (Compare)")."""

    trial_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        key = QLabel(" ".join(f'<span style="color:{c}">●</span> {leg} leg'
                              for leg, c in LEG_COLOURS.items())
                     + " · bar: ± SD of the session's valid trials · band: baseline ± MDC95 "
                       "(a change inside it is within measurement noise) · click a point to "
                       "open that session's trial")
        key.setObjectName("progress-key")
        key.setWordWrap(True)
        self.stack = QStackedWidget()
        self.pages: dict[str, _Page] = {}
        self.page = self._page("single-leg")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(key)
        lay.addWidget(self.stack, 1)
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(self._draw_next)

    def _page(self, drill: str) -> _Page:
        if drill not in self.pages:
            page = self.pages[drill] = _Page(drill)
            self.stack.addWidget(page.view)
        return self.pages[drill]

    # The shown drill's plots (what tests and the app read).
    @property
    def view(self) -> pg.GraphicsLayoutWidget:
        return self.page.view

    @property
    def plots(self) -> dict:
        return self.page.plots

    @property
    def points(self) -> dict:
        return self.page.points

    @property
    def bands(self) -> dict:
        return self.page.bands

    @property
    def markers(self) -> dict:
        return self.page.markers

    @property
    def pending(self) -> bool:
        """Plots of the shown drill are still to be drawn (the widget is hidden, or they are
        being drawn one per turn of the event loop)."""
        return bool(self.page.queue)

    def show_assessment(self, a, drill: str) -> None:
        """Show ``drill``'s plots of assessment ``a`` (drawn when visible)."""
        self.page = self._page(drill)
        self.stack.setCurrentWidget(self.page.view)
        if a is None or a is not self.page.assessment:
            self.page.reset(a)
        self._schedule()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule()

    def _schedule(self) -> None:
        if self.page.queue and self.isVisible() and not self._step_timer.isActive():
            self._step_timer.start()

    def _draw_next(self) -> None:
        page = self.page
        if not page.queue or not self.isVisible():
            return
        # No repaint between the steps: the view is painted once, with every plot in it.
        page.view.setUpdatesEnabled(False)
        metric = page.queue.pop(0)
        n = len(page.plots)
        pi = page.view.addPlot(row=n // COLUMNS, col=n % COLUMNS)
        page.plots[metric] = pi
        self._draw(page, pi, metric, *page.context)
        if page.queue:
            self._schedule()
        else:
            page.view.setUpdatesEnabled(True)

    def _draw(self, page, pi, metric, drill, history, progress, x_of, ticks) -> None:
        pi.setMenuEnabled(False)
        # A horizontal grid only: with a year of sessions a vertical line per session was a
        # grey wash, and the most expensive part of each plot's paint.
        pi.showGrid(x=False, y=True, alpha=0.15)
        pi.getAxis("bottom").setTicks(ticks)
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
            page.points[(metric, leg, cond)] = scatter
            row = next((p for p in progress if (p.drill, p.leg, p.condition, p.metric) ==
                        (drill, leg, cond, metric)), None)
            if row is None:
                continue
            for kind, sid in (("baseline", row.baseline_session),
                              ("reassessment", row.reassessment_session)):
                if sid in x_of and kind not in page.markers.setdefault(metric, {}):
                    page.markers[metric][kind] = x_of[sid]
                    pi.addItem(pg.InfiniteLine(
                        pos=x_of[sid], angle=90, label=kind,
                        pen=pg.mkPen(MARKER_COLOUR, width=1, style=Qt.PenStyle.DotLine),
                        labelOpts={"position": 0.95, "color": MARKER_COLOUR}))
            if row.mdc95 is None:
                mdc_text.append(f"{leg} —")
                continue
            lo, hi = row.baseline - row.mdc95, row.baseline + row.mdc95
            page.bands.setdefault(metric, {})[leg] = (lo, hi)
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
