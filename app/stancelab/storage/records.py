"""The plain values storage hands out and takes in, and its one error type.

Nothing here knows about a database: records are built by :mod:`store` and :mod:`samples`
from rows, and are what the CLI, the UI and the CSV code see.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np

# Samples as columns live below the database, so a CSV is read without it; re-exported here.
from stancelab.board.sample_arrays import SampleArrays, quantise_us  # noqa: F401

TRIAL_STATUSES = ("recording", "completed", "aborted", "interrupted")

#: StorageError kinds a backend translates its engine's errors into (see docs/storage.md).
ERROR_KINDS = ("busy", "disk_full", "damaged", "newer_schema", "not_found", "invalid",
               "conflict", "unreachable", "error")


class StorageError(RuntimeError):
    """A database problem worded for the user, naming the file and the fix.

    ``kind`` (one of :data:`ERROR_KINDS`) lets a caller react without reading the text:
    ``disk_full`` stops a recording, ``busy`` may be retried, ``conflict`` means another
    station changed the record since it was read, ``unreachable`` that the server is away.
    """

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def check_status(status: str) -> None:
    if status not in TRIAL_STATUSES:
        raise ValueError(f"trial status must be one of {TRIAL_STATUSES}, not {status!r}")


#: The scores a coach reads first, per drill kind (the result screen lists them first): the
#: numbers a TrialSummary carries, kept in the trial_metrics table.
HEADLINE_KEYS: dict[str, tuple[str, ...]] = {
    "clock": ("edge_reach_score_pct", "targets_reached", "weakest_hour",
              "weakest_max_excursion_pct"),
    "single-leg": ("time_held_s", "touchdowns", "time_to_stabilisation_s",
                   "ellipse95_area_mm2", "mean_velocity_mm_s"),
    "quiet": ("ellipse95_area_mm2", "mean_velocity_mm_s", "path_length_mm", "rms_mm",
              "left_pct", "right_pct"),
    "recording": ("samples", "lost_frames"),
    # exercises (docs/exercises.md): one trial per set
    **{kind: ("reps_counted", "reps_planned", "ml_excursion_mm", "ml_velocity_mm_s",
              "balance_held_s", "time_under_load_s", "balance_total_s", "touchdowns")
       for kind in ("squat", "rdl", "step-up")},
}


def headline_values(drill: str, metrics: dict) -> dict[str, float]:
    """A trial's headline numbers: its drill's HEADLINE_KEYS that are numbers (not booleans)
    and, for a clock trial, each hour's maximal excursion as ``"<hour> o'clock
    max_excursion_pct"`` (the per-hour figure the compare screen shows)."""
    out = {k: float(metrics[k]) for k in HEADLINE_KEYS.get(drill, ())
           if _is_number(metrics.get(k))}
    if drill == "clock":
        for t in metrics.get("targets") or ():
            if isinstance(t, dict) and _is_number(t.get("max_excursion_pct")):
                out[f"{t.get('hour')} o'clock max_excursion_pct"] = float(t["max_excursion_pct"])
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Athlete:
    id: int
    name: str
    foot_length_mm: float | None = None
    shoe_size: str | None = None
    dominant_leg: str | None = None
    injured_side: str | None = None
    notes: str = ""
    settings: dict = field(default_factory=dict)
    created: str = ""
    #: Bumped by every update; ``update_athlete(..., expected_version=a.version)`` refuses
    #: to overwrite a change made at another station since ``a`` was read.
    version: int = 1


@dataclass(frozen=True)
class Session:
    id: int
    athlete_id: int | None
    started: str
    board_id: int | None
    firmware: str | None
    calibration_id: str | None
    source_kind: str
    app_version: str
    notes: str = ""


@dataclass(frozen=True)
class Trial:
    id: int
    session_id: int
    drill: str
    leg: str | None
    condition: str | None
    settings: dict
    status: str
    reason: str | None
    started: str
    ended: str | None
    metrics: dict


@dataclass(frozen=True)
class TrialSummary:
    """A trial as lists show it, read without its settings and metrics JSON."""

    id: int
    session_id: int
    session_started: str
    athlete_id: int | None
    drill: str
    leg: str | None
    condition: str | None
    status: str
    reason: str | None
    started: str
    ended: str | None
    sample_count: int
    headline: dict[str, float]     # see headline_values


@dataclass(frozen=True)
class SessionSummary:
    id: int
    athlete_id: int | None
    athlete_name: str | None
    started: str
    board_id: int | None
    source_kind: str
    trial_count: int
    sample_count: int
    drills: tuple[str, ...]        # distinct drill kinds, in the order first recorded


@dataclass(frozen=True)
class RecoveredTrial:
    trial_id: int
    session_id: int
    samples: int
    last_t_s: float | None


def object_column(values) -> np.ndarray:
    out = np.empty(len(values), object)
    out[:] = values
    return out
