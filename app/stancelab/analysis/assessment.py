"""The coach's verdict: one assessment model over an athlete's stored trials (no Qt, no storage).

``assess(records)`` groups the valid trials per drill x leg x condition, compares left with
right only where the difference exceeds the measurement noise, and judges progress from a
baseline to a reassessment session against the minimal detectable change. Every face (CLI,
Compare screen, Results headline, PDF) reads this model. The rules and their references are in
docs/metrics.md ("The assessment").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from stancelab.analysis.compare import (
    DEFAULT_FLAG_PCT,
    METRIC_DIRECTION,
    asymmetry_pct,
    better_side,
    finite_number,
)
from stancelab.analysis.tdist import t_quantile

#: Sway metrics that depend on how long the sway was measured: compared only over equal windows.
DURATION_METRICS = frozenset((
    "ellipse95_area_mm2", "ellipse95_semi_major_mm", "ellipse95_semi_minor_mm",
    "hull_area_mm2", "path_length_mm", "path_length_ml_mm", "path_length_ap_mm",
    "mean_velocity_mm_s", "mean_velocity_ml_mm_s", "mean_velocity_ap_mm_s", "rms_mm",
    "rms_ml_mm", "rms_ap_mm", "range_ml_mm", "range_ap_mm", "mean_distance_mm",
    "sway_area_per_s_mm2_s"))

#: Published test-retest error as a fraction of the mean (typical error / mean), used when a leg
#: has a single trial. Sway velocity: J Sports Sci Med 2018;17:174-180, Table 2, single-leg
#: force-plate stance, inter-trial typical error 0.010 of 0.085 m/s (%CV 12). Path length over a
#: fixed window is velocity x window, so it carries the same relative error. Metrics not listed
#: have no cited value: with one trial per leg they get 'no clear difference'.
PUBLISHED_REL_SEM: dict[str, tuple[float, str]] = {
    "mean_velocity_mm_s": (0.12, "published test-retest error 12 % (J Sports Sci Med 2018;17:174)"),
    "path_length_mm": (0.12, "published test-retest error 12 % (J Sports Sci Med 2018;17:174)"),
}

#: The rows a coach reads first (the drills' scores, then the key sway figures); the rest
#: follow in METRIC_DIRECTION's order.
FIRST_METRICS = ("edge_reach_score_pct", "weakest_max_excursion_pct", "time_held_s",
                 "touchdowns", "time_to_stabilisation_s", "mean_velocity_mm_s",
                 "ellipse95_area_mm2", "path_length_mm")

#: Trials with more lost frames than this share of their samples are excluded.
MAX_LOST_FRAME_SHARE = 0.02
Z95 = 1.96

#: What drills/runner.py writes into the reason of a trial recorded through a dead, saturated
#: or otherwise faulty cell (with ``metrics["sensor_ok"] = False``; its scores are dropped).
SENSOR_FAULT_REASON = "recorded through a sensor fault"
#: The status every face shows for such a trial (the stored status stays the drill's own).
SENSOR_FAULT = "sensor fault"


def is_sensor_fault(reason: str | None, metrics: dict | None = None) -> bool:
    """Recorded through a sensor fault: the health flag in the metrics, or (where only the
    trial's columns were read, as in the trial lists) the runner's words in the reason."""
    if metrics is not None and metrics.get("sensor_ok") is False:
        return True
    return bool(reason) and SENSOR_FAULT_REASON in reason


def shown_status(status: str, reason: str | None = None, metrics: dict | None = None) -> str:
    """The status a face shows: the stored one, or "sensor fault" for a finished trial recorded
    through one (not scored), so no list, table or export line calls it "completed"."""
    if status != "recording" and is_sensor_fault(reason, metrics):
        return SENSOR_FAULT
    return status


@dataclass(frozen=True)
class TrialRecord:
    id: int
    session_id: int
    session_started: str
    drill: str
    leg: str | None
    condition: str | None
    status: str
    reason: str | None
    metrics: dict
    settings: dict


@dataclass(frozen=True)
class MetricStats:
    mean: float
    sd: float | None
    n: int
    values: list


@dataclass(frozen=True)
class Group:
    drill: str
    leg: str | None
    condition: str | None
    session_id: int | None
    n: int
    trial_ids: list
    metrics: dict  # metric -> MetricStats


@dataclass(frozen=True)
class SideRow:
    metric: str
    left: float | None
    right: float | None
    left_sd: float | None
    right_sd: float | None
    n_left: int
    n_right: int
    asymmetry_pct: float | None
    flagged: bool
    noise: float | None
    noise_source: str
    better: str | None
    verdict: str
    reason: str | None = None


@dataclass(frozen=True)
class SideComparison:
    drill: str
    condition: str | None
    window_s: float | None
    n_left: int
    n_right: int
    sessions: dict
    note: str | None
    rows: list


@dataclass(frozen=True)
class ProgressRow:
    drill: str
    leg: str | None
    condition: str | None
    metric: str
    baseline: float
    reassessment: float
    change: float
    mdc95: float | None
    sem_source: str
    verdict: str
    baseline_session: int | None = None
    reassessment_session: int | None = None


@dataclass(frozen=True)
class Excluded:
    trial_id: int
    session_id: int
    drill: str
    leg: str | None
    reason: str
    status: str = ""            # shown_status: "sensor fault", "aborted", "interrupted", ...
    condition: str | None = None


@dataclass
class Assessment:
    groups: list = field(default_factory=list)      # the reassessment session's, per key
    sides: list = field(default_factory=list)
    progress: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    rules: dict = field(default_factory=dict)
    #: Every session's group per drill x leg x condition, oldest session first (the progress
    #: plots); ``sessions`` maps session id -> start time, in session order.
    history: list = field(default_factory=list)
    sessions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rules": dict(self.rules),
                "groups": [asdict(g) for g in self.groups],
                "sides": [asdict(s) for s in self.sides],
                "progress": [asdict(p) for p in self.progress],
                "excluded": [asdict(e) for e in self.excluded]}

    def place_of(self, trial_id: int) -> tuple[Group | None, Excluded | None]:
        """Where one trial stands: the session group it is scored in, or why it is not."""
        for e in self.excluded:
            if e.trial_id == trial_id:
                return None, e
        for g in self.history:
            if trial_id in g.trial_ids:
                return g, None
        return None, None

    def side_of(self, drill: str, condition: str | None) -> SideComparison | None:
        return next((s for s in self.sides if s.drill == drill and s.condition == condition),
                    None)


# ------------------------------------------------------------------ helpers
def exclusion_reason(r: TrialRecord) -> str | None:
    """Why a trial is left out of the scores, or None when it counts."""
    m = r.metrics or {}
    if r.status == "recording":
        return "still recording (or the program stopped during it)"
    if r.status == "interrupted":
        return "interrupted" + (f": {r.reason}" if r.reason else "")
    if is_sensor_fault(r.reason, m):
        return r.reason or SENSOR_FAULT_REASON
    if not m:
        return "no scores" + (f": {r.reason}" if r.reason else "")
    lost, samples = finite_number(m.get("lost_frames")), finite_number(m.get("samples"))
    if lost and samples and lost / (lost + samples) > MAX_LOST_FRAME_SHARE:
        return (f"{lost:.0f} lost frames ({100 * lost / (lost + samples):.1f} % > "
                f"{100 * MAX_LOST_FRAME_SHARE:g} %)")
    if r.status == "aborted":
        # A single-leg stand ended by stepping off is a result: time held counts.
        if r.drill == "single-leg" and finite_number(m.get("time_held_s")) is not None:
            return None
        return "aborted" + (f": {r.reason}" if r.reason else "")
    return None


def trial_values(r: TrialRecord) -> dict[str, float]:
    """The numbers compared for one trial. Single-leg sway comes from the fixed window
    (``metrics['window']``) only; clock trials add each per-target metric averaged over the
    targets."""
    m = r.metrics or {}
    out = {}
    for k, v in m.items():
        f = finite_number(v)
        if f is None:
            continue
        if r.drill == "single-leg" and k in DURATION_METRICS:
            continue  # over the whole steady part: its length differs from trial to trial
        out[k] = f
    if r.drill == "single-leg":
        w = m.get("window") or {}
        for k, v in (w.get("sway") or {}).items():
            f = finite_number(v)
            if f is not None and k in DURATION_METRICS:
                out[k] = f
    if r.drill == "clock":
        per = [{k: finite_number(v) for k, v in t.items()} for t in m.get("targets", [])]
        for k in dict.fromkeys(k for t in per for k in t):
            vs = [t[k] for t in per if t.get(k) is not None]
            if vs and k not in out:
                out[k] = sum(vs) / len(vs)
    return out


def _stats(values: list[float]) -> MetricStats:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n >= 2 else None
    return MetricStats(mean=mean, sd=sd, n=n, values=list(values))


def _group(drill, leg, cond, session_id, recs: list[TrialRecord]) -> Group:
    vals = [trial_values(r) for r in recs]
    keys = list(dict.fromkeys(k for v in vals for k in v))
    metrics = {k: _stats([v[k] for v in vals if k in v]) for k in keys}
    return Group(drill, leg, cond, session_id, len(recs), [r.id for r in recs], metrics)


def _window_s(recs: list[TrialRecord]) -> float | None:
    for r in recs:
        w = (r.metrics or {}).get("window") or {}
        if finite_number(w.get("window_s")) is not None:
            return float(w["window_s"])
    return None


# ------------------------------------------------------------------ left / right
def welch_bound(sd_l: float, n_l: int, sd_r: float, n_r: int) -> tuple[float, float]:
    """Smallest |mean_L - mean_R| a two-sided Welch t-test calls significant at 5 %: t quantile
    (Welch-Satterthwaite degrees of freedom) x the standard error of the difference."""
    a, b = sd_l ** 2 / n_l, sd_r ** 2 / n_r
    se = math.sqrt(a + b)
    if se == 0:
        return 0.0, Z95
    dof = (a + b) ** 2 / (a ** 2 / (n_l - 1) + b ** 2 / (n_r - 1))
    # tdist: scipy.special.stdtrit's quantile (to 1e-13) without its 0.25 s import
    q = t_quantile(0.975, dof)
    return q * se, q


def _side_row(metric, gl: Group, gr: Group, flag_pct: float) -> SideRow:
    sl, sr = gl.metrics.get(metric), gr.metrics.get(metric)
    nl, nr = (sl.n if sl else 0), (sr.n if sr else 0)
    if sl is None or sr is None:
        return SideRow(metric, sl.mean if sl else None, sr.mean if sr else None,
                       sl.sd if sl else None, sr.sd if sr else None, nl, nr, None, False,
                       None, "", None, "not comparable", None)
    left, right = sl.mean, sr.mean
    asym = asymmetry_pct(left, right)
    side = better_side(metric, left, right)
    if nl >= 2 and nr >= 2:
        noise, q = welch_bound(sl.sd, nl, sr.sd, nr)
        source = f"athlete's trials: Welch t-test 5 %, t {q:.2f} x sqrt(sd_L^2/{nl} + sd_R^2/{nr})"
    elif metric in PUBLISHED_REL_SEM:
        rel, source = PUBLISHED_REL_SEM[metric]
        sem = rel * (abs(left) + abs(right)) / 2
        # difference of two means of nl and nr single trials, each with error SEM
        noise = Z95 * sem * math.sqrt(1 / nl + 1 / nr)
    else:
        noise, source = None, "one trial on a leg and no published test-retest error"
    reason = None
    if side is None:
        verdict = "no clear difference"
        reason = "no better direction for this metric"
    elif side == "equal":
        verdict = "no clear difference"
    elif noise is None:
        verdict = "no clear difference"
        reason = source
    elif abs(left - right) > noise:
        verdict = f"{side} better"
    else:
        verdict = "no clear difference"
        reason = f"difference {abs(left - right):.3g} within noise {noise:.3g}"
    if nl < 2 or nr < 2:
        few = ", ".join(f"{leg} {n} valid trial(s)" for leg, n in (("left", nl), ("right", nr))
                        if n < 2)
        reason = f"{few}; {reason}" if reason else few
    return SideRow(metric, left, right, sl.sd, sr.sd, nl, nr, asym, asym > flag_pct, noise,
                   source, side, verdict, reason)


def _sides(drill, cond, gl: Group, gr: Group, recs_l, recs_r, flag_pct) -> SideComparison:
    window = _window_s(recs_l + recs_r) if drill == "single-leg" else None
    metrics = [m for m in dict.fromkeys(list(gl.metrics) + list(gr.metrics))
               if m in METRIC_DIRECTION]
    if drill == "single-leg":
        for m in DURATION_METRICS:
            if m in METRIC_DIRECTION and m not in metrics and (m in gl.metrics or m in gr.metrics
                                                                or window is not None):
                metrics.append(m)
    rows = []
    for m in metrics:
        row = _side_row(m, gl, gr, flag_pct)
        if row.verdict == "not comparable" and drill == "single-leg" and m in DURATION_METRICS:
            short = [leg for leg, g in (("left", gl), ("right", gr)) if m not in g.metrics]
            w = f"{window:g} s" if window else "the fixed"
            row = SideRow(**{**asdict(row), "reason": (
                f"{' and '.join(short)} leg: no trial held {w} window of steady stance; "
                "scored by time held and touchdowns")})
        if row.left is None and row.right is None:
            continue
        rows.append(row)
    order = {m: i for i, m in enumerate(dict.fromkeys((*FIRST_METRICS, *METRIC_DIRECTION)))}
    rows.sort(key=lambda r: order.get(r.metric, len(order)))
    note = None
    if gl.n != gr.n:
        note = f"left {gl.n} valid trial(s), right {gr.n}"
    return SideComparison(drill, cond, window, gl.n, gr.n,
                          {"left": gl.session_id, "right": gr.session_id}, note, rows)


# ------------------------------------------------------------------ progress
def _progress(drill, leg, cond, base: Group, re: Group) -> list[ProgressRow]:
    rows = []
    for metric, sb in base.metrics.items():
        if metric not in METRIC_DIRECTION or metric not in re.metrics:
            continue
        sr = re.metrics[metric]
        sds = [(s.sd, s.n) for s in (sb, sr) if s.sd is not None]
        if sds:
            # pooled within-session SD of this athlete's trials (Weir 2005)
            dof = sum(n - 1 for _, n in sds)
            sem = math.sqrt(sum(sd ** 2 * (n - 1) for sd, n in sds) / dof)
            source = "athlete's within-session SD"
        elif metric in PUBLISHED_REL_SEM:
            rel, source = PUBLISHED_REL_SEM[metric]
            sem = rel * abs(sb.mean)
        else:
            sem, source = None, "one trial per session and no published test-retest error"
        mdc = None if sem is None else Z95 * math.sqrt(2) * sem
        change = sr.mean - sb.mean
        if mdc is None or abs(change) <= mdc:
            verdict = "within measurement noise"
        else:
            lower = METRIC_DIRECTION[metric] == "lower"
            verdict = "better" if (change < 0) == lower else "worse"
        rows.append(ProgressRow(drill, leg, cond, metric, sb.mean, sr.mean, change, mdc, source,
                                verdict, base.session_id, re.session_id))
    return rows


# ------------------------------------------------------------------ entry point
def assess(records, *, baseline_session: int | None = None,
           reassessment_session: int | None = None,
           flag_pct: float = DEFAULT_FLAG_PCT) -> Assessment:
    records = list(records)
    out = Assessment(rules={
        "asymmetry": "|L - R| / max(|L|, |R|) x 100, flagged above "
                     f"{flag_pct:g} % (information only)",
        "aggregate": "mean and SD of the valid trials per leg and condition",
        "noise": "two or more trials per leg: Welch t-test at 5 % (t x sqrt(sd_L^2/n_L + "
                 "sd_R^2/n_R)); one "
                 "trial: published test-retest error, else no verdict",
        "mdc95": "1.96 x sqrt(2) x SEM", "max_lost_frame_share": MAX_LOST_FRAME_SHARE,
        "flag_pct": flag_pct})
    valid: list[TrialRecord] = []
    for r in records:
        why = exclusion_reason(r)
        if why is None:
            valid.append(r)
        else:
            out.excluded.append(Excluded(r.id, r.session_id, r.drill, r.leg, why,
                                         shown_status(r.status, r.reason, r.metrics),
                                         r.condition))
    order = {}
    for r in records:
        order.setdefault(r.session_id, (r.session_started or "", r.session_id))
    for sid in sorted(order, key=order.get):
        out.sessions[sid] = order[sid][0]
    # (drill, leg, cond) -> session -> records
    by: dict[tuple, dict[int, list[TrialRecord]]] = {}
    for r in valid:
        by.setdefault((r.drill, r.leg, r.condition), {}).setdefault(r.session_id, []).append(r)
    chosen: dict[tuple, tuple[int, list]] = {}
    for key, sessions in by.items():
        sids = sorted(sessions, key=lambda s: order[s])
        out.history.extend(_group(*key, s, sessions[s]) for s in sids)
        sid = reassessment_session if reassessment_session in sessions else sids[-1]
        if reassessment_session is not None and reassessment_session not in sessions:
            continue
        chosen[key] = (sid, sessions[sid])
        out.groups.append(_group(*key, sid, sessions[sid]))
        base = baseline_session if baseline_session is not None else sids[0]
        if base in sessions and base != sid:
            out.progress.extend(_progress(*key, _group(*key, base, sessions[base]),
                                          _group(*key, sid, sessions[sid])))
    pairs = dict.fromkeys((d, c) for d, leg, c in chosen if leg in ("left", "right"))
    for drill, cond in pairs:
        lk, rk = (drill, "left", cond), (drill, "right", cond)
        if lk in chosen and rk in chosen:
            gl = _group(*lk, *chosen[lk])
            gr = _group(*rk, *chosen[rk])
            out.sides.append(_sides(drill, cond, gl, gr, chosen[lk][1], chosen[rk][1],
                                    flag_pct))
    return out
