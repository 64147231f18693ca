"""The tables, as portable SQL, and the migrations that build and upgrade them.

SQL here is what SQLite and PostgreSQL both accept (INTEGER / BIGINT / DOUBLE PRECISION / TEXT
columns, JSON kept as TEXT). The one dialect detail, the auto-increment primary key, is the
placeholder ``{id}`` that the backend fills in (which is why literal braces are doubled).

Each migration is ``(version, description, steps)``; a step is SQL text or a function of the
open connection (for moving data). Never edit a released migration: append a new one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence

from stancelab import __version__
from stancelab.storage.records import StorageError, headline_values, now_iso

_V1 = [
    """CREATE TABLE athletes (
        id {id},
        name TEXT NOT NULL,
        foot_length_mm DOUBLE PRECISION,
        shoe_size TEXT,
        dominant_leg TEXT,
        injured_side TEXT,
        notes TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '{{}}',
        created TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX athletes_name ON athletes (lower(name))",
    """CREATE TABLE calibrations (
        id TEXT PRIMARY KEY,
        board_id INTEGER,
        data TEXT NOT NULL,
        created TEXT NOT NULL,
        firmware TEXT)""",
    """CREATE TABLE sessions (
        id {id},
        athlete_id BIGINT REFERENCES athletes (id),
        started TEXT NOT NULL,
        board_id INTEGER,
        firmware TEXT,
        calibration_id TEXT REFERENCES calibrations (id),
        source_kind TEXT NOT NULL,
        app_version TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX sessions_athlete ON sessions (athlete_id)",
    """CREATE TABLE trials (
        id {id},
        session_id BIGINT NOT NULL REFERENCES sessions (id),
        drill TEXT NOT NULL,
        leg TEXT,
        condition TEXT,
        settings TEXT NOT NULL DEFAULT '{{}}',
        status TEXT NOT NULL,
        reason TEXT,
        started TEXT NOT NULL,
        ended TEXT,
        metrics TEXT NOT NULL DEFAULT '{{}}',
        heartbeat_unix DOUBLE PRECISION)""",
    "CREATE INDEX trials_session ON trials (session_id)",
    "CREATE INDEX trials_status ON trials (status)",
    """CREATE TABLE samples (
        trial_id BIGINT NOT NULL REFERENCES trials (id),
        idx INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        t_s DOUBLE PRECISION NOT NULL,
        t_host_s DOUBLE PRECISION NOT NULL,
        fl_counts INTEGER NOT NULL,
        fr_counts INTEGER NOT NULL,
        bl_counts INTEGER NOT NULL,
        br_counts INTEGER NOT NULL,
        status INTEGER NOT NULL,
        phase TEXT,
        target TEXT,
        PRIMARY KEY (trial_id, idx))""",
]

#: The one statement that writes a summary metric (store.update_metrics and migration 2).
METRIC_INSERT = "INSERT INTO trial_metrics (trial_id, key, value) VALUES (?, ?, ?)"


def _fill_trial_metrics(db) -> None:
    """Version 2, rows recorded before it: each trial's summary numbers from its metrics JSON."""
    rows = [(tid, k, v) for tid, drill, text in db.execute("SELECT id, drill, metrics FROM trials")
            for k, v in headline_values(drill, json.loads(text)).items()]
    db.executemany(METRIC_INSERT, rows)


_V2 = [
    # Filled when a trial finishes (and at each commit while it records), so lists never
    # count samples.
    "ALTER TABLE trials ADD COLUMN sample_count BIGINT",
    ("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
     "WHERE samples.trial_id = trials.id)"),
    # Each trial's headline numbers (records.headline_values), rewritten by update_metrics,
    # so summaries never decode the metrics JSON.
    """CREATE TABLE trial_metrics (
        trial_id BIGINT NOT NULL REFERENCES trials (id),
        key TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, key))""",
    _fill_trial_metrics,
]


def _name_database(db) -> None:
    """Version 3: a database's own id, so that `stancelab db migrate` knows its sessions."""
    db.execute("INSERT INTO stancelab_info (key, value) VALUES ('database_id', ?)",
               (str(uuid.uuid4()),))


_V3 = [
    # Lost-update detection: every update of an athlete checks and bumps it
    # (UPDATE ... WHERE id = ? AND row_version = ?), see Storage.update_athlete.
    "ALTER TABLE athletes ADD COLUMN row_version INTEGER NOT NULL DEFAULT 1",
    # Where a session copied by `stancelab db migrate` came from: '<database_id>:<id>'.
    "ALTER TABLE sessions ADD COLUMN origin TEXT",
    "CREATE UNIQUE INDEX sessions_origin ON sessions (origin)",
    # Facts about the database: its id, and the oldest StanceLab that may write to it.
    "CREATE TABLE stancelab_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    _name_database,
]

_V4 = [
    # An athlete's programme (exercises/plan.py: PlanSpec as JSON) and the plan sessions done,
    # each linked to the stored sessions it was recorded in (storage/plans.py).
    """CREATE TABLE plans (
        id {id},
        athlete_id BIGINT NOT NULL REFERENCES athletes (id),
        started TEXT NOT NULL,
        spec TEXT NOT NULL,
        status TEXT NOT NULL,
        created TEXT NOT NULL)""",
    "CREATE INDEX plans_athlete ON plans (athlete_id)",
    """CREATE TABLE plan_sessions (
        plan_id BIGINT NOT NULL REFERENCES plans (id),
        number INTEGER NOT NULL,
        session_id BIGINT NOT NULL REFERENCES sessions (id),
        done TEXT NOT NULL,
        PRIMARY KEY (plan_id, number, session_id))""",
]

_V5 = [
    # Per-item completion of a plan session (storage/plans.py): an interrupted session resumes
    # at the first item (on one leg) not done instead of recording everything again. ``step``
    # is the item's place in the session (station/plan_run.session_steps); its name and leg
    # are kept so that a plan edited in between does not count a different item as done.
    """CREATE TABLE plan_steps (
        plan_id BIGINT NOT NULL REFERENCES plans (id),
        number INTEGER NOT NULL,
        step INTEGER NOT NULL,
        name TEXT NOT NULL,
        leg TEXT NOT NULL,
        session_id BIGINT NOT NULL REFERENCES sessions (id),
        done TEXT NOT NULL,
        PRIMARY KEY (plan_id, number, step))""",
]

Step = str | Callable
MIGRATIONS: list[tuple[int, str, list[Step]]] = [
    (1, "athletes, calibrations, sessions, trials, samples", _V1),
    (2, "trial sample counts and summary metrics", _V2),
    (3, "athlete row versions, session origins, database facts (clinic server)", _V3),
    (4, "training plans and the plan sessions done", _V4),
    (5, "the items of a plan session done, for resuming it", _V5),
]


def schema_version(db) -> int:
    return int(db.execute("SELECT MAX(version) FROM schema_version")[0][0] or 0)


def required_app_version(db) -> str | None:
    """The oldest StanceLab that understands this database (recorded since version 3)."""
    try:
        rows = db.execute("SELECT value FROM stancelab_info WHERE key = 'min_app_version'")
    except StorageError:   # a database from before version 3, or no such table
        db.rollback()
        return None
    return rows[0][0] if rows else None


def migrate(db, backend, migrations: Sequence[tuple[int, str, list[Step]]],
            app_version: str = __version__) -> None:
    """Bring the database up to the newest of ``migrations``, each in its own transaction.

    A database newer than this build knows is refused untouched, naming the StanceLab version
    it needs. Two programs opening a new database at once both get here: each migration
    re-reads the version under the write lock.
    """
    try:
        current = schema_version(db)
    except StorageError:   # a new database (or a damaged one: the CREATE says which)
        db.rollback()
        db.begin()         # under the write lock: two programs may create it at once
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                       "KEY, description TEXT NOT NULL, applied TEXT NOT NULL)")
            db.commit()
        except BaseException:
            db.rollback()
            raise
        current = schema_version(db)
    newest = max(v for v, _, _ in migrations)
    if current > newest:
        needed = required_app_version(db)
        need = (f"StanceLab {needed} or newer is needed (this is {app_version}). Update "
                f"StanceLab to {needed}" if needed and needed != app_version
                else "Update StanceLab")
        raise StorageError(
            f"The database {backend.location} was written by a newer StanceLab (schema version "
            f"{current}; this version understands up to {newest}). {need}, or point it at "
            f"another database with STANCELAB_DATA_DIR or STANCELAB_DATABASE_URL.",
            "newer_schema")
    for version, description, steps in migrations:
        if version <= current:
            continue
        db.begin()
        try:
            if schema_version(db) < version:   # not applied meanwhile by another program
                for step in steps:
                    if callable(step):
                        step(db)
                    else:
                        db.execute(step.format(id=backend.id_column))
                db.execute("INSERT INTO schema_version (version, description, applied) "
                           "VALUES (?, ?, ?)", (version, description, now_iso()))
                if version >= 3:   # the table exists from version 3 on
                    db.execute("DELETE FROM stancelab_info WHERE key = 'min_app_version'")
                    db.execute("INSERT INTO stancelab_info (key, value) "
                               "VALUES ('min_app_version', ?)", (app_version,))
            db.commit()
        except BaseException:
            db.rollback()
            raise
