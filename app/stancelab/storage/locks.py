"""The lock file that marks a live recording: held with flock while a writer records, dropped
by the OS when the process dies (even by SIGKILL)."""

from __future__ import annotations

import os

try:
    import fcntl as _fcntl
except ImportError:  # Windows: liveness falls back to the heartbeat
    _fcntl = None


def lock_held(path) -> bool | None:
    """Does a live process hold the lock file at ``path``? None when it cannot tell (no such
    file, no flock on this OS). A file found unlocked is removed."""
    if _fcntl is None or path is None:
        return None
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


def take_lock(path) -> int | None:
    """Hold the trial's lock file while recording (see writer_alive); best effort."""
    if _fcntl is None or path is None:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release_lock(fd: int | None, path) -> None:
    if fd is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
