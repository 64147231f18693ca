"""Drills: state machines fed processed samples, timed only by the samples' own clock.

Read top to bottom: events (what a drill says), settings (defaults per athlete), base (the
shared lifecycle), clock / single_leg / quiet (the drills), scoring (hand-off to analysis),
runner (source -> processing -> drill -> storage), cli_render and commands (terminal use).
"""

from stancelab.drills.base import Drill
from stancelab.drills.clock import ClockBalance
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
                     TrialResult,
                     TrialStarted,
)
from stancelab.drills.quiet import QuietStance
from stancelab.drills.runner import DrillRunner
from stancelab.drills.single_leg import SingleLegStand

__all__ = [
                     "Aborted",
                     "ClockBalance",
                     "Drill",
                     "DrillDone",
                     "DrillRunner",
                     "DrillWarning",
                     "Event",
                     "Instruction",
                     "Phase",
                     "PhaseChanged",
                     "Progress",
                     "QuietStance",
                     "Score",
                     "SingleLegStand",
                     "TargetShown",
                     "TrialDone",
                     "TrialResult",
                     "TrialStarted",
]
