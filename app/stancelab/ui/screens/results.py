"""Results of one trial: stabilogram with the 95 % ellipse, reach polygon, scores, quality.

The list comes from the trial summaries (one query, no JSON decoded); the picked trial's
samples are read and its sway computed on the worker, and the latest pick wins.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
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
from stancelab.storage import StorageError
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
    # Fixed room for the tick labels: an axis that fits itself to its labels re-lays out the
    # plot, and paints it twice, whenever a new trial brings wider numbers.
    pi.getAxis("left").setWidth(56)
    pi.getAxis("bottom").setHeight(44)
    w.setAspectLocked(True)
    return w

WARM_UP_AFTER_MS = 3000   # start-up is done by then (first COP painted in ~1-2 s)


class _Pick:
    """One trial picked in the list; cancelled when another is picked before it is drawn."""

    def __init__(self, trial_id: int) -> None:
        self.trial_id = trial_id
        self.cancelled = False
        self.task = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


class ResultsScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trial: td.Trial | None = None
        self._pick: _Pick | None = None
        self._wanted: int | None = None     # show_trial's pick, for the list being read
        self.list = QListWidget()
        self.list.setObjectName("trial-list")
        self.list.setFixedWidth(360)
        self.list.setUniformItemSizes(True)   # a year of trials: rows laid out in O(1)
        self.list.setStyleSheet("QListWidget { font-size: 14px; } "
                                "QListWidget::item { padding: 6px 4px; }")
        self.list.currentItemChanged.connect(self._on_pick)
        self.title = big_label("", 22)
        self.headline = big_label("", 40, colour=ACCENT)
        self.headline.setObjectName("headline")
        self.verdict = QLabel("")
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setStyleSheet("font-size: 16px;")
        self.stabilogram = _plot("Stabilogram (active part) with 95 % ellipse")
        self.reach = _plot("Reach polygon on the foot outline")
        # One curve item each, whose data is replaced on every pick (clearing and adding items
        # re-ran the auto-range once per curve).
        self._path = self.stabilogram.plot(pen=pg.mkPen("#4cc9f0", width=1), connect="finite")
        self._ellipse = self.stabilogram.plot(pen=pg.mkPen(ACCENT, width=3))
        self._outline = self.reach.plot(pen=pg.mkPen("#c9d1d9", width=2))
        self._polygon = self.reach.plot(pen=pg.mkPen(OK, width=3), fillLevel=None,
                                        brush=pg.mkBrush(53, 208, 127, 60))
        for w in (self.stabilogram, self.reach):
            w.getPlotItem().getViewBox().disableAutoRange()
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
        right.addWidget(self.verdict)
        right.addLayout(plots, 3)
        right.addLayout(bottom, 2)
        lay = QHBoxLayout(self)
        lay.addWidget(self.list)
        lay.addLayout(right, 1)
        self.watch_results(ctx)
        # The first pick computes sway metrics, whose scipy import takes 1-2 s: done on the
        # worker, so neither the UI thread nor the first look at a trial waits for it; a few
        # seconds after start-up, because importing holds Python's lock and delayed the first
        # COP painted by ~0.5 s (bench/bench_coldstart.py, docs/benchmarks.md).
        QTimer.singleShot(WARM_UP_AFTER_MS, self, self._warm_up)

    def _warm_up(self) -> None:
        try:
            self.ctx.worker.submit(td.warm_up, name="warm up the sway metrics")
        except RuntimeError:       # the app closed within the first seconds: nothing to do
            pass

    # -- the list
    def load_request(self) -> tuple:
        return (None if self.ctx.athlete is None else self.ctx.athlete.id,)

    def load(self, athlete_id: int | None) -> list[td.TrialSummary]:
        if athlete_id is None:
            return []
        return [t for t in self.ctx.storage.trial_summaries(athlete_id)
                if t.status != "recording"]

    def render(self, trials: list[td.TrialSummary], now: bool) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for t in reversed(trials):
            item = QListWidgetItem(td.list_text(t))
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            self.list.addItem(item)
        wanted, self._wanted = self._wanted, None
        if wanted not in {t.id for t in trials}:
            wanted = trials[-1].id if trials else None
        if trials:
            self.list.setCurrentRow(self._row_of(wanted))
        self.list.blockSignals(False)
        if trials:
            self.select_trial(wanted, now=now)
        else:
            self._cancel_pick()
            self.trial = None
            self.title.setText("No trials yet — run a drill")
            self.headline.setText("")

    def load_failed(self, message: str) -> None:
        self.title.setText(f"Could not read the results: {message}")

    # -- one trial
    def show_trial(self, trial_id: int) -> None:
        """Pick a trial in the list (another screen asked: a point of the progress plots). A
        list still to be read picks it when it comes back from the worker."""
        if self.stale or self.loading:
            self._wanted = trial_id
            self.refresh()
            return
        row = self._row_of(trial_id)
        if row is None or row == self.list.currentRow():
            self.select_trial(trial_id)
        else:
            self.list.setCurrentRow(row)

    def _row_of(self, trial_id: int) -> int | None:
        return next((row for row in range(self.list.count())
                     if self.list.item(row).data(Qt.ItemDataRole.UserRole) == trial_id), None)

    def _on_pick(self, item, _prev=None) -> None:
        if item is not None:
            self.select_trial(item.data(Qt.ItemDataRole.UserRole))

    def _cancel_pick(self) -> None:
        if self._pick is not None:
            self._pick.cancel()
            self._pick = None

    def select_trial(self, trial_id: int, now: bool = False) -> None:
        """Show a trial: its samples are read and its sway computed on the worker (``now``:
        on this thread, drawn before returning). A newer pick cancels this one."""
        self._cancel_pick()
        if now:
            self._show(td.load_detail(self.ctx.storage, trial_id))
            return
        pick = self._pick = _Pick(trial_id)
        pick.task = self.ctx.worker.submit(
            td.load_detail, self.ctx.storage, trial_id, lambda: pick.cancelled,
            on_done=lambda detail: self._picked(pick, detail),
            on_error=lambda exc: self._pick_failed(pick, exc), name="load a trial")

    @property
    def picking(self) -> bool:
        """A picked trial is still being read or computed."""
        return self._pick is not None

    def _busy(self) -> bool:
        return self.picking

    def _picked(self, pick: _Pick, detail) -> None:
        if pick is self._pick:
            self._pick = None
            if detail is not None:
                self._show(detail)

    def _pick_failed(self, pick: _Pick, exc: BaseException) -> None:
        if pick is not self._pick:
            return
        self._pick = None
        if not isinstance(exc, StorageError):
            raise exc
        self.title.setText(f"Could not read trial {pick.trial_id}: {exc}")

    def _show(self, d: td.TrialDetail) -> None:
        trial = self.trial = d.trial
        self.title.setText(td.trial_title(trial) + f"  —  {trial.started[:16].replace('T', ' ')}")
        rows = d.rows
        scored = d.status == "completed" or bool(rows)
        self.headline.setText(f"{rows[0][0]}: {rows[0][1]}" if rows else
                              f"{d.status.capitalize()}: not scored")
        self.headline.setStyleSheet(f"color: {ACCENT if scored else WARN};")
        self.verdict.setText("\n".join(d.verdict))
        self.scores.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            self.scores.setItem(i, 0, QTableWidgetItem(k))
            self.scores.setItem(i, 1, QTableWidgetItem(v))
        self.scores.resizeColumnToContents(0)
        ok = d.flags == ["No data-quality problems found"]
        self.flags.setText("Data quality:\n• " + "\n• ".join(d.flags))
        self.flags.setStyleSheet(f"color: {OK if ok else WARN}; font-size: 16px;")
        self._draw_stabilogram(d)
        self._draw_reach(d)

    def _draw_stabilogram(self, d: td.TrialDetail) -> None:
        cop = d.cop
        sel = cop.active
        if not sel.any():
            sel = slice(None)
        x, y = cop.x_mm[sel], cop.y_mm[sel]
        self._path.setData(x, y)
        if d.ellipse is not None:
            self._ellipse.setData(d.ellipse[:, 0], d.ellipse[:, 1])
            title = f"Stabilogram · 95 % ellipse {d.sway.ellipse95_area_mm2:.0f} mm²"
        else:
            self._ellipse.setData([], [])
            title = ("Stabilogram · through a sensor fault: not scored"
                     if d.status == td.SENSOR_FAULT else
                     "Stabilogram (active part) with 95 % ellipse")
        parts = [(x, y)] + ([] if d.ellipse is None else [(d.ellipse[:, 0], d.ellipse[:, 1])])
        _frame(self.stabilogram, parts, title)

    def _draw_reach(self, d: td.TrialDetail) -> None:
        trial = d.trial
        leg = trial.leg if trial.leg in ("left", "right") else "right"
        o = FootModel(self.ctx.foot_length_mm, leg).outline()
        c = (trial.metrics.get("centre_mm") or (0.0, 0.0))[:2]
        ox = np.append(o[:, 0], o[0, 0]) + c[0]
        oy = np.append(o[:, 1], o[0, 1]) + c[1]
        self._outline.setData(ox, oy)
        parts = [(ox, oy)]
        poly = d.reach
        if poly is not None:
            px, py = np.append(poly[:, 0], poly[0, 0]), np.append(poly[:, 1], poly[0, 1])
            self._polygon.setData(px, py)
            parts.append((px, py))
            title = "Reach polygon on the foot outline"
        else:
            self._polygon.setData([], [])
            title = "Reach polygon (clock balance trials only)"
        _frame(self.reach, parts, title)


def _frame(w: pg.PlotWidget, parts, title: str) -> None:
    """Fit the view to the drawn data in one range change (not one per curve), and set the
    title only when it changes: each of them re-lays out and repaints the plot's axes, which
    is most of the cost of a click on a trial (bench/bench_scale.py)."""
    pi = w.getPlotItem()
    xs = [np.asarray(p[0], float) for p in parts if len(p[0])]
    ys = [np.asarray(p[1], float) for p in parts if len(p[1])]
    if xs:
        x, y = np.concatenate(xs), np.concatenate(ys)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            pi.getViewBox().setRange(xRange=(x[ok].min(), x[ok].max()),
                                     yRange=(y[ok].min(), y[ok].max()), padding=0.05)
    if pi.titleLabel.text != title:
        pi.setTitle(title, size="13pt")
