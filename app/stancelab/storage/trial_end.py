"""A trial's end as written on a connection: its metrics merged in (with their summary
numbers) and its final status. One home for both paths that end a trial: Storage, on the
server or file it has open, and the spool flush, when a trial that ended while the clinic
server was away reaches it later (spool.py)."""

from __future__ import annotations

import json

from stancelab.storage.records import StorageError, headline_values
from stancelab.storage.schema import METRIC_INSERT


def write_metrics(db, trial_id: int, metrics: dict, where: str) -> None:
    """Merge ``metrics`` into the trial's and rewrite its summary numbers (in the open
    transaction)."""
    rows = db.execute("SELECT metrics, drill FROM trials WHERE id = ?", (trial_id,))
    if not rows:
        raise StorageError(f"No trial {trial_id} in {where}.", "not_found")
    text, drill = rows[0]
    merged = {**json.loads(text), **metrics}
    db.execute("UPDATE trials SET metrics = ? WHERE id = ?",
               (json.dumps(merged, sort_keys=True), trial_id))
    db.execute("DELETE FROM trial_metrics WHERE trial_id = ?", (trial_id,))
    db.executemany(METRIC_INSERT, [(trial_id, k, v) for k, v in
                                   headline_values(drill, merged).items()])


def write_finish(db, trial_id: int, status: str, reason: str | None, ended: str) -> None:
    """The trial's final status, reason, end time and sample count."""
    db.execute("UPDATE trials SET status = ?, reason = ?, ended = ?, heartbeat_unix = NULL, "
               "sample_count = (SELECT COUNT(*) FROM samples WHERE trial_id = ?) WHERE id = ?",
               (status, reason, ended, trial_id, trial_id))
