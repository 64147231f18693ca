"""What a drill tells the world: small immutable events the GUI, the CLI and the autopilot render.

Every event carries ``t_s``, the device time of the sample that caused it, so a replay of the
same samples yields the same events regardless of when it runs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Phase(str, enum.Enum):
    WAITING = "waiting"      # for the athlete to step on and be steady
    COUNTDOWN = "countdown"
    ACTIVE = "active"
    REST = "rest"
    DONE = "done"
    ABORTED = "aborted"


@dataclass(frozen=True, kw_only=True)
class Event:
    t_s: float


@dataclass(frozen=True, kw_only=True)
class Instruction(Event):
    """A cue in plain words, readable by an athlete 2 m from the screen."""
    text: str


@dataclass(frozen=True, kw_only=True)
class PhaseChanged(Event):
    phase: Phase
    previous: Phase | None = None
    seconds: float | None = None  # length of the phase when it is fixed (countdown, rest)


@dataclass(frozen=True, kw_only=True)
class TrialStarted(Event):
    """A new trial opens; samples from here on belong to it (including its lead-in)."""
    index: int          # 0-based within the drill
    count: int          # trials planned in the drill
    drill: str
    leg: str            # "left", "right" or "both"
    condition: str      # "eyes open" / "eyes closed" / "60 %" ...
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TargetShown(Event):
    """A target to lean toward; ``hour`` None means "back to the middle" of the foot."""
    hour: int | None
    x_mm: float
    y_mm: float
    zone_radius_mm: float
    index: int = 0      # position in the order, 0-based
    count: int = 0


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    fraction: float          # of the phase (countdown, trial, rest) elapsed, 0..1
    hold_fraction: float = 0.0  # of the hold requirement met, 0..1
    remaining_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Score(Event):
    label: str               # "2 o'clock", "edge reach", "touchdowns" ...
    value: float | None      # None when there is no valid score (time-out)
    unit: str = ""
    outcome: str = "scored"  # "scored", "reached", "time-out"
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DrillWarning(Event):
    """Something the athlete should correct (early start); the drill carries on."""
    text: str
    code: str = ""           # "early-start", "off-mark", ...


@dataclass(frozen=True, kw_only=True)
class Aborted(Event):
    reason: str              # worded for the athlete and the coach
    code: str = ""           # "stepped-off", "disconnected", "stopped", "error"


@dataclass(frozen=True, kw_only=True)
class TrialDone(Event):
    result: TrialResult


@dataclass(frozen=True, kw_only=True)
class DrillDone(Event):
    """The whole drill has finished (all trials, or aborted)."""
    completed: int
    aborted: int


@dataclass
class TrialResult:
    index: int
    drill: str
    leg: str
    condition: str
    status: str              # "completed", "aborted", "interrupted"
    reason: str | None
    t_start_s: float | None
    t_end_s: float | None
    settings: dict
    metrics: dict

    def to_dict(self) -> dict:
        return dict(self.__dict__)
