"""Single-leg stands: N timed holds per leg, legs alternating, eyes open or closed, with rest.

A trial starts itself when the load is steady at body weight on the mark, holds for
``duration_s`` and is stopped early if the athlete steps off. Touchdowns, time to stabilise
and sway come from stancelab.analysis.single_leg over the recorded trial.

While the hold runs the drill also says, live, when the other foot touches down (a
DrillWarning "touchdown" when the load falls under the analysis's touchdown share of body
weight, and "touchdown-over" once it has been back above it for the analysis's merge gap), so
the athlete's screen can show it at once. The count in the result is the analysis's, which also
counts a sudden COP jump (the other foot put on the board); the live cue follows the load only.
"""

from __future__ import annotations

import numpy as np

from stancelab.analysis.filters import AnalysisSettings
from stancelab.analysis.single_leg import SingleLegSettings as SingleLegRules
from stancelab.drills import scoring
from stancelab.drills.base import Drill, TrialSpec
from stancelab.drills.events import DrillWarning, Score
from stancelab.drills.scoring import DEFAULT_ANALYSIS
from stancelab.drills.settings import SingleLegSettings, StanceSettings, to_dict
from stancelab.geometry import FootModel

#: Share of body weight below which the athlete is not yet fully on one foot (the step-on).
STEP_ON_SHARE = 0.85
#: The analysis's touchdown rule, which the live cue follows.
RULES = SingleLegRules()
TOUCHDOWN_TEXT = "Touchdown: lift the other foot and hold"
BACK_UP_TEXT = "Foot up again: hold"


class SingleLegStand(Drill):
    name = "single-leg"
    keeps_lead_in = True  # time to stabilisation is measured from stepping on

    def __init__(self, legs=("left", "right"), *, eyes: str = "open", n_trials: int = 3,
                 duration_s: float = 30.0, rest_s: float = 30.0, foot_length_mm: float = 260.0,
                 stance: StanceSettings | None = None,
                 analysis: AnalysisSettings = DEFAULT_ANALYSIS):
        if isinstance(legs, str):
            legs = (legs,)
        self.cfg = SingleLegSettings(legs=tuple(legs), eyes=eyes, n_trials=n_trials,
                                     duration_s=duration_s, rest_s=rest_s,
                                     foot_length_mm=foot_length_mm, stance=stance or StanceSettings())
        self.cfg.validate()
        self.analysis = analysis
        plan = [TrialSpec(leg, f"eyes {eyes}") for _ in range(n_trials) for leg in legs]
        super().__init__(self.cfg.stance, plan, rest_s=rest_s)

    @classmethod
    def from_settings(cls, s: SingleLegSettings, analysis: AnalysisSettings = DEFAULT_ANALYSIS):
        return cls(s.legs, eyes=s.eyes, n_trials=s.n_trials, duration_s=s.duration_s,
                   rest_s=s.rest_s, foot_length_mm=s.foot_length_mm, stance=s.stance,
                   analysis=analysis)

    def settings_dict(self) -> dict:
        return {**to_dict(self.cfg), "analysis": self.analysis.to_dict()}

    def waiting_text(self, spec) -> str:
        return (f"Stand on your {spec.leg} foot on the middle mark, lift the other foot "
                f"and hold still")

    def countdown_text(self, spec) -> str:
        eyes = "Close your eyes and hold still" if self.cfg.eyes == "closed" else "Hold still"
        return f"{eyes}: starting in {self.stance.countdown_s:.0f} seconds"

    def early_move_mm(self) -> float:
        # Sway with eyes closed is much larger; the same threshold would flag ordinary sway.
        return self.stance.early_move_mm * (1.5 if self.cfg.eyes == "closed" else 1.0)

    def active_start(self, j: int, t: float) -> None:
        self._touching_since: float | None = None   # the other foot is down (live cue)
        self._lifted_since: float | None = None
        self._say(t, f"Go: hold on your {self.current_spec.leg} foot for "
                     f"{self.cfg.duration_s:.0f} seconds")

    def _watch_touchdown(self, j: int, t: float) -> None:
        low = not (self._load[j] >= RULES.touchdown_load_share * self.weight_n)
        if self._touching_since is None:
            if low:
                self._touching_since, self._lifted_since = t, None
                self._emit(DrillWarning(t_s=t, text=TOUCHDOWN_TEXT, code="touchdown"))
        elif low:
            self._lifted_since = None
        elif self._lifted_since is None:
            self._lifted_since = t
        elif t - self._lifted_since >= RULES.merge_gap_s:
            self._touching_since = self._lifted_since = None
            self._emit(DrillWarning(t_s=t, text=BACK_UP_TEXT, code="touchdown-over"))

    def active_step(self, j: int, t: float) -> None:
        self._watch_touchdown(j, t)
        elapsed = t - self.active_t0
        d = self.cfg.duration_s
        self._progress(t, elapsed / d, remaining_s=max(d - elapsed, 0.0))
        if elapsed >= d:
            metrics = self._metrics(t, completed=True)
            self._scores(t, metrics)
            self.complete_trial(t, metrics)

    def _metrics(self, t: float, completed: bool) -> dict:
        # From the last moment before the countdown when the athlete was not yet fully on
        # the board: the analysis measures stepping on and stabilisation from there.
        lead = self.trial_block(self.wait_t0, self.active_t0)
        low = np.flatnonzero(~(lead.total_n >= STEP_ON_SHARE * self.weight_n))
        t0 = float(lead.t_s[low[-1]]) if low.size else self.wait_t0
        foot = FootModel(self.cfg.foot_length_mm, self.current_spec.leg)
        return scoring.single_leg(self.trial_block(t0, t), self.trial_block(self.active_t0, t),
                                  self.weight_n, foot, self.cfg.duration_s, completed,
                                  self.analysis)

    def _scores(self, t: float, metrics: dict) -> None:
        self._emit(Score(t_s=t, label="time held", value=metrics.get("time_held_s"), unit="s",
                         detail={"leg": self.current_spec.leg}))
        self._emit(Score(t_s=t, label="touchdowns", value=metrics.get("touchdowns"), unit="",
                         detail={"leg": self.current_spec.leg}))

    def metrics_on_abort(self, t: float) -> dict:
        # Stepping off is the end of the hold: the time held until then is the result.
        if self.active_t0 is None:
            return {}
        metrics = self._metrics(t, completed=False)
        self._scores(t, metrics)
        return metrics
