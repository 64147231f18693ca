"""Samples in the database: the threaded SampleWriter, the lock that marks a live recording,
and reading a trial's samples back as numpy columns.

A recording must never fsync on the thread that draws the screen, so :class:`SampleWriter`
hands each batch to its own writer thread through a bounded queue. That thread inserts the
rows inside an open transaction and commits at least every ``commit_interval_s`` of wall clock
or device time, whichever comes first: a crash (even SIGKILL) loses at most that much. A
database error on that thread (disk full, ...) stops the recording: the open transaction is
rolled back, everything committed before stays, and the next call from the caller raises the
StorageError. On a server backend, losing the server is not such an error: the writer keeps
recording to a local spool and moves it to the server when it answers again (spool.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import numpy as np

from stancelab.storage import spool as _spool
from stancelab.storage.locks import lock_held, release_lock, take_lock
from stancelab.storage.records import SampleArrays, StorageError, object_column, quantise_us

log = logging.getLogger("stancelab.storage")
#: While spooling, how often the writer tries the server again.
RETRY_SERVER_S = _spool.RETRY_SERVER_S

DEFAULT_COMMIT_INTERVAL_S = 0.5
#: Batches the writer thread may lag behind before extend() waits for it (a GUI hands over a
#: batch per timer tick, ~30-60 a second, so this is many seconds of a stalled database).
DEFAULT_QUEUE_BATCHES = 1024

SAMPLE_COLUMNS = _spool.SAMPLE_COLUMNS
SAMPLE_INSERT = (f"INSERT INTO samples ({', '.join(SAMPLE_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(SAMPLE_COLUMNS))})")


def sample_rows(trial_id: int, s: SampleArrays, first_idx: int):
    c = s.counts.tolist()
    return zip([trial_id] * len(s), range(first_idx, first_idx + len(s)), s.seq.tolist(),
               quantise_us(np.asarray(s.t_s, float)).tolist(),
               quantise_us(np.asarray(s.t_host_s, float)).tolist(),
               [r[0] for r in c], [r[1] for r in c], [r[2] for r in c], [r[3] for r in c],
               s.status.tolist(), [p or None for p in s.phase], [t or None for t in s.target])


#: Rows read per query by :func:`read_samples`. A trial is read in steps of this many rows so
#: that no single call (the driver building its rows, the transposition into columns) holds the
#: GIL for long: a 40-minute trial read in one query held it ~0.6 s at a time, freezing the UI
#: thread while the worker exported it.
READ_CHUNK_ROWS = 20_000


def read_samples(db, trial_id: int) -> SampleArrays:
    """All samples of a trial, in order, as numpy columns."""
    last = db.execute("SELECT MAX(idx) FROM samples WHERE trial_id = ?", (trial_id,))[0][0]
    if last is None:
        return SampleArrays.empty()
    parts = []
    for start in range(0, int(last) + 1, READ_CHUNK_ROWS):
        rows = db.execute("SELECT seq, t_s, t_host_s, fl_counts, fr_counts, bl_counts, "
                          "br_counts, status, phase, target FROM samples WHERE trial_id = ? "
                          "AND idx >= ? AND idx < ? ORDER BY idx",
                          (trial_id, start, start + READ_CHUNK_ROWS))
        if rows:
            cols = list(zip(*rows))
            parts.append(SampleArrays(
                np.array(cols[0], np.int64), np.array(cols[1], float),
                np.array(cols[2], float),
                np.column_stack([np.array(cols[k], np.int64) for k in range(3, 7)]),
                np.array(cols[7], np.int64), object_column(cols[8]), object_column(cols[9])))
    if not parts:
        return SampleArrays.empty()
    return parts[0] if len(parts) == 1 else SampleArrays.concat(parts)


# ------------------------------------------------------------------ the live-recording lock

def writer_alive(backend, trial_id: int) -> bool | None:
    """Is a process still writing this trial? None when its lock file cannot tell.

    A SampleWriter holds an OS lock (flock) on a file next to the database; the OS drops the
    lock when the process dies, even by SIGKILL, so a crashed recording is found at the next
    start at once instead of after the heartbeat goes stale.
    """
    return lock_held(backend.writer_lock_path(trial_id))


# ------------------------------------------------------------------ the writer

_ROWS, _SYNC, _COMMIT, _CLOSE = "rows", "sync", "commit", "close"


class SampleWriter:
    """Writes one trial's samples as they arrive, on its own connection and thread.

    ``extend`` converts and queues a batch and returns; it never waits for the disk unless the
    writer thread is :data:`DEFAULT_QUEUE_BATCHES` behind. ``flush`` waits until every batch
    handed over is inserted (not necessarily committed); ``commit`` waits until it is durable;
    ``close`` commits the rest and joins the thread. ``written`` counts samples handed over,
    ``committed`` samples known durable, ``commits`` the commits made.

    After a database error on the writer thread every ``extend``/``tick``/``flush``/``commit``
    raises it; ``close`` raises it too unless an earlier call already did.

    On a server backend a lost server (kind ``unreachable``) only switches the writer to its
    local spool: ``spooling`` is then True, ``notice`` says so in words for the user (and
    says when the spooled samples reached the server), ``notices`` keeps every such message
    and ``on_notice`` (if given) is called with each, on the writer thread.
    """

    def __init__(self, backend, trial_id: int,
                 commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
                 queue_batches: int = DEFAULT_QUEUE_BATCHES, on_notice=None,
                 hand_over=None) -> None:
        self.trial_id = trial_id
        self.commit_interval_s = commit_interval_s
        self._backend = backend
        self._db = backend.connect()
        self._can_spool = getattr(backend, "path", None) is None   # a server
        try:
            first = self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM samples "
                                     "WHERE trial_id = ?", (trial_id,))[0][0]
            self._spool_key = _spool.database_key(self._db) if self._can_spool else None
        except BaseException:
            self._db.close()
            raise
        self._lock_path = backend.writer_lock_path(trial_id)
        self._lock_fd = take_lock(self._lock_path)
        self.written = int(first)        # samples handed to the writer (in the db or queued)
        self.committed = self.written    # samples known to be durable
        self.commits = 0
        self.spooling = False
        self.notice: str | None = None
        self.notices: list[str] = []
        self.on_notice = on_notice
        #: Called with the trial id when the writer closes while the server is still away
        #: (Storage passes its PendingSpools.add: the spool goes on being tried).
        self.hand_over = hand_over
        self._server = self._db          # the server's connection while spooling
        self._unsynced: list[tuple[SampleArrays, int]] = []   # in the open server transaction
        self._spool_lock: int | None = None
        self._next_try = 0.0
        self._error: StorageError | None = None
        self._reported = False
        self._closed = False
        self._queue: queue.Queue = queue.Queue(maxsize=queue_batches)
        self._thread = threading.Thread(target=self._run, args=(int(first),), daemon=True,
                                        name=f"stancelab-sample-writer-{trial_id}")
        self._thread.start()

    @property
    def path(self):
        return self._backend.path

    # -------------------------------------------------------------- the caller's side
    def append(self, sample, phase: str | None = None, target: str | None = None) -> None:
        self.extend([sample], phase, target)

    def extend(self, samples, phase=None, target=None) -> None:
        """Hand over source.Sample objects (or a SampleArrays); returns without disk I/O."""
        self._raise_if_failed()
        arrays = samples if isinstance(samples, SampleArrays) else \
            SampleArrays.from_samples(samples, phase, target)
        if len(arrays) == 0:
            return
        self._put((_ROWS, arrays, self.written))
        self.written += len(arrays)

    def tick(self, t_s: float | None = None) -> None:
        """Report a failure of the writer thread, if any. (The thread commits a pause in the
        stream on its own; this stays for idle loops that want to hear of errors early.)"""
        self._raise_if_failed()

    def flush(self) -> None:
        """Wait until every batch handed over is in the database (maybe not yet committed)."""
        self._request(_SYNC)

    def commit(self, t_s: float | None = None) -> None:
        """Commit everything handed over now and wait for it: call before writing through
        another connection, which would otherwise wait for this one's write lock."""
        self._request(_COMMIT)

    def close(self) -> None:
        """Commit what is pending, join the thread, release the connection. Safe twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._put((_CLOSE, None, None), closing=True)
            self._thread.join()
        finally:
            self._db.close()
            if self._server is not self._db:
                self._server.close()
            release_lock(self._lock_fd, self._lock_path)
            self._lock_fd = None
            if self._spool_lock is not None:   # closed while the server is still away
                release_lock(self._spool_lock, _spool.lock_path(
                    _spool.spool_path(self._spool_key, self.trial_id)))
                self._spool_lock = None
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _raise_if_failed(self) -> None:
        if self._closed:
            raise StorageError(f"The sample writer of trial {self.trial_id} is closed.")
        if self._error is not None:
            self._reported = True
            raise self._error

    def _put(self, item, closing: bool = False) -> None:
        # Waits only when the thread is far behind (a stalled database); a thread that died
        # or failed never leaves the caller waiting.
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if not closing:
                    self._raise_if_failed()
                if not self._thread.is_alive():
                    return

    def _request(self, kind: str) -> None:
        self._raise_if_failed()
        done = threading.Event()
        self._put((kind, done, None))
        while not done.wait(0.1):
            if not self._thread.is_alive():
                break
        self._raise_if_failed()

    # -------------------------------------------------------------- the writer thread
    def _run(self, in_db: int) -> None:
        pending = False                 # rows inserted but not committed
        last_wall = time.monotonic()
        last_t_s: float | None = None   # device time at the last commit
        while True:
            timeout = None
            if pending:
                timeout = max(0.0, last_wall + self.commit_interval_s - time.monotonic())
            if self.spooling:
                wait = max(0.0, self._next_try - time.monotonic())
                timeout = wait if timeout is None else min(timeout, wait)
            try:
                kind, arg, first_idx = self._queue.get(timeout=timeout)
            except queue.Empty:
                kind, arg, first_idx = None, None, None   # the wall-clock interval is up
            try:
                try:
                    if self._error is not None:
                        pass                              # stopped: drain without writing
                    elif kind == _ROWS:
                        if not self.spooling and self._can_spool:
                            self._unsynced.append((arg, first_idx))   # spooled if lost
                        in_db = first_idx + len(arg)
                        if not pending:
                            self._db.begin(exclusive=False)
                            pending = True
                        self._db.insert_rows("samples", SAMPLE_COLUMNS,
                                             sample_rows(self.trial_id, arg, first_idx))
                        if last_t_s is None:
                            last_t_s = float(arg.t_s[0])
                        t_s = float(arg.t_s[-1])
                        if (time.monotonic() - last_wall >= self.commit_interval_s
                                or t_s - last_t_s >= self.commit_interval_s):
                            self._commit(in_db)
                            pending, last_wall, last_t_s = False, time.monotonic(), t_s
                    elif kind in (None, _COMMIT, _CLOSE) and pending:
                        self._commit(in_db)
                        pending, last_wall = False, time.monotonic()
                except StorageError as e:
                    if not (e.kind == "unreachable" and self._can_spool and not self.spooling):
                        raise
                    self._start_spooling(e, in_db)
                    pending = False
                    last_wall = time.monotonic()
                if self.spooling and self._error is None and not pending and (
                        kind in (_COMMIT, _CLOSE) or time.monotonic() >= self._next_try):
                    self._try_server(in_db, final=kind == _CLOSE)
            except Exception as e:  # noqa: BLE001 - handed to the caller, never lost
                self._error = e if isinstance(e, StorageError) else StorageError(
                    f"Recording to {self._backend.location} stopped: {e!r}")
                self._db.rollback()
                pending = False
            if kind in (_SYNC, _COMMIT):
                arg.set()
            elif kind == _CLOSE:
                return

    def _commit(self, in_db: int) -> None:
        if not self.spooling:
            self._db.execute("UPDATE trials SET heartbeat_unix = ?, sample_count = ? "
                             "WHERE id = ?", (time.time(), in_db, self.trial_id))
        self._db.commit()
        self._unsynced.clear()
        self.committed = in_db
        self.commits += 1

    # -------------------------------------------------------------- the spool (server lost)
    def _tell(self, message: str) -> None:
        self.notice = message
        self.notices.append(message)
        log.warning("%s", message)
        if self.on_notice is not None:
            self.on_notice(message)

    def _start_spooling(self, error: StorageError, in_db: int) -> None:
        """The server is gone: what its open transaction held, and all that follows, goes to
        the local spool (committed there at the usual cadence)."""
        self._server.rollback()
        path = _spool.spool_path(self._spool_key, self.trial_id)
        spool = _spool.open_spool(path)
        self._spool_lock = take_lock(_spool.lock_path(path))
        spool.begin()
        for arrays, first_idx in self._unsynced:
            spool.insert_rows("samples", SAMPLE_COLUMNS,
                              sample_rows(self.trial_id, arrays, first_idx))
        spool.commit()
        self._unsynced.clear()
        self._db, self.spooling = spool, True
        self.committed = in_db
        self._next_try = time.monotonic() + RETRY_SERVER_S
        self._tell(f"{error} Recording goes on into the local spool {path}; the samples go "
                   f"to the server as soon as it answers again.")

    def _try_server(self, in_db: int, final: bool) -> None:
        """Move the spool to the server if it answers; otherwise stay on the spool."""
        self._next_try = time.monotonic() + RETRY_SERVER_S
        try:
            self._server.close()
            self._server = self._backend.connect()
            moved = _spool.flush(self._db, self._server, self.trial_id)
        except StorageError as e:
            if e.kind != "unreachable":
                raise
            if final:
                path = _spool.spool_path(self._spool_key, self.trial_id)
                when = ("as soon as it answers" if self.hand_over is not None
                        else "the next time StanceLab opens it")
                self._tell(f"The server {self._backend.location} is still unreachable: "
                           f"{_spool.spooled_count(self._db)} samples stay in the local spool "
                           f"{path} and go to the server {when}.")
                if self.hand_over is not None:
                    self.hand_over(self.trial_id)
            return
        spool = self._db
        path = _spool.spool_path(self._spool_key, self.trial_id)
        self._db, self.spooling = self._server, False
        spool.close()
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        release_lock(self._spool_lock, _spool.lock_path(path))
        self._spool_lock = None
        self.committed = in_db
        self._tell(f"The server {self._backend.location} is back: the {moved} samples kept "
                   f"locally are now on the server; recording goes on there.")
