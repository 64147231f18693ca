"""Clock balance on one foot: lean toward 12 targets on the stance foot's outline and hold.

Targets sit at a fraction of the distance from the foot's centre to the edge of its outline
(geometry.FootModel), 12 = toes, 6 = heel, 3 = outside, 9 = inside on both feet. Each target
has a time-out and a hold requirement; between targets the athlete returns to the middle.
"""

from __future__ import annotations

import math

import numpy as np

from stancelab.analysis.filters import AnalysisSettings
from stancelab.drills import scoring
from stancelab.drills.base import Drill, TrialSpec
from stancelab.drills.events import Instruction, Score, TargetShown
from stancelab.drills.scoring import DEFAULT_ANALYSIS
from stancelab.drills.settings import ClockSettings, StanceSettings, to_dict
from stancelab.geometry import FootModel

#: Largest shift of the foot centre from the mark when re-centring is switched on (mm).
RECENTRE_MAX_MM = 20.0

#: Samples kept before each cue: the reach analysis takes the start position from them.
_LEAD_S = 0.5

_WORDS = {
    12: "toward your toes",
    1: "toward your toes, little-toe side",
    2: "forward and out, toward your little toe",
    3: "toward the outside edge of your foot",
    4: "back and out, toward the outside of your heel",
    5: "toward your heel, outside",
    6: "toward your heel",
    7: "toward your heel, inside",
    8: "back and in, toward your arch",
    9: "toward the inside edge of your foot, under the arch",
    10: "forward and in, toward the ball of your big toe",
    11: "toward your big toe",
}


def direction_words(hour: int) -> str:
    return _WORDS[hour]


class ClockBalance(Drill):
    name = "clock"

    def __init__(self, leg: str = "right", foot: FootModel | None = None, *,
                 order="clockwise", target_fraction: float = 0.8, hold_s: float = 1.0,
                 timeout_s: float = 8.0, zone_radius_mm: float | None = None,
                 return_hold_s: float = 0.5, return_timeout_s: float = 5.0,
                 recentre: bool = False, stance: StanceSettings | None = None,
                 analysis: AnalysisSettings = DEFAULT_ANALYSIS):
        foot = foot or FootModel(260.0, leg)
        if foot.side != leg:
            raise ValueError(f"the foot model is a {foot.side} foot but the drill is for the "
                             f"{leg} leg")
        self.cfg = ClockSettings(leg=leg, foot_length_mm=foot.length_mm,
                                 foot_width_mm=foot.width_mm, order=order,
                                 target_fraction=target_fraction, hold_s=hold_s,
                                 timeout_s=timeout_s, zone_radius_mm=zone_radius_mm,
                                 return_hold_s=return_hold_s, return_timeout_s=return_timeout_s,
                                 recentre=recentre, stance=stance or StanceSettings())
        self.cfg.validate()
        self.foot = foot
        self.hours = self.cfg.hours()
        self.zone_mm = zone_radius_mm if zone_radius_mm else 0.15 * foot.width
        self.analysis = analysis
        condition = f"{target_fraction:.0%} of edge"
        super().__init__(self.cfg.stance, [TrialSpec(leg, condition)], rest_s=0.0)
        self.centre_mm = self.mark_mm
        self.targets: dict[int, tuple[float, float]] = {}
        self.target_results: list[dict] = []

    @classmethod
    def from_settings(cls, s: ClockSettings, analysis: AnalysisSettings = DEFAULT_ANALYSIS):
        return cls(s.leg, FootModel(s.foot_length_mm, s.leg, s.foot_width_mm), order=s.order,
                   target_fraction=s.target_fraction, hold_s=s.hold_s, timeout_s=s.timeout_s,
                   zone_radius_mm=s.zone_radius_mm, return_hold_s=s.return_hold_s,
                   return_timeout_s=s.return_timeout_s, recentre=s.recentre, stance=s.stance,
                   analysis=analysis)

    def settings_dict(self) -> dict:
        d = to_dict(self.cfg)
        d["zone_radius_mm"] = self.zone_mm
        d["analysis"] = self.analysis.to_dict()
        return d

    def countdown_text(self, spec) -> str:
        return (f"Balance on your {spec.leg} foot. Targets start in "
                f"{self.stance.countdown_s:.0f} seconds")

    # ------------------------------------------------------------------ ACTIVE
    def active_start(self, j: int, t: float) -> None:
        self.centre_mm = self._quiet_centre(t) if self.cfg.recentre else self.mark_mm
        self.targets = {h: (x, y) for h, x, y in
                        self.foot.clock_targets(self.cfg.target_fraction, self.centre_mm)}
        self._k = 0
        self._reach = []
        self._show_target(t)

    def _quiet_centre(self, t: float) -> tuple[float, float]:
        """Opt-in re-centring: the mean COP over the whole countdown (3 s of standing still).

        Off by default: the foot stands on the printed mark, and a short mean of single-leg
        sway wanders (+-15 mm over 0.5 s on a weak leg, half the 31 mm inside edge), which
        skewed every excursion. The countdown mean wanders far less, and is capped at
        RECENTRE_MAX_MM from the mark: beyond that the foot is off the mark, not mis-measured."""
        block = self.trial_block(t - self.stance.countdown_s, t)
        ok = np.isfinite(block.cop_x_mm) & np.isfinite(block.cop_y_mm)
        mx, my = self.mark_mm
        if not ok.any():
            return (mx, my)
        dx = float(block.cop_x_mm[ok].mean()) - mx
        dy = float(block.cop_y_mm[ok].mean()) - my
        r = math.hypot(dx, dy)
        k = min(1.0, RECENTRE_MAX_MM / r) if r > 0 else 1.0
        return (mx + k * dx, my + k * dy)

    def _show_target(self, t: float) -> None:
        hour = self.hours[self._k]
        x, y = self.targets[hour]
        self._sub = "target"
        self._cue_t = t
        self._in_since = None
        self.target_label = str(hour)
        self._emit(TargetShown(t_s=t, hour=hour, x_mm=x, y_mm=y, zone_radius_mm=self.zone_mm,
                               index=self._k, count=len(self.hours)))
        self._emit(Instruction(t_s=t, text=f"{hour} o'clock: shift your weight "
                                           f"{direction_words(hour)} and hold"))

    def _show_centre(self, t: float) -> None:
        self._sub = "return"
        self._cue_t = t
        self._in_since = None
        self.target_label = "centre"
        cx, cy = self.centre_mm
        self._emit(TargetShown(t_s=t, hour=None, x_mm=cx, y_mm=cy, zone_radius_mm=self.zone_mm,
                               index=self._k, count=len(self.hours)))
        self._emit(Instruction(t_s=t, text="Back to the middle of your foot"))

    def active_step(self, j: int, t: float) -> None:
        x, y = float(self._x[j]), float(self._y[j])
        if self._sub == "target":
            tx, ty = self.targets[self.hours[self._k]]
            hold_s, limit_s = self.cfg.hold_s, self.cfg.timeout_s
        else:
            tx, ty = self.centre_mm
            hold_s, limit_s = self.cfg.return_hold_s, self.cfg.return_timeout_s
        inside = math.hypot(x - tx, y - ty) <= self.zone_mm  # False for NaN
        if inside:
            if self._in_since is None:
                self._in_since = t
        else:
            self._in_since = None
        held = t - self._in_since if self._in_since is not None else 0.0
        elapsed = t - self._cue_t
        if self._sub == "target":
            self._progress(t, (self._k + min(elapsed / limit_s, 1.0)) / len(self.hours),
                           held / hold_s, remaining_s=max(limit_s - elapsed, 0.0))
            if held >= hold_s:
                self._end_target(t, "reached")
            elif elapsed >= limit_s:
                self._end_target(t, "time-out")
        elif held >= hold_s or elapsed >= limit_s:
            self._k += 1
            self._show_target(t)

    def _end_target(self, t: float, outcome: str) -> None:
        hour = self.hours[self._k]
        block = self.trial_block(self._cue_t - _LEAD_S, t)
        m, res = scoring.clock_target(block, self.foot, hour, self.targets[hour],
                                      self.centre_mm, self.cfg.target_fraction, self.zone_mm,
                                      self.cfg.hold_s, self._cue_t, outcome, self.analysis)
        self._reach.append(m)
        self.target_results.append(res)
        self._emit(Score(t_s=t, label=f"{hour} o'clock", value=res.get("score_pct"),
                         unit="% of edge",
                         outcome=outcome, detail=res))
        if self._k + 1 < len(self.hours):
            self._show_centre(t)
        else:
            overall = scoring.clock_overall(self._reach, self.foot, self.cfg.target_fraction,
                                            self.target_results)
            self._emit(Score(t_s=t, label="edge reach",
                             value=overall.get("edge_reach_score_pct"),
                             unit="% of foot area", detail=overall))
            self.complete_trial(t, {"targets": self.target_results, **overall,
                                    "centre_mm": list(self.centre_mm)})

    def metrics_on_abort(self, t: float) -> dict:
        return {"targets": self.target_results, "centre_mm": list(self.centre_mm)}
