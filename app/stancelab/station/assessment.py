"""The one way every face (CLI, Compare screen, Results, PDF) gets an athlete's assessment."""

from __future__ import annotations

from stancelab.analysis.assessment import Assessment, TrialRecord, assess


def record_of(trial, session_started: str = "") -> TrialRecord:
    """A stored trial as the assessment model reads it."""
    return TrialRecord(trial.id, trial.session_id, session_started, trial.drill, trial.leg,
                       trial.condition, trial.status, trial.reason, dict(trial.metrics or {}),
                       dict(trial.settings or {}))


def trial_records(store, athlete_id: int) -> list[TrialRecord]:
    started = {s.id: s.started for s in store.session_summaries(athlete_id)}
    return [record_of(t, started.get(t.session_id, ""))
            for t in store.trials_for_athlete(athlete_id)]


def load_assessment(store, athlete_id: int, baseline_session: int | None = None,
                    reassessment_session: int | None = None,
                    flag_pct: float = 10.0) -> Assessment:
    return assess(trial_records(store, athlete_id), baseline_session=baseline_session,
                  reassessment_session=reassessment_session, flag_pct=flag_pct)
