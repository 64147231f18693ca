"""The local spool: where a station's recording goes while the clinic server is unreachable.

When a SampleWriter on a server backend loses the server (network, restart), it rolls back the
server's open transaction, writes the samples of that transaction and every later batch to a
small SQLite file in the station's data directory (``spool/<database>-trial-<id>.sqlite3``, the
same ``samples`` columns), committed at the writer's usual cadence, so the kill-9 promise (at
most one commit interval lost) holds offline too. Every second it tries the server again; once
it answers, the spooled rows go to the server in one transaction (skipping any index the server
already has: a commit whose answer was lost) and the spool is emptied.

A trial that ends while the server is still away keeps its end in the same file (the
``trial_end`` table: status, reason, end time, metrics); the flush writes it with the samples,
in the same transaction, so the server gets the whole trial or none of what is pending. The
Storage keeps trying such spools every second while it is open (:class:`PendingSpools`), and
a station killed while offline leaves its spool behind for the next Storage opened on that
server (:func:`recover_spools`). Each move is said through the ``stancelab.storage`` logger
(the app shows it on its status line).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

from stancelab import paths
from stancelab.storage.locks import lock_held
from stancelab.storage.records import StorageError
from stancelab.storage.sqlite_backend import SqliteBackend
from stancelab.storage.trial_end import write_finish, write_metrics

log = logging.getLogger("stancelab.storage")

SAMPLE_COLUMNS = ("trial_id", "idx", "seq", "t_s", "t_host_s", "fl_counts", "fr_counts",
                  "bl_counts", "br_counts", "status", "phase", "target")

_SPOOL_TABLE = """CREATE TABLE IF NOT EXISTS samples (
    trial_id BIGINT NOT NULL, idx INTEGER NOT NULL, seq INTEGER NOT NULL,
    t_s DOUBLE PRECISION NOT NULL, t_host_s DOUBLE PRECISION NOT NULL,
    fl_counts INTEGER NOT NULL, fr_counts INTEGER NOT NULL, bl_counts INTEGER NOT NULL,
    br_counts INTEGER NOT NULL, status INTEGER NOT NULL, phase TEXT, target TEXT,
    PRIMARY KEY (trial_id, idx))"""

_END_TABLE = """CREATE TABLE IF NOT EXISTS trial_end (
    trial_id BIGINT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, ended TEXT NOT NULL,
    metrics TEXT NOT NULL)"""

#: While a spool waits for the server, how often it is tried again.
RETRY_SERVER_S = 1.0


def database_key(db) -> str:
    """A short name for the server's database in spool file names, from its own id (so two
    databases or schemas on one server never share a spool); read while the server answers."""
    rows = db.execute("SELECT value FROM stancelab_info WHERE key = 'database_id'")
    return hashlib.sha256(rows[0][0].encode()).hexdigest()[:12]


def spool_path(key: str, trial_id: int):
    folder = paths.data_dir() / "spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}-trial-{trial_id}.sqlite3"


def lock_path(path):
    """The lock file a writer holds while it spools to ``path``."""
    return path.with_name(path.name + ".lock")


def open_spool(path):
    """The spool's connection (a SQLite file with a samples table)."""
    db = SqliteBackend(path).connect()
    db.execute(_SPOOL_TABLE)
    db.execute(_END_TABLE)
    return db


def keep_trial_end(path, trial_id: int, status: str, reason: str | None, ended: str,
                   metrics: dict) -> None:
    """Keep a trial's end in its spool until the server answers (metrics merged with any
    kept before)."""
    spool = open_spool(path)
    try:
        spool.begin()
        rows = spool.execute("SELECT metrics FROM trial_end WHERE trial_id = ?", (trial_id,))
        merged = {**(json.loads(rows[0][0]) if rows else {}), **metrics}
        spool.execute("DELETE FROM trial_end WHERE trial_id = ?", (trial_id,))
        spool.execute("INSERT INTO trial_end (trial_id, status, reason, ended, metrics) "
                      "VALUES (?, ?, ?, ?, ?)",
                      (trial_id, status, reason, ended, json.dumps(merged, sort_keys=True)))
        spool.commit()
    finally:
        spool.close()


def spooled_count(spool) -> int:
    return int(spool.execute("SELECT COUNT(*) FROM samples")[0][0])


def flush(spool, server, trial_id: int) -> int:
    """Move the spool's rows of ``trial_id`` (and its end, if kept) to the server in one
    transaction; the spool is emptied only after the server committed. Returns the rows
    moved."""
    end = spool.execute("SELECT status, reason, ended, metrics FROM trial_end "
                        "WHERE trial_id = ?", (trial_id,))
    server.begin(exclusive=False)
    try:
        first = int(server.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM samples "
                                   "WHERE trial_id = ?", (trial_id,))[0][0])
        rows = spool.execute(f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM samples "
                             "WHERE trial_id = ? AND idx >= ? ORDER BY idx", (trial_id, first))
        server.insert_rows("samples", SAMPLE_COLUMNS, rows)
        server.execute("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
                       "WHERE trial_id = ?) WHERE id = ?", (trial_id, trial_id))
        if end:
            status, reason, ended, metrics = end[0]
            write_metrics(server, trial_id, json.loads(metrics), "the server")
            write_finish(server, trial_id, status, reason, ended)
        server.commit()
    except BaseException:
        server.rollback()
        raise
    spool.begin()
    spool.execute("DELETE FROM samples WHERE trial_id = ?", (trial_id,))
    spool.execute("DELETE FROM trial_end WHERE trial_id = ?", (trial_id,))
    spool.commit()
    return len(rows)


def has_trial_end(spool, trial_id: int) -> bool:
    return bool(spool.execute("SELECT 1 FROM trial_end WHERE trial_id = ?", (trial_id,)))


def remove(path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def move(path, server, trial_id: int) -> tuple[int, bool] | None:
    """Flush one spool file whose writer is gone and delete it: (rows moved, trial end
    included), or None when its writer still holds it."""
    if lock_held(lock_path(path)):
        return None
    spool = open_spool(path)
    try:
        ended = has_trial_end(spool, trial_id)
        moved = flush(spool, server, trial_id)
    finally:
        spool.close()
    remove(path)
    return moved, ended


def trial_of(path) -> int:
    return int(path.name.rsplit("-", 1)[1].split(".")[0])


def recover_spools(store) -> list[tuple[int, int]]:
    """Move spools left by a station that stopped while the server was away (trial id, rows).
    A spool whose writer still runs (its lock is held) is left to that writer."""
    folder = paths.data_dir() / "spool"
    out: list[tuple[int, int]] = []
    if not folder.is_dir():
        return out
    key = database_key(store._db)
    for path in sorted(folder.glob(f"{key}-trial-*.sqlite3")):
        trial_id = trial_of(path)
        try:
            done = move(path, store._db, trial_id)
        except StorageError as e:
            log.warning("The samples kept locally in %s could not go to the server yet: %s",
                        path, e)
            continue
        if done is not None:
            out.append((trial_id, done[0]))
    return out


def pending_for(db, backend):
    """The PendingSpools of a server database (None before schema 3: no database id, as
    when a test opens it with older migrations only)."""
    try:
        key = database_key(db)
    except StorageError:
        db.rollback()
        return None
    return PendingSpools(backend, key)


class PendingSpools:
    """Spools of this process's trials that wait for the server (a trial that ended while it
    was away, or a writer that closed before it came back): a thread of their own tries them
    every :data:`RETRY_SERVER_S` on its own connection, and says when each reached the
    server."""

    def __init__(self, backend, key: str) -> None:
        self.backend, self.key = backend, key
        self._paths: dict[int, object] = {}
        self._lock = threading.Lock()
        self._moving = threading.Lock()    # a move and a trial end kept never interleave
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def path(self, trial_id: int):
        return spool_path(self.key, trial_id)

    def exists(self, trial_id: int) -> bool:
        return spool_path(self.key, trial_id).exists()

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._paths[trial_id] = spool_path(self.key, trial_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="stancelab-spool-retry")
                self._thread.start()

    def keep_end(self, trial_id: int, status: str, reason: str | None, ended: str,
                 metrics: dict) -> None:
        """Keep the trial's end in its spool and go on trying the server with it."""
        with self._moving:
            keep_trial_end(self.path(trial_id), trial_id, status, reason, ended, metrics)
        self.add(trial_id)

    @property
    def waiting(self) -> list[int]:
        with self._lock:
            return sorted(self._paths)

    def try_now(self) -> None:
        """One attempt at every waiting spool (the retry thread's step)."""
        with self._lock:
            todo = dict(self._paths)
        if not todo:
            return
        try:
            server = self.backend.connect()
        except StorageError:
            return
        try:
            for trial_id, path in todo.items():
                try:
                    with self._moving:
                        done = move(path, server, trial_id) if path.exists() else (0, False)
                except StorageError as e:
                    if e.kind == "unreachable":
                        return
                    log.warning("The data of trial %s kept locally in %s cannot go to the "
                                "server: %s", trial_id, path, e)
                    done = None
                if done is None:          # its writer still holds it, or it failed
                    continue
                with self._lock:
                    self._paths.pop(trial_id, None)
                moved, ended = done
                if moved or ended:
                    what = f"{moved} samples" + (" and its end (status, metrics)" if ended
                                                 else "")
                    log.warning("The server %s is back: trial %s's %s kept on this station "
                                "are now on the server.", self.backend.location, trial_id,
                                what)
        finally:
            server.close()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(RETRY_SERVER_S)
            self._wake.clear()
            if self._stopped:
                return
            self.try_now()
            with self._lock:
                if not self._paths:
                    self._thread = None
                    return

    def stop(self) -> None:
        """Stop trying (the Storage closes); what still waits is moved by the next Storage
        opened on the server."""
        left = self.waiting
        if left:
            log.warning("The server %s did not come back before StanceLab closed the database: "
                        "trials %s stay in this station's spool and go to the server the next "
                        "time StanceLab opens it.", self.backend.location, left)
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
