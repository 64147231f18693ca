"""Makes the virtual athlete follow a drill's cues, so a whole drill runs unattended.

It listens to drill events and commands the athlete at the events' sample times: step on with
the leg the trial asks for, close the eyes when asked, lean toward each target (the athlete adds
its own reaction time), come back to the middle, step off to rest and at the end. Used by the
tests (a drill in milliseconds) and by the GUI's demo mode.
"""

from __future__ import annotations

from ..drills.events import DrillDone, Event, Phase, PhaseChanged, TargetShown, TrialStarted


class Autopilot:
    def __init__(self, athlete, step_on_delay_s: float = 1.0, step_off_delay_s: float = 0.5):
        self.athlete = athlete
        self.step_on_delay_s = step_on_delay_s
        self.step_off_delay_s = step_off_delay_s
        self.leg = "both"
        self.eyes = "open"
        self.enabled = True

    def handle(self, events: list[Event]) -> None:
        if not self.enabled:
            return
        for e in events:
            self._handle(e)

    __call__ = handle

    def _handle(self, e: Event) -> None:
        a = self.athlete
        if isinstance(e, TrialStarted):
            self.leg = e.leg
            self.eyes = "closed" if "closed" in e.condition else "open"
        elif isinstance(e, PhaseChanged):
            if e.phase == Phase.WAITING:
                a.set_eyes("open", e.t_s)
                a.lean_to(None, e.t_s)
                a.set_stance(self.leg, e.t_s + self.step_on_delay_s)
            elif e.phase == Phase.COUNTDOWN:
                a.set_eyes(self.eyes, e.t_s)
            elif e.phase == Phase.REST:
                a.set_eyes("open", e.t_s)
                a.set_stance("off", e.t_s + self.step_off_delay_s)
        elif isinstance(e, TargetShown):
            a.lean_to(None if e.hour is None else (e.x_mm, e.y_mm), e.t_s)
        elif isinstance(e, DrillDone):
            a.set_eyes("open", e.t_s)
            a.set_stance("off", e.t_s + self.step_off_delay_s)
