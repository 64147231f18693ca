"""Makes the virtual athlete follow a drill's cues, so a whole drill runs unattended.

It listens to drill events and commands the athlete at the events' sample times: step on with
the leg the trial asks for, close the eyes when asked, lean toward each target (the athlete adds
its own reaction time), come back to the middle, step off to rest and at the end. Used by the
tests (a drill in milliseconds) and by the GUI's demo mode.
"""

from __future__ import annotations

from stancelab.drills.events import DrillDone, Event, Phase, PhaseChanged, TargetShown, TrialStarted


class Autopilot:
    """Drive a SimulatedBoard's athlete (commands act at the board's current time, under its
    lock, so this is safe with a realtime board) or a bare VirtualAthlete (commands act at the
    events' sample times)."""

    def __init__(self, target, step_on_delay_s: float = 1.0, step_off_delay_s: float = 0.5):
        if hasattr(target, "board") and hasattr(target, "athlete"):
            self._cmd = _BoardCommands(target)
            self.athlete = target.athlete
        else:
            self._cmd = _AthleteCommands(target)
            self.athlete = target
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
        a = self._cmd
        a.t_s = e.t_s
        if isinstance(e, TrialStarted):
            self.leg = e.leg
            self.eyes = "closed" if "closed" in e.condition else "open"
        elif isinstance(e, PhaseChanged):
            if e.phase == Phase.WAITING:
                a.set_eyes("open", 0.0)
                a.lean_to(None, 0.0)
                a.set_stance(self.leg, self.step_on_delay_s)
            elif e.phase == Phase.COUNTDOWN:
                a.set_eyes(self.eyes, 0.0)
            elif e.phase == Phase.REST:
                a.set_eyes("open", 0.0)
                a.set_stance("off", self.step_off_delay_s)
        elif isinstance(e, TargetShown):
            a.lean_to(None if e.hour is None else (e.x_mm, e.y_mm), 0.0)
        elif isinstance(e, DrillDone):
            a.set_eyes("open", 0.0)
            a.set_stance("off", self.step_off_delay_s)


class _BoardCommands:
    """Commands ``delay_s`` after the simulated board's current time."""

    def __init__(self, board):
        self.board = board
        self.t_s = 0.0

    def set_stance(self, stance, delay_s):
        self.board.set_stance(stance, delay_s)

    def set_eyes(self, eyes, delay_s):
        self.board.set_eyes(eyes, delay_s)

    def lean_to(self, target, delay_s):
        self.board.lean_to(target, delay_s)


class _AthleteCommands:
    """Commands ``delay_s`` after the sample time of the event being handled."""

    def __init__(self, athlete):
        self.athlete = athlete
        self.t_s = 0.0

    def set_stance(self, stance, delay_s):
        self.athlete.set_stance(stance, self.t_s + delay_s)

    def set_eyes(self, eyes, delay_s):
        self.athlete.set_eyes(eyes, self.t_s + delay_s)

    def lean_to(self, target, delay_s):
        self.athlete.lean_to(target, self.t_s + delay_s)
