"""The words and number formats of the report (and of the test that reads it back).

A metric is named in words with its unit (``mean_velocity_mm_s`` -> "Mean velocity (mm/s)"),
values get a fixed number of decimals by size, and a left/right row becomes the cells the
table prints: the consistency test formats ``stancelab compare --json`` with these same
functions and finds the cells in the PDF's text.
"""

from __future__ import annotations

import math

#: Suffix -> unit, longest first, for metric keys named with their unit.
UNITS = (("_mm2_s", "mm²/s"), ("_mm_s", "mm/s"), ("_mm2", "mm²"), ("_mm", "mm"),
         ("_pct", "%"), ("_hz", "Hz"), ("_deg", "°"), ("_s", "s"), ("_n", "N"))
WORDS = {"ellipse95": "95 % ellipse", "ml": "ML", "ap": "AP", "rms": "RMS"}
DRILL_TITLES = {"clock": "Clock balance", "single-leg": "Single-leg stand",
                "quiet": "Quiet stance", "squat": "One-leg squat",
                "rdl": "One-leg Romanian deadlift with knee drive",
                "step-up": "Step-up to balance"}
#: Shown under every table that has a flagged row.
FLAG_NOTE = "* asymmetry above {flag:g} %: information only; the verdict uses the noise"


def metric_label(key: str, unit: bool = True) -> str:
    base, u = key, ""
    for suffix, name in UNITS:
        if key.endswith(suffix):
            base, u = key[: -len(suffix)], name
            break
    words = [WORDS.get(w, w) for w in base.split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({u})" if unit and u else text


def num(v) -> str:
    """A value with decimals by size: 632, 34.4, 8.68, 0.334; '—' when there is none."""
    if v is None or isinstance(v, bool):
        return "—"
    v = float(v)
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    a = abs(v)
    digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{v:.{digits}f}"


def mean_sd(mean, sd) -> str:
    return num(mean) if sd is None else f"{num(mean)} ± {num(sd)}"


def drill_title(drill: str, condition: str | None) -> str:
    title = DRILL_TITLES.get(drill, drill)
    return f"{title} ({condition})" if condition else title


def row_cells(row) -> tuple[str, str, str, str, str, str]:
    """(metric, left, right, asymmetry, noise, verdict) of an assessment SideRow (or its
    dict from ``compare --json``) exactly as the report prints them."""
    g = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
    asym = "—" if g("asymmetry_pct") is None else f"{g('asymmetry_pct'):.1f}" + \
        ("*" if g("flagged") else "")
    return (metric_label(g("metric")), mean_sd(g("left"), g("left_sd")),
            mean_sd(g("right"), g("right_sd")), asym, num(g("noise")), g("verdict"))


def reps_line(sets) -> str:
    """An exercise's reps counted per set on one leg (content.RepSets), as printed."""
    def count(v) -> str:
        return f"{v:.0f}" if v is not None and float(v).is_integer() else num(v)
    per = [f"{count(c)} of {count(p)}" if p is not None else count(c)
           for c, p in zip(sets.counted, sets.planned or [None] * len(sets.counted))]
    return (f"Reps counted per set, {sets.leg} leg (session {sets.session_id}): "
            + " · ".join(per))


def note_of(reason: str | None) -> str | None:
    """The part of a row's reason the table does not already show (the noise column shows
    'difference ... within noise ...')."""
    if not reason:
        return None
    parts = [p.strip() for p in reason.split(";")
             if p.strip() and not p.strip().startswith("difference ")]
    return "; ".join(parts) or None


def verdict_line(side) -> str:
    """The drill's verdict in words, from its rows' verdicts."""
    better = {"left": [], "right": []}
    unclear, not_comparable = 0, 0
    for r in side.rows:
        if r.verdict in ("left better", "right better"):
            label = metric_label(r.metric, unit=False)
            better[r.verdict.split()[0]].append(label[:1].lower() + label[1:])
        elif r.verdict == "not comparable":
            not_comparable += 1
        else:
            unclear += 1
    parts = []
    for leg in ("left", "right"):
        if better[leg]:
            parts.append(f"{leg} leg better on {', '.join(better[leg])}")
    if not parts:
        parts.append("no clear difference between the legs on any metric")
    elif unclear:
        parts.append(f"no clear difference on the other {unclear}")
    if not_comparable:
        parts.append(f"{not_comparable} not comparable")
    text = "; ".join(parts)
    return "Verdict: " + text[:1].upper() + text[1:] + "."


def progress_words(p) -> str:
    mdc = "no MDC95" if p.mdc95 is None else f"MDC95 {num(p.mdc95)}"
    return (f"{metric_label(p.metric, unit=False)}, {p.leg or ''} leg: {num(p.baseline)} → "
            f"{num(p.reassessment)} ({'+' if p.change >= 0 else ''}{num(p.change)}; {mdc}): "
            f"{p.verdict}")


def methods_lines(content) -> list[str]:
    """The short methods note: filter, window, ellipse, the verdict rules (from the model)."""
    rules = content.assessment.rules
    windows = sorted({s.window_s for s in content.assessment.sides if s.window_s})
    filt = "; ".join(content.filters) or "as stored with each trial"
    return [
        ("Centre of pressure (COP) from the four load cells through each session's calibration;"
        " board frame in mm, +x to the athlete's right, +y toward the toes."),
        f"Low-pass filter before every metric: {filt}.",
        "Single-leg sway is compared over the first "
        + (" / ".join(f"{w:g} s" for w in windows) if windows else "10 s")
        + " of steady stance after the time to stabilisation, the same window on both legs;"
        " a leg that never held it is scored by time held and touchdowns.",
        ("95 % ellipse: the prediction ellipse expected to hold 95 % of the COP points, area "
        "pi x c x sqrt(l1 x l2), c = 2(n-1)(n+1)/(n(n-2)) x F0.95(2, n-2), l1, l2 eigenvalues "
        "of the COP covariance (Chew 1966; Schubert & Kirchner 2014)."),
        ("Reach: the farthest COP excursion toward each clock target from the foot centre; the "
        "edge-reach score is the area of their polygon as % of the foot outline's area."),
        f"Each leg: {rules.get('aggregate', '')}. Asymmetry: {rules.get('asymmetry', '')}.",
        f"Left against right: {rules.get('noise', '')}.",
        (f"Progress: a change is real only beyond MDC95 = {rules.get('mdc95', '')}, SEM from the "
        "athlete's pooled within-session SD (Weir 2005; Haley & Fragala-Pinkham 2006)."),
        "Full definitions: docs/metrics.md.",
    ]
