"""Plans in the database: an athlete's programme (its spec as JSON) and the sessions done.

Mixed into :class:`~stancelab.storage.store.Storage`; the tables are schema versions 4 and 5
(storage/schema.py). A plan session done links the plan to the stored sessions its drills and
exercises were recorded in, so adherence and weekly totals come from the same trials the
assessment reads. Each item (on one leg) of a session is marked as it ends (``plan_steps``), so
a session interrupted half-way resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stancelab.storage.records import StorageError, now_iso


@dataclass(frozen=True)
class PlanRecord:
    id: int
    athlete_id: int
    started: str
    spec: dict
    status: str          # "active" or "ended"


@dataclass(frozen=True)
class PlanSessionRecord:
    plan_id: int
    number: int
    session_id: int | None
    done: str


@dataclass(frozen=True)
class PlanStepRecord:
    plan_id: int
    number: int
    step: int
    name: str
    leg: str
    session_id: int
    done: str


class PlanTables:
    """Plan methods of Storage (uses its _q / _insert / _write / transaction)."""

    def start_plan(self, athlete_id: int, spec: dict, started: str | None = None) -> PlanRecord:
        """A new active plan for the athlete; an earlier active plan is ended."""
        with self.transaction():
            self._write("UPDATE plans SET status = 'ended' WHERE athlete_id = ? AND "
                        "status = 'active'", (athlete_id,))
            pid = self._insert("INSERT INTO plans (athlete_id, started, spec, status, created) "
                               "VALUES (?, ?, ?, 'active', ?)",
                               (athlete_id, started or now_iso(), json.dumps(spec), now_iso()))
        return self.plan(pid)

    def plan(self, plan_id: int) -> PlanRecord:
        row = self._one("SELECT id, athlete_id, started, spec, status FROM plans WHERE id = ?",
                        (plan_id,))
        if row is None:
            raise self._missing(f"plan {plan_id}")
        return PlanRecord(row[0], row[1], row[2], json.loads(row[3]), row[4])

    def active_plan(self, athlete_id: int) -> PlanRecord | None:
        row = self._one("SELECT id FROM plans WHERE athlete_id = ? AND status = 'active' "
                        "ORDER BY id DESC", (athlete_id,))
        return self.plan(row[0]) if row else None

    def update_plan_spec(self, plan_id: int, spec: dict) -> PlanRecord:
        self.plan(plan_id)
        self._write("UPDATE plans SET spec = ? WHERE id = ?", (json.dumps(spec), plan_id))
        return self.plan(plan_id)

    def mark_plan_session(self, plan_id: int, number: int, session_ids: list[int],
                          done: str | None = None) -> None:
        """Plan session ``number`` done, recorded in these stored sessions."""
        when = done or now_iso()
        if not session_ids:
            raise StorageError("a plan session is done when something was recorded in it",
                               "not_found")
        with self.transaction():
            for sid in session_ids:
                self._write("INSERT INTO plan_sessions (plan_id, number, session_id, done) "
                            "VALUES (?, ?, ?, ?)", (plan_id, number, sid, when))

    def plan_sessions(self, plan_id: int) -> list[PlanSessionRecord]:
        return [PlanSessionRecord(*r) for r in self._q(
            "SELECT plan_id, number, session_id, done FROM plan_sessions WHERE plan_id = ? "
            "ORDER BY number, session_id", (plan_id,))]

    def mark_plan_step(self, plan_id: int, number: int, step: int, name: str, leg: str,
                       session_id: int, done: str | None = None) -> None:
        """Item ``step`` (``name`` on ``leg``) of plan session ``number`` done, recorded in
        stored session ``session_id``; marking it again replaces the earlier mark."""
        with self.transaction():
            self._write("DELETE FROM plan_steps WHERE plan_id = ? AND number = ? AND step = ?",
                        (plan_id, number, step))
            self._write("INSERT INTO plan_steps (plan_id, number, step, name, leg, session_id, "
                        "done) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (plan_id, number, step, name, leg, session_id, done or now_iso()))

    def plan_steps(self, plan_id: int, number: int) -> list[PlanStepRecord]:
        """The items of plan session ``number`` done so far, in session order."""
        return [PlanStepRecord(*r) for r in self._q(
            "SELECT plan_id, number, step, name, leg, session_id, done FROM plan_steps "
            "WHERE plan_id = ? AND number = ? ORDER BY step", (plan_id, number))]
