"""The report's plots, each drawn on a matplotlib Axes it is given (page or PNG alike).

Light theme for print: white ground, left leg blue, right leg red (line styles differ too, so
a black-and-white print still tells them apart). Nothing here computes a score: the values
come from ReportContent (the assessment model and the stored trials).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.patches import Ellipse, Polygon
from matplotlib.ticker import MaxNLocator

from stancelab.geometry import FootModel
from stancelab.report.text import metric_label

LEG_COLOUR = {"left": "#1f5fa8", "right": "#c0262d", "both": "#2f7d32", None: "#2f7d32"}
LEG_STYLE = {"left": "-", "right": "--", "both": "-", None: "-"}
OUTLINE, TRACE_ALPHA, GRID = "#6b7280", 0.85, "#d9dde3"
KEY = "left leg blue, solid line; right leg red, dashed; both feet green"


def _style(ax, xlabel: str = "", ylabel: str = "") -> None:
    ax.set_facecolor("white")
    ax.grid(True, color=GRID, linewidth=0.5)
    ax.tick_params(labelsize=7, colors="#333333")
    for s in ax.spines.values():
        s.set_color("#9aa4b1")
        s.set_linewidth(0.6)
    # Few ticks: each tick label is a text to lay out and embed (most of a page's drawing);
    # the progress charts and the bars set their own x ticks.
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=7.5)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=7.5)


def reach_chart(ax, polygons: list) -> None:
    """Both legs' reach polygons on one right-foot outline; the left foot's polygon mirrored
    (x -> -x) so that on both the outside edge (3 o'clock) is to the right."""
    _style(ax, "mm (3 o'clock = outside edge, 9 = inside)", "mm (12 o'clock = toes)")
    if not polygons:
        ax.text(0.5, 0.5, "no clock trials on both legs", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        return
    p0 = polygons[-1]
    outline = FootModel(p0.foot_length_mm, "right", p0.foot_width_mm).outline()
    ax.add_patch(Polygon(outline, closed=True, fill=True, facecolor="#f1f3f6",
                         edgecolor=OUTLINE, linewidth=1.0, label="foot outline"))
    latest = {}
    for p in polygons:
        latest[p.leg] = p.trial_id
    for p in polygons:
        pts = p.points_mm.copy()
        if p.leg == "left":
            pts[:, 0] = -pts[:, 0]
        last = latest[p.leg] == p.trial_id
        ax.add_patch(Polygon(pts, closed=True, fill=False, edgecolor=LEG_COLOUR[p.leg],
                             linestyle=LEG_STYLE[p.leg], linewidth=1.8 if last else 0.7,
                             alpha=1.0 if last else 0.6,
                             label=f"{p.leg} leg (trial {p.trial_id})" if last else None))
        ax.plot(pts[:, 0], pts[:, 1], "o", color=LEG_COLOUR[p.leg], markersize=2.5 if last
                else 1.5)
    allp = np.vstack([outline] + [p.points_mm for p in polygons])
    half = float(np.nanmax(np.abs(allp))) * 1.08
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right", frameon=False)


def stabilogram_limits(plots: list) -> float:
    """One half-span (mm) for every stabilogram, so they share a scale."""
    half = 5.0
    for s in plots:
        cx, cy = s.sway.get("mean_x_mm", 0.0), s.sway.get("mean_y_mm", 0.0)
        half = max(half, float(np.nanmax(np.abs(s.x_mm - cx))),
                   float(np.nanmax(np.abs(s.y_mm - cy))),
                   float(s.sway.get("ellipse95_semi_major_mm") or 0.0))
    return half * 1.1


def stabilogram_chart(ax, s, half_mm: float) -> None:
    _style(ax, "ML, mm (+ = athlete's right)", "AP, mm (+ = toes)")
    w = s.sway
    cx, cy = float(w.get("mean_x_mm", 0.0)), float(w.get("mean_y_mm", 0.0))
    ax.plot(s.x_mm, s.y_mm, color=LEG_COLOUR[s.leg], linewidth=0.5, alpha=TRACE_ALPHA)
    a, b = w.get("ellipse95_semi_major_mm"), w.get("ellipse95_semi_minor_mm")
    if a and b:
        ax.add_patch(Ellipse((cx, cy), 2 * a, 2 * b, angle=w.get("ellipse95_angle_deg", 0.0),
                             fill=False, edgecolor="#e07a00", linewidth=1.5))
    ax.set_xlim(cx - half_mm, cx + half_mm)
    ax.set_ylim(cy - half_mm, cy + half_mm)
    ax.set_aspect("equal")
    area = w.get("ellipse95_area_mm2")
    ax.set_title(f"{s.leg.capitalize()} leg · trial {s.trial_id} (session {s.session_id})\n"
                 f"first {s.window_s:g} s of steady stance · 95 % ellipse "
                 f"{area:.0f} mm²" if area else f"{s.leg.capitalize()} leg", fontsize=8)


def time_held_chart(ax, per_leg: dict, target_s: float | None) -> None:
    """One bar per trial: ``per_leg[leg] = [(trial_id, time_held_s, touchdowns)]``."""
    _style(ax, "", "time held (s)")
    x, labels = 0, []
    for leg in ("left", "right"):
        for tid, held, touch in per_leg.get(leg, ()):
            ax.bar(x, held, color=LEG_COLOUR[leg], width=0.7,
                   hatch="//" if leg == "right" else None, edgecolor="white")
            ax.text(x, held, f"{held:.1f} s" + (f"\n{touch:.0f} td" if touch else ""),
                    ha="center", va="bottom", fontsize=6.5)
            labels.append((x, f"{leg[0].upper()} · trial {tid}"))
            x += 1
        x += 0.6
    if target_s:
        ax.axhline(target_s, color="#555555", linewidth=0.8, linestyle=":")
        ax.set_ylabel(f"time held (s)\n(dotted: target {target_s:g} s)", fontsize=7.5)
    ax.set_xticks([p for p, _ in labels], [t for _, t in labels], fontsize=6.5, rotation=0)
    top = max([h for v in per_leg.values() for _, h, _ in v] + [target_s or 0, 1.0])
    ax.set_ylim(0, top * 1.22)


def _day(iso: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        return dt.datetime(1970, 1, 1)


def progress_chart(ax, metric: str, lines: dict, marks: dict) -> None:
    """``lines[leg] = [SeriesPoint]``; ``marks[leg] = ProgressRow`` (baseline, reassessment,
    MDC95): the MDC band is drawn around the baseline value."""
    _style(ax, "", metric_label(metric))
    for leg, pts in lines.items():
        xs = [_day(p.started) for p in pts]
        ys = [p.mean for p in pts]
        many = len(pts) > 30
        ax.plot(xs, ys, LEG_STYLE[leg], color=LEG_COLOUR[leg], linewidth=0.5 if many else 0.9,
                alpha=0.75 if many else 1.0, marker="o", markersize=1.8 if many else 3.5)
        p = marks.get(leg)
        if p is None:
            continue
        when = {pt.session_id: _day(pt.started) for pt in pts}
        if p.mdc95 is not None and p.baseline_session in when:
            ax.axhspan(p.baseline - p.mdc95, p.baseline + p.mdc95, color=LEG_COLOUR[leg],
                       alpha=0.10, linewidth=0)
        for sid, value, tag in ((p.baseline_session, p.baseline, "baseline"),
                                (p.reassessment_session, p.reassessment, "reassessment")):
            if sid in when:
                ax.plot([when[sid]], [value], marker="s" if tag == "baseline" else "D",
                        markersize=6, markerfacecolor="white", markeredgecolor=LEG_COLOUR[leg],
                        markeredgewidth=1.4, linestyle="none")
                ax.annotate(tag[0].upper(), (when[sid], value), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=6.5, color=LEG_COLOUR[leg])
    # No legend inside the plot: the page says once which colour is which leg (KEY).
    # (tick_params, not the labels themselves: asking for them lays out ticks the date
    # locator below replaces)
    ax.tick_params(axis="x", labelsize=6.5)
    ax.xaxis.set_major_locator(_date_locator())
    ax.xaxis.set_major_formatter(_date_formatter())


def _date_locator():
    from matplotlib.dates import AutoDateLocator
    return AutoDateLocator(minticks=2, maxticks=4)


def _date_formatter():
    from matplotlib.dates import DateFormatter
    return DateFormatter("%Y-%m-%d")
