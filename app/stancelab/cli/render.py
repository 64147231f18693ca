"""Drill events as lines of text for a terminal next to the board.

Cues are printed large and plain (capitals for instructions), progress is throttled to whole
seconds so a slow terminal never lags the drill.
"""

from __future__ import annotations

import math

from stancelab.analysis.assessment import shown_status
from stancelab.drills.events import (
    Aborted,
    DrillDone,
    DrillWarning,
    Event,
    Instruction,
    Phase,
    PhaseChanged,
    Progress,
    Score,
    TargetShown,
    TrialDone,
    TrialStarted,
)


def _num(value, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip()


class TextRenderer:
    """Turns events into lines; keeps only what it needs to throttle countdown/progress text."""

    def __init__(self, verbose: bool = False):
        self.verbose = verbose
        self._phase: Phase | None = None
        self._last_second: int | None = None

    def render(self, event: Event) -> list[str]:
        t = f"[{event.t_s:7.2f}s]" if event.t_s is not None else "[       ]"
        if isinstance(event, TrialStarted):
            legs = "feet" if event.leg == "both" else "leg"
            return [f"{t} == Trial {event.index + 1} of {event.count}: {event.drill}, "
                    + f"{event.leg} {legs}, {event.condition} =="]
        if isinstance(event, PhaseChanged):
            self._phase = event.phase
            self._last_second = None
            return [f"{t} -- {event.phase.value}"] if self.verbose else []
        if isinstance(event, Instruction):
            return [f"{t} >> {event.text.upper()}"]
        if isinstance(event, TargetShown):
            if event.hour is None:
                return []
            where = f"({event.x_mm:+.0f}, {event.y_mm:+.0f}) mm"
            return [f"{t}    target {event.index + 1}/{event.count}: {event.hour} o'clock at "
                    + f"{where}, zone {event.zone_radius_mm:.0f} mm"]
        if isinstance(event, Progress):
            return self._progress(t, event)
        if isinstance(event, Score):
            return [self._score(t, event)]
        if isinstance(event, DrillWarning):
            return [f"{t} !! {event.text}"]
        if isinstance(event, Aborted):
            return [f"{t} XX {event.reason}"]
        if isinstance(event, TrialDone):
            r = event.result
            why = f" ({r.reason})" if r.reason else ""
            status = shown_status(r.status, r.reason, r.metrics)
            return [f"{t} == Trial {r.index + 1} {status}{why}"]
        if isinstance(event, DrillDone):
            return [f"{t} == Drill finished: {event.completed} trial(s) completed, "
                    + f"{event.aborted} not completed"]
        return []

    def _progress(self, t: str, e: Progress) -> list[str]:
        if e.remaining_s is None:
            return []
        second = math.ceil(e.remaining_s - 1e-9)
        if second == self._last_second:
            return []
        self._last_second = second
        if self._phase == Phase.COUNTDOWN and second > 0:
            return [f"{t}    {second}..."]
        if self._phase in (Phase.ACTIVE, Phase.REST) and second % 5 == 0 and second > 0:
            bar = "#" * round(20 * e.fraction)
            return [f"{t}    [{bar:<20}] {second} s left"]
        return []

    def _score(self, t: str, e: Score) -> str:
        if e.outcome == "time-out":
            reached = e.detail.get("max_excursion_pct")
            return (f"{t}    {e.label}: time-out, target not reached "
                    f"(got to {_num(reached, '%', 0)} of the edge)")
        return f"{t}    {e.label}: {_num(e.value, e.unit)}"


def render_all(events, renderer: TextRenderer | None = None) -> list[str]:
    r = renderer or TextRenderer()
    return [line for e in events for line in r.render(e)]


def summary_lines(results) -> list[str]:
    """A closing table of the trials: the numbers a coach writes down."""
    lines = []
    for r in results:
        m = r.metrics
        status = shown_status(r.status, r.reason, m)
        head = f"  {r.index + 1:>2}. {r.drill:<10} {r.leg:<5} {r.condition:<14} {status:<12}"
        if status != r.status:      # a sensor fault: no scores to print, the reason instead
            lines.append(head + (r.reason or ""))
            continue
        if r.drill == "clock":
            body = (f"edge reach {_num(m.get('edge_reach_score_pct'), '%')}, weakest "
                    f"{m.get('weakest_hour', '-')} o'clock, reached "
                    f"{m.get('targets_reached', '-')}/{len(m.get('targets', []))}")
        elif r.drill == "single-leg":
            body = (f"held {_num(m.get('time_held_s'), 's')}, touchdowns "
                    f"{_num(m.get('touchdowns'))}, sway {_num(m.get('ellipse95_area_mm2'), 'mm²', 0)}")
        else:
            body = (f"sway {_num(m.get('ellipse95_area_mm2'), 'mm²', 0)}, velocity "
                    f"{_num(m.get('mean_velocity_mm_s'), 'mm/s')}, left "
                    f"{_num(m.get('left_pct'), '%')}, front "
                    f"{_num(m.get('front_pct', m.get('board_front_pct')), '%')}")
        lines.append(head + (body if r.metrics else (r.reason or "")))
    return lines
