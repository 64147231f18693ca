"""The coach's PDF report and the plot images, made on the worker from the database.

No widget is involved: :func:`gather` reads what the report says (the left/right comparisons the
Compare screen computes, the latest trial and the latest clock trial as the Results screen loads
them), :func:`plot_images` draws the three plots with a QPainter on QImages, and
:func:`write_pdf` / :func:`write_png` write them. QPainter on a QImage or a QPdfWriter is safe
off the UI thread; widgets are not, which is why the plots are not grabbed from the screens.
Files are written to a temporary name and renamed: a failed export leaves no half file and
never replaces a good one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QPolygonF,
)

from stancelab.geometry import FootModel
from stancelab.storage import Athlete, Storage
from stancelab.ui import trialdata as td

#: name -> title of the plots, in report order (also the PNG file names' last part)
PLOTS = (("stabilogram", "Stabilogram of the latest trial (active part) with its 95 % ellipse"),
         ("reach", "Reach polygon of the latest clock trial on the foot outline"),
         ("comparison", "Reach: left (mirrored) against right on one foot outline"))
PLOT_SIZE = (900, 640)
TRACE, ELLIPSE, OUTLINE, LEFT, RIGHT, REACH = ("#1f77b4", "#e07a00", "#6b7280", "#0b8fb3",
                                               "#c2185b", "#1e9e5a")
Progress = Callable[[int, int], None]
#: Points drawn per series at most: a long trial's trace is thinned evenly to this (the plot
#: is under 1000 px wide), so no single paint call holds the interpreter for long.
MAX_PLOT_POINTS = 4000


@dataclass
class ReportContent:
    athlete: Athlete
    foot_length_mm: float
    sessions: int
    comparisons: list            # (title, compare.Comparison) per drill kind
    latest: td.TrialDetail | None        # the athlete's latest trial
    clock: td.TrialDetail | None         # the latest clock trial


def gather(storage: Storage, athlete: Athlete, foot_length_mm: float,
           progress: Progress | None = None) -> ReportContent:
    """Everything the report and the plots show, read from ``storage`` (slow: two trials'
    samples and their sway). ``progress(done, total)`` after each step."""
    from stancelab.ui.screens.compare import KINDS, comparison

    steps = len(KINDS) + 3
    tell = progress or (lambda done, total: None)
    summaries = storage.trial_summaries(athlete.id)
    tell(1, steps)
    comparisons = []
    for key, title in KINDS:
        comparisons.append((title, comparison(storage, summaries, key)))
        tell(len(comparisons) + 1, steps)
    done = [t for t in summaries if t.status != "recording"]
    latest = td.load_detail(storage, done[-1].id) if done else None
    tell(steps - 1, steps)
    clocks = [t for t in done if t.drill == "clock"]
    clock = latest if latest is not None and latest.trial.drill == "clock" else \
        td.load_detail(storage, clocks[-1].id) if clocks else None
    tell(steps, steps)
    return ReportContent(athlete, foot_length_mm, len(storage.sessions(athlete.id)),
                         comparisons, latest, clock)


# -- plots ------------------------------------------------------------------------------------

def plot_images(content: ReportContent) -> dict[str, QImage]:
    """The three plots as images, whatever the data (a plot without data says so)."""
    titles = dict(PLOTS)
    out = {}
    d = content.latest
    series = []
    if d is not None:
        sel = d.cop.active if d.cop.active.any() else np.ones(len(d.cop.x_mm), bool)
        series.append((np.column_stack([d.cop.x_mm[sel], d.cop.y_mm[sel]]), TRACE, 1, False))
        if d.ellipse is not None:
            series.append((d.ellipse, ELLIPSE, 3, True))
    note = "" if d is None or d.sway is None else \
        f"95 % ellipse {d.sway.ellipse95_area_mm2:.0f} mm²"
    out["stabilogram"] = _plot(titles["stabilogram"], series, note or "no trial yet")
    c = content.clock
    series = []
    if c is not None:
        leg = c.trial.leg if c.trial.leg in ("left", "right") else "right"
        centre = np.asarray((c.trial.metrics.get("centre_mm") or (0.0, 0.0))[:2], dtype=float)
        series.append((FootModel(content.foot_length_mm, leg).outline() + centre, OUTLINE, 2,
                       True))
        if c.reach is not None:
            series.append((c.reach, REACH, 3, True))
    out["reach"] = _plot(titles["reach"], series, "" if series else "no clock trial yet")
    series = [(FootModel(content.foot_length_mm, "right").outline(), OUTLINE, 2, True)]
    clock_cmp = next((cmp for _, cmp in content.comparisons if cmp.drill == "clock"), None)
    for side, colour in (("left", LEFT), ("right", RIGHT)):
        poly = clock_cmp.polygons.get(side) if clock_cmp is not None else None
        if poly is not None:
            p = np.array(poly, dtype=float)
            if side == "left":
                p[:, 0] = -p[:, 0]
            series.append((p, colour, 3, True))
    out["comparison"] = _plot(titles["comparison"], series,
                              "left in blue, right in red" if len(series) > 1 else
                              "no clock trials on both sides yet")
    return out


def _plot(title: str, series, note: str) -> QImage:
    """Aspect-locked x/y plot in mm: each series is (points (N, 2), colour, width, closed)."""
    w, h = PLOT_SIZE
    img = QImage(w, h, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPointSize(13)
        p.setFont(font)
        p.setPen(QColor("#000000"))
        p.drawText(QRectF(10, 6, w - 20, 30), Qt.AlignmentFlag.AlignLeft, title)
        font.setPointSize(10)
        p.setFont(font)
        p.setPen(QColor("#444444"))
        p.drawText(QRectF(10, 34, w - 20, 24), Qt.AlignmentFlag.AlignLeft, note)
        box = QRectF(70, 64, w - 90, h - 110)
        p.setPen(QPen(QColor("#9aa4b1"), 1))
        p.drawRect(box)
        pts = [s[0][np.isfinite(s[0]).all(axis=1)] for s in series]
        pts = [q for q in pts if len(q)]
        if not pts:
            return img
        allp = np.vstack(pts)
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        span = max(float((hi - lo).max()), 10.0) * 1.1
        mid = (lo + hi) / 2
        scale = min(box.width(), box.height()) / span
        cx, cy = box.center().x(), box.center().y()

        def to_px(xy: np.ndarray) -> QPolygonF:
            return QPolygonF([QPointF(cx + (x - mid[0]) * scale, cy - (y - mid[1]) * scale)
                              for x, y in xy])

        _axes(p, box, mid, scale, span)
        p.setClipRect(box)
        for (xy, colour, width, closed), q in zip(series, pts):
            if not len(q):
                continue
            p.setPen(QPen(QColor(colour), width))
            if len(xy) > MAX_PLOT_POINTS:
                xy = xy[::math.ceil(len(xy) / MAX_PLOT_POINTS)]
            for run in _finite_runs(xy):
                poly = to_px(run)
                p.drawPolygon(poly) if closed else p.drawPolyline(poly)
    finally:
        p.end()
    return img


def _axes(p: QPainter, box: QRectF, mid, scale: float, span: float) -> None:
    """A few ticks in mm along the bottom and left edges."""
    step = 10 ** math.floor(math.log10(span / 2))
    step *= 5 if span / step > 20 else 2 if span / step > 8 else 1
    p.setPen(QPen(QColor("#666666"), 1))
    half_w, half_h = box.width() / 2 / scale, box.height() / 2 / scale
    for axis, centre, half in ((0, mid[0], half_w), (1, mid[1], half_h)):
        v = math.ceil((centre - half) / step) * step
        while v <= centre + half:
            if axis == 0:
                x = box.center().x() + (v - centre) * scale
                p.drawText(QRectF(x - 40, box.bottom() + 4, 80, 20),
                           Qt.AlignmentFlag.AlignHCenter, f"{v:.0f}")
            else:
                y = box.center().y() - (v - centre) * scale
                p.drawText(QRectF(box.left() - 66, y - 10, 60, 20),
                           Qt.AlignmentFlag.AlignRight, f"{v:.0f}")
            v += step
    p.drawText(QRectF(box.left(), box.bottom() + 22, box.width(), 20),
               Qt.AlignmentFlag.AlignHCenter, "x (mm)")


def _finite_runs(xy: np.ndarray):
    """The stretches of consecutive finite points (no line across a gap)."""
    ok = np.isfinite(xy).all(axis=1)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(int), 0]))
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a >= 2:
            yield xy[a:b]


# -- files ------------------------------------------------------------------------------------

def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_png(path: Path, img: QImage) -> Path:
    def save(tmp: Path) -> None:
        if not img.save(str(tmp), "PNG"):
            raise OSError(f"could not write {path}")

    return _atomic(path, save)


def write_pdf(path: Path, content: ReportContent, images: dict[str, QImage]) -> Path:
    """A4: the athlete, the left/right table per drill, then the plots."""
    return _atomic(path, lambda tmp: _paint_pdf(tmp, path, content, images))


def _paint_pdf(tmp: Path, path: Path, content: ReportContent, images) -> None:
    a = content.athlete
    writer = QPdfWriter(str(tmp))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(150)
    writer.setTitle(f"StanceLab report — {a.name}")
    p = QPainter()
    if not p.begin(writer):
        raise OSError(f"could not write {path}")
    try:
        width, height = writer.width(), writer.height()
        y = 0

        def text(s: str, pt: int = 10, bold: bool = False, colour: str = "#000000") -> None:
            nonlocal y
            f = QFont()
            f.setPointSize(pt)
            f.setBold(bold)
            p.setFont(f)
            p.setPen(QColor(colour))
            line = p.fontMetrics().height()
            if y + line > height:
                writer.newPage()
                y = 0
            p.drawText(QRectF(0, y, width, line * 1.4), Qt.AlignmentFlag.AlignLeft, s)
            y += int(line * 1.3)

        text("StanceLab — balance report", 18, True)
        text(f"{a.name} · foot {content.foot_length_mm:.0f} mm · dominant leg "
             f"{a.dominant_leg or '—'} · injured side {a.injured_side or '—'}", 11)
        text(f"Sessions: {content.sessions}", 10, colour="#444444")
        y += 10
        for title, cmp in content.comparisons:
            text(f"{title}: left vs right", 13, True)
            if cmp.missing:
                text(f"Run {title.lower()} on the {' and '.join(cmp.missing)} side to compare",
                     10, colour="#444444")
            else:
                flagged = sum(1 for r in cmp.rows if r["flagged"])
                text(f"{flagged} of {len(cmp.rows)} metrics differ by more than 10 % between "
                     "sides", 10, colour="#444444")
            for r in cmp.rows:
                k = r["metric"]
                flag = "  ⚑" if r["flagged"] else ""
                text(f"{td.label_of(k):<34} L {td.fmt(r['left'], k):>12}   "
                     f"R {td.fmt(r['right'], k):>12}   asym {r['asymmetry_pct']:4.0f} %   "
                     f"better: {r['better'] or '—'}{flag}", 9)
            y += 8
        for img in images.values():
            scale = min(width / img.width(), 0.45 * height / img.height())
            h = int(img.height() * scale)
            if y + h > height:
                writer.newPage()
                y = 0
            p.drawImage(QRectF(0, y, img.width() * scale, h), img)
            y += h + 20
    finally:
        p.end()
