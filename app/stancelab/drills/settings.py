"""Drill settings with defaults from runners' balance programmes, stored per athlete as JSON.

Defaults (rationale in docs/drills.md): a session of about 15 minutes, 3 trials per leg,
30 s single-leg holds with 30 s rest, clock targets at 80 % of the foot's edge, 8 s per target.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

LEGS = ("left", "right")
EYES = ("open", "closed")


@dataclass
class StanceSettings:
    """How the drills recognise standing, stepping off and moving early (shared by all)."""

    body_mass_kg: float | None = None   # None: learned from the first steady stance
    countdown_s: float = 3.0
    steady_window_s: float = 1.0        # load and COP must be steady this long to auto-start
    steady_load_tolerance: float = 0.10  # of body weight, every sample in the window
    steady_cop_range_mm: float = 50.0   # max peak-to-peak COP in the window, each axis
    steady_drift_mm: float = 25.0       # max spread of the window quarters' mean COP
    mark_radius_mm: float = 60.0        # mean COP this close to the placement mark
    min_weight_n: float = 200.0         # below this nobody is standing (hand, bag, child)
    step_off_fraction: float = 0.25     # load under this share of body weight...
    step_off_s: float = 0.3             # ...for this long means the athlete stepped off
    early_move_mm: float = 40.0         # COP moving this far during the countdown = early start
    #                                     (x 1.5 with eyes closed, where sway is ~1.7x larger)
    early_load_fraction: float = 0.25   # load changing by this share during the countdown


@dataclass
class ClockSettings:
    leg: str = "right"
    foot_length_mm: float = 260.0
    foot_width_mm: float | None = None
    order: str | list = "clockwise"     # "clockwise", "counterclockwise" or a list of hours
    target_fraction: float = 0.8        # progression 0.6 / 0.8 / 1.0 of the edge distance
    hold_s: float = 1.0
    timeout_s: float = 8.0
    zone_radius_mm: float | None = None  # None: 15 % of the foot width
    return_hold_s: float = 0.5
    return_timeout_s: float = 5.0
    recentre: bool = False              # True: foot centre = mean COP of the countdown
    stance: StanceSettings = field(default_factory=StanceSettings)

    def hours(self) -> list[int]:
        if isinstance(self.order, str):
            if self.order == "clockwise":
                return [12] + list(range(1, 12))
            if self.order == "counterclockwise":
                return [12] + list(range(11, 0, -1))
            raise ValueError(f"order must be 'clockwise', 'counterclockwise' or a list of "
                             f"hours, not {self.order!r}")
        hours = [int(h) for h in self.order]
        if not hours or any(not 1 <= h <= 12 for h in hours):
            raise ValueError("a coach-chosen order is a list of hours between 1 and 12")
        return hours

    def validate(self) -> None:
        if self.leg not in LEGS:
            raise ValueError(f"leg must be 'left' or 'right', not {self.leg!r}")
        if not 0.2 <= self.target_fraction <= 1.2:
            raise ValueError("target fraction must be between 0.2 and 1.2 of the foot's edge")
        self.hours()


@dataclass
class SingleLegSettings:
    legs: tuple | list = LEGS           # alternating in this order
    eyes: str = "open"
    n_trials: int = 3                   # per leg
    duration_s: float = 30.0
    rest_s: float = 30.0
    foot_length_mm: float = 260.0       # the touchdown test uses the foot's width
    stance: StanceSettings = field(default_factory=StanceSettings)

    def validate(self) -> None:
        if not self.legs or any(leg not in LEGS for leg in self.legs):
            raise ValueError("legs must be a list of 'left' and/or 'right'")
        if self.eyes not in EYES:
            raise ValueError("eyes must be 'open' or 'closed'")
        if self.n_trials < 1 or self.duration_s <= 0 or self.rest_s < 0:
            raise ValueError("need at least 1 trial, a positive duration and a rest >= 0")


@dataclass
class QuietSettings:
    eyes: str = "open"
    duration_s: float = 30.0
    stance: StanceSettings = field(default_factory=lambda: StanceSettings(
        steady_cop_range_mm=30.0))

    def validate(self) -> None:
        if self.eyes not in EYES:
            raise ValueError("eyes must be 'open' or 'closed'")
        if self.duration_s <= 0:
            raise ValueError("duration must be positive")


KINDS = {"clock": ClockSettings, "single-leg": SingleLegSettings, "quiet": QuietSettings}


def to_dict(settings) -> dict:
    d = dataclasses.asdict(settings)
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d


def from_dict(kind: str, d: dict | None):
    """Settings of a drill kind from a stored dict; unknown keys are ignored (older versions)."""
    cls = KINDS[kind]
    d = dict(d or {})
    names = {f.name for f in dataclasses.fields(cls)}
    stance = d.pop("stance", None)
    kwargs = {k: v for k, v in d.items() if k in names}
    obj = cls(**kwargs)
    if stance:
        snames = {f.name for f in dataclasses.fields(StanceSettings)}
        obj.stance = dataclasses.replace(obj.stance, **{k: v for k, v in stance.items()
                                                        if k in snames})
    return obj


def for_athlete(kind: str, athlete_settings: dict | None, **overrides):
    """The athlete's saved settings for a drill kind, with explicit overrides applied.

    Athlete settings JSON layout: {"body_mass_kg": .., "foot_length_mm": ..,
    "drills": {"clock": {...}, "single-leg": {...}, "quiet": {...}}}."""
    a = athlete_settings or {}
    obj = from_dict(kind, (a.get("drills") or {}).get(kind))
    if a.get("body_mass_kg") and obj.stance.body_mass_kg is None:
        obj.stance.body_mass_kg = float(a["body_mass_kg"])
    if a.get("foot_length_mm") and hasattr(obj, "foot_length_mm"):
        obj.foot_length_mm = float(a["foot_length_mm"])
    if kind == "clock" and a.get("foot_width_mm"):
        obj.foot_width_mm = float(a["foot_width_mm"])
    for k, v in overrides.items():
        if v is not None:
            setattr(obj, k, v)
    obj.validate()
    return obj


def store_for_athlete(kind: str, settings, athlete_settings: dict | None) -> dict:
    """A copy of the athlete settings JSON with this drill's settings saved in it."""
    a = dict(athlete_settings or {})
    drills = dict(a.get("drills") or {})
    drills[kind] = to_dict(settings)
    a["drills"] = drills
    return a
