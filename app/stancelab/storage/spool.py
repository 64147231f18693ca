"""The local spool: where a station's recording goes while the clinic server is unreachable.

When a SampleWriter on a server backend loses the server (network, restart), it rolls back the
server's open transaction, writes the samples of that transaction and every later batch to a
small SQLite file in the station's data directory (``spool/<database>-trial-<id>.sqlite3``, the
same ``samples`` columns), committed at the writer's usual cadence, so the kill-9 promise (at
most one commit interval lost) holds offline too. Every second it tries the server again; once
it answers, the spooled rows go to the server in one transaction (skipping any index the server
already has: a commit whose answer was lost) and the spool is emptied. A station killed while
offline leaves its spool behind; the next Storage opened on that server moves it
(:func:`recover_spools`).
"""

from __future__ import annotations

import hashlib
import logging

from stancelab import paths
from stancelab.storage.locks import lock_held
from stancelab.storage.records import StorageError
from stancelab.storage.sqlite_backend import SqliteBackend

log = logging.getLogger("stancelab.storage")

SAMPLE_COLUMNS = ("trial_id", "idx", "seq", "t_s", "t_host_s", "fl_counts", "fr_counts",
                  "bl_counts", "br_counts", "status", "phase", "target")

_SPOOL_TABLE = """CREATE TABLE IF NOT EXISTS samples (
    trial_id BIGINT NOT NULL, idx INTEGER NOT NULL, seq INTEGER NOT NULL,
    t_s DOUBLE PRECISION NOT NULL, t_host_s DOUBLE PRECISION NOT NULL,
    fl_counts INTEGER NOT NULL, fr_counts INTEGER NOT NULL, bl_counts INTEGER NOT NULL,
    br_counts INTEGER NOT NULL, status INTEGER NOT NULL, phase TEXT, target TEXT,
    PRIMARY KEY (trial_id, idx))"""


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
    return db


def spooled_count(spool) -> int:
    return int(spool.execute("SELECT COUNT(*) FROM samples")[0][0])


def flush(spool, server, trial_id: int) -> int:
    """Move the spool's rows of ``trial_id`` to the server in one transaction; the spool is
    emptied only after the server committed. Returns the rows moved."""
    server.begin(exclusive=False)
    try:
        first = int(server.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM samples "
                                   "WHERE trial_id = ?", (trial_id,))[0][0])
        rows = spool.execute(f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM samples "
                             "WHERE trial_id = ? AND idx >= ? ORDER BY idx", (trial_id, first))
        server.insert_rows("samples", SAMPLE_COLUMNS, rows)
        server.execute("UPDATE trials SET sample_count = (SELECT COUNT(*) FROM samples "
                       "WHERE trial_id = ?) WHERE id = ?", (trial_id, trial_id))
        server.commit()
    except BaseException:
        server.rollback()
        raise
    spool.begin()
    spool.execute("DELETE FROM samples WHERE trial_id = ?", (trial_id,))
    spool.commit()
    return len(rows)


def recover_spools(store) -> list[tuple[int, int]]:
    """Move spools left by a station that stopped while the server was away (trial id, rows).
    A spool whose writer still runs (its lock is held) is left to that writer."""
    folder = paths.data_dir() / "spool"
    out: list[tuple[int, int]] = []
    if not folder.is_dir():
        return out
    key = database_key(store._db)
    for path in sorted(folder.glob(f"{key}-trial-*.sqlite3")):
        trial_id = int(path.name.rsplit("-", 1)[1].split(".")[0])
        if lock_held(lock_path(path)):
            continue
        spool = open_spool(path)
        try:
            moved = flush(spool, store._db, trial_id)
        except StorageError as e:
            log.warning("The samples kept locally in %s could not go to the server yet: %s",
                        path, e)
            spool.close()
            continue
        spool.close()
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        out.append((trial_id, moved))
    return out
