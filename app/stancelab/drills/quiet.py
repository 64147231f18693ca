"""Quiet two-leg stance, eyes open or closed: the baseline for sway and weight distribution."""

from __future__ import annotations

from stancelab.analysis.filters import AnalysisSettings
from stancelab.drills import scoring
from stancelab.drills.base import Drill, TrialSpec
from stancelab.drills.events import Score
from stancelab.drills.scoring import DEFAULT_ANALYSIS
from stancelab.drills.settings import QuietSettings, StanceSettings, to_dict
from stancelab.geometry import TWO_LEG_MARKS_MM


class QuietStance(Drill):
    name = "quiet"
    #: The feet stand on the two-leg marks; their midpoint is where the COP should be.
    mark_mm = tuple((TWO_LEG_MARKS_MM["left"][i] + TWO_LEG_MARKS_MM["right"][i]) / 2
                    for i in range(2))

    def __init__(self, *, eyes: str = "open", duration_s: float = 30.0,
                 foot_length_mm: float | None = None, stance: StanceSettings | None = None,
                 analysis: AnalysisSettings = DEFAULT_ANALYSIS):
        self.cfg = QuietSettings(eyes=eyes, duration_s=duration_s)
        if stance is not None:
            self.cfg.stance = stance
        self.cfg.validate()
        self.analysis = analysis
        self.foot_length_mm = foot_length_mm
        super().__init__(self.cfg.stance, [TrialSpec("both", f"eyes {eyes}")])

    @classmethod
    def from_settings(cls, s: QuietSettings, analysis: AnalysisSettings = DEFAULT_ANALYSIS,
                      foot_length_mm: float | None = None):
        return cls(eyes=s.eyes, duration_s=s.duration_s, foot_length_mm=foot_length_mm,
                   stance=s.stance, analysis=analysis)

    def settings_dict(self) -> dict:
        return {**to_dict(self.cfg), "analysis": self.analysis.to_dict()}

    def waiting_text(self, spec) -> str:
        return "Stand with both feet on the foot marks, arms by your sides, and stand still"

    def off_mark_text(self, spec) -> str:
        return "Put your feet on the two foot marks, the same distance either side of the middle"

    def countdown_text(self, spec) -> str:
        eyes = "Close your eyes and stand still" if self.cfg.eyes == "closed" else "Stand still"
        return f"{eyes}: starting in {self.stance.countdown_s:.0f} seconds"

    def active_start(self, j: int, t: float) -> None:
        self._say(t, f"Stand quietly for {self.cfg.duration_s:.0f} seconds")

    def active_step(self, j: int, t: float) -> None:
        elapsed = t - self.active_t0
        d = self.cfg.duration_s
        self._progress(t, elapsed / d, remaining_s=max(d - elapsed, 0.0))
        if elapsed >= d:
            metrics = scoring.quiet(self.trial_block(self.active_t0, t), self.analysis,
                                    self.foot_length_mm)
            for label, key, unit in (("sway area", "ellipse95_area_mm2", "mm²"),
                                     ("left share", "left_pct", "%"),
                                     ("front share", "front_pct", "%")):
                value = metrics.get(key, metrics.get(f"board_{key}"))
                self._emit(Score(t_s=t, label=label, value=value, unit=unit))
            self.complete_trial(t, metrics)
