"""Storage: athletes, calibrations, sessions and trials, and the summaries lists are built from.

All SQL here is portable (``?`` placeholders, ``INSERT ... RETURNING id``, JSON as TEXT); the
backend (sqlite_backend.py today) connects, runs it and words its errors. Samples are written by
a SampleWriter (samples.py) on a connection and thread of its own.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import logging
import operator
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from stancelab import __version__
from stancelab.storage import samples as _samples
from stancelab.storage import spool as _spool
from stancelab.storage.backends import open_backend
from stancelab.storage.plans import PlanTables
from stancelab.storage.records import (
    Athlete,
    RecoveredTrial,
    SampleArrays,
    Session,
    SessionSummary,
    StorageError,
    Trial,
    TrialSummary,
    check_status,
    now_iso,
)
from stancelab.storage.samples import DEFAULT_COMMIT_INTERVAL_S, SampleWriter
from stancelab.storage.schema import MIGRATIONS, migrate, schema_version
from stancelab.storage.sqlite_backend import DEFAULT_BUSY_TIMEOUT_S
from stancelab.storage.trial_end import write_finish, write_metrics

log = logging.getLogger("stancelab.storage")

_ATHLETE_COLS = ("id, name, foot_length_mm, shoe_size, dominant_leg, injured_side, notes, "
                 "settings, created, row_version")
_SESSION_COLS = ("id, athlete_id, started, board_id, firmware, calibration_id, source_kind, "
                 "app_version, notes")
_TRIAL_COLS = ("id, session_id, drill, leg, condition, settings, status, reason, started, "
               "ended, metrics")
_TRIAL_COLS_T = ", ".join(f"t.{c.strip()}" for c in _TRIAL_COLS.split(","))


class Storage(PlanTables):
    """One open database. Thread-safe (one lock); open one per process, or several: see docs.

    ``Storage(path)`` opens (creating if new) the SQLite file at ``path``; ``Storage(url)`` with
    a ``postgresql://`` URL the clinic server; ``Storage()`` the server named by
    ``STANCELAB_DATABASE_URL`` if set, else the user's own SQLite file (backends.py);
    ``Storage(backend=...)`` another backend with the same interface.
    """

    def __init__(self, path: str | Path | None = None, *,
                 busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
                 migrations: Sequence = MIGRATIONS, backend=None) -> None:
        if backend is None:
            backend = open_backend(path, busy_timeout_s)
        self.backend = backend
        self.path = getattr(backend, "path", None)
        self.busy_timeout_s = backend.busy_timeout_s
        self._lock = threading.RLock()
        self._db = backend.connect()
        try:
            migrate(self._db, backend, list(migrations))
            #: Spools a station left while the server was away, now moved (trial id, rows).
            self.recovered_spools = (_spool.recover_spools(self) if backend.path is None
                                     else [])
            #: This process's spools that wait for the server (None on a SQLite file).
            self.pending_spools = (_spool.pending_for(self._db, backend)
                                   if backend.path is None else None)
        except BaseException:
            self._db.close()
            raise

    # -- plumbing
    def close(self) -> None:
        if self.pending_spools is not None:
            self.pending_spools.stop()
        with self._lock:
            self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _q(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params)

    def _one(self, sql: str, params: Sequence = ()):
        rows = self._q(sql, params)
        return rows[0] if rows else None

    class _Tx:
        def __init__(self, store: Storage):
            self.store = store

        def __enter__(self):
            self.store._lock.acquire()
            self.nested = self.store._db.in_transaction  # join the caller's transaction
            if self.nested:
                return self.store
            try:
                self.store._db.begin()
            except BaseException:
                self.store._lock.release()
                raise
            return self.store

        def __exit__(self, exc_type, exc, tb):
            try:
                if self.nested:
                    pass
                elif exc_type is None:
                    self.store._db.commit()
                else:
                    self.store._db.rollback()
            finally:
                self.store._lock.release()
            return False

    def transaction(self) -> Storage._Tx:
        """``with store.transaction():`` groups writes, all or nothing; nests by joining."""
        return Storage._Tx(self)

    def _write(self, sql: str, params: Sequence = ()) -> None:
        """Run one statement, in the caller's transaction or its own."""
        with self.transaction():
            self._db.execute(sql, params)

    def _write_many(self, sql: str, rows: Iterable) -> None:
        with self.transaction():
            self._db.executemany(sql, rows)

    def _insert(self, sql: str, params: Sequence) -> int:
        with self.transaction():
            return int(self._db.execute(sql + " RETURNING id", params)[0][0])

    def _missing(self, what: str) -> StorageError:
        return StorageError(f"No {what} in {self.backend.location}.", "not_found")

    # -- schema
    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._db)

    def check(self) -> None:
        """Full integrity check (reads the whole file); raises StorageError when damaged."""
        with self._lock:
            problems = self._db.integrity_problems()
        if problems:
            raise StorageError(f"The database file {self.backend.location} is damaged: "
                               f"{'; '.join(problems[:5])}. Restore a backup or move the file "
                               f"away to start a new one.", "damaged")

    # -- athletes
    def add_athlete(self, name: str, foot_length_mm: float | None = None, *,
                    shoe_size: str | None = None, dominant_leg: str | None = None,
                    injured_side: str | None = None, notes: str = "",
                    settings: dict | None = None) -> Athlete:
        name = name.strip()
        if not name:
            raise StorageError("An athlete needs a name.", "invalid")
        if self.find_athlete(name) is not None:
            raise StorageError(f"An athlete called {name!r} already exists; pick them from "
                               f"the list or add a distinguishing initial.", "invalid")
        aid = self._insert(
            "INSERT INTO athletes (name, foot_length_mm, shoe_size, dominant_leg, injured_side, "
            "notes, settings, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, foot_length_mm, shoe_size, dominant_leg, injured_side, notes,
             json.dumps(settings or {}, sort_keys=True), now_iso()))
        return self.athlete(aid)

    @staticmethod
    def _athlete_row(row) -> Athlete | None:
        if row is None:
            return None
        return Athlete(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                       json.loads(row[7]), row[8], row[9])

    def athlete(self, athlete_id: int) -> Athlete:
        a = self._athlete_row(self._one(f"SELECT {_ATHLETE_COLS} FROM athletes WHERE id = ?",
                                        (athlete_id,)))
        if a is None:
            raise self._missing(f"athlete with id {athlete_id}")
        return a

    def find_athlete(self, name: str) -> Athlete | None:
        """Case-insensitive lookup: names are unique regardless of case."""
        return self._athlete_row(self._one(
            f"SELECT {_ATHLETE_COLS} FROM athletes WHERE lower(name) = lower(?)",
            (name.strip(),)))

    def get_or_add_athlete(self, name: str, **fields) -> Athlete:
        # Look and add inside one write transaction: two programs adding the same new name at
        # once then serialise instead of one failing on the unique index.
        with self.transaction():
            return self.find_athlete(name) or self.add_athlete(name, **fields)

    def athletes(self) -> list[Athlete]:
        return [self._athlete_row(r) for r in self._q(
            f"SELECT {_ATHLETE_COLS} FROM athletes ORDER BY lower(name)")]

    def update_athlete(self, athlete_id: int, expected_version: int | None = None,
                       **fields) -> Athlete:
        """Change an athlete's fields. With ``expected_version`` (the ``version`` of the Athlete
        the user edited) the update only happens if nobody changed the athlete since: the
        UPDATE checks ``row_version`` in its WHERE clause, so of two stations saving an edit of
        the same read, the second gets a StorageError of kind ``conflict`` and nothing of it
        is written (no lost update)."""
        allowed = {"name", "foot_length_mm", "shoe_size", "dominant_leg", "injured_side",
                   "notes", "settings"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown athlete fields: {sorted(bad)}")
        if "settings" in fields:
            fields["settings"] = json.dumps(fields["settings"] or {}, sort_keys=True)
        if not fields:
            return self.athlete(athlete_id)
        cols = ", ".join(f"{k} = ?" for k in fields)  # keys checked against `allowed`
        sql = f"UPDATE athletes SET {cols}, row_version = row_version + 1 WHERE id = ?"
        params: tuple = (*fields.values(), athlete_id)
        if expected_version is not None:
            sql, params = sql + " AND row_version = ?", (*params, expected_version)
        with self.transaction():
            if not self._db.execute(sql + " RETURNING id", params):
                now = self.athlete(athlete_id)   # raises not_found if it is gone
                raise StorageError(
                    f"{now.name} was changed at another station since you opened them (version "
                    f"{expected_version}, now {now.version}); nothing was saved. Reload the "
                    f"athlete and make your change again.", "conflict")
            return self.athlete(athlete_id)

    # -- calibrations
    def save_calibration(self, calibration) -> str:
        """Store a calibration.Calibration (idempotent by id); returns its id."""
        with self.transaction():
            if self._one("SELECT 1 FROM calibrations WHERE id = ?", (calibration.id,)) is None:
                self._write("INSERT INTO calibrations (id, board_id, data, created, firmware) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (calibration.id, calibration.board_id,
                             json.dumps(calibration.to_dict(), sort_keys=True),
                             calibration.created, calibration.firmware))
        return calibration.id

    def latest_calibration(self, board_id: int | None):
        """The newest calibration saved for this board (None: the board has none)."""
        from stancelab.calibration import Calibration
        order = f"ORDER BY created DESC, {self.backend.insertion_order} DESC LIMIT 1"
        if board_id is None:
            row = self._one(f"SELECT data FROM calibrations WHERE board_id IS NULL {order}")
        else:
            row = self._one(f"SELECT data FROM calibrations WHERE board_id = ? {order}",
                            (board_id,))
        return None if row is None else Calibration.from_dict(json.loads(row[0]))

    def calibration(self, calibration_id: str):
        from stancelab.calibration import Calibration
        row = self._one("SELECT data FROM calibrations WHERE id = ?", (calibration_id,))
        if row is None:
            raise self._missing(f"calibration {calibration_id!r}")
        return Calibration.from_dict(json.loads(row[0]))

    # -- sessions
    def start_session(self, *, athlete_id: int | None, source_kind: str,
                      board_id: int | None = None, firmware: str | None = None,
                      calibration=None, notes: str = "", started: str | None = None,
                      app_version: str = __version__) -> Session:
        with self.transaction():
            cal_id = self.save_calibration(calibration) if calibration is not None else None
            sid = self._insert(
                "INSERT INTO sessions (athlete_id, started, board_id, firmware, calibration_id, "
                "source_kind, app_version, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (athlete_id, started or now_iso(), board_id, firmware, cal_id, source_kind,
                 app_version, notes))
        return self.session(sid)

    def session(self, session_id: int) -> Session:
        row = self._one(f"SELECT {_SESSION_COLS} FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise self._missing(f"session {session_id}")
        return Session(*row)

    def sessions(self, athlete_id: int | None = None) -> list[Session]:
        if athlete_id is None:
            rows = self._q(f"SELECT {_SESSION_COLS} FROM sessions ORDER BY id")
        else:
            rows = self._q(f"SELECT {_SESSION_COLS} FROM sessions WHERE athlete_id = ? "
                           "ORDER BY id", (athlete_id,))
        return [Session(*r) for r in rows]

    def session_summaries(self, athlete_id: int | None = None) -> list[SessionSummary]:
        """All sessions (or one athlete's) with trial and sample counts and the drills done,
        by session id; two queries however many sessions."""
        where, params = _athlete_filter(athlete_id)
        with self._lock:
            drills: dict[int, list[str]] = {}
            for sid, drill, _first in self._db.execute(
                    "SELECT t.session_id, t.drill, MIN(t.id) FROM trials t "
                    f"JOIN sessions s ON s.id = t.session_id {where}"
                    "GROUP BY t.session_id, t.drill ORDER BY t.session_id, MIN(t.id)", params):
                drills.setdefault(sid, []).append(drill)
            rows = self._db.execute(
                "SELECT s.id, s.athlete_id, a.name, s.started, s.board_id, s.source_kind, "
                "COUNT(t.id), COALESCE(SUM(t.sample_count), 0) FROM sessions s "
                "LEFT JOIN athletes a ON a.id = s.athlete_id "
                f"LEFT JOIN trials t ON t.session_id = s.id {where}"
                "GROUP BY s.id, s.athlete_id, a.name, s.started, s.board_id, s.source_kind "
                "ORDER BY s.id", params)
        return [SessionSummary(*r[:6], int(r[6]), int(r[7]), tuple(drills.get(r[0], ())))
                for r in rows]

    # -- trials
    def start_trial(self, session_id: int, drill: str, *, leg: str | None = None,
                    condition: str | None = None, settings: dict | None = None,
                    status: str = "recording", started: str | None = None) -> Trial:
        check_status(status)
        try:
            tid = self._insert(
                "INSERT INTO trials (session_id, drill, leg, condition, settings, status, "
                "started, metrics, heartbeat_unix, sample_count) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (session_id, drill, leg, condition, json.dumps(settings or {}, sort_keys=True),
                 status, started or now_iso(), "{}", time.time()))
        except StorageError as e:
            if e.kind != "unreachable":
                raise
            # A trial under way rides out a lost server (spool); a new one needs its id from
            # the server, so it cannot start until the server answers.
            raise StorageError(f"{e} A new trial cannot start without the server (a "
                               f"recording already under way goes on locally). Start it again "
                               f"once the server answers, or record on this station's own "
                               f"file: `stancelab db use local` (in the app: Settings, "
                               f"Server).", "unreachable") from None
        return self.trial(tid)

    @staticmethod
    def _trial_row(r) -> Trial:
        return Trial(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9],
                     json.loads(r[10]))

    def trial(self, trial_id: int) -> Trial:
        row = self._one(f"SELECT {_TRIAL_COLS} FROM trials WHERE id = ?", (trial_id,))
        if row is None:
            raise self._missing(f"trial {trial_id}")
        return self._trial_row(row)

    def trials(self, session_id: int) -> list[Trial]:
        return [self._trial_row(r) for r in self._q(
            f"SELECT {_TRIAL_COLS} FROM trials WHERE session_id = ? ORDER BY id", (session_id,))]

    def trials_for_athlete(self, athlete_id: int) -> list[Trial]:
        """Every trial of the athlete's sessions in one query, by session start then id."""
        return [self._trial_row(r) for r in self._q(
            f"SELECT {_TRIAL_COLS_T} FROM trials t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.athlete_id = ? ORDER BY s.started, t.id", (athlete_id,))]

    def trial_summaries(self, athlete_id: int | None = None, *,
                        headline: bool = True) -> list[TrialSummary]:
        """All trials (or one athlete's) with their headline numbers, by session start then
        trial id. Two queries however many trials (the trials, then their trial_metrics rows:
        joining them in one query repeats every trial's columns per number, ~4x slower on a
        clinic's year); neither settings nor metrics JSON is read. ``headline=False`` skips
        the numbers (a listing that shows none: `stancelab sessions`)."""
        where, params = _athlete_filter(athlete_id)
        with self._lock:
            rows = self._db.execute(
                "SELECT t.id, t.session_id, s.started, s.athlete_id, t.drill, t.leg, "
                "t.condition, t.status, t.reason, t.started, t.ended, COALESCE(t.sample_count, "
                "(SELECT COUNT(*) FROM samples x WHERE x.trial_id = t.id)) "
                f"FROM trials t JOIN sessions s ON s.id = t.session_id {where}"
                "ORDER BY s.started, t.id", params)
            numbers = []
            if headline:
                join = ("" if athlete_id is None else "JOIN trials t ON t.id = m.trial_id "
                        "JOIN sessions s ON s.id = t.session_id ")
                numbers = self._db.execute(f"SELECT m.trial_id, m.key, m.value FROM "
                                           f"trial_metrics m {join}{where}ORDER BY m.trial_id",
                                           params)
        by_trial = {tid: {key: value for _, key, value in group}
                    for tid, group in itertools.groupby(numbers, key=operator.itemgetter(0))}
        return [TrialSummary(*r[:11], int(r[11]), by_trial.get(r[0]) or {}) for r in rows]

    def update_metrics(self, trial_id: int, metrics: dict) -> None:
        """Merge result metrics into the trial as they come (each call commits)."""
        with self.transaction():
            write_metrics(self._db, trial_id, metrics, self.backend.location)

    def finish_trial(self, trial_id: int, status: str = "completed",
                     reason: str | None = None, ended: str | None = None) -> None:
        check_status(status)
        if status == "recording":
            raise ValueError("finish_trial needs a final status")
        with self.transaction():
            write_finish(self._db, trial_id, status, reason, ended or now_iso())

    def end_trial(self, trial_id: int, status: str = "completed", reason: str | None = None,
                  metrics: dict | None = None, ended: str | None = None) -> bool:
        """A recording's end: its metrics merged in and its final status, all or nothing.

        On a server that is away (or while the trial's samples still wait in this station's
        spool) the end is kept in that spool and reaches the server with the samples, in one
        transaction, as soon as it answers (spool.py); the user is told through the
        ``stancelab.storage`` logger. Returns True when the end is on the database now,
        False when it was kept locally."""
        check_status(status)
        if status == "recording":
            raise ValueError("end_trial needs a final status")
        ended, metrics = ended or now_iso(), dict(metrics or {})
        pending = self.pending_spools
        if pending is None or not pending.exists(trial_id):
            try:
                with self.transaction():
                    write_metrics(self._db, trial_id, metrics, self.backend.location)
                    write_finish(self._db, trial_id, status, reason, ended)
                return True
            except StorageError as e:
                if e.kind != "unreachable" or pending is None:
                    raise
                why = f"{e} "
        else:
            why = "Its samples still wait in this station's spool. "
        pending.keep_end(trial_id, status, reason, ended, metrics)
        log.warning("%sTrial %s ended (%s); its end and its samples are kept on this station "
                    "and go to the server as soon as it answers.", why, trial_id, status)
        return False

    def recover_interrupted(self, stale_after_s: float = 10.0) -> list[RecoveredTrial]:
        """Mark trials left 'recording' by a crashed process as 'interrupted'.

        A trial whose writer committed within ``stale_after_s`` is treated as still being
        recorded by another live process and left alone.
        """
        cutoff = time.time() - stale_after_s
        out = []
        with self.transaction():
            rows = self._q("SELECT id, session_id, heartbeat_unix FROM trials "
                           "WHERE status = 'recording' ORDER BY id")
            for tid, sid, beat in rows:
                alive = _samples.writer_alive(self.backend, tid)
                if alive is None:   # no lock file (other host, other OS): trust the heartbeat
                    alive = beat is not None and beat >= cutoff
                if alive:
                    continue
                n, last_t = self._one("SELECT COUNT(*), MAX(t_s) FROM samples WHERE trial_id = ?",
                                      (tid,))
                ended = (_dt.datetime.fromtimestamp(beat).astimezone()
                         .isoformat(timespec="milliseconds") if beat else None)
                reason = (f"the program stopped while recording; {n} samples kept"
                          + (f" (up to t = {last_t:.3f} s)" if last_t is not None else ""))
                self._db.execute("UPDATE trials SET status = 'interrupted', reason = ?, "
                                 "ended = ?, heartbeat_unix = NULL, sample_count = ? "
                                 "WHERE id = ?", (reason, ended, n, tid))
                out.append(RecoveredTrial(tid, sid, int(n), last_t))
        return out

    # -- samples
    def sample_writer(self, trial_id: int,
                      commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
                      on_notice=None) -> SampleWriter:
        """A writer on its own connection and thread (see samples.SampleWriter)."""
        pending = self.pending_spools
        return SampleWriter(self.backend, trial_id, commit_interval_s, on_notice=on_notice,
                            hand_over=None if pending is None else pending.add)

    def sample_count(self, trial_id: int) -> int:
        """Samples of the trial in the database now (committed ones), counted."""
        return int(self._one("SELECT COUNT(*) FROM samples WHERE trial_id = ?", (trial_id,))[0])

    def insert_samples(self, trial_id: int, samples: SampleArrays, first_idx: int = 0) -> None:
        """Bulk insert (imports); joins the caller's transaction if one is open."""
        with self.transaction():
            self._db.insert_rows("samples", _samples.SAMPLE_COLUMNS,
                                 _samples.sample_rows(trial_id, samples, first_idx))
            self._db.execute("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
                             "WHERE trial_id = ?) WHERE id = ?", (trial_id, trial_id))

    def read_samples(self, trial_id: int) -> SampleArrays:
        """All samples of a trial, in order, as numpy columns."""
        with self._lock:
            return _samples.read_samples(self._db, trial_id)


def _athlete_filter(athlete_id: int | None) -> tuple[str, tuple]:
    if athlete_id is None:
        return "", ()
    return "WHERE s.athlete_id = ? ", (athlete_id,)
