"""Coach comparison: left against right per metric, both reach polygons, baseline vs latest.

Read from the trial summaries' headline numbers on the worker (see ReloadsWhenShown).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stancelab.analysis import better_side, compare_sides, trend
from stancelab.geometry import FootModel
from stancelab.ui import trialdata as td
from stancelab.ui.widgets import BG, OK, WARN, ReloadsWhenShown, big_label

KINDS = (("clock", "Clock balance"), ("single-leg", "Single-leg stands"))
LEFT_COLOUR, RIGHT_COLOUR = "#4cc9f0", "#f72585"


def mean_metrics(values: list[dict]) -> dict:
    """Per-metric mean over the trials' numbers (their summaries' headline values)."""
    acc: dict[str, list[float]] = {}
    for v in values:
        for k, x in v.items():
            if x is not None:
                acc.setdefault(k, []).append(float(x))
    return {k: float(np.mean(x)) for k, x in acc.items()}


def side_sessions(summaries, drill: str) -> list[tuple[int, dict]]:
    """(session id, {"left": [summaries], "right": [summaries]}) for the sessions with that
    drill, completed, on one leg, oldest first."""
    out: list[tuple[int, dict]] = []
    for t in summaries:
        if t.drill == drill and t.status == "completed" and t.leg in ("left", "right"):
            if not out or out[-1][0] != t.session_id:
                out.append((t.session_id, {"left": [], "right": []}))
            out[-1][1][t.leg].append(t)
    return out


@dataclass
class Comparison:
    """What the screen shows for one drill, read and computed on the worker."""

    drill: str
    rows: list[dict]                  # compare_sides rows where one side can be better
    trends: list[tuple[str, dict]]    # (side, trend row), baseline session against the latest
    missing: list[str]                # sides without a completed trial
    polygons: dict                    # side -> reach polygon around the foot centre (clock)


def comparison(storage, summaries, drill: str) -> Comparison:
    """Left against right from each side's latest session, from the athlete's trial summaries;
    only the two clock trials whose reach polygons are drawn are read whole."""
    sessions = side_sessions(summaries, drill)
    latest = {"left": [], "right": []}
    for side in latest:  # the most recent session that has this side
        for _, by in reversed(sessions):
            if by[side]:
                latest[side] = by[side]
                break
    left = mean_metrics([t.headline for t in latest["left"]])
    right = mean_metrics([t.headline for t in latest["right"]])
    rows = compare_sides(left, right) if left and right else []
    for r in rows:  # per-hour rows: direction of the metric they come from
        if " o'clock " in r["metric"]:
            base = r["metric"].split(" o'clock ")[1]
            r["better"] = better_side(base, r["left"], r["right"])
            r["direction"] = "higher"
    trends = []
    for side in ("left", "right"):
        having = [by[side] for _, by in sessions if by[side]]
        if len(having) >= 2:
            for r in trend(mean_metrics([t.headline for t in having[0]]),
                           mean_metrics([t.headline for t in having[-1]])):
                if r["direction"] is not None:
                    trends.append((side, r))
    polygons = {}
    for side in ("left", "right"):
        clock = [t for t in latest[side] if t.drill == "clock"]
        if clock:
            metrics = storage.trial(clock[-1].id).metrics
            poly = td.reach_polygon(metrics)
            if poly is not None:
                polygons[side] = poly - np.asarray((metrics.get("centre_mm") or (0, 0))[:2],
                                                   dtype=float)
    # Only metrics where one side can be better (not areas of the outline, counts of
    # directions, settings...), scores first.
    return Comparison(drill, [r for r in rows if r["direction"] is not None], trends,
                      [s for s in ("left", "right") if not latest[s]], polygons)


class CompareScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.kind.currentIndexChanged.connect(lambda _: self.refresh())
        self.summary = big_label("", 22)
        self.summary.setObjectName("summary")
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("comparison")
        self.table.setHorizontalHeaderLabels(["Metric", "Left", "Right", "Asymmetry",
                                              "Better", "Flag"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.trends = QTableWidget(0, 6)
        self.trends.setObjectName("trends")
        self.trends.setHorizontalHeaderLabels(["Metric", "Side", "Baseline", "Latest", "Change",
                                               ""])
        self.trends.verticalHeader().setVisible(False)
        self.trends.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.plot = pg.PlotWidget(background=BG)
        self.plot.setAspectLocked(True)
        pi = self.plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.setLabel("bottom", "medial ←  → lateral", units="mm")
        pi.setLabel("left", "heel ←  → toes", units="mm")
        self.plot.setMinimumWidth(320)
        top = QHBoxLayout()
        top.addWidget(QLabel("Drill"))
        top.addWidget(self.kind)
        top.addStretch(1)
        left = QVBoxLayout()
        left.addLayout(top)
        left.addWidget(self.summary)
        left.addWidget(self.table, 3)
        left.addWidget(QLabel("Progress: first session (baseline) against the latest"))
        left.addWidget(self.trends, 2)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 3)
        lay.addWidget(self.plot, 2)
        self.rows: list[dict] = []
        #: (athlete id, trial summaries) of the last load; None once something was stored
        self._summaries: tuple | None = None
        self.watch_results(ctx)

    def set_kind(self, key: str) -> None:
        """Show one drill's comparison now (the PDF report reads it straight after)."""
        index = [k for k, _ in KINDS].index(key)
        if index != self.kind.currentIndex():
            self.kind.blockSignals(True)
            self.kind.setCurrentIndex(index)
            self.kind.blockSignals(False)
            self._stale = True
        self.reload()

    def mark_stale(self, *args) -> None:
        self._summaries = None
        super().mark_stale(*args)

    def load_request(self) -> tuple:
        aid = None if self.ctx.athlete is None else self.ctx.athlete.id
        cached = self._summaries if self._summaries is not None and \
            self._summaries[0] == aid else None
        return aid, self.kind.currentData(), cached

    def load(self, athlete_id: int | None, drill: str, cached) -> tuple:
        """Another drill picked with nothing stored since: the summaries read last time."""
        if cached is not None:
            summaries = cached[1]
        else:
            summaries = self.ctx.storage.trial_summaries(athlete_id) \
                if athlete_id is not None else []
        return comparison(self.ctx.storage, summaries, drill), (athlete_id, summaries)

    def load_failed(self, message: str) -> None:
        self.summary.setText(f"Could not read the trials: {message}")

    def render(self, data: tuple, now: bool = True) -> None:
        c, self._summaries = data
        self.rows = c.rows
        self._fill_table()
        self._fill_trends(c.trends)
        self._draw_polygons(c.polygons)
        if c.missing:
            self.summary.setText(f"Run {dict(KINDS)[c.drill].lower()} on the "
                                 f"{' and '.join(c.missing)} side to compare")
        else:
            flagged = [r for r in self.rows if r["flagged"]]
            self.summary.setText(f"{len(flagged)} of {len(self.rows)} metrics differ by more "
                                 "than 10 % between sides")

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            key = r["metric"]
            cells = (td.label_of(key) if " o'clock " not in key else
                     key.split(" max")[0] + " reach (max excursion)",
                     td.fmt(r["left"], key), td.fmt(r["right"], key),
                     f"{r['asymmetry_pct']:.0f} %", r["better"] or "—",
                     "⚑ asymmetric" if r["flagged"] else "")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r["flagged"]:
                    item.setForeground(QColor(WARN))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _fill_trends(self, rows) -> None:
        self.trends.setRowCount(len(rows))
        for i, (side, r) in enumerate(rows):
            key = r["metric"]
            mark = "" if r["improved"] is None else ("better" if r["improved"] else "worse")
            cells = (td.label_of(key), side, td.fmt(r["baseline"], key),
                     td.fmt(r["latest"], key),
                     "—" if r["change_pct"] is None else f"{r['change_pct']:+.0f} %", mark)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r["improved"] is not None:
                    item.setForeground(QColor(OK if r["improved"] else WARN))
                self.trends.setItem(i, j, item)
        self.trends.resizeColumnsToContents()

    def _draw_polygons(self, polygons: dict) -> None:
        """Both sides on one right-foot outline; the left side is mirrored so that medial and
        lateral line up."""
        pi = self.plot.getPlotItem()
        pi.clear()
        legend = pi.addLegend(offset=(6, 6))
        o = FootModel(self.ctx.foot_length_mm, "right").outline()
        pi.plot(list(o[:, 0]) + [o[0, 0]], list(o[:, 1]) + [o[0, 1]],
                pen=pg.mkPen("#c9d1d9", width=2), name="foot outline")
        for side, colour in (("left", LEFT_COLOUR), ("right", RIGHT_COLOUR)):
            if side not in polygons:
                continue
            p = polygons[side].copy()
            if side == "left":
                p[:, 0] = -p[:, 0]
            p = np.vstack([p, p[:1]])
            pi.plot(p[:, 0], p[:, 1], pen=pg.mkPen(colour, width=3),
                    name=f"{side} reach" + (" (mirrored)" if side == "left" else ""))
        legend.setVisible(True)
