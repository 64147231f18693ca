"""What the coach's report shows, read from the database: no drawing and no Qt here.

Every number comes from the assessment model (``analysis.assessment.assess``): the left/right
rows, the progress rows (baseline, reassessment, MDC95), the excluded trials and, for the
progress charts, the model's per-session groups (``Assessment.history``: each point is the
mean of that session's valid trials by the same rules). The only
things read besides the model are what it does not hold: the sessions' board and calibration
(the header), the stored trials' reach targets (the polygons) and, for the two stabilograms,
the samples of one trial per leg over the window the model compared. An exercise's reps
counted per set are the model's own per-trial values (``MetricStats.values`` of the group it
compared on each leg).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stancelab import __version__
from stancelab.analysis import AnalysisSettings, prepare
from stancelab.analysis.assessment import Assessment, TrialRecord, assess
from stancelab.analysis.reach import trial_reach_polygon
from stancelab.calibration import cop_from_forces, default_calibration
from stancelab.exercises.settings import KINDS as EXERCISES
from stancelab.station.assessment import trial_records
from stancelab.storage import StorageError

Progress = Callable[[int, int], None]

#: The metrics charted across sessions, per drill (those of them the model scored). An
#: exercise's: reps counted, frontal-plane control and balance after the reps, the ones it
#: judges progress on (METRIC_DIRECTION), per set as the model averages them.
HEADLINE = {"clock": ("edge_reach_score_pct", "weakest_max_excursion_pct"),
            "single-leg": ("time_held_s", "mean_velocity_mm_s", "ellipse95_area_mm2"),
            "quiet": ("ellipse95_area_mm2", "mean_velocity_mm_s"),
            **{kind: ("reps_counted", "ml_excursion_mm", "balance_held_s")
               for kind in EXERCISES}}
#: Points drawn per stabilogram at most (a 10 s window at 80 Hz is 800).
MAX_TRACE_POINTS = 4000


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says what to do instead."""


@dataclass(frozen=True)
class SessionInfo:
    id: int
    started: str
    board: str
    calibration: str       # "2026-12-02 (tare+gain)" or "none: nominal gains"


@dataclass(frozen=True)
class Stabilogram:
    leg: str
    trial_id: int
    session_id: int
    window_s: float
    x_mm: np.ndarray        # the COP over the window, as analysed (filtered, uniform time)
    y_mm: np.ndarray
    sway: dict              # the stored window sway metrics (ellipse, means)


@dataclass(frozen=True)
class ReachPolygon:
    leg: str
    trial_id: int
    session_id: int
    points_mm: np.ndarray   # around the foot centre, in the stance foot's own frame
    foot_length_mm: float
    foot_width_mm: float | None


@dataclass(frozen=True)
class SeriesPoint:
    session_id: int
    started: str
    mean: float
    sd: float | None
    n: int


@dataclass(frozen=True)
class RepSets:
    """The sets of one exercise on one leg that the model compared, in order."""

    leg: str
    session_id: int
    trial_ids: list
    counted: list            # reps counted per set
    planned: list            # reps planned per set (empty when the model has none)


@dataclass
class ReportContent:
    athlete: object                      # storage.Athlete
    generated: str
    app_version: str
    date_from: dt.date | None
    date_to: dt.date | None
    sessions: list                       # SessionInfo of the sessions with trials, in order
    assessment: Assessment
    filters: list                        # distinct analysis filter descriptions used
    stabilograms: dict = field(default_factory=dict)   # (drill, condition) -> [Stabilogram]
    reach: dict = field(default_factory=dict)          # condition -> [ReachPolygon]
    # (drill, leg, condition, metric) -> [SeriesPoint] in session order
    series: dict = field(default_factory=dict)
    # (exercise, condition) -> [RepSets], left then right
    reps: dict = field(default_factory=dict)

    @property
    def first_date(self) -> str:
        return self.sessions[0].started[:10] if self.sessions else ""

    @property
    def last_date(self) -> str:
        return self.sessions[-1].started[:10] if self.sessions else ""


def parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, "
                          "e.g. 2026-03-01") from None


def _in_range(started: str, lo: dt.date | None, hi: dt.date | None) -> bool:
    try:
        day = dt.date.fromisoformat(started[:10])
    except ValueError:
        return lo is None and hi is None
    return (lo is None or day >= lo) and (hi is None or day <= hi)


def gather(store, athlete, date_from: dt.date | None = None, date_to: dt.date | None = None,
           progress: Progress | None = None, generated: str | None = None) -> ReportContent:
    """Everything the report shows for ``athlete``'s sessions from ``date_from`` to
    ``date_to`` (inclusive, by the session's start date). ``progress(done, total)`` after
    each step. Raises ReportError when there is nothing to report."""
    tell = progress or (lambda done, total: None)
    steps = 5
    if date_from and date_to and date_from > date_to:
        raise ReportError(f"--from {date_from} is after --to {date_to}; swap them")
    records = [r for r in trial_records(store, athlete.id)
               if _in_range(r.session_started, date_from, date_to)]
    if not records:
        span = "" if not (date_from or date_to) else \
            f" between {date_from or 'the start'} and {date_to or 'today'}"
        raise ReportError(f"{athlete.name} has no trials{span}; run a drill first "
                          "(e.g. stancelab run-drill clock --simulate) or widen the dates")
    tell(1, steps)
    a = assess(records)
    sids = list(dict.fromkeys(r.session_id for r in records))
    sessions = {s.id: s for s in store.sessions(athlete.id)}
    cals: dict = {}          # calibration id -> its words: sessions share a few calibrations
    infos = [_session_info(store, sessions[sid], cals) for sid in sids if sid in sessions]
    infos.sort(key=lambda s: (s.started, s.id))
    filters = list(dict.fromkeys(
        (r.settings.get("analysis") or {}).get("filter_description")
        for r in records if (r.settings.get("analysis") or {}).get("filter_description")))
    content = ReportContent(athlete, generated or dt.datetime.now().astimezone().isoformat(
        timespec="minutes"), __version__, date_from, date_to, infos, a, filters)
    tell(2, steps)
    by_id = {r.id: r for r in records}
    content.reach = _reach_polygons(a, by_id)
    tell(3, steps)
    content.stabilograms = _stabilograms(store, a, by_id)
    tell(4, steps)
    content.series = _series(a)
    content.reps = _rep_sets(a)
    tell(5, steps)
    return content


def _session_info(store, s, cals: dict) -> SessionInfo:
    board = "no id" if s.board_id is None else format(s.board_id, "08x")
    cal = "none: nominal gains"
    if s.calibration_id:
        if s.calibration_id not in cals:
            try:
                c = store.calibration(s.calibration_id)
                cals[s.calibration_id] = f"{c.created[:10]} ({c.method})"
            except StorageError:
                cals[s.calibration_id] = f"{s.calibration_id} (not in the database)"
        cal = cals[s.calibration_id]
    return SessionInfo(s.id, s.started, board, cal)


def _side_trials(a: Assessment, drill: str, condition, by_id: dict) -> dict[str, list]:
    """The valid trials the model compared for one drill x condition, per leg, in order."""
    out = {}
    for side in a.sides:
        if side.drill != drill or side.condition != condition:
            continue
        for g in a.groups:
            if (g.drill, g.condition) == (drill, condition) and g.leg in ("left", "right") \
                    and g.session_id == side.sessions.get(g.leg):
                out[g.leg] = [by_id[t] for t in g.trial_ids if t in by_id]
    return out


def _reach_polygons(a: Assessment, by_id: dict) -> dict:
    out = {}
    for side in a.sides:
        if side.drill != "clock":
            continue
        polys = []
        for leg, trials in _side_trials(a, "clock", side.condition, by_id).items():
            for r in trials:
                pts = trial_reach_polygon(r.metrics)
                if pts is None:
                    continue
                polys.append(ReachPolygon(leg, r.id, r.session_id, pts,
                                          float(r.settings.get("foot_length_mm") or 260.0),
                                          r.settings.get("foot_width_mm")))
        out[side.condition] = polys
    return out


def _stabilograms(store, a: Assessment, by_id: dict) -> dict:
    """Per single-leg condition, one trial per leg: the latest the model compared whose
    window was held, with its COP over that window."""
    out = {}
    for side in a.sides:
        if side.drill != "single-leg":
            continue
        plots = []
        for leg, trials in sorted(_side_trials(a, "single-leg", side.condition,
                                               by_id).items()):
            held = [r for r in trials if ((r.metrics.get("window") or {}).get("sway"))]
            if not held:
                continue
            r = held[-1]
            plot = _window_trace(store, r, leg)
            if plot is not None:
                plots.append(plot)
        out[side.condition] = plots
    return out


def _window_trace(store, r: TrialRecord, leg: str) -> Stabilogram | None:
    w = r.metrics["window"]
    t0 = r.metrics.get("steady_start_s")
    if t0 is None or not w.get("window_s"):
        return None
    s = store.read_samples(r.id)
    session = store.session(r.session_id)
    cal = default_calibration(session.board_id, session.firmware)
    if session.calibration_id:
        try:
            cal = store.calibration(session.calibration_id)
        except StorageError:
            pass
    sel = (s.t_s >= t0) & (s.t_s <= t0 + float(w["window_s"]))
    if sel.sum() < 20:
        return None
    _, x, y = cop_from_forces(cal.forces_n(s.counts[sel].astype(float)), cal.geometry)
    settings = AnalysisSettings.from_dict(r.settings.get("analysis") or {})
    try:
        p = prepare(s.t_s[sel], x, y, settings)
    except ValueError:
        return None
    step = max(1, len(p.x_mm) // MAX_TRACE_POINTS + (len(p.x_mm) % MAX_TRACE_POINTS > 0))
    return Stabilogram(leg, r.id, r.session_id, float(w["window_s"]), p.x_mm[::step],
                       p.y_mm[::step], dict(w["sway"]))


def _rep_sets(a: Assessment) -> dict:
    """Per exercise x condition, per leg: reps counted (and planned) in each set the model
    compared for left against right."""
    out: dict = {}
    for side in a.sides:
        if side.drill not in EXERCISES:
            continue
        sets = []
        for leg in ("left", "right"):
            for g in a.groups:
                if (g.drill, g.condition, g.leg) == (side.drill, side.condition, leg) and \
                        g.session_id == side.sessions.get(leg) and "reps_counted" in g.metrics:
                    planned = g.metrics.get("reps_planned")
                    sets.append(RepSets(leg, g.session_id, list(g.trial_ids),
                                        list(g.metrics["reps_counted"].values),
                                        list(planned.values) if planned else []))
        out[(side.drill, side.condition)] = sets
    return out


def _series(a: Assessment) -> dict:
    """The model's per-session mean of each headline metric, per drill x leg x condition
    (``Assessment.history``: every session's group, oldest first)."""
    out: dict = {}
    for g in a.history:
        for metric in HEADLINE.get(g.drill, ()):
            st = g.metrics.get(metric)
            if st is not None:
                out.setdefault((g.drill, g.leg, g.condition, metric), []).append(
                    SeriesPoint(g.session_id, a.sessions.get(g.session_id, ""), st.mean,
                                st.sd, st.n))
    return out
