"""One interface for every board: simulated, serial, replayed or read over GPIO.

A source yields :class:`Sample` objects (raw counts, before calibration) and reports a
:class:`SourceState`. Sources that talk to hardware run one reader thread each that feeds a
pure :class:`~stancelab.board.protocol.Decoder`; consumers call :meth:`Source.read`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, replace

from stancelab.board import protocol


@dataclass(frozen=True, slots=True)
class Sample:
    seq: int                  # 16-bit sequence number as sent by the board
    t_s: float                # device time in seconds, unwrapped, from the board's clock
    t_host_s: float           # host time.monotonic() when the bytes arrived
    counts: tuple[int, int, int, int]  # raw HX711 counts, channels FL, FR, BL, BR
    status: int = 0           # per-channel status nibbles, see protocol.ST_*


@dataclass(frozen=True)
class SourceState:
    kind: str                 # "simulated", "serial", "replay", "gpio"
    description: str          # port name, file name or "simulated board"
    connected: bool = False
    streaming: bool = False
    lost_frames: int = 0
    restarts: int = 0
    rate_sps: float = 0.0     # measured from device timestamps
    board_id: int | None = None
    firmware: str | None = None
    protocol_version: int | None = None
    nominal_rate_sps: int = 80
    error: str | None = None  # last error, worded for the user


class SourceError(RuntimeError):
    """A board problem worded for the user, naming the fix."""


class SampleAssembler:
    """Turns decoded SAMPLE frames into Samples: unwraps device time, measures the rate."""

    def __init__(self, rate_window: int = 80) -> None:
        self._wraps = 0
        self._last_t_us: int | None = None
        self._times: deque[float] = deque(maxlen=rate_window)

    def reset(self) -> None:
        # Keep the unwrapped clock monotonic across restarts by continuing from the last time.
        self._times.clear()

    def __call__(self, frame: protocol.SampleFrame, t_host_s: float) -> Sample:
        return Sample(frame.seq, self.time_s(frame), t_host_s, frame.counts, frame.status)

    def time_s(self, frame: protocol.SampleFrame) -> float:
        """The frame's unwrapped device time, counted for the rate (what :meth:`__call__` puts
        in its Sample; a caller that builds its own Sample saves building this one)."""
        t_us = frame.t_us
        if self._last_t_us is not None and self._last_t_us - t_us > protocol.T_MOD // 2:
            self._wraps += 1
        self._last_t_us = t_us
        t_s = (self._wraps * protocol.T_MOD + t_us) * 1e-6
        self._times.append(t_s)
        return t_s

    @property
    def rate_sps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class Source(ABC):
    """Base class. Subclasses implement open/start/stop/close and push samples with _push."""

    kind = "source"

    def __init__(self, description: str, max_queue: int = 80 * 600) -> None:
        self._state = SourceState(kind=self.kind, description=description)
        self._queue: deque[Sample] = deque(maxlen=max_queue)
        self._cond = threading.Condition()
        self._listener = None
        self.dropped_from_queue = 0

    # -- lifecycle
    @abstractmethod
    def open(self) -> None:
        """Connect and identify the board. Raises SourceError with a user-facing message."""

    @abstractmethod
    def start(self) -> None:
        """Start streaming samples."""

    @abstractmethod
    def stop(self) -> None:
        """Stop streaming; samples already received stay readable."""

    @abstractmethod
    def close(self) -> None:
        """Release the device. Safe to call twice."""

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- data
    def read(self, timeout: float = 0.0, max_samples: int | None = None) -> list[Sample]:
        """Drain queued samples, waiting up to ``timeout`` seconds for the first one."""
        with self._cond:
            if not self._queue and timeout > 0:
                # Wait out the timeout even while disconnected, so a consumer loop that relies
                # on it does not spin while a board reconnects.
                self._cond.wait_for(lambda: bool(self._queue), timeout)
            n = len(self._queue) if max_samples is None else min(max_samples, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def set_listener(self, listener=None) -> None:
        """Have ``listener()`` called, from the thread that pushes, whenever the queue goes from
        empty to non-empty: a consumer that drains everything on each call (a GUI) is woken
        once per batch instead of polling, and never once per queued sample. None removes it."""
        with self._cond:
            self._listener = listener

    def _push(self, samples) -> None:
        with self._cond:
            was_empty = not self._queue
            room = self._queue.maxlen - len(self._queue)
            if len(samples) > room:
                self.dropped_from_queue += len(samples) - room
            self._queue.extend(samples)
            self._cond.notify_all()
            listener = self._listener if was_empty and self._queue else None
        if listener is not None:
            listener()   # outside the lock: the listener may read right away

    # -- state
    @property
    def state(self) -> SourceState:
        return self._state

    def _set_state(self, **changes) -> None:
        with self._cond:
            self._state = replace(self._state, **changes)
            self._cond.notify_all()


def now_s() -> float:
    return time.monotonic()
