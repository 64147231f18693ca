"""Exercise settings with defaults from the runners' strength programme, stored per athlete.

The programme's prescription: one-leg squats 3 x 10 per leg, one-leg Romanian deadlifts finishing
in a knee drive 3 x 10, step-up to balance x 6 per leg. The detection thresholds and why they are
where they are: docs/exercises.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from stancelab.drills.settings import LEGS, StanceSettings

#: The exercises, by the words the command line and the plan use.
KINDS = ("squat", "rdl", "step-up")
TITLES = {"squat": "one-leg squat", "rdl": "one-leg Romanian deadlift with knee drive",
          "step-up": "step-up to balance"}


@dataclass
class RepSettings:
    """How reps are recognised in the vertical force and the COP (docs/exercises.md)."""

    smooth_s: float = 0.05          # moving mean of the vertical acceleration
    leak_s: float = 2.0             # time constant of the leaky velocity integral
    move_speed: float = 0.06        # m/s: the COM is moving down or up...
    sustain_s: float = 0.15         # ...for this long
    settle_s: float = 0.3           # after a rep no new one starts for this long
    max_rep_s: float = 10.0         # a movement longer than this is not a rep
    min_depth_mm: float = 0.0       # squat / RDL: a coach's minimum COM drop (0: none)
    partial_fraction: float = 0.65  # a rep shallower than this x the set's median is partial
    knee_drive_accel: float = 0.5   # RDL: upward COM acceleration of the knee drive, m/s^2
    touchdown_share: float = 0.8    # load below this share of body weight: the other foot is down
    touchdown_s: float = 0.1        # ...for this long
    off_share: float = 0.25         # step-up: below this share the athlete is off the board
    on_share: float = 0.85          # step-up: loaded onto the board above this share


@dataclass
class ExerciseSettings:
    kind: str = "squat"
    leg: str = "left"
    sets: int = 3
    reps: int = 10
    hold_s: float = 2.0             # balance to hold after each rep (step-up: on top)
    rest_s: float = 30.0            # between sets
    idle_s: float = 12.0            # no rep for this long ends the set (reps done < planned)
    foot_length_mm: float = 260.0
    detect: RepSettings = field(default_factory=RepSettings)
    stance: StanceSettings = field(default_factory=StanceSettings)

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"exercise must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.leg not in LEGS:
            raise ValueError(f"leg must be 'left' or 'right', not {self.leg!r}")
        if not 1 <= self.sets <= 10:
            raise ValueError(f"sets must be between 1 and 10, not {self.sets}")
        if not 1 <= self.reps <= 50:
            raise ValueError(f"reps must be between 1 and 50, not {self.reps}")
        if not 0.5 <= self.hold_s <= 30 or self.rest_s < 0 or self.idle_s < 3:
            raise ValueError("hold must be 0.5-30 s, rest >= 0 s and the idle time-out >= 3 s")


#: The programme's sets x reps and hold per exercise (docs/exercises.md).
DEFAULTS = {"squat": {"sets": 3, "reps": 10, "hold_s": 2.0},
            "rdl": {"sets": 3, "reps": 10, "hold_s": 2.0},
            "step-up": {"sets": 1, "reps": 6, "hold_s": 3.0}}


def for_athlete(kind: str, athlete_settings: dict | None, **overrides) -> ExerciseSettings:
    """The athlete's saved settings for an exercise, the programme's defaults, then overrides.

    Athlete settings JSON: {"body_mass_kg": .., "foot_length_mm": .., "exercises": {kind: {..}}}."""
    if kind not in KINDS:
        raise ValueError(f"exercise must be one of {', '.join(KINDS)}, not {kind!r}")
    a = athlete_settings or {}
    saved = dict((a.get("exercises") or {}).get(kind) or {})
    names = {f.name for f in dataclasses.fields(ExerciseSettings)} - {"detect", "stance", "kind"}
    obj = ExerciseSettings(kind=kind, **DEFAULTS[kind])
    for k, v in saved.items():
        if k in names:
            setattr(obj, k, v)
    if saved.get("detect"):
        known = {f.name for f in dataclasses.fields(RepSettings)}
        obj.detect = dataclasses.replace(obj.detect, **{k: v for k, v in saved["detect"].items()
                                                        if k in known})
    if a.get("body_mass_kg"):
        obj.stance.body_mass_kg = float(a["body_mass_kg"])
    if a.get("foot_length_mm"):
        obj.foot_length_mm = float(a["foot_length_mm"])
    for k, v in overrides.items():
        if v is not None:
            setattr(obj, k, v)
    obj.validate()
    return obj


def to_dict(s: ExerciseSettings) -> dict:
    return dataclasses.asdict(s)
