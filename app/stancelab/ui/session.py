"""The one timer that drains the board: samples -> forces -> COP -> ring buffers -> views.

Views never read the source themselves; they connect to :attr:`LiveSession.frame` and repaint.
The timer polls fast (a few ms) because a poll with nothing queued costs microseconds, while the
wait between bytes arriving and the next poll is the app's own latency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ..board.source import Source, SourceError, SourceState
from ..calibration import Calibration, default_calibration
from ..processing import Block, process


@dataclass(frozen=True)
class LiveFrame:
    """The samples drained by one timer tick, and the same samples processed."""

    samples: list            # board.source.Sample, for consumers that need raw counts
    block: Block             # forces (N), total load, COP (mm; NaN while nobody stands on it)
    t_host_last_s: float     # host arrival time of the newest sample (latency measurement)


class RingBuffer:
    """Fixed-size history of (t, total, 4 corners, cop x, cop y); no allocation per sample."""

    COLUMNS = 8

    def __init__(self, capacity: int) -> None:
        self._data = np.full((capacity, self.COLUMNS), np.nan)
        self._n = 0          # samples ever written
        self.capacity = capacity

    def extend(self, rows: np.ndarray) -> None:
        rows = rows[-self.capacity:]
        i = self._n % self.capacity
        k = min(len(rows), self.capacity - i)
        self._data[i:i + k] = rows[:k]
        self._data[:len(rows) - k] = rows[k:]
        self._n += len(rows)

    def last(self, n: int | None = None) -> np.ndarray:
        """The newest ``n`` rows in time order (a copy)."""
        have = min(self._n, self.capacity)
        n = have if n is None else min(n, have)
        end = self._n % self.capacity
        idx = (np.arange(end - n, end)) % self.capacity
        return self._data[idx]

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    def clear(self) -> None:
        self._n = 0


class LiveSession(QObject):
    """Owns the source while the app runs. Emits one :class:`LiveFrame` per tick with data."""

    frame = Signal(object)
    drill_events = Signal(list)      # events of the running drill, in order, per tick
    drill_failed = Signal(str)       # the runner raised; it has closed the trial already
    state_changed = Signal(object)   # SourceState
    error = Signal(str)              # a board problem worded for the user

    def __init__(self, poll_ms: int = 4, history_s: float = 10.0, parent=None) -> None:
        super().__init__(parent)
        self.source: Source | None = None
        self.calibration: Calibration = default_calibration()
        self.history = RingBuffer(int(history_s * 80))
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._last_state: SourceState | None = None
        #: A DrillRunner while a drill runs: it drains the source itself (to record every
        #: sample with its phase) and the session publishes its processed block.
        self.runner = None

    # -- lifecycle
    def attach(self, source: Source, calibration: Calibration | None = None) -> None:
        """Open and start ``source`` (closing any previous one). Raises SourceError."""
        self.detach()
        source.open()
        try:
            source.start()
        except Exception:
            source.close()
            raise
        self.source = source
        st = source.state
        self.calibration = calibration or default_calibration(st.board_id, st.firmware)
        self.history.clear()
        self._timer.start()
        self._emit_state()

    def detach(self) -> None:
        self.stop_drill("the board was disconnected by the coach")
        self._timer.stop()
        src, self.source = self.source, None
        if src is not None:
            try:
                src.stop()
            finally:
                src.close()
            self._emit_state()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def pause(self) -> None:
        """Stop draining without closing (a consumer such as the drill runner takes over)."""
        self._timer.stop()

    def resume(self) -> None:
        if self.source is not None:
            self._timer.start()

    # -- drills
    def run_drill(self, runner) -> None:
        """Hand the source to a DrillRunner until its drill finishes or is stopped."""
        self.stop_drill()
        self.runner = runner
        self.history.clear()

    def stop_drill(self, reason: str = "stopped by the coach") -> None:
        runner, self.runner = self.runner, None
        if runner is not None and not runner.finished:
            events = runner.stop(reason)
            if events:
                self.drill_events.emit(events)

    # -- the tick
    def poll(self) -> LiveFrame | None:
        src = self.source
        if src is None:
            return None
        if self.runner is not None:
            return self._poll_runner()
        try:
            samples = src.read(0.0)
        except SourceError as exc:
            self.error.emit(str(exc))
            samples = []
        st = src.state
        if st is not self._last_state:
            self._emit_state()
        if not samples:
            return None
        return self.feed(samples)

    def feed(self, samples) -> LiveFrame:
        """Convert and publish samples (also used by the drill screen, which reads them itself)."""
        b = process(samples, self.calibration)
        self.history.extend(np.column_stack([b.t_s, b.total_n, b.forces_n, b.cop_x_mm,
                                             b.cop_y_mm]))
        fr = LiveFrame(samples, b, samples[-1].t_host_s)
        self.frame.emit(fr)
        return fr

    def _poll_runner(self) -> LiveFrame | None:
        runner = self.runner
        try:
            events = runner.poll()
        except Exception as exc:  # noqa: BLE001 - the runner already closed the trial
            self.runner = None
            self.drill_failed.emit(str(exc) or type(exc).__name__)
            return None
        if runner.finished:
            self.runner = None
        fr = None
        b = runner.last_block
        if len(b):
            self.history.extend(np.column_stack([b.t_s, b.total_n, b.forces_n, b.cop_x_mm,
                                                 b.cop_y_mm]))
            fr = LiveFrame([], b, float("nan"))
            self.frame.emit(fr)
        if events:
            self.drill_events.emit(events)
        st = self.source.state if self.source is not None else None
        if st is not self._last_state:
            self._emit_state()
        return fr

    def _emit_state(self) -> None:
        st = self.source.state if self.source is not None else None
        self._last_state = st
        self.state_changed.emit(st)
