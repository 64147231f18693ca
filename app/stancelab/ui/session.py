"""The one timer that drains the board: samples -> forces -> COP -> ring buffers -> views.

Views never read the source themselves; they connect to :attr:`LiveSession.frame` and repaint.
The drain is woken by the data instead of polling: the source's reader thread calls our listener
when its queue goes from empty to non-empty, which writes one byte to a local socket pair (the
doorbell); the GUI thread's event loop watches the other end (a QSocketNotifier) and drains at
once, in the same wake-up, taking everything queued. So there is one wake-up per batch, no
per-sample signal, and no idle polling. A byte costs the reader a system call where a queued Qt
signal cost it and the GUI thread a Python wrapper round trip each, and the former hop through
a 0 ms timer cost a second pass of the event loop (bench/bench_live.py; docs/benchmarks.md).
Between batches the drain timer runs a slow tick (status, drill time-outs, commits of a stalled
recording). A source that only makes samples when read (the simulated board in fast mode, used
by tests) is polled by the same timer instead.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer, Signal

from stancelab.board.source import Source, SourceError, SourceState
from stancelab.calibration import Calibration, default_calibration
from stancelab.processing import Block, process_for_display


@dataclass(frozen=True, slots=True)
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

    def extend_block(self, b: Block) -> None:
        """Append a processed block's columns; a few rows are written in place one by one
        (the live drain brings one or two), more through :meth:`extend`."""
        n = len(b)
        if n > 4:
            self.extend(np.column_stack([b.t_s, b.total_n, b.forces_n, b.cop_x_mm, b.cop_y_mm]))
            return
        data, cap = self._data, self.capacity
        t, total, f, x, y = b.t_s.tolist(), b.total_n.tolist(), b.forces_n.tolist(), \
            b.cop_x_mm.tolist(), b.cop_y_mm.tolist()
        for k in range(n):
            data[self._n % cap] = (t[k], total[k], *f[k], x[k], y[k])
            self._n += 1

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


class _Doorbell:
    """A local socket pair: :meth:`ring` (any thread) writes a byte, the GUI thread's event loop
    sees the other end readable and calls ``on_ring`` after swallowing every byte rung so far.
    Swallow-then-drain means no ring is lost: a sample queued after the drain rings again."""

    def __init__(self, on_ring, parent: QObject) -> None:
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._on_ring = on_ring
        self._notifier = QSocketNotifier(self._rx.fileno(), QSocketNotifier.Type.Read, parent)
        self._notifier.activated.connect(self._heard)

    def ring(self) -> None:
        try:
            self._tx.send(b"\0")
        except OSError:   # full (a ring is pending anyway) or closed (the session let go)
            pass

    def _heard(self, *_args) -> None:
        try:
            self._rx.recv(4096)
        except OSError:
            return
        self._on_ring()

    def close(self) -> None:
        self._notifier.setEnabled(False)
        self._notifier.activated.disconnect(self._heard)
        self._notifier.deleteLater()
        self._rx.close()
        self._tx.close()


class FrameListeners:
    """Who hears each :class:`LiveFrame`, called in the order they connected, on the GUI
    thread, in the drain's own wake-up: ``connect(callable)`` / ``disconnect(callable)`` /
    ``emit(frame)``, like the Qt signal it replaces for this one stream.

    80 frames a second reach every screen that listens (the app's Live, Board and Drills
    screens listen all the time; each returns at once when it has nothing to do). Through a
    Qt signal each delivery went through PySide's slot machinery: about half a point of a
    core for the three, more than the Live screen's own work on the frame
    (bench/bench_live.py --app; docs/benchmarks.md). Here a delivery is a Python call.

    A listener that is a method of a Qt object is held weakly and forgotten once the object
    is deleted, as a Qt connection would be. One that raises has its error printed, like a
    slot's, and the others still hear the frame."""

    def __init__(self) -> None:
        #: (callable, None) or, for a Qt object's method, (its function, weak ref to the object)
        self._listeners: list[tuple] = []

    def connect(self, fn) -> None:
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, QObject) and hasattr(fn, "__func__"):
            self._listeners.append((fn.__func__, weakref.ref(owner)))
        else:
            self._listeners.append((fn, None))

    def disconnect(self, fn) -> None:
        owner, func = getattr(fn, "__self__", None), getattr(fn, "__func__", None)
        for i, (call, ref) in enumerate(self._listeners):
            if (call == fn and ref is None) or (ref is not None and call is func
                                                 and ref() is owner):
                del self._listeners[i]
                return
        raise RuntimeError(f"{fn!r} is not listening to the frames")

    def __len__(self) -> int:
        return len(self._listeners)

    def emit(self, frame) -> None:
        for entry in tuple(self._listeners):
            call, ref = entry
            try:
                if ref is None:
                    call(frame)
                else:
                    owner = ref()
                    if owner is None:
                        self._forget(entry)
                        continue
                    call(owner, frame)
            except Exception:   # noqa: BLE001 - as a Qt slot's error: printed, others go on
                owner = ref() if ref is not None else None
                if ref is not None and (owner is None or not shiboken6.isValid(owner)):
                    self._forget(entry)      # its widget was deleted
                else:
                    sys.excepthook(*sys.exc_info())

    def _forget(self, entry) -> None:
        try:
            self._listeners.remove(entry)
        except ValueError:
            pass


def start_source(source: Source) -> None:
    """Open (the handshake) and start ``source``; closed again if starting fails."""
    source.open()
    try:
        source.start()
    except Exception:
        source.close()
        raise


def close_source(source: Source) -> None:
    """Stop and close ``source``; closed even when stopping fails (raises that error)."""
    try:
        source.stop()
    finally:
        source.close()


class LiveSession(QObject):
    """Owns the source while the app runs. Gives one :class:`LiveFrame` per drain with data
    to :attr:`frame`'s listeners."""

    drill_events = Signal(list)      # events of the running drill, in order, per tick
    drill_failed = Signal(str)       # the runner raised; it has closed the trial already
    state_changed = Signal(object)   # SourceState
    error = Signal(str)              # a board problem worded for the user

    def __init__(self, poll_ms: int = 4, tick_ms: int = 100, history_s: float = 10.0,
                 parent=None) -> None:
        super().__init__(parent)
        #: connect(callable(LiveFrame)): called with every frame drained
        self.frame = FrameListeners()
        self.source: Source | None = None
        self.calibration: Calibration = default_calibration()
        self.history = RingBuffer(int(history_s * 80))
        self.poll_ms, self.tick_ms = poll_ms, tick_ms
        self._timer = QTimer(self)
        self._timer.setObjectName("live-session-drain")
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer)
        self._bell: _Doorbell | None = None
        self._pushes = False           # the source wakes us (else: poll every poll_ms)
        self._paused = False
        self._woke_s = float("nan")
        self._gui_thread = threading.get_ident()
        self._last_state: SourceState | None = None
        self._last_state_emit_s = -1.0
        #: A DrillRunner while a drill runs: it drains the source itself (to record every
        #: sample with its phase) and the session publishes its processed block.
        self.runner = None

    # -- lifecycle
    def attach(self, source: Source, calibration: Calibration | None = None, *,
               started: bool = False) -> None:
        """Open and start ``source`` (closing any previous one) and drain it. Raises
        SourceError. ``started``: the caller opened and started it already, on a worker (a
        serial handshake takes up to seconds): attaching is then quick."""
        self.detach()
        if not started:
            start_source(source)
        self.source = source
        st = source.state
        self.calibration = calibration or default_calibration(st.board_id, st.firmware)
        self.history.clear()
        # A source that generates samples inside read() has no thread to wake us: poll it.
        self._pushes = getattr(source, "realtime", True)
        if self._pushes:
            self._bell = _Doorbell(self._on_wake, self)
            source.set_listener(self._on_data)
        self._paused = False
        self._arm(0)
        self._emit_state()

    def detach(self) -> None:
        """Stop draining and close the source (a serial board's STOP is a round trip)."""
        src = self.release()
        if src is not None:
            close_source(src)

    def release(self) -> Source | None:
        """Stop draining and hand the source back still open, for the caller to close
        elsewhere (a worker): the running drill is stopped, the views see no board."""
        self.stop_drill("the board was disconnected by the coach")
        self._timer.stop()
        src, self.source = self.source, None
        if src is not None:
            src.set_listener(None)
        bell, self._bell = self._bell, None
        if bell is not None:
            bell.close()
        if src is not None:
            self._emit_state()
        return src

    # -- waking
    def _on_data(self) -> None:
        """Source listener, on the reader thread. Reads made by our own drain (which can push,
        e.g. a board's reply frames) must not wake us again."""
        if threading.get_ident() == self._gui_thread:
            return
        self._woke_s = time.monotonic()   # a drill runner's blocks carry no host times
        bell = self._bell
        if bell is not None:
            bell.ring()

    def _on_wake(self) -> None:
        """The doorbell rang (GUI thread): push the slow tick back (while data flows it never
        fires: no extra wake-ups) and drain now."""
        if self.source is not None and not self._paused:
            self._timer.start(self.tick_ms)
            self._on_timer()

    def _arm(self, ms: int | None = None) -> None:
        """Push mode: one shot, at ``ms`` or after the slow tick. Poll mode: every poll_ms."""
        if self._pushes:
            self._timer.setSingleShot(True)
            self._timer.start(self.tick_ms if ms is None else ms)
        else:
            self._timer.setSingleShot(False)
            self._timer.start(self.poll_ms)

    def _on_timer(self) -> None:
        try:
            self.poll()
        finally:
            if (self.source is not None and self._pushes and not self._paused
                    and not self._timer.isActive()):
                self._arm()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def pause(self) -> None:
        """Stop draining without closing (a consumer such as the drill runner takes over)."""
        self._paused = True
        self._timer.stop()

    def resume(self) -> None:
        self._paused = False
        if self.source is not None:
            self._arm(0)

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
        self._check_state()
        if not samples:
            return None
        return self.feed(samples)

    def feed(self, samples) -> LiveFrame:
        """Convert and publish samples (also used by the drill screen, which reads them itself)."""
        b = process_for_display(samples, self.calibration)
        self.history.extend_block(b)
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
            self.history.extend_block(b)
            fr = LiveFrame([], b, self._woke_s)
            self.frame.emit(fr)
        if events:
            self.drill_events.emit(events)
        self._check_state()
        return fr

    def _check_state(self) -> None:
        """Publish the source state: at once when the connection changes, otherwise (rate,
        lost frames: a serial board replaces its state with every batch) at most at the tick
        rate, so the status line is not re-laid out 80 times a second."""
        src = self.source
        st = src.state if src is not None else None
        last = self._last_state
        if st is last:
            return
        if (st is None or last is None or st.connected != last.connected
                or st.streaming != last.streaming or st.error != last.error
                or time.monotonic() - self._last_state_emit_s >= self.tick_ms / 1000):
            self._emit_state()

    def _emit_state(self) -> None:
        st = self.source.state if self.source is not None else None
        self._last_state = st
        self._last_state_emit_s = time.monotonic()
        self.state_changed.emit(st)
