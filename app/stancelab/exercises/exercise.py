"""An exercise: sets of reps on one leg, a state machine fed processed blocks like the drills.

It reuses the drill lifecycle (drills.base.Drill): each set is a trial with a lead-in (steady on
the mark on the stance leg: the weigh-in whose load is the body weight the reps are measured
against), a countdown, the ACTIVE part where reps are counted, and rest before the next set.
Time comes only from the samples. A set ends when the planned number of reps has been
attempted (after the balance hold of the last one), after ``idle_s`` without a rep (fewer reps
done than planned), or when the athlete steps off (squat, RDL: the set is aborted with what was
done). The rep detectors are in exercises.reps, the numbers in exercises.scoring.
"""

from __future__ import annotations

import numpy as np

from stancelab.drills.base import Drill, TrialSpec
from stancelab.drills.events import DrillWarning, Score
from stancelab.exercises import scoring
from stancelab.exercises.reps import MovementReps, RepTimes, StepUpReps
from stancelab.exercises.settings import TITLES, ExerciseSettings, to_dict
from stancelab.geometry import G

OTHER = {"left": "right", "right": "left"}


class Exercise(Drill):
    def __init__(self, settings: ExerciseSettings):
        settings.validate()
        self.cfg = settings
        self.name = settings.kind
        plan = [TrialSpec(settings.leg, f"{settings.reps} reps") for _ in range(settings.sets)]
        super().__init__(settings.stance, plan, rest_s=settings.rest_s)
        self._reset_set()

    @property
    def title(self) -> str:
        return TITLES[self.cfg.kind]

    def _reset_set(self) -> None:
        c = self.cfg
        self.detector = StepUpReps(c.detect) if c.kind == "step-up" else \
            MovementReps(c.detect, knee_drive=c.kind == "rdl")
        self.reps: list[dict] = []
        self._pending: RepTimes | None = None
        self._last_activity = 0.0
        self._body_n = 0.0

    # ------------------------------------------------------------------ words
    def settings_dict(self) -> dict:
        return {**to_dict(self.cfg), "exercise": self.cfg.kind}

    def describe(self, spec) -> str:
        return f"{self.title}, {spec.leg} leg"

    def waiting_text(self, spec) -> str:
        return (f"{self.title}: stand on your {spec.leg} foot on the middle mark and hold still "
                f"to be weighed")

    def countdown_text(self, spec) -> str:
        return f"Hold still: starting in {self.stance.countdown_s:.0f} seconds"

    def active_text(self, spec) -> str:
        c, other = self.cfg, OTHER[spec.leg]
        if c.kind == "squat":
            return (f"Go: {c.reps} x a slow one-leg squat on your {spec.leg} leg, knee over the "
                    f"foot; stand tall and hold {c.hold_s:g} s after each")
        if c.kind == "rdl":
            return (f"Go: {c.reps} x a deadlift on your {spec.leg} leg: hinge forward, come up and "
                    f"drive your {other} knee up; hold {c.hold_s:g} s after each")
        return (f"Go: step down beside the board, then step up onto your {spec.leg} foot, "
                f"drive the {other} knee up and hold {c.hold_s:g} s; {c.reps} "
                f"time{'s' if c.reps != 1 else ''}")

    # ------------------------------------------------------------------ the set
    def active_start(self, j: int, t: float) -> None:
        self._reset_set()
        self._last_activity = t
        # The weigh-in: the mean load over the countdown (the athlete stood still on the stance
        # leg throughout, or it would have restarted). A typed-in body mass or the shorter
        # steadiness window is off by up to 1 %, which is 0.1 m/s^2 of acceleration.
        lead = self.trial_block(t - self.stance.countdown_s + 0.25, t).total_n
        self._body_n = float(lead.mean()) if lead.size else (self._ref_load or self.weight_n)
        self._say(t, self.active_text(self.current_spec))

    def _stepped_off(self, j: int, t: float) -> bool:
        if self.cfg.kind == "step-up" and self.phase is not None and \
                self.phase.value == "active":
            return False        # stepping down is part of every step-up
        return super()._stepped_off(j, t)

    def active_step(self, j: int, t: float) -> None:
        c = self.cfg
        share = float(self._load[j]) / self._body_n
        a = (self._smoothed_load(j) / self._body_n - 1.0) * G
        ended = self.detector.step(t, a, share)
        if self.detector.in_rep:
            self._last_activity = t
        if ended is not None:
            self._last_activity = t
            if ended.timed_out:
                self._emit_warning(t, "That movement took too long to count as a rep")
            elif c.kind == "step-up":
                self._close_rep(ended, ended.end_s, t)
            else:
                if self._pending is not None:     # cannot happen: closed at the rep's start
                    self._close_rep(self._pending, ended.start_s, t)
                self._pending = ended
        if self._pending is not None:
            p = self._pending
            td = getattr(self.detector, "td", None)
            end = None
            if getattr(self.detector, "confirmed", self.detector.in_rep):
                end = self.detector.rep.start_s
            elif td is not None and td.active_since is not None and td.active_since >= p.end_s:
                end = td.active_since
            elif t - p.end_s >= c.hold_s:
                end = p.end_s + c.hold_s
            if end is not None:
                self._pending = None
                self._close_rep(p, end, t)
        done = len(self.reps) >= c.reps and self._pending is None
        self._progress(t, len(self.reps) / c.reps)
        if done:
            self._finish_set(t, None)
        elif not self.detector.in_rep and self._pending is None and \
                t - self._last_activity >= c.idle_s:
            self._finish_set(t, f"ended after {c.idle_s:g} s without a rep: "
                                f"{len(self.reps)} of {c.reps} reps")

    def _smoothed_load(self, j: int) -> float:
        """Mean load over the last smooth_s up to sample j; one cumulative sum per feed."""
        if self._cum_of is not self._buf:
            self._cum_of = self._buf
            self._cum = np.concatenate([[0.0], np.cumsum(self._load)])
            self._i0 = np.searchsorted(self._t, self._t - self.cfg.detect.smooth_s, "left")
        i0 = int(self._i0[j])
        return float((self._cum[j + 1] - self._cum[i0]) / (j + 1 - i0))

    _cum_of = None

    def _emit_warning(self, t: float, text: str) -> None:
        self._emit(DrillWarning(t_s=t, code="rep-not-counted", text=text))

    def _close_rep(self, rep: RepTimes, balance_end_s: float, t: float) -> None:
        c = self.cfg
        block = self.trial_block(rep.start_s - 1.0, t)
        r = scoring.rep_metrics(c.kind, len(self.reps) + 1, rep, block, self._body_n,
                                balance_end_s, c.hold_s, c.detect)
        self.reps.append(r)
        if c.kind != "step-up":
            scoring.classify_depth(self.reps, c.detect)
        counted = sum(x["outcome"] == "counted" for x in self.reps)
        self._emit(Score(t_s=t, label=f"rep {r['rep']}/{c.reps} ({r['outcome']}; "
                                      f"{counted} counted), held",
                         value=r["balance_held_s"], unit="s", outcome="scored",
                         detail={"leg": self.current_spec.leg, **r}))

    def _touchdown_count(self) -> int:
        d = self.detector
        if isinstance(d, StepUpReps):
            return len(d.touchdowns)
        return len(d.td.done) + (d.td.active_since is not None)

    def _set_metrics(self, t: float) -> dict:
        if self.cfg.kind != "step-up":
            scoring.classify_depth(self.reps, self.cfg.detect, final=True)
        return scoring.set_metrics(self.cfg.kind, self.reps, self.cfg.reps,
                                   self._touchdown_count(), t - (self.active_t0 or t))

    def _finish_set(self, t: float, reason: str | None) -> None:
        metrics = self._set_metrics(t)
        self._emit(Score(t_s=t, label="reps counted", value=metrics["reps_counted"],
                         unit=f"of {self.cfg.reps}", detail={"leg": self.current_spec.leg}))
        self._close_trial(t, "completed", reason, metrics)
        self._after_trial(t)

    def metrics_on_abort(self, t: float) -> dict:
        if self.active_t0 is None:
            return {}
        if self._pending is not None:
            p, self._pending = self._pending, None
            self._close_rep(p, t, t)
        return self._set_metrics(t)
