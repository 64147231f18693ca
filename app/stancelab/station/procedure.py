"""A measurement procedure's lifecycle, in the manner of pymeasure's Procedure.

``run()`` calls ``startup()``, ``execute()`` and, whatever happens, ``shutdown()`` in a
``finally``: a board is always stopped and closed, a writer always flushed, a trial always given
its final status. ``stop(reason)`` may be called from another thread (or a signal handler); a
procedure's ``execute`` checks ``should_stop()`` between steps. The status says how it ended.
"""

from __future__ import annotations

import threading

NEW, RUNNING, FINISHED, ABORTED, FAILED = "new", "running", "finished", "aborted", "failed"


class Procedure:
    def __init__(self) -> None:
        self.status = NEW
        self.stop_reason: str | None = None
        self._stop = threading.Event()

    # -- the three steps a procedure fills in
    def startup(self) -> None:
        """Acquire and prepare (open, start streaming, create the stored trial)."""

    def execute(self) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Release and record the outcome; runs after any failure too."""

    # -- driving it
    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def run(self):
        if self.status != NEW:
            raise RuntimeError("a procedure runs once; make a new one")
        self.status = RUNNING
        try:
            self.startup()
            result = self.execute()
        except KeyboardInterrupt:
            self.status = ABORTED
            self.stop_reason = self.stop_reason or "stopped by the user (Ctrl-C)"
            raise
        except BaseException:
            self.status = FAILED
            raise
        else:
            self.status = ABORTED if self.should_stop() else FINISHED
            return result
        finally:
            self.shutdown()
