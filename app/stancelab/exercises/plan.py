"""The programme as a plan: weeks of sessions, each the balance drills and the three exercises.

The programme prescribes home strength, balance and coordination work three times a week for
four weeks, about 15 minutes a session, with a baseline assessment of strength and symmetry
before and a reassessment after, progress tracked by time under load and balance duration.
:func:`default_plan` is that programme; a coach edits it per athlete (sets, reps, weeks,
sessions a week). Pure data and arithmetic: the storage keeps the plan as JSON and which
sessions were done (storage/plans.py); the station runs a session (station/plan_run.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from stancelab.exercises.settings import DEFAULTS, KINDS

DRILL_KINDS = ("single-leg", "clock", "quiet")


@dataclass
class PlanItem:
    """One thing to do in a session, on both legs (left first)."""

    name: str                 # an exercise (squat, rdl, step-up) or a drill (single-leg, ...)
    sets: int = 1             # exercise sets, or drill trials per leg
    reps: int = 0             # exercise reps per set (0 for a drill)
    seconds: float = 0.0      # drill: seconds per trial (0: the drill's default)

    @property
    def is_exercise(self) -> bool:
        return self.name in KINDS

    def validate(self) -> None:
        if self.name not in KINDS + DRILL_KINDS:
            raise ValueError(f"plan item {self.name!r}: choose one of "
                             f"{', '.join(KINDS + DRILL_KINDS)}")
        if not 1 <= self.sets <= 10 or (self.is_exercise and not 1 <= self.reps <= 50):
            raise ValueError(f"plan item {self.name}: sets 1-10 and (exercises) reps 1-50")

    def describe(self) -> str:
        if self.is_exercise:
            return f"{self.name} {self.sets} x {self.reps} per leg"
        return f"{self.name} {self.sets} trial(s) per leg" + (
            f" of {self.seconds:g} s" if self.seconds else "")


@dataclass
class PlanSpec:
    weeks: int = 4
    per_week: int = 3
    training: list = field(default_factory=list)      # PlanItems of each training session
    assessment: list = field(default_factory=list)    # PlanItems of baseline and reassessment

    def validate(self) -> None:
        if not 1 <= self.weeks <= 26 or not 1 <= self.per_week <= 7:
            raise ValueError("a plan has 1-26 weeks and 1-7 sessions a week")
        if not self.training or not self.assessment:
            raise ValueError("a plan needs training items and assessment items")
        for item in self.training + self.assessment:
            item.validate()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PlanSpec:
        names = {f.name for f in dataclasses.fields(PlanItem)}

        def items(v):
            return [PlanItem(**{k: x for k, x in i.items() if k in names}) for i in v or []]
        spec = cls(weeks=int(d.get("weeks", 4)), per_week=int(d.get("per_week", 3)),
                   training=items(d.get("training")), assessment=items(d.get("assessment")))
        spec.validate()
        return spec


def default_plan() -> PlanSpec:
    """Three sessions a week for four weeks: single-leg stands and the clock drill, then the
    three exercises at the programme's sets x reps; baseline and reassessment: the same
    balance drills (three trials per leg, so a change can be told from the noise) and the
    exercises."""
    ex = [PlanItem(k, DEFAULTS[k]["sets"], DEFAULTS[k]["reps"]) for k in KINDS]
    return PlanSpec(4, 3, training=[PlanItem("single-leg", 1), PlanItem("clock", 1), *ex],
                    assessment=[PlanItem("single-leg", 3), PlanItem("clock", 1), *ex])


@dataclass(frozen=True)
class PlanSession:
    number: int          # 0 = baseline, 1 .. weeks x per_week training, last = reassessment
    week: int            # 0 for the baseline, weeks + 1 for the reassessment
    kind: str            # "baseline", "training", "reassessment"
    slot: int = 0        # training: 1 .. per_week within its week

    @property
    def label(self) -> str:
        if self.kind == "training":
            return f"week {self.week} session {self.slot}"
        return self.kind


def schedule(spec: PlanSpec) -> list[PlanSession]:
    out = [PlanSession(0, 0, "baseline")]
    n = 1
    for week in range(1, spec.weeks + 1):
        for slot in range(1, spec.per_week + 1):
            out.append(PlanSession(n, week, "training", slot))
            n += 1
    out.append(PlanSession(n, spec.weeks + 1, "reassessment"))
    return out


def items_for(spec: PlanSpec, session: PlanSession) -> list[PlanItem]:
    return spec.training if session.kind == "training" else spec.assessment


@dataclass
class Progress:
    """Adherence (sessions done against planned, per week), what is due, weekly totals."""

    weeks: list            # [{"week", "planned", "done", "time_under_load_s", "balance_s"}]
    done: int
    planned: int
    next_session: PlanSession | None
    reassessment_due: bool

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if self.next_session is not None:
            d["next_session"]["label"] = self.next_session.label
        return d


def progress(spec: PlanSpec, done_numbers: set[int],
             totals: dict[int, tuple[float, float]] | None = None) -> Progress:
    """``done_numbers``: the plan sessions done; ``totals``: per plan session (time under load
    s, balance held s) summed over its exercise sets."""
    totals = totals or {}
    sched = schedule(spec)
    weeks = []
    for week in range(spec.weeks + 2):
        in_week = [s for s in sched if s.week == week]
        tul = sum(totals.get(s.number, (0.0, 0.0))[0] for s in in_week)
        bal = sum(totals.get(s.number, (0.0, 0.0))[1] for s in in_week)
        name = "baseline" if week == 0 else ("reassessment" if week == spec.weeks + 1
                                             else f"week {week}")
        weeks.append({"week": name, "planned": len(in_week),
                      "done": sum(s.number in done_numbers for s in in_week),
                      "time_under_load_s": tul, "balance_s": bal})
    nxt = next((s for s in sched if s.number not in done_numbers), None)
    return Progress(weeks, len(done_numbers & {s.number for s in sched}), len(sched), nxt,
                    nxt is not None and nxt.kind == "reassessment")
