"""What the screens share: the live session, the database, the athlete being coached.

Screens read state from here and call its methods with user intents; it emits signals when
state changes so every screen can re-render. It holds no widgets except a reference to the
window for the banner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from stancelab.board.source import Source, SourceError
from stancelab.station.choice import BoardChoice
from stancelab.storage import Athlete, Storage
from stancelab.ui.session import LiveSession, close_source, start_source
from stancelab.ui.worker import Task, Worker

DEMO_ATHLETE = "Demo Runner"


class AppContext(QObject):
    athlete_changed = Signal(object)     # storage.Athlete
    results_changed = Signal()           # a trial was stored or deleted
    source_changed = Signal(object)      # the new Source (or None)

    def __init__(self, storage: Storage | None = None, session: LiveSession | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.storage = storage or Storage()
        self.session = session or LiveSession(parent=self)
        #: Runs slow work (probing, handshakes, exports, loading trials) off the UI thread.
        self.worker = Worker(self)
        self.athlete: Athlete | None = None
        self.window = None
        self.realtime = True     # False in tests: the simulated board runs as fast as pumped
        #: Demo mode: on the simulated board, the virtual athlete follows the drill's cues.
        self.demo_autopilot = True
        self._db_session_ids: dict[int, int] = {}
        #: The board words the app was started with (the Board screen's simulated board
        #: keeps their seed and weak legs).
        self.board_choice = BoardChoice()
        self._connect_task: Task | None = None
        self._unattached: set[Source] = set()
        self._unattached_lock = threading.Lock()

    # -- athletes
    def ensure_demo_athlete(self) -> Athlete:
        """First run: a demo athlete so the app is explorable straight away."""
        existing = self.storage.athletes()
        if existing:
            return existing[0]
        return self.storage.add_athlete(
            DEMO_ATHLETE, 265.0, shoe_size="42", dominant_leg="right", injured_side=None,
            notes="Created on first run so you can try every screen; edit or add your own.")

    def select_athlete(self, athlete: Athlete) -> None:
        self.athlete = athlete
        self.athlete_changed.emit(athlete)

    def refresh_athlete(self) -> None:
        if self.athlete is not None:
            self.select_athlete(self.storage.athlete(self.athlete.id))

    @property
    def foot_length_mm(self) -> float:
        a = self.athlete
        return float(a.foot_length_mm) if a is not None and a.foot_length_mm else 265.0

    def db_session_id(self) -> int:
        """One stored session per athlete per app run, opened on the first trial."""
        aid = self.athlete.id
        if aid not in self._db_session_ids:
            st = self.session.source.state if self.session.source else None
            s = self.storage.start_session(
                athlete_id=aid, source_kind=st.kind if st else "none",
                board_id=st.board_id if st else None, firmware=st.firmware if st else None,
                calibration=self.session.calibration)
            self._db_session_ids[aid] = s.id
        return self._db_session_ids[aid]

    # -- board
    def connect_source(self, source: Source) -> None:
        """Open and start ``source`` here, then drain it. Raises SourceError. Blocks for the
        handshake: the screens use :meth:`connect_in_background`; tests and scripts this."""
        self.session.attach(source)
        self._attached(source)

    def _attached(self, source: Source) -> None:
        from stancelab.station.calibrations import calibration_for

        self.session.calibration = calibration_for(self.storage, source.state)
        self._db_session_ids.clear()
        self.source_changed.emit(source)

    @property
    def connecting(self) -> bool:
        return self._connect_task is not None

    def connect_in_background(self, make_source: Callable[[], Source], *,
                              on_done: Callable[[Source], None] | None = None,
                              on_error: Callable[[Exception], None] | None = None) -> Task | None:
        """Replace the board without blocking the UI: the current source stops being drained
        at once; on the worker it is closed, ``make_source()`` (which may probe the ports)
        builds the new one and its handshake runs; back on the UI thread it is attached and
        ``on_done(source)`` called, or ``on_error(exception)`` (e.g. a SourceError worded for
        the user). None when a connection is already under way."""
        if self._connect_task is not None:
            return None
        old = self.session.release()

        def open_new() -> Source:
            if old is not None:
                with contextlib.suppress(SourceError):   # a vanished board: closed anyway
                    close_source(old)
            src = make_source()
            with self._unattached_lock:
                self._unattached.add(src)   # closed by close() if nobody attaches it
            start_source(src)
            return src

        def done(src: Source) -> None:
            self._connect_task = None
            with self._unattached_lock:
                self._unattached.discard(src)
            self.session.attach(src, started=True)
            self._attached(src)
            if on_done is not None:
                on_done(src)

        def failed(exc: Exception) -> None:
            self._connect_task = None
            self.source_changed.emit(None)
            if on_error is not None:
                on_error(exc)

        self._connect_task = self.worker.submit(open_new, on_done=done, on_error=failed,
                                                name="connect")
        return self._connect_task

    def simulated_board(self) -> Source:
        """The simulated board the start-up words describe (--seed, --weak-left...)."""
        from stancelab.station.choice import choose_board

        words = dataclasses.replace(self.board_choice, simulate=True, port=None, gpio=None,
                                    replay=None)
        return choose_board(words, realtime=self.realtime, athlete=demo_athlete(words)).source

    def connect_simulated(self, **kwargs) -> Source:
        from stancelab.sim.simulated_board import SimulatedBoard

        src = SimulatedBoard(realtime=self.realtime, **kwargs)
        self.connect_source(src)
        self.set_banner("Simulated board")
        return src

    @property
    def simulated_athlete(self):
        """The virtual athlete when the simulated board is connected (demo autopilot)."""
        return getattr(self.session.source, "athlete", None)

    def make_autopilot(self):
        athlete = self.simulated_athlete
        if athlete is None or not self.demo_autopilot:
            return None
        from stancelab.sim.autopilot import Autopilot

        lock = getattr(self.session.source, "lock", None)
        return Autopilot(_Locked(athlete, lock) if lock is not None else athlete)

    def set_banner(self, text: str | None) -> None:
        if self.window is not None:
            self.window.set_banner(text)

    def close(self) -> None:
        self.worker.close()         # waits for a connection under way...
        with self._unattached_lock:
            orphans, self._unattached = list(self._unattached), set()
        for src in orphans:         # ...whose board nobody will drain now
            with contextlib.suppress(SourceError):
                close_source(src)
        self.session.detach()
        self.storage.close()


def demo_athlete(choice: BoardChoice):
    """The app's simulated athlete for these words: it also performs the exercises' sets when
    a plan session asks (sim/exercises.py), so the demo walks through a whole session."""
    from stancelab.sim.exercises import ExercisePerformer

    return ExercisePerformer(choice.simulated_athlete(), seed=choice.seed)


class _Locked:
    """The virtual athlete with each call made under the simulated board's lock: its reader
    thread generates samples from the athlete while the GUI thread steers it."""

    def __init__(self, target, lock) -> None:
        self._target, self._lock = target, lock

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                return attr(*args, **kwargs)
        return call
