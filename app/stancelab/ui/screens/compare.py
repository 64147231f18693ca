"""Coach comparison: the assessment model's left/right verdicts, progress and excluded trials.

Everything shown comes from station.assessment.load_assessment (the model the CLI `compare`
prints), read on the worker (see ReloadsWhenShown); only the two clock trials whose reach
polygons are drawn are read whole besides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stancelab.analysis.assessment import Assessment
from stancelab.analysis.reach import trial_reach_polygon
from stancelab.geometry import FootModel
from stancelab.station.assessment import load_assessment
from stancelab.ui import trialdata as td
from stancelab.ui.widgets import BG, OK, WARN, ReloadsWhenShown, big_label
from stancelab.ui.widgets.progress_plots import ProgressPlots

KINDS = (("clock", "Clock balance"), ("single-leg", "Single-leg stands"))
LEFT_COLOUR, RIGHT_COLOUR = "#4cc9f0", "#f72585"
SIDE_COLUMNS = ("Metric", "Left (mean ± SD, n)", "Right (mean ± SD, n)", "Asymmetry", "Noise",
                "Verdict", "Why")
PROGRESS_COLUMNS = ("Metric", "Leg", "Baseline", "Reassessment", "Change", "MDC95", "Verdict")
EXCLUDED_COLUMNS = ("Trial", "Session", "Drill", "Leg", "Status", "Reason")


@dataclass
class CompareData:
    """What the screen draws, read on the worker."""

    athlete_id: int | None
    baseline: int | None
    reassessment: int | None
    assessment: Assessment
    polygons: dict          # side -> clock reach polygon about the foot centre (latest session)


def load_compare(storage, athlete_id: int | None, baseline: int | None = None,
                 reassessment: int | None = None) -> CompareData:
    a = load_assessment(storage, athlete_id, baseline, reassessment) \
        if athlete_id is not None else Assessment()
    polygons = {}
    for g in a.groups:
        if g.drill == "clock" and g.leg in ("left", "right") and g.trial_ids:
            poly = trial_reach_polygon(storage.trial(g.trial_ids[-1]).metrics)
            if poly is not None:
                polygons[g.leg] = poly           # around the foot centre
    return CompareData(athlete_id, baseline, reassessment, a, polygons)


def missing_sides(a: Assessment, drill: str) -> list[str]:
    """The legs with no valid trial of the drill in the compared sessions."""
    have = {g.leg for g in a.groups if g.drill == drill}
    return [s for s in ("left", "right") if s not in have]


def side_rows(a: Assessment, drill: str) -> list[dict]:
    """The model's left/right rows of one drill, every condition, as plain dicts."""
    return [{"drill": s.drill, "condition": s.condition, "window_s": s.window_s, **asdict(r)}
            for s in a.sides if s.drill == drill for r in s.rows]


def _value(mean, sd, n: int, key: str) -> str:
    if mean is None:
        return "—"
    spread = "" if sd is None else f" ± {td.fmt(sd, key)}"
    return f"{td.fmt(mean, key)}{spread} (n={n})"


def _table(name: str, columns) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _session_combo(first: str) -> QComboBox:
    c = QComboBox()
    c.addItem(first, None)
    return c


class CompareScreen(ReloadsWhenShown, QWidget):
    #: a point of the progress plots was clicked: the app shows that trial in Results
    open_trial = Signal(int)

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.kind.currentIndexChanged.connect(lambda _: self.refresh())
        self.baseline = _session_combo("first session")
        self.reassessment = _session_combo("latest session")
        for combo in (self.baseline, self.reassessment):
            combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.summary = big_label("", 20)
        self.summary.setObjectName("summary")
        self.note = QLabel("")
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.table = _table("comparison", SIDE_COLUMNS)
        self.progress_table = _table("progress", PROGRESS_COLUMNS)
        self.excluded = _table("excluded", EXCLUDED_COLUMNS)
        self.plots = ProgressPlots()
        self.plots.trial_clicked.connect(self.open_trial)
        self.plot = pg.PlotWidget(background=BG)
        self.plot.setAspectLocked(True)
        pi = self.plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.setLabel("bottom", "medial ←  → lateral", units="mm")
        pi.setLabel("left", "heel ←  → toes", units="mm")
        self.plot.setMinimumWidth(300)

        top = QHBoxLayout()
        for label, w in (("Drill", self.kind), ("Baseline", self.baseline),
                         ("Reassessment", self.reassessment)):
            top.addWidget(QLabel(label))
            top.addWidget(w)
        top.addStretch(1)
        sides = QWidget()
        sides_lay = QHBoxLayout(sides)
        table_col = QVBoxLayout()
        table_col.addWidget(self.note)
        table_col.addWidget(self.table, 1)
        sides_lay.addLayout(table_col, 3)
        sides_lay.addWidget(self.plot, 2)
        progress = QWidget()
        progress_lay = QVBoxLayout(progress)
        progress_lay.addWidget(self.plots, 3)
        progress_lay.addWidget(self.progress_table, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("compare-tabs")
        self.tabs.addTab(sides, "Left vs right")
        self.tabs.addTab(progress, "Progress")
        self.tabs.addTab(self.excluded, "Excluded trials")
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.tabs, 1)
        self.rows: list[dict] = []
        self.data: CompareData | None = None
        self.watch_results(ctx)

    def set_kind(self, key: str) -> None:
        """Show one drill's comparison now (drawn on return)."""
        index = [k for k, _ in KINDS].index(key)
        if index != self.kind.currentIndex():
            self.kind.blockSignals(True)
            self.kind.setCurrentIndex(index)
            self.kind.blockSignals(False)
            self._stale = True
        self.reload()

    def mark_stale(self, *args) -> None:
        self.data = None
        super().mark_stale(*args)

    def load_request(self) -> tuple:
        aid = None if self.ctx.athlete is None else self.ctx.athlete.id
        key = (aid, self.baseline.currentData(), self.reassessment.currentData())
        d = self.data
        cached = d if d is not None and (d.athlete_id, d.baseline, d.reassessment) == key \
            else None
        return (*key, self.kind.currentData(), cached)

    def load(self, athlete_id, baseline, reassessment, drill: str, cached) -> tuple:
        """Another drill picked with nothing stored since: the assessment read last time."""
        data = cached or load_compare(self.ctx.storage, athlete_id, baseline, reassessment)
        return drill, data

    def load_failed(self, message: str) -> None:
        self.summary.setText(f"Could not read the trials: {message}")

    def render(self, loaded: tuple, now: bool = True) -> None:
        drill, self.data = loaded
        a = self.data.assessment
        self._fill_sessions(a)
        self.rows = side_rows(a, drill)
        self._fill_table(a, drill)
        self._fill_progress([p for p in a.progress if p.drill == drill])
        self._fill_excluded(a.excluded)
        self.plots.show_assessment(a, drill)
        self.plot.setVisible(drill == "clock")
        self._draw_polygons(self.data.polygons if drill == "clock" else {})
        missing = missing_sides(a, drill)
        if missing:
            self.summary.setText(f"Run {dict(KINDS)[drill].lower()} on the "
                                 f"{' and '.join(missing)} side to compare")
            return
        clear = [r for r in self.rows if r["verdict"].endswith(" better")]
        judged = [r for r in self.rows if r["verdict"] != "not comparable"]
        apart = len(self.rows) - len(judged)
        tail = f" ({apart} not comparable)" if apart else ""
        if clear:
            named = "; ".join(f"{r['verdict']}: {td.label_of(r['metric']).lower()}"
                              for r in clear)
            self.summary.setText(f"{len(clear)} of {len(judged)} metrics differ beyond the "
                                 f"measurement noise{tail} — {named}")
        else:
            self.summary.setText(f"No clear difference between left and right on any of the "
                                 f"{len(judged)} metrics{tail}")

    def _fill_sessions(self, a: Assessment) -> None:
        for combo in (self.baseline, self.reassessment):
            chosen = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for sid, started in a.sessions.items():
                combo.addItem(f"session {sid} · {(started or '')[:10]}", sid)
            combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen is not None else 0)
            combo.blockSignals(False)

    def _fill_table(self, a: Assessment, drill: str) -> None:
        sides = [s for s in a.sides if s.drill == drill]
        notes = []
        for s in sides:
            cond = f"{s.condition}: " if s.condition else ""
            win = (f"; sway compared over the first {s.window_s:g} s of steady stance on both "
                   "legs" if s.window_s else "")
            flagged = sum(r.flagged for r in s.rows)
            notes.append(f"{cond}left {s.n_left} valid trial(s), right {s.n_right}{win}; "
                         f"{flagged} metric(s) differ by more than "
                         f"{a.rules.get('flag_pct', 10):g} % (⚑, information: the verdict "
                         "uses the noise)")
        self.note.setText("\n".join(notes))
        self.table.setRowCount(0)
        for s in sides:
            if len(sides) > 1:
                self._section_row(s.condition or "")
            for r in s.rows:
                self._side_row(r)
        self.table.resizeColumnsToContents()

    def _section_row(self, text: str) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        self.table.setItem(i, 0, QTableWidgetItem(text))
        self.table.setSpan(i, 0, 1, len(SIDE_COLUMNS))

    def _side_row(self, r) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        key = r.metric
        asym = "—" if r.asymmetry_pct is None else \
            f"{r.asymmetry_pct:.0f} %" + (" ⚑" if r.flagged else "")
        cells = ((td.label_of(key), key), (_value(r.left, r.left_sd, r.n_left, key), r.left),
                 (_value(r.right, r.right_sd, r.n_right, key), r.right),
                 (asym, r.asymmetry_pct), ("—" if r.noise is None else td.fmt(r.noise, key),
                                           r.noise),
                 (r.verdict, r.verdict), (r.reason or "", r.reason))
        colour = OK if r.verdict.endswith(" better") else WARN if r.verdict == \
            "not comparable" else None
        for j, (text, value) in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setToolTip(r.noise_source if j == 4 else r.reason or "")
            if colour is not None and j == 5:
                item.setForeground(QColor(colour))
            self.table.setItem(i, j, item)

    def _fill_progress(self, rows) -> None:
        self.progress_table.setRowCount(len(rows))
        for i, p in enumerate(rows):
            key = p.metric
            cells = (td.label_of(key), p.leg or "", td.fmt(p.baseline, key) +
                     f" (s{p.baseline_session})", td.fmt(p.reassessment, key) +
                     f" (s{p.reassessment_session})", f"{p.change:+.3g} {td.unit_of(key)}",
                     "—" if p.mdc95 is None else td.fmt(p.mdc95, key), p.verdict)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"SEM from {p.sem_source}")
                if p.verdict in ("better", "worse"):
                    item.setForeground(QColor(OK if p.verdict == "better" else WARN))
                self.progress_table.setItem(i, j, item)
        self.progress_table.resizeColumnsToContents()

    def _fill_excluded(self, excluded) -> None:
        self.excluded.setRowCount(len(excluded))
        for i, e in enumerate(excluded):
            cells = (str(e.trial_id), str(e.session_id), e.drill, e.leg or "", e.status,
                     e.reason)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setForeground(QColor(WARN))
                self.excluded.setItem(i, j, item)
        self.excluded.resizeColumnsToContents()
        self.tabs.setTabText(2, f"Excluded trials ({len(excluded)})")

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
