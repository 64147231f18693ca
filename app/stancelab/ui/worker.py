"""Slow work off the UI thread: probing ports, handshakes, exports, reports, loading a trial.

``ctx.worker.submit(fn, *args, on_done=..., on_error=..., on_progress=...)`` runs ``fn`` on one
of a few worker threads and calls ``on_done(result)`` or ``on_error(exception)`` back on the UI
thread (a queued Qt signal carries them across). With ``on_progress``, ``fn`` receives a
``progress(done, total)`` keyword argument it may call as often as it likes; the UI hears about
it at most every 50 ms. A task can be cancelled: its callbacks are then never called (the work
itself runs to its end, so keep each task short or have it check ``task.cancelled``).
``close()`` waits for the running tasks: no thread outlives the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

PROGRESS_INTERVAL_S = 0.05


class Task:
    """One submitted piece of work, as the UI sees it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled = False
        self.finished = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self.cancelled = True


class Worker(QObject):
    _delivered = Signal(object, object)          # callback, argument: run on the UI thread

    def __init__(self, parent=None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=threads,
                                        thread_name_prefix="stancelab-worker")
        self._closed = False
        self._delivered.connect(self._deliver)
        self.running: set[Task] = set()

    def submit(self, fn: Callable, *args, on_done: Callable | None = None,
               on_error: Callable | None = None, on_progress: Callable | None = None,
               name: str = "", **kwargs) -> Task:
        if self._closed:
            raise RuntimeError("the worker is closed")
        task = Task(name or getattr(fn, "__name__", "task"))
        if on_progress is not None:
            kwargs["progress"] = lambda done, total=None: self._progress(task, on_progress,
                                                                         done, total)
        self.running.add(task)

        def run():
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any failure goes to on_error
                self._send(task, on_error if on_error is not None else _raise, exc)
            else:
                self._send(task, on_done, result)
            finally:
                task.finished.set()

        self._pool.submit(run)
        return task

    def _progress(self, task: Task, callback, done, total) -> None:
        now = time.monotonic()
        if now - task._last_progress >= PROGRESS_INTERVAL_S or (total and done >= total):
            task._last_progress = now
            self._send(task, callback, (done, total), keep=True)

    def _send(self, task: Task, callback, argument, keep: bool = False) -> None:
        if not keep:
            self._delivered.emit(lambda _=None: self.running.discard(task), None)
        if callback is not None and not task.cancelled:
            def call(arg, task=task, callback=callback):
                if not task.cancelled:
                    callback(*arg) if keep else callback(arg)
            self._delivered.emit(call, argument)

    def _deliver(self, call, argument) -> None:
        call(argument)

    def close(self) -> None:
        """Cancel what has not been delivered and wait for the threads to end."""
        self._closed = True
        for task in list(self.running):
            task.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _raise(exc: BaseException) -> None:
    raise exc
