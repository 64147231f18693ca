"""A watchdog on the UI thread for the tests: did anything block the event loop?

:class:`StallWatch` runs a 10 ms QTimer on the UI thread and records how late each tick came;
a handshake, an export or a database commit run inline shows up as one long-late tick. Use it
around the part of a test that must leave the UI responsive::

    with StallWatch() as watch:
        ...                        # clicks, qtbot.waitUntil(...)
    watch.check()                  # fails when the UI thread was blocked for more than 0.5 s

Everything the test itself runs on the UI thread between two waits is measured too (a slot
called directly is the same code a click runs), so a test cannot hide a stall from the watch.
"""

from __future__ import annotations

import time
from typing import Self

from PySide6.QtCore import Qt, QTimer

#: A UI thread busy for longer than this is a stall the user sees (a frozen window).
STALL_LIMIT_S = 0.5


class StallWatch:
    def __init__(self, interval_ms: int = 10, limit_s: float = STALL_LIMIT_S) -> None:
        self.interval_s = interval_ms / 1000
        self.limit_s = limit_s
        self.worst_late_s = 0.0
        self.ticks = 0
        self._last: float | None = None
        self._timer = QTimer()
        self._timer.setObjectName("ui-stall-watch")
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._last is not None:
            self.worst_late_s = max(self.worst_late_s, now - self._last - self.interval_s)
        self._last = now
        self.ticks += 1

    def start(self) -> Self:
        self._last = time.monotonic()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer.isActive():
            self._tick()       # a stall just before stop() counts too
            self._timer.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def check(self) -> None:
        """Fail (AssertionError) if a tick came more than ``limit_s`` late, or none came."""
        assert self.worst_late_s <= self.limit_s, (
            f"the UI thread was blocked for {self.worst_late_s:.2f} s "
            f"(limit {self.limit_s:.1f} s)")
        assert self.ticks > 1, "the watch never ticked: the event loop did not run"
