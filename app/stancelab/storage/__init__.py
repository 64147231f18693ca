"""All database access: athletes, calibrations, sessions, trials and their samples.

The package, by role:

* ``records``        the plain values handed out (Athlete, Session, Trial, summaries,
                     SampleArrays) and StorageError
* ``schema``         the tables as portable SQL, and the migrations
* ``store``          Storage: athletes, calibrations, sessions, trials, summaries
* ``plans``          the training plans and the plan sessions done (mixed into Storage)
* ``samples``        SampleWriter (its own thread), the live-recording lock, reading samples
* ``sqlite_backend`` the only module that knows the database is SQLite
* ``postgres_backend`` the only module that knows the database is PostgreSQL (a clinic's
                     server; imported only when a postgresql:// URL is opened)
* ``backends``       which one to open (STANCELAB_DATABASE_URL, a path or a URL)
* ``spool``          where a station records while the server is unreachable (and a trial's
                     end waits with its samples)
* ``trial_end``      a trial's end written on a connection (Storage and the spool flush)
* ``station_setting`` which server this station uses (`stancelab db use`, the app's Settings)
* ``locks``          the lock file that marks a live recording
* ``server_copy``    copying a laptop's database to the server (`stancelab db migrate`)

Times are stored quantised to whole microseconds (the board clock's resolution) so that CSV
export and import give back bit-identical numbers. docs/storage.md describes it all.
"""

from stancelab.storage.backends import DATABASE_URL_ENV, is_server_url, open_backend
from stancelab.storage.plans import PlanRecord, PlanSessionRecord, PlanStepRecord
from stancelab.storage.records import (
    ERROR_KINDS,
    HEADLINE_KEYS,
    TRIAL_STATUSES,
    Athlete,
    RecoveredTrial,
    SampleArrays,
    Session,
    SessionSummary,
    StorageError,
    Trial,
    TrialSummary,
    headline_values,
    now_iso,
    quantise_us,
)
from stancelab.storage.samples import DEFAULT_COMMIT_INTERVAL_S, SampleWriter
from stancelab.storage.schema import MIGRATIONS
from stancelab.storage.sqlite_backend import DEFAULT_BUSY_TIMEOUT_S, SqliteBackend
from stancelab.storage.store import Storage

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_COMMIT_INTERVAL_S",
    "ERROR_KINDS",
    "HEADLINE_KEYS",
    "MIGRATIONS",
    "TRIAL_STATUSES",
    "Athlete",
    "PlanRecord",
    "PlanSessionRecord",
    "PlanStepRecord",
    "RecoveredTrial",
    "SampleArrays",
    "SampleWriter",
    "Session",
    "SessionSummary",
    "SqliteBackend",
    "Storage",
    "StorageError",
    "Trial",
    "TrialSummary",
    "headline_values",
    "is_server_url",
    "now_iso",
    "open_backend",
    "quantise_us",
]
