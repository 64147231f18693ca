"""All database access: athletes, calibrations, sessions, trials and their samples.

Every SQL statement of StanceLab lives in this module. The SQL is kept to what both SQLite and
PostgreSQL accept (INTEGER / DOUBLE PRECISION / TEXT columns, ``INSERT ... RETURNING id``,
JSON kept as TEXT); the few SQLite-only details (how to connect, PRAGMAs, ``BEGIN IMMEDIATE``,
the auto-increment id column, ``?`` placeholders, error translation) sit in :class:`_Sqlite`, so a
clinic can later point every station at one PostgreSQL server by adding a second dialect.

Samples are written as they arrive by a :class:`SampleWriter` that commits at least every
``commit_interval_s`` (wall clock or device time, whichever first): a crash loses at most that much.
Times are stored quantised to whole microseconds (the board clock's resolution) so that CSV
export and import give back bit-identical numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stancelab import __version__, paths

TRIAL_STATUSES = ("recording", "completed", "aborted", "interrupted")
DEFAULT_COMMIT_INTERVAL_S = 0.5
DEFAULT_BUSY_TIMEOUT_S = 5.0


class StorageError(RuntimeError):
    """A database problem worded for the user, naming the file and the fix."""


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def quantise_us(t_s):
    """Round times to whole microseconds the way the board clock produces them (us * 1e-6)."""
    if isinstance(t_s, np.ndarray):
        return np.round(t_s * 1e6).astype(np.int64) * 1e-6
    return round(t_s * 1e6) * 1e-6


# --------------------------------------------------------------------------------------------
# The SQLite dialect: everything not portable to PostgreSQL is here.

class _Sqlite:
    id_column = "INTEGER PRIMARY KEY"   # PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    begin_write = "BEGIN IMMEDIATE"     # PostgreSQL: BEGIN

    @staticmethod
    def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is never
        # opened behind our back. check_same_thread=False: Storage serialises use with a lock.
        conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        try:
            # Switching a new file to WAL takes an exclusive lock, and SQLite can answer "locked"
            # at once (without its busy handler) while another program does the same: retry
            # for the busy timeout, as any other write would wait.
            deadline = time.monotonic() + busy_timeout_s
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as e:
                    busy = "locked" in str(e) or "busy" in str(e)
                    if not busy or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    @staticmethod
    def translate(exc: sqlite3.Error, path: Path) -> StorageError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return StorageError(
                f"The database {path} is busy: another StanceLab window or station is writing "
                f"to it. Wait a moment and try again, or close the other program.")
        if isinstance(exc, sqlite3.OperationalError) and ("disk" in text or "full" in text):
            return StorageError(f"Cannot write to {path}: {text}. Free some disk space.")
        if any(word in text for word in ("not a database", "malformed", "corrupt")):
            return StorageError(
                f"The database file {path} is damaged or is not a StanceLab database ({text}). "
                f"Rename or move that file away; StanceLab then starts a new, empty database "
                f"and the old file stays available for recovery.")
        return StorageError(f"Database error in {path}: {text}")


_DIALECT = _Sqlite

# --------------------------------------------------------------------------------------------
# Schema. Each migration is (version, description, statements); never edit a released one,
# append a new one.

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



def _fill_trial_metrics(store: Storage) -> None:
    """Version 2, existing rows: the summary metrics of every trial from its metrics JSON."""
    for tid, text in store._q("SELECT id, metrics FROM trials").fetchall():
        store._write_many(_METRIC_INSERT, [(tid, k, v) for k, v in
                                           headline_values(json.loads(text)).items()])


_V2 = [
    "ALTER TABLE trials ADD COLUMN sample_count BIGINT",
    ("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
     "WHERE samples.trial_id = trials.id)"),
    """CREATE TABLE trial_metrics (
        trial_id BIGINT NOT NULL REFERENCES trials (id),
        key TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, key))""",
    _fill_trial_metrics,
]

#: (version, description, steps); a step is SQL text or a function of the Storage (data moves).
MIGRATIONS: list[tuple[int, str, list]] = [
    (1, "athletes, calibrations, sessions, trials, samples", _V1),
    (2, "trial sample counts and summary metrics", _V2),
]

_METRIC_INSERT = "INSERT INTO trial_metrics (trial_id, key, value) VALUES (?, ?, ?)"


def headline_values(metrics: dict) -> dict[str, float]:
    """The numbers summaries list without decoding a trial's metrics JSON: every numeric
    top-level metric (not booleans), and for a clock trial each hour's maximal excursion as
    ``"<hour> o'clock max_excursion_pct"`` (the keys the result and compare screens show)."""
    out = {k: float(v) for k, v in metrics.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for t in metrics.get("targets", None) or []:
        if isinstance(t, dict) and isinstance(t.get("max_excursion_pct"), (int, float)):
            out[f"{t.get('hour')} o'clock max_excursion_pct"] = float(t["max_excursion_pct"])
    return out

# --------------------------------------------------------------------------------------------
# Plain records handed to callers.


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


@dataclass
class SampleArrays:
    """Samples of one trial as columns; phase/target are object arrays of str or None."""

    seq: np.ndarray        # int64
    t_s: np.ndarray        # float64
    t_host_s: np.ndarray   # float64
    counts: np.ndarray     # (N, 4) int64, channels FL FR BL BR
    status: np.ndarray     # int64
    phase: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> SampleArrays:
        i = np.zeros(0, np.int64)
        f = np.zeros(0, float)
        o = np.zeros(0, object)
        return cls(i, f, f.copy(), np.zeros((0, 4), np.int64), i.copy(), o, o.copy())

    @classmethod
    def from_samples(cls, samples, phase=None, target=None) -> SampleArrays:
        """From source.Sample objects; phase/target: one value for all, or one per sample."""
        samples = list(samples)
        n = len(samples)
        if n == 0:
            return cls.empty()
        return cls(np.array([s.seq for s in samples], np.int64),
                   quantise_us(np.array([s.t_s for s in samples], float)),
                   quantise_us(np.array([s.t_host_s for s in samples], float)),
                   np.array([s.counts for s in samples], np.int64),
                   np.array([s.status for s in samples], np.int64),
                   _text_column(phase, n), _text_column(target, n))

    def equals(self, other: SampleArrays) -> bool:
        return (len(self) == len(other)
                and all(np.array_equal(getattr(self, k), getattr(other, k))
                        for k in ("seq", "t_s", "t_host_s", "counts", "status"))
                and list(self.phase) == list(other.phase)
                and list(self.target) == list(other.target))


def _text_column(value, n: int) -> np.ndarray:
    out = np.empty(n, object)
    if value is None or isinstance(value, str):
        out[:] = value or None
    else:
        values = list(value)
        if len(values) != n:
            raise ValueError(f"expected {n} phase/target values, got {len(values)}")
        out[:] = [v or None for v in values]
    return out


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


# --------------------------------------------------------------------------------------------


class Storage:
    """One open database. Thread-safe (one lock); open one per process, or several: see docs."""

    def __init__(self, path: str | Path | None = None, *,
                 busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
                 migrations: Sequence[tuple[int, str, list[str]]] = MIGRATIONS) -> None:
        self.path = Path(path) if path is not None else paths.database_path()
        self.busy_timeout_s = busy_timeout_s
        self._migrations = list(migrations)
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = _DIALECT.connect(self.path, busy_timeout_s)
        except sqlite3.Error as e:
            raise _DIALECT.translate(e, self.path) from None
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- plumbing
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _q(self, sql: str, params: Sequence | None = None):
        try:
            return self._conn.execute(sql, params or ())
        except sqlite3.Error as e:
            raise _DIALECT.translate(e, self.path) from None

    class _Tx:
        def __init__(self, store: Storage):
            self.store = store

        def __enter__(self):
            self.store._lock.acquire()
            self.nested = self.store._conn.in_transaction  # join the caller's transaction
            if self.nested:
                return self.store
            try:
                self.store._q(_DIALECT.begin_write)
            except BaseException:
                self.store._lock.release()
                raise
            return self.store

        def __exit__(self, exc_type, exc, tb):
            try:
                if self.nested:
                    pass
                elif exc_type is None:
                    self.store._q("COMMIT")
                else:
                    try:
                        self.store._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
            finally:
                self.store._lock.release()
            return False

    def transaction(self) -> Storage._Tx:
        """``with store.transaction():`` groups writes, all or nothing; nests by joining."""
        return Storage._Tx(self)

    def _write(self, sql: str, params: Sequence = ()):
        """Run one statement, in the caller's transaction or its own."""
        with self._lock:
            if self._conn.in_transaction:
                return self._q(sql, params)
            with self.transaction():
                return self._q(sql, params)

    def _insert(self, sql: str, params: Sequence) -> int:
        with self._lock:
            if not self._conn.in_transaction:
                with self.transaction():
                    return self._insert(sql, params)
            rows = self._q(sql + " RETURNING id", params).fetchall()  # drain before COMMIT
            return int(rows[0][0])

    # -- schema
    @property
    def schema_version(self) -> int:
        row = self._q("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        with self._lock:
            self._q("CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)")
            current = self.schema_version
            newest = max(v for v, _, _ in self._migrations)
            if current > newest:
                raise StorageError(
                    f"The database {self.path} was written by a newer StanceLab (schema version "
                    f"{current}; this version understands up to {newest}). Update StanceLab, or "
                    f"point it at another database with STANCELAB_DATA_DIR.")
            for version, description, statements in self._migrations:
                if version <= current:
                    continue
                with self.transaction():
                    # Another program opening the same new database may have applied it while
                    # we waited for the write lock: read the version again under the lock.
                    if self.schema_version >= version:
                        continue
                    for step in statements:
                        if callable(step):
                            step(self)
                        else:
                            self._q(step.format(id=_DIALECT.id_column))
                    self._q("INSERT INTO schema_version (version, description, applied) "
                            "VALUES (?, ?, ?)", (version, description, now_iso()))

    def check(self) -> None:
        """Full integrity check (reads the whole file); raises StorageError when damaged."""
        rows = self._q("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            raise StorageError(f"The database file {self.path} is damaged: "
                               f"{'; '.join(r[0] for r in rows[:5])}. Restore a backup or move "
                               f"the file away to start a new one.")

    # -- athletes
    _ATHLETE_COLS = ("id, name, foot_length_mm, shoe_size, dominant_leg, injured_side, notes, "
                     "settings, created")

    def add_athlete(self, name: str, foot_length_mm: float | None = None, *,
                    shoe_size: str | None = None, dominant_leg: str | None = None,
                    injured_side: str | None = None, notes: str = "",
                    settings: dict | None = None) -> Athlete:
        name = name.strip()
        if not name:
            raise StorageError("An athlete needs a name.")
        if self.find_athlete(name) is not None:
            raise StorageError(f"An athlete called {name!r} already exists; pick them from "
                               f"the list or add a distinguishing initial.")
        aid = self._insert(
            "INSERT INTO athletes (name, foot_length_mm, shoe_size, dominant_leg, injured_side, "
            "notes, settings, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, foot_length_mm, shoe_size, dominant_leg, injured_side, notes,
             json.dumps(settings or {}, sort_keys=True), now_iso()))
        return self.athlete(aid)

    def _athlete_row(self, row) -> Athlete | None:
        if row is None:
            return None
        return Athlete(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                       json.loads(row[7]), row[8])

    def athlete(self, athlete_id: int) -> Athlete:
        a = self._athlete_row(self._q(f"SELECT {self._ATHLETE_COLS} FROM athletes WHERE id = ?",
                                      (athlete_id,)).fetchone())
        if a is None:
            raise StorageError(f"No athlete with id {athlete_id} in {self.path}.")
        return a

    def find_athlete(self, name: str) -> Athlete | None:
        """Case-insensitive lookup: names are unique regardless of case."""
        return self._athlete_row(self._q(
            f"SELECT {self._ATHLETE_COLS} FROM athletes WHERE lower(name) = lower(?)",
            (name.strip(),)).fetchone())

    def get_or_add_athlete(self, name: str, **fields) -> Athlete:
        # Look and add inside one write transaction: two programs adding the same new name at
        # once then serialise instead of one failing on the unique index.
        with self.transaction():
            return self.find_athlete(name) or self.add_athlete(name, **fields)

    def athletes(self) -> list[Athlete]:
        return [self._athlete_row(r) for r in self._q(
            f"SELECT {self._ATHLETE_COLS} FROM athletes ORDER BY lower(name)").fetchall()]

    def update_athlete(self, athlete_id: int, **fields) -> Athlete:
        allowed = {"name", "foot_length_mm", "shoe_size", "dominant_leg", "injured_side",
                   "notes", "settings"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown athlete fields: {sorted(bad)}")
        if "settings" in fields:
            fields["settings"] = json.dumps(fields["settings"] or {}, sort_keys=True)
        if fields:
            cols = ", ".join(f"{k} = ?" for k in fields)  # keys checked against `allowed`
            self._write(f"UPDATE athletes SET {cols} WHERE id = ?", (*fields.values(), athlete_id))
        return self.athlete(athlete_id)

    # -- calibrations
    def save_calibration(self, calibration) -> str:
        """Store a calibration.Calibration (idempotent by id); returns its id."""
        with self._lock:
            if self._q("SELECT 1 FROM calibrations WHERE id = ?",
                       (calibration.id,)).fetchone() is None:
                self._write("INSERT INTO calibrations (id, board_id, data, created, firmware) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (calibration.id, calibration.board_id,
                             json.dumps(calibration.to_dict(), sort_keys=True),
                             calibration.created, calibration.firmware))
        return calibration.id

    def latest_calibration(self, board_id: int | None):
        """The newest calibration saved for this board (None: the board has none)."""
        from stancelab.calibration import Calibration
        if board_id is None:
            row = self._q("SELECT data FROM calibrations WHERE board_id IS NULL "
                          "ORDER BY created DESC, rowid DESC LIMIT 1").fetchone()
        else:
            row = self._q("SELECT data FROM calibrations WHERE board_id = ? "
                          "ORDER BY created DESC, rowid DESC LIMIT 1", (board_id,)).fetchone()
        return None if row is None else Calibration.from_dict(json.loads(row[0]))

    def calibration(self, calibration_id: str):
        from stancelab.calibration import Calibration
        row = self._q("SELECT data FROM calibrations WHERE id = ?", (calibration_id,)).fetchone()
        if row is None:
            raise StorageError(f"No calibration {calibration_id!r} in {self.path}.")
        return Calibration.from_dict(json.loads(row[0]))

    # -- sessions
    _SESSION_COLS = ("id, athlete_id, started, board_id, firmware, calibration_id, source_kind, "
                     "app_version, notes")

    def start_session(self, *, athlete_id: int | None, source_kind: str,
                      board_id: int | None = None, firmware: str | None = None,
                      calibration=None, notes: str = "", started: str | None = None,
                      app_version: str = __version__) -> Session:
        with self._lock:
            cal_id = self.save_calibration(calibration) if calibration is not None else None
            sid = self._insert(
                "INSERT INTO sessions (athlete_id, started, board_id, firmware, calibration_id, "
                "source_kind, app_version, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (athlete_id, started or now_iso(), board_id, firmware, cal_id, source_kind,
                 app_version, notes))
            return self.session(sid)

    def session(self, session_id: int) -> Session:
        row = self._q(f"SELECT {self._SESSION_COLS} FROM sessions WHERE id = ?",
                      (session_id,)).fetchone()
        if row is None:
            raise StorageError(f"No session {session_id} in {self.path}.")
        return Session(*row)

    def sessions(self, athlete_id: int | None = None) -> list[Session]:
        if athlete_id is None:
            rows = self._q(f"SELECT {self._SESSION_COLS} FROM sessions ORDER BY id").fetchall()
        else:
            rows = self._q(f"SELECT {self._SESSION_COLS} FROM sessions WHERE athlete_id = ? "
                           "ORDER BY id", (athlete_id,)).fetchall()
        return [Session(*r) for r in rows]

    # -- trials
    _TRIAL_COLS = ("id, session_id, drill, leg, condition, settings, status, reason, started, "
                   "ended, metrics")

    def start_trial(self, session_id: int, drill: str, *, leg: str | None = None,
                    condition: str | None = None, settings: dict | None = None,
                    status: str = "recording", started: str | None = None) -> Trial:
        _check_status(status)
        tid = self._insert(
            "INSERT INTO trials (session_id, drill, leg, condition, settings, status, started, "
            "metrics, heartbeat_unix, sample_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (session_id, drill, leg, condition, json.dumps(settings or {}, sort_keys=True),
             status, started or now_iso(), "{}", time.time()))
        return self.trial(tid)

    def _trial_row(self, r) -> Trial:
        return Trial(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9],
                     json.loads(r[10]))

    def trial(self, trial_id: int) -> Trial:
        row = self._q(f"SELECT {self._TRIAL_COLS} FROM trials WHERE id = ?",
                      (trial_id,)).fetchone()
        if row is None:
            raise StorageError(f"No trial {trial_id} in {self.path}.")
        return self._trial_row(row)

    def trials(self, session_id: int) -> list[Trial]:
        return [self._trial_row(r) for r in self._q(
            f"SELECT {self._TRIAL_COLS} FROM trials WHERE session_id = ? ORDER BY id",
            (session_id,)).fetchall()]

    def trials_for_athlete(self, athlete_id: int) -> list[Trial]:
        """Every trial of the athlete's sessions in one query, by session start then id."""
        cols = ", ".join(f"t.{c.strip()}" for c in self._TRIAL_COLS.split(","))
        return [self._trial_row(r) for r in self._q(
            f"SELECT {cols} FROM trials t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.athlete_id = ? ORDER BY s.started, t.id", (athlete_id,)).fetchall()]

    def trial_summaries(self, athlete_id: int | None = None) -> list[TrialSummary]:
        """All trials (or one athlete's) with their headline numbers, in one query, by
        session start then trial id. Reads neither settings nor metrics JSON."""
        where, params = ("WHERE s.athlete_id = ? ", (athlete_id,)) if athlete_id is not None \
            else ("", ())
        rows = self._q(
            "SELECT t.id, t.session_id, s.started, s.athlete_id, t.drill, t.leg, t.condition, "
            "t.status, t.reason, t.started, t.ended, COALESCE(t.sample_count, "
            "(SELECT COUNT(*) FROM samples x WHERE x.trial_id = t.id)), m.key, m.value "
            "FROM trials t JOIN sessions s ON s.id = t.session_id "
            "LEFT JOIN trial_metrics m ON m.trial_id = t.id "
            f"{where}ORDER BY s.started, t.id", params).fetchall()
        out: list[TrialSummary] = []
        for r in rows:
            if not out or out[-1].id != r[0]:
                out.append(TrialSummary(*r[:11], int(r[11]), {}))
            if r[12] is not None:
                out[-1].headline[r[12]] = r[13]
        return out

    def session_summaries(self, athlete_id: int | None = None) -> list[SessionSummary]:
        """All sessions (or one athlete's) with trial and sample counts and the drills done,
        by session id; two queries however many sessions."""
        where, params = ("WHERE s.athlete_id = ? ", (athlete_id,)) if athlete_id is not None \
            else ("", ())
        drills: dict[int, list[str]] = {}
        for sid, drill, _first in self._q(
                "SELECT t.session_id, t.drill, MIN(t.id) FROM trials t "
                f"JOIN sessions s ON s.id = t.session_id {where}"
                "GROUP BY t.session_id, t.drill ORDER BY t.session_id, MIN(t.id)",
                params).fetchall():
            drills.setdefault(sid, []).append(drill)
        rows = self._q(
            "SELECT s.id, s.athlete_id, a.name, s.started, s.board_id, s.source_kind, "
            "COUNT(t.id), COALESCE(SUM(t.sample_count), 0) FROM sessions s "
            "LEFT JOIN athletes a ON a.id = s.athlete_id "
            f"LEFT JOIN trials t ON t.session_id = s.id {where}"
            "GROUP BY s.id, s.athlete_id, a.name, s.started, s.board_id, s.source_kind "
            "ORDER BY s.id", params).fetchall()
        return [SessionSummary(*r[:6], int(r[6]), int(r[7]), tuple(drills.get(r[0], ())))
                for r in rows]

    def update_metrics(self, trial_id: int, metrics: dict) -> None:
        """Merge result metrics into the trial as they come (each call commits)."""
        with self.transaction():
            row = self._q("SELECT metrics FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise StorageError(f"No trial {trial_id} in {self.path}.")
            merged = {**json.loads(row[0]), **metrics}
            self._q("UPDATE trials SET metrics = ? WHERE id = ?",
                    (json.dumps(merged, sort_keys=True), trial_id))
            self._q("DELETE FROM trial_metrics WHERE trial_id = ?", (trial_id,))
            self._write_many(_METRIC_INSERT, [(trial_id, k, v) for k, v in
                                              headline_values(merged).items()])

    def finish_trial(self, trial_id: int, status: str = "completed",
                     reason: str | None = None, ended: str | None = None) -> None:
        _check_status(status)
        if status == "recording":
            raise ValueError("finish_trial needs a final status")
        self._write("UPDATE trials SET status = ?, reason = ?, ended = ?, heartbeat_unix = NULL, "
                    "sample_count = (SELECT COUNT(*) FROM samples WHERE trial_id = ?) "
                    "WHERE id = ?", (status, reason, ended or now_iso(), trial_id, trial_id))

    def recover_interrupted(self, stale_after_s: float = 10.0) -> list[RecoveredTrial]:
        """Mark trials left 'recording' by a crashed process as 'interrupted'.

        A trial whose writer committed within ``stale_after_s`` is treated as still being
        recorded by another live process and left alone.
        """
        cutoff = time.time() - stale_after_s
        out = []
        with self.transaction():
            rows = self._q("SELECT id, session_id, heartbeat_unix FROM trials "
                           "WHERE status = 'recording' ORDER BY id").fetchall()
            for tid, sid, beat in rows:
                alive = _writer_alive(self.path, tid)
                if alive is None:   # no lock file (other host, other OS): trust the heartbeat
                    alive = beat is not None and beat >= cutoff
                if alive:
                    continue
                n, last_t = self._q("SELECT COUNT(*), MAX(t_s) FROM samples WHERE trial_id = ?",
                                    (tid,)).fetchone()
                ended = (_dt.datetime.fromtimestamp(beat).astimezone()
                         .isoformat(timespec="milliseconds") if beat else None)
                reason = (f"the program stopped while recording; {n} samples kept"
                          + (f" (up to t = {last_t:.3f} s)" if last_t is not None else ""))
                self._q("UPDATE trials SET status = 'interrupted', reason = ?, ended = ?, "
                        "heartbeat_unix = NULL, sample_count = ? WHERE id = ?",
                        (reason, ended, n, tid))
                out.append(RecoveredTrial(tid, sid, int(n), last_t))
        return out

    # -- samples
    def sample_writer(self, trial_id: int,
                      commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S) -> SampleWriter:
        return SampleWriter(self.path, trial_id, commit_interval_s, self.busy_timeout_s)

    def sample_count(self, trial_id: int) -> int:
        return int(self._q("SELECT COUNT(*) FROM samples WHERE trial_id = ?",
                           (trial_id,)).fetchone()[0])

    def insert_samples(self, trial_id: int, samples: SampleArrays, first_idx: int = 0) -> None:
        """Bulk insert (imports); joins the caller's transaction if one is open."""
        with self.transaction():
            self._write_many(_SAMPLE_INSERT, _sample_rows(trial_id, samples, first_idx))
            self._q("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
                    "WHERE trial_id = ?) WHERE id = ?", (trial_id, trial_id))

    def _write_many(self, sql: str, rows: Iterable) -> None:
        with self._lock:
            if self._conn.in_transaction:
                try:
                    self._conn.executemany(sql, rows)
                except sqlite3.Error as e:
                    raise _DIALECT.translate(e, self.path) from None
            else:
                with self.transaction():
                    self._write_many(sql, rows)

    def read_samples(self, trial_id: int) -> SampleArrays:
        """All samples of a trial, in order, as numpy columns."""
        with self._lock:
            rows = self._q("SELECT seq, t_s, t_host_s, fl_counts, fr_counts, bl_counts, "
                           "br_counts, status, phase, target FROM samples WHERE trial_id = ? "
                           "ORDER BY idx", (trial_id,)).fetchall()
        if not rows:
            return SampleArrays.empty()
        cols = list(zip(*rows))
        return SampleArrays(
            np.array(cols[0], np.int64), np.array(cols[1], float), np.array(cols[2], float),
            np.column_stack([np.array(cols[k], np.int64) for k in range(3, 7)]),
            np.array(cols[7], np.int64), _objects(cols[8]), _objects(cols[9]))


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), object)
    out[:] = values
    return out


def _check_status(status: str) -> None:
    if status not in TRIAL_STATUSES:
        raise ValueError(f"trial status must be one of {TRIAL_STATUSES}, not {status!r}")


_SAMPLE_INSERT = ("INSERT INTO samples (trial_id, idx, seq, t_s, t_host_s, fl_counts, fr_counts, "
                  "bl_counts, br_counts, status, phase, target) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _sample_rows(trial_id: int, s: SampleArrays, first_idx: int):
    c = s.counts.tolist()
    return zip([trial_id] * len(s), range(first_idx, first_idx + len(s)), s.seq.tolist(),
               quantise_us(np.asarray(s.t_s, float)).tolist(),
               quantise_us(np.asarray(s.t_host_s, float)).tolist(),
               [r[0] for r in c], [r[1] for r in c], [r[2] for r in c], [r[3] for r in c],
               s.status.tolist(), [p or None for p in s.phase], [t or None for t in s.target])


def _lock_path(db_path: Path, trial_id: int) -> Path:
    return db_path.with_name(f"{db_path.name}.trial-{trial_id}.lock")


def _writer_alive(db_path: Path, trial_id: int) -> bool | None:
    """Is a process still writing this trial? None when its lock file cannot tell.

    A SampleWriter holds an OS lock (flock) on a file next to the database; the OS drops the
    lock when the process dies, even by SIGKILL, so a crashed recording is found at the next
    start at once instead of after the heartbeat goes stale.
    """
    if _fcntl is None:
        return None
    path = _lock_path(db_path, trial_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return True
    try:
        os.unlink(path)
    except OSError:
        pass
    os.close(fd)   # also releases the lock
    return False


try:
    import fcntl as _fcntl
except ImportError:  # Windows: liveness falls back to the heartbeat
    _fcntl = None


class SampleWriter:
    """Writes one trial's samples as they arrive, on its own connection.

    Rows go into the database immediately inside an open transaction; the transaction is
    committed when ``commit_interval_s`` has passed on the wall clock or in device time since
    the last commit, whichever comes first. Call :meth:`tick` from an idle loop so a pause in
    the stream cannot hold rows uncommitted; :meth:`close` commits the rest.
    """

    def __init__(self, path: Path, trial_id: int, commit_interval_s: float,
                 busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.trial_id = trial_id
        self.commit_interval_s = commit_interval_s
        try:
            self._conn = _DIALECT.connect(path, busy_timeout_s)
            row = self._conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM samples "
                                     "WHERE trial_id = ?", (trial_id,)).fetchone()
        except sqlite3.Error as e:
            raise _DIALECT.translate(e, path) from None
        self._lock_fd = self._take_lock()
        self.written = int(row[0])       # samples in the database for this trial (incl. pending)
        self.committed = self.written    # samples known to be durable
        self._pending = False
        self._last_commit_wall = time.monotonic()
        self._last_commit_t_s: float | None = None
        self.commits = 0

    def _take_lock(self) -> int | None:
        """Hold the trial's lock file while recording (see _writer_alive); best effort."""
        if _fcntl is None:
            return None
        try:
            fd = os.open(_lock_path(self.path, self.trial_id), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            try:
                os.unlink(_lock_path(self.path, self.trial_id))
            except OSError:
                pass
            os.close(fd)

    def append(self, sample, phase: str | None = None, target: str | None = None) -> None:
        self.extend([sample], phase, target)

    def extend(self, samples, phase=None, target=None) -> None:
        """Write source.Sample objects (or a SampleArrays) now; commit if a second is due."""
        arrays = samples if isinstance(samples, SampleArrays) else \
            SampleArrays.from_samples(samples, phase, target)
        if len(arrays) == 0:
            self.tick()
            return
        try:
            if not self._pending:
                self._conn.execute(_DIALECT.begin_write)
                self._pending = True
            self._conn.executemany(_SAMPLE_INSERT, _sample_rows(self.trial_id, arrays,
                                                                self.written))
        except sqlite3.Error as e:
            raise _DIALECT.translate(e, self.path) from None
        self.written += len(arrays)
        if self._last_commit_t_s is None:
            self._last_commit_t_s = float(arrays.t_s[0])
        self.tick(float(arrays.t_s[-1]))

    def tick(self, t_s: float | None = None) -> None:
        """Commit if the interval has passed by wall clock or by device time ``t_s``."""
        if not self._pending:
            return
        due = time.monotonic() - self._last_commit_wall >= self.commit_interval_s
        if t_s is not None and self._last_commit_t_s is not None:
            due = due or t_s - self._last_commit_t_s >= self.commit_interval_s
        if due:
            self.commit(t_s)

    def commit(self, t_s: float | None = None) -> None:
        if self._pending:
            try:
                self._conn.execute("UPDATE trials SET heartbeat_unix = ?, sample_count = ? "
                                   "WHERE id = ?", (time.time(), self.written, self.trial_id))
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise _DIALECT.translate(e, self.path) from None
            self._pending = False
            self.committed = self.written
            self.commits += 1
        self._last_commit_wall = time.monotonic()
        if t_s is not None:
            self._last_commit_t_s = t_s

    def close(self) -> None:
        """Commit what is pending and release the connection. Safe to call twice."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._conn.close()
            self._conn = None
            self._release_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
