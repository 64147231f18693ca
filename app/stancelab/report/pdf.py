"""The coach's report as an A4 PDF (and its plots as PNGs), laid out for print.

matplotlib's own PDF backend, without pyplot: vector plots and real text (selectable,
searchable, read back by ``pdftotext`` in the tests), headless, no Qt, safe on a worker thread
because every Figure is made here and never shown. Pages flow top to bottom: the header, the
left/right table of each drill with its verdict in words, the plots, progress across
sessions, data quality, methods. Files are written to a temporary name and renamed
(files.csv_write.atomic_write): a failed report leaves no half file and never replaces a good
one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from stancelab.files.csv_write import atomic_write
from stancelab.report import charts
from stancelab.report.content import HEADLINE, ReportContent
from stancelab.report.text import (
    FLAG_NOTE,
    drill_title,
    methods_lines,
    metric_label,
    note_of,
    progress_words,
    reps_line,
    row_cells,
    verdict_line,
)

A4_IN = (8.27, 11.69)
MARGIN_IN = 0.6
#: Table columns: (x from the left margin in inches, alignment); the last one is the verdict.
COLUMNS = ((0.0, "left"), (3.05, "right"), (4.25, "right"), (4.85, "right"), (5.5, "right"),
           (5.65, "left"))
HEADINGS = ("Metric", "Left", "Right", "Asym %", "Noise", "Verdict")
#: Type 3 fonts (matplotlib's default; text still extracts, with a ToUnicode map): Type 42
#: would subset the TrueType font with fontTools, about 1 s more per report.
RC = {"pdf.fonttype": 3, "font.family": "DejaVu Sans", "axes.titlesize": 8,
      "figure.facecolor": "white", "savefig.facecolor": "white"}
Progress = Callable[[int, int], None]


class Flow:
    """Text and axes placed down A4 pages; a new page when the next block does not fit."""

    def __init__(self, pdf: PdfPages, footer: str, regions: list | None = None) -> None:
        self.pdf, self.footer, self.page, self.fig = pdf, footer, 0, None
        self.regions = regions if regions is not None else []
        self.width = A4_IN[0] - 2 * MARGIN_IN
        self.new_page()

    def new_page(self) -> None:
        if self.fig is not None:
            self._finish()
        self.page += 1
        self.fig = Figure(figsize=A4_IN)
        self.y = MARGIN_IN

    def _finish(self) -> None:
        self.fig.text(0.5, MARGIN_IN / 2 / A4_IN[1], f"{self.footer} · page {self.page}",
                      ha="center", va="center", fontsize=7, color="#666666")
        self.pdf.savefig(self.fig)

    def close(self) -> None:
        self._finish()
        self.fig = None

    def need(self, h_in: float) -> None:
        if self.y + h_in > A4_IN[1] - MARGIN_IN - 0.2:
            self.new_page()

    @staticmethod
    def line_h(size: float) -> float:
        return size / 72 * 1.45

    def text(self, s: str, size: float = 9, x: float = 0.0, weight: str = "normal",
             color: str = "#111111", ha: str = "left", advance: bool = True) -> None:
        self.need(self.line_h(size))
        self.fig.text((MARGIN_IN + x) / A4_IN[0], 1 - self.y / A4_IN[1], s, fontsize=size,
                      weight=weight, color=color, ha=ha, va="top")
        if advance:
            self.y += self.line_h(size)

    def para(self, s: str, size: float = 8.5, indent: float = 0.0, **kw) -> None:
        chars = int((self.width - indent) / (size / 72 * 0.53))
        for line in textwrap.wrap(s, chars) or [""]:
            self.text(line, size, x=indent, **kw)

    def heading(self, s: str, size: float = 12, keep: float = 0.0) -> None:
        """``keep``: inches of what follows that must fit on the same page."""
        self.need(self.line_h(size) * 3 + keep)     # never a heading alone at a page's foot
        self.y += 0.08
        self.text(s, size, weight="bold")
        self.y += 0.02

    def gap(self, h_in: float = 0.12) -> None:
        self.y += h_in

    def axes(self, name: str, x_in: float, w_in: float, h_in: float, advance: bool = True):
        """An Axes at the cursor; its box (page, name, (x0, y0, x1, y1) as fractions of the
        page from the bottom left) goes into ``regions``."""
        x0, y0 = (MARGIN_IN + x_in) / A4_IN[0], 1 - (self.y + h_in) / A4_IN[1]
        w, h = w_in / A4_IN[0], h_in / A4_IN[1]
        ax = self.fig.add_axes([x0, y0, w, h])
        self.regions.append((self.page, name, (x0, y0, x0 + w, y0 + h)))
        if advance:
            self.y += h_in
        return ax


def write_report(path: str | Path, content: ReportContent,
                 progress: Progress | None = None, regions: list | None = None) -> Path:
    """Write the PDF atomically; ``progress(done, total)`` per part; ``regions`` (a list)
    receives where each plot was drawn (the tests look inside them)."""
    def body(out) -> None:
        with rc_context(RC):
            meta = {"Title": f"StanceLab report: {content.athlete.name}",
                    "Author": "StanceLab", "Creator": f"StanceLab {content.app_version}",
                    "CreationDate": None}
            with PdfPages(out, metadata=meta) as pdf:
                draw_report(pdf, content, progress, regions)

    return atomic_write(Path(path), body)


def draw_report(pdf: PdfPages, content: ReportContent, progress: Progress | None = None,
                regions: list | None = None) -> None:
    tell = progress or (lambda done, total: None)
    parts = (_header, _tables, _plots, _progress, _quality_and_methods)
    flow = Flow(pdf, f"StanceLab report · {content.athlete.name} · {content.generated[:10]}",
                regions)
    for i, part in enumerate(parts, 1):
        part(flow, content)
        tell(i, len(parts))
    flow.close()


# ------------------------------------------------------------------ parts
def _header(f: Flow, c: ReportContent) -> None:
    a = c.athlete
    f.text("StanceLab · balance report", 18, weight="bold")
    f.gap(0.05)
    f.text(a.name, 14, weight="bold")
    f.gap(0.05)
    boards = sorted({s.board for s in c.sessions})
    cals = list(dict.fromkeys(s.calibration for s in c.sessions))
    span = f"{c.first_date} to {c.last_date}"
    if c.date_from or c.date_to:
        span += f" (asked: {c.date_from or 'start'} to {c.date_to or 'today'})"
    rows = (("Dates", span),
            ("Sessions included", f"{len(c.sessions)}: " + _id_list([s.id for s in c.sessions])),
            ("Board", ", ".join(boards)),
            ("Calibration", ", ".join(cals)),
            ("Athlete", (f"foot {_mm(a.foot_length_mm)} · dominant leg "
                        f"{a.dominant_leg or '—'} · injured side {a.injured_side or '—'}")),
            ("Report", f"made {c.generated.replace('T', ' ')} · StanceLab {c.app_version}"))
    for k, v in rows:
        f.text(k, 9, weight="bold", advance=False)
        f.para(v, 9, indent=1.45)
    f.gap(0.1)
    f.heading("Summary", 12)
    if not c.assessment.sides:
        f.para("No drill has valid trials on both legs yet: run the clock or the single-leg "
               "drill on the left and on the right leg to compare them.", 9)
    for side in c.assessment.sides:
        f.text(drill_title(side.drill, side.condition), 9, weight="bold")
        f.para(verdict_line(side), 9, indent=0.2)


def _mm(v) -> str:
    return "—" if not v else f"{float(v):.0f} mm"


def _id_list(ids: list[int]) -> str:
    if len(ids) <= 12:
        return ", ".join(str(i) for i in ids)
    return ", ".join(str(i) for i in ids[:5]) + f", … , {ids[-1]} (ids)"


def _tables(f: Flow, c: ReportContent) -> None:
    flag = c.assessment.rules.get("flag_pct", 10.0)
    for side in c.assessment.sides:
        f.heading(f"{drill_title(side.drill, side.condition)}: left against right", 11)
        sess = side.sessions
        where = f"session {sess.get('left')}" if sess.get("left") == sess.get("right") else \
            f"left session {sess.get('left')}, right session {sess.get('right')}"
        win = f"; sway over the first {side.window_s:g} s of steady stance" \
            if side.window_s else ""
        f.para(f"{where}; left {side.n_left} valid trial(s), right {side.n_right}: mean ± SD"
               f"{win}.", 8, color="#444444")
        f.gap(0.04)
        _table_row(f, HEADINGS, 7.5, "bold")
        notes: dict[str, int] = {}
        for r in side.rows:
            cells = list(row_cells(r))
            note = note_of(r.reason)
            if note:
                cells[-1] += f" [{notes.setdefault(note, len(notes) + 1)}]"
            _table_row(f, cells, 7.5)
        f.gap(0.05)
        if any(r.flagged for r in side.rows):
            f.para(FLAG_NOTE.format(flag=flag), 7, color="#555555")
        for note, k in notes.items():
            f.para(f"[{k}] {note}", 7, color="#555555")
        for sets in c.reps.get((side.drill, side.condition), ()):
            f.para(reps_line(sets), 8)
        f.para(verdict_line(side), 8.5, weight="bold")
        if side.note:
            f.para(f"Note: {side.note}", 7.5, color="#555555")


def _table_row(f: Flow, cells, size: float, weight: str = "normal") -> None:
    f.need(f.line_h(size))
    for (x, ha), cell in zip(COLUMNS, cells):
        f.text(cell, size, x=x, ha=ha, weight=weight, advance=False)
    f.y += f.line_h(size)


def _plots(f: Flow, c: ReportContent) -> None:
    for cond, polys in c.reach.items():
        if f.y > A4_IN[1] / 2:
            f.new_page()
        f.heading(f"{drill_title('clock', cond)}: reach of both legs", 11, keep=4.2)
        f.para("The points where the COP reached farthest toward each clock target, joined; "
               "the left foot's polygon is mirrored so both show the outside edge to the "
               "right. Thin lines: earlier trials of the same session.", 7.5, color="#444444")
        charts.reach_chart(f.axes("reach", 1.5, 3.8, 3.8), polys)
        f.gap(0.25)
    for cond, stabs in c.stabilograms.items():
        f.heading(f"{drill_title('single-leg', cond)}: stabilograms", 11, keep=4.0)
        if not stabs:
            f.para("No trial held the window of steady stance on either leg.", 8)
            continue
        f.para("COP over the window the comparison used (after the analysis filter), with "
               "its 95 % prediction ellipse; both plots at the same scale.", 7.5,
               color="#444444")
        f.gap(0.45)      # room for the plots' two-line titles
        half = charts.stabilogram_limits(stabs)
        for k, s in enumerate(stabs):
            ax = f.axes(f"stabilogram {s.leg}", 0.35 + k * 3.6, 3.0, 3.0, advance=False)
            charts.stabilogram_chart(ax, s, half)
        f.y += 3.45
    held = _time_held(c)
    for cond, (per_leg, target) in held.items():
        f.heading(f"{drill_title('single-leg', cond)}: time held per trial", 11, keep=2.4)
        charts.time_held_chart(f.axes("time held", 0.5, f.width - 0.6, 2.2), per_leg, target)
        f.gap(0.35)


def _time_held(c: ReportContent) -> dict:
    """Per single-leg condition: each leg's (trial, time held, touchdowns) as the model holds
    them for the compared session, and the stands' target duration."""
    out = {}
    a = c.assessment
    for side in a.sides:
        if side.drill != "single-leg":
            continue
        per_leg = {}
        for g in a.groups:
            if (g.drill, g.condition) != ("single-leg", side.condition) or \
                    g.session_id != side.sessions.get(g.leg):
                continue
            held, touch = g.metrics.get("time_held_s"), g.metrics.get("touchdowns")
            if held is None:
                continue
            tvals = touch.values if touch is not None and touch.n == held.n else [0] * held.n
            per_leg[g.leg] = list(zip(g.trial_ids, held.values, tvals))
        out[side.condition] = (per_leg, _target_s(c, side.condition))
    return out


def _target_s(c: ReportContent, condition) -> float | None:
    for g in c.assessment.groups:
        if (g.drill, g.condition) == ("single-leg", condition):
            st = g.metrics.get("target_duration_s")
            if st is not None:
                return st.mean
    return None


def _progress(f: Flow, c: ReportContent) -> None:
    order = list(HEADLINE)
    keys = sorted(dict.fromkeys((d, cond, m) for d, _leg, cond, m in c.series),
                  key=lambda k: (order.index(k[0]), str(k[1]), HEADLINE[k[0]].index(k[2])))
    charts_to_draw = []
    for drill, cond, metric in keys:
        lines = {leg: pts for (d, leg, cn, m), pts in c.series.items()
                 if (d, cn, m) == (drill, cond, metric)}
        if max(len(p) for p in lines.values()) < 2:
            continue
        marks = {p.leg: p for p in c.assessment.progress
                 if (p.drill, p.condition, p.metric) == (drill, cond, metric)}
        charts_to_draw.append((drill, cond, metric, lines, marks))
    f.heading("Progress across sessions", 12, keep=3.0)
    if not charts_to_draw:
        f.para("One session per drill so far: progress needs a second session (a "
               "reassessment).", 8.5)
        return
    f.para(f"Each point is a session's mean of its valid trials ({charts.KEY}). Squares (B) "
           "mark the baseline "
           "session, diamonds (R) the reassessment the verdict compares; the shaded band is "
           "the baseline ± MDC95, the smallest change the measurement can tell from noise.",
           7.5, color="#444444")
    w, h = (f.width - 0.5) / 2, 2.05
    for k, (drill, cond, metric, lines, marks) in enumerate(charts_to_draw):
        col = k % 2
        if col == 0:
            f.need(h + 0.75)
            top = f.y
        f.y = top
        f.text(f"{drill_title(drill, cond)}: {metric_label(metric, unit=False)}", 8,
               x=col * (w + 0.5), weight="bold")
        ax = f.axes(f"progress {drill} {metric}", col * (w + 0.5) + 0.45, w - 0.45, h,
                    advance=False)
        charts.progress_chart(ax, metric, lines, marks)
        if col == 1 or k == len(charts_to_draw) - 1:
            f.y = top + f.line_h(8) + h + 0.45
    f.gap(0.1)
    for p in c.assessment.progress:
        if p.metric in {m for _, _, m, _, _ in charts_to_draw}:
            f.para(f"{drill_title(p.drill, p.condition)} · session {p.baseline_session} → "
                   f"{p.reassessment_session}: {progress_words(p)}", 7.5, color="#333333")


def _quality_and_methods(f: Flow, c: ReportContent) -> None:
    f.heading("Data quality", 12)
    ex = c.assessment.excluded
    if not ex:
        f.para("Every trial in these sessions counted: none was interrupted, recorded through "
               "a sensor fault or lost more than 2 % of its frames.", 8.5)
    else:
        f.para(f"{len(ex)} trial(s) left out of every score above:", 8.5)
        for e in ex:
            f.para(f"Trial {e.trial_id} (session {e.session_id}, {e.drill}"
                   f"{', ' + e.leg + ' leg' if e.leg else ''}): {e.reason}", 8, indent=0.2)
    for side in c.assessment.sides:
        if side.note:
            f.para(f"{drill_title(side.drill, side.condition)}: {side.note}.", 8)
    f.heading("Methods", 12)
    for line in methods_lines(c):
        f.para("• " + line, 7.5, indent=0.05)


# ------------------------------------------------------------------ PNGs
PNG_PLOTS = ("reach", "stabilogram", "time-held")


def write_pngs(folder: Path, stem: str, content: ReportContent, files: list,
               dpi: int = 150) -> list[Path]:
    """The report's plots as PNGs (one file each; those with data), appended to ``files`` as
    they are written."""
    made = []
    with rc_context(RC):
        for cond, polys in content.reach.items():
            fig = Figure(figsize=(5.5, 5.5))
            charts.reach_chart(fig.add_axes([0.12, 0.1, 0.85, 0.85]), polys)
            made.append(("reach", cond, fig))
        for cond, stabs in content.stabilograms.items():
            if not stabs:
                continue
            fig = Figure(figsize=(8, 4.2))
            half = charts.stabilogram_limits(stabs)
            for k, s in enumerate(stabs):
                charts.stabilogram_chart(fig.add_axes([0.08 + k * 0.5, 0.12, 0.4, 0.72]), s,
                                         half)
            made.append(("stabilogram", cond, fig))
        for cond, (per_leg, target) in _time_held(content).items():
            fig = Figure(figsize=(8, 3.2))
            charts.time_held_chart(fig.add_axes([0.08, 0.12, 0.9, 0.8]), per_leg, target)
            made.append(("time-held", cond, fig))
        order = {n: i for i, n in enumerate(PNG_PLOTS)}
        made.sort(key=lambda m: order[m[0]])
        for name, cond, fig in made:
            many = sum(1 for m in made if m[0] == name) > 1
            suffix = f"_{_slug(cond)}" if many and cond else ""
            path = folder / f"{stem}_{name}{suffix}.png"
            atomic_write(path, lambda out, fig=fig: fig.savefig(out, format="png", dpi=dpi))
            files.append(path)
    return files


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-")
