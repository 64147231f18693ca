"""Results of one trial: stabilogram with the 95 % ellipse, reach polygon, scores, quality."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stancelab.geometry import FootModel
from stancelab.ui import trialdata as td
from stancelab.ui.widgets import ACCENT, BG, OK, WARN, ReloadsWhenShown, big_label


def _plot(title: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background=BG)
    pi = w.getPlotItem()
    pi.setTitle(title, size="13pt")
    pi.setLabel("bottom", "x (right +)", units="mm")
    pi.setLabel("left", "y (toes +)", units="mm")
    pi.showGrid(x=True, y=True, alpha=0.15)
    pi.setMenuEnabled(False)
    w.setAspectLocked(True)
    return w


class ResultsScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trial: td.Trial | None = None
        self.list = QListWidget()
        self.list.setObjectName("trial-list")
        self.list.setFixedWidth(360)
        self.list.setStyleSheet("QListWidget { font-size: 14px; } "
                                "QListWidget::item { padding: 6px 4px; }")
        self.list.currentItemChanged.connect(self._on_pick)
        self.title = big_label("No trials yet — run a drill", 22)
        self.headline = big_label("", 40, colour=ACCENT)
        self.headline.setObjectName("headline")
        self.stabilogram = _plot("Stabilogram (active part) with 95 % ellipse")
        self.reach = _plot("Reach polygon on the foot outline")
        self.scores = QTableWidget(0, 2)
        self.scores.setObjectName("scores")
        self.scores.setHorizontalHeaderLabels(["Score", "Value"])
        self.scores.horizontalHeader().setStretchLastSection(True)
        self.scores.verticalHeader().setVisible(False)
        self.scores.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.flags = QLabel("")
        self.flags.setObjectName("flags")
        self.flags.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.stabilogram)
        plots.addWidget(self.reach)
        bottom = QHBoxLayout()
        bottom.addWidget(self.scores, 2)
        bottom.addWidget(self.flags, 1)
        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.headline)
        right.addLayout(plots, 3)
        right.addLayout(bottom, 2)
        lay = QHBoxLayout(self)
        lay.addWidget(self.list)
        lay.addLayout(right, 1)
        self.watch_results(ctx)

    def trials(self) -> list[td.Trial]:
        st, a = self.ctx.storage, self.ctx.athlete
        if a is None:
            return []
        return [t for s in st.sessions(a.id) for t in st.trials(s.id)]

    def reload(self) -> None:
        self._needs_reload = False
        trials = [t for t in self.trials() if t.status != "recording"]
        self.list.blockSignals(True)
        self.list.clear()
        for t in reversed(trials):
            item = QListWidgetItem(f"{t.started[5:16].replace('T', ' ')}  {td.trial_title(t)}"
                                   + ("" if t.status == "completed" else f"  ({t.status})"))
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if trials:
            self.list.setCurrentRow(0)
            self.show_trial(trials[-1])
        else:
            self.trial = None
            self.title.setText("No trials yet — run a drill")

    def _on_pick(self, item, _prev=None) -> None:
        if item is not None:
            self.show_trial(self.ctx.storage.trial(item.data(Qt.ItemDataRole.UserRole)))

    def show_trial(self, trial: td.Trial) -> None:
        self.trial = trial
        self.title.setText(td.trial_title(trial) + f"  —  {trial.started[:16].replace('T', ' ')}")
        rows = td.headline_metrics(trial)
        self.headline.setText(f"{rows[0][0]}: {rows[0][1]}" if rows else trial.status)
        self.scores.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            self.scores.setItem(i, 0, QTableWidgetItem(k))
            self.scores.setItem(i, 1, QTableWidgetItem(v))
        self.scores.resizeColumnToContents(0)
        cop = td.load_cop(self.ctx.storage, trial)
        flags = td.quality_flags(trial, cop)
        ok = flags == ["No data-quality problems found"]
        self.flags.setText("Data quality:\n• " + "\n• ".join(flags))
        self.flags.setStyleSheet(f"color: {OK if ok else WARN}; font-size: 16px;")
        self._draw_stabilogram(cop)
        self._draw_reach(trial)

    def _draw_stabilogram(self, cop: td.TrialCop) -> None:
        pi = self.stabilogram.getPlotItem()
        pi.clear()
        sel = cop.active
        if not sel.any():
            sel = slice(None)
        pi.plot(cop.x_mm[sel], cop.y_mm[sel], pen=pg.mkPen("#4cc9f0", width=1),
                connect="finite")
        m, ell = td.ellipse95(cop)
        if ell is not None:
            pi.plot(ell[:, 0], ell[:, 1], pen=pg.mkPen(ACCENT, width=3))
            pi.setTitle(f"Stabilogram · 95 % ellipse {m.ellipse95_area_mm2:.0f} mm²", size="13pt")

    def _draw_reach(self, trial: td.Trial) -> None:
        pi = self.reach.getPlotItem()
        pi.clear()
        leg = trial.leg if trial.leg in ("left", "right") else "right"
        foot = FootModel(self.ctx.foot_length_mm, leg)
        o = foot.outline()
        c = (trial.metrics.get("centre_mm") or (0.0, 0.0))[:2]
        pi.plot(list(o[:, 0] + c[0]) + [o[0, 0] + c[0]], list(o[:, 1] + c[1]) + [o[0, 1] + c[1]],
                pen=pg.mkPen("#c9d1d9", width=2))
        poly = td.reach_polygon(trial.metrics)
        if poly is not None:
            pi.plot(list(poly[:, 0]) + [poly[0, 0]], list(poly[:, 1]) + [poly[0, 1]],
                    pen=pg.mkPen(OK, width=3), fillLevel=None, brush=pg.mkBrush(53, 208, 127, 60))
            pi.setTitle("Reach polygon on the foot outline", size="13pt")
        else:
            pi.setTitle("Reach polygon (clock balance trials only)", size="13pt")
