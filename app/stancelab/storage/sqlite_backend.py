"""The SQLite backend: the only module of StanceLab that imports sqlite3.

Everything engine-specific is here: connecting, the PRAGMAs (WAL, ``synchronous=FULL``, foreign
keys), the busy timeout, ``BEGIN IMMEDIATE``, the auto-increment id column, the integrity check,
where a recorder's lock file lives, and turning every ``sqlite3.Error`` into a
:class:`~stancelab.storage.records.StorageError` worded for the user. A second backend (a
PostgreSQL server for a clinic) provides the same attributes and methods; docs/storage.md lists
them. Callers write portable SQL with ``?`` placeholders.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from stancelab.storage.records import StorageError

DEFAULT_BUSY_TIMEOUT_S = 5.0


class SqliteBackend:
    """One SQLite file. ``connect()`` may be called from any thread; each connection is then
    used by one thread at a time (Storage serialises its own with a lock)."""

    #: DDL placeholder ``{id}``: the table's auto-increment primary key.
    id_column = "INTEGER PRIMARY KEY"
    #: An expression that orders rows of a table by insertion (ties of equal timestamps).
    insertion_order = "rowid"

    def __init__(self, path: str | Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s

    @property
    def location(self) -> str:
        """Where the data is, as messages name it."""
        return str(self.path)

    def connect(self) -> SqliteConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is never
            # opened behind our back. check_same_thread=False: a SampleWriter opens its
            # connection on the caller's thread and then uses it on its own thread only.
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout_s,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise self.translate(e) from None
        try:
            # Switching a new file to WAL takes an exclusive lock, and SQLite can answer "locked"
            # at once (without its busy handler) while another program does the same: retry
            # for the busy timeout, as any other write would wait.
            deadline = time.monotonic() + self.busy_timeout_s
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as e:
                    if not _is_busy(e) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as e:
            conn.close()
            raise self.translate(e) from None
        return SqliteConnection(conn, self)

    def writer_lock_path(self, trial_id: int) -> Path | None:
        """The file a SampleWriter holds an OS lock on while it records (see samples.py)."""
        return self.path.with_name(f"{self.path.name}.trial-{trial_id}.lock")

    def translate(self, exc: sqlite3.Error) -> StorageError:
        path, text = self.path, str(exc)
        name = getattr(exc, "sqlite_errorname", "") or ""
        if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
            return StorageError(
                f"The database {path} is busy: another StanceLab window or station is writing "
                f"to it. Wait a moment and try again, or close the other program.", "busy")
        if name == "SQLITE_FULL" or (isinstance(exc, sqlite3.OperationalError)
                                     and "full" in text):
            return StorageError(f"The disk is full: cannot write to {path} ({text}). "
                                f"Free some disk space.", "disk_full")
        if any(word in text for word in ("not a database", "malformed", "corrupt")):
            return StorageError(
                f"The database file {path} is damaged or is not a StanceLab database ({text}). "
                f"Rename or move that file away; StanceLab then starts a new, empty database "
                f"and the old file stays available for recovery.", "damaged")
        if isinstance(exc, sqlite3.OperationalError) and "disk" in text:
            return StorageError(f"Cannot write to {path}: {text}. Check the drive and free some "
                                f"disk space.")
        if isinstance(exc, sqlite3.IntegrityError):
            return StorageError(f"Database error in {path}: {text}", "invalid")
        return StorageError(f"Database error in {path}: {text}")


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SqliteConnection:
    """One connection; every call returns plain Python values and raises only StorageError."""

    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend

    def execute(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement and return all its rows (fetched here, so that errors met while
        stepping through them are translated too, and a RETURNING is drained before COMMIT)."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise self._backend.translate(e) from None

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as e:
            raise self._backend.translate(e) from None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Bulk insert (the sample writer's batches): one prepared INSERT run per row."""
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))})", rows)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def begin(self, exclusive: bool = True) -> None:
        """Start a write transaction, taking the write lock now (waits up to the busy timeout).
        SQLite has one write lock, so ``exclusive=False`` (a sample writer) takes it too."""
        self.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the open transaction, if any; never raises (used while handling an error)."""
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def integrity_problems(self) -> list[str]:
        """A full check of the file (reads all of it); empty when it is sound."""
        rows = self.execute("PRAGMA integrity_check")
        return [] if rows == [("ok",)] else [r[0] for r in rows]

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass
