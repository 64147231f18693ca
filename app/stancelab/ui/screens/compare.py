"""Coach comparison: left against right per metric, both reach polygons, baseline vs latest."""

from __future__ import annotations

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


def mean_metrics(trials) -> dict:
    """Per-metric mean over trials (numeric values only)."""
    acc: dict[str, list[float]] = {}
    for t in trials:
        for k, v in td.comparable_metrics(t).items():
            if v is not None:
                acc.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def side_sessions(storage, athlete_id: int, drill: str) -> list[tuple[int, dict]]:
    """(session id, {"left": [trials], "right": [trials]}) for sessions with that drill."""
    out = []
    for s in storage.sessions(athlete_id):
        by = {"left": [], "right": []}
        for t in storage.trials(s.id):
            if t.drill == drill and t.status == "completed" and t.leg in by:
                by[t.leg].append(t)
        if by["left"] or by["right"]:
            out.append((s.id, by))
    return out


class CompareScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.kind.currentIndexChanged.connect(lambda _: self.reload())
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
        self.watch_results(ctx)
        self.rows: list[dict] = []

    def set_kind(self, key: str) -> None:
        self.kind.setCurrentIndex([k for k, _ in KINDS].index(key))
        self.reload()

    def reload(self) -> None:
        self._needs_reload = False
        a = self.ctx.athlete
        drill = self.kind.currentData()
        sessions = side_sessions(self.ctx.storage, a.id, drill) if a else []
        latest = {"left": [], "right": []}
        for side in latest:  # the most recent session that has this side
            for _, by in reversed(sessions):
                if by[side]:
                    latest[side] = by[side]
                    break
        left, right = mean_metrics(latest["left"]), mean_metrics(latest["right"])
        self.rows = compare_sides(left, right) if left and right else []
        for r in self.rows:  # per-hour rows: direction of the metric they come from
            if " o'clock " in r["metric"]:
                base = r["metric"].split(" o'clock ")[1]
                r["better"] = better_side(base, r["left"], r["right"])
                r["direction"] = "higher"
        # Only metrics where one side can be better (not areas of the outline, counts of
        # directions, settings...), scores first.
        self.rows = [r for r in self.rows if r["direction"] is not None]
        self._fill_table()
        self._fill_trends(sessions)
        self._draw_polygons(latest)
        if not (left and right):
            missing = [s for s in ("left", "right") if not latest[s]]
            self.summary.setText(f"Run {self.kind.currentText().lower()} on the "
                                 f"{' and '.join(missing)} side to compare")
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

    def _fill_trends(self, sessions) -> None:
        rows = []
        for side in ("left", "right"):
            having = [by[side] for _, by in sessions if by[side]]
            if len(having) >= 2:
                for r in trend(mean_metrics(having[0]), mean_metrics(having[-1])):
                    if r["direction"] is not None:
                        rows.append((side, r))
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

    def _draw_polygons(self, latest) -> None:
        """Both sides on one right-foot outline; the left side is mirrored so that medial and
        lateral line up."""
        pi = self.plot.getPlotItem()
        pi.clear()
        legend = pi.addLegend(offset=(6, 6))
        o = FootModel(self.ctx.foot_length_mm, "right").outline()
        pi.plot(list(o[:, 0]) + [o[0, 0]], list(o[:, 1]) + [o[0, 1]],
                pen=pg.mkPen("#c9d1d9", width=2), name="foot outline")
        for side, colour in (("left", LEFT_COLOUR), ("right", RIGHT_COLOUR)):
            clock = [t for t in latest[side] if t.drill == "clock"]
            if not clock:
                continue
            poly = td.reach_polygon(clock[-1].metrics)
            if poly is None:
                continue
            c = np.asarray((clock[-1].metrics.get("centre_mm") or (0, 0))[:2], dtype=float)
            p = poly - c
            if side == "left":
                p[:, 0] = -p[:, 0]
            p = np.vstack([p, p[:1]])
            pi.plot(p[:, 0], p[:, 1], pen=pg.mkPen(colour, width=3),
                    name=f"{side} reach" + (" (mirrored)" if side == "left" else ""))
        legend.setVisible(True)
