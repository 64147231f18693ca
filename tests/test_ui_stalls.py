"""Nothing slow on the UI thread: a slow board, a big export and a locked database leave the
window live (tests/ui_stall.py: a 10 ms timer that must never be 0.5 s late).

Each scenario is slow for real: a board behind a pty that answers IDENTIFY seconds late, a
forty-minute session exported to CSV and PDF, another program holding SQLite's write lock while
a drill records. Run inline on the UI thread, each of them blocks it for a second or more.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

import ui_helpers
from pty_peer import BOARD_ID, PtyPeer
from stancelab.board.ports import EXTRA_PORTS_ENV
from stancelab.board.sample_arrays import SampleArrays
from stancelab.drills.events import Phase
from stancelab.sim.virtual_board import DEFAULT_BOARD_ID
from ui_stall import StallWatch

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

#: The slow board's IDENTIFY delay: well past the watch's limit, within the host's 2 s boot
#: grace (a board silent for longer is "not a StanceLab board").
SLOW_BOARD_S = 1.5
WAIT_MS = 30_000


@pytest.fixture
def slow_board(tmp_path, qt_guard, monkeypatch):
    """A StanceLab board on a pty that answers IDENTIFY SLOW_BOARD_S late, listed as a port."""
    peer = PtyPeer(link_path=str(tmp_path / "ttySlowBoard")).start()
    peer.identify_delay_s = SLOW_BOARD_S
    monkeypatch.setenv(EXTRA_PORTS_ENV, peer.path)
    yield peer
    peer.close()


def test_the_watch_sees_a_blocked_ui_thread(qtbot):
    """The watch itself can fail."""
    with StallWatch() as watch:
        qtbot.wait(50)
        time.sleep(0.7)
        qtbot.wait(50)
    with pytest.raises(AssertionError, match="blocked for 0.[6-9]"):
        watch.check()
    with StallWatch() as calm:
        qtbot.wait(200)
    calm.check()
    assert calm.ticks >= 5


def test_a_slow_board_connects_from_the_board_screen(qtbot, app_window, slow_board):
    ctx, win = app_window
    scr = win.show_screen("Board")
    qtbot.waitUntil(lambda: scr.ports.findData(slow_board.path) > 0, timeout=WAIT_MS)
    scr.ports.setCurrentIndex(scr.ports.findData(slow_board.path))
    with StallWatch() as watch:
        t0 = time.monotonic()
        scr.connect_selected()
        assert scr.connect_message.text() == f"Connecting to {slow_board.path}…"
        assert not scr.connect_button.isEnabled() and not scr.find_button.isEnabled()
        qtbot.waitUntil(lambda: ctx.session.source is not None, timeout=WAIT_MS)
        took_s = time.monotonic() - t0
        qtbot.waitUntil(lambda: ctx.session.history._n > 40, timeout=WAIT_MS)  # streaming
    watch.check()
    assert took_s >= SLOW_BOARD_S                     # the board really was slow
    assert ctx.session.source.state.board_id == BOARD_ID
    assert scr.connect_message.text() == f"Connected to {slow_board.path}."
    assert scr.connect_button.isEnabled() and scr.find_button.isEnabled()


def test_a_port_that_never_answers_is_one_line_on_the_board_screen(qtbot, app_window,
                                                                   slow_board):
    """Not a StanceLab board: the host gives up after its 2 s boot grace, in the background."""
    ctx, win = app_window
    ctx.connect_simulated(seed=2)
    slow_board.silent = True
    scr = win.show_screen("Board")
    qtbot.waitUntil(lambda: scr.ports.findData(slow_board.path) > 0, timeout=WAIT_MS)
    scr.ports.setCurrentIndex(scr.ports.findData(slow_board.path))
    with StallWatch() as watch:
        scr.connect_selected()
        qtbot.waitUntil(lambda: scr.connect_button.isEnabled(), timeout=WAIT_MS)
    watch.check()
    text = scr.connect_message.text()
    assert text.startswith(f"No answer to IDENTIFY from {slow_board.path}") and "\n" not in text
    assert ctx.session.source is None                  # the simulated board was let go
    assert win.screens["Board"].status_labels["board"].text() == "not connected"


def test_the_start_up_probe_finds_a_slow_board(qtbot, slow_board):
    """No board word: the app probes the ports and opens the one board that answers."""
    from stancelab.ui.app import LOOKING_BANNER, build_window, connect_at_start
    from stancelab.ui.context import AppContext

    slow_board.identify_delay_s = 1.0      # within the probe's 1.5 s
    ctx = AppContext()
    win = build_window(ctx)
    win.show()
    try:
        with StallWatch() as watch:
            t0 = time.monotonic()
            connect_at_start(ctx, win, argparse.Namespace(simulate=False, port=None, seed=0))
            banner = win.banner.text()
            qtbot.waitUntil(lambda: ctx.session.source is not None, timeout=WAIT_MS)
            took_s = time.monotonic() - t0
        watch.check()
        assert banner == LOOKING_BANNER
        assert took_s >= 1.0                  # the probe waited for the slow answer
        assert ctx.session.source.state.board_id == BOARD_ID
        assert not win.banner.isVisibleTo(win)
    finally:
        win.close()
        ctx.close()


def _long_session(storage, athlete_id: int, minutes: float) -> int:
    """A stored session with one completed quiet-stance trial of ``minutes`` at 80 samples/s
    (a person swaying on the board), written through the Storage API."""
    n = int(minutes * 60 * 80)
    t = np.arange(n) / 80.0
    x, y = 20 * np.sin(0.7 * t), 30 * np.cos(0.4 * t)
    corners = np.column_stack([2000 + x + y, 2000 - x + y, 2000 + x - y, 2000 - x - y])
    counts = (100_000 + 40 * corners).astype(np.int64)
    session = storage.start_session(athlete_id=athlete_id, source_kind="simulated",
                                    board_id=DEFAULT_BOARD_ID, firmware="1.0.0",
                                    calibration=None)
    trial = storage.start_trial(session.id, "quiet", leg="both", condition="eyes open")
    with storage.sample_writer(trial.id) as writer:
        writer.extend(SampleArrays(np.arange(n) % 65536, t, t, counts, np.zeros(n, np.int64),
                                   np.full(n, "active", object), np.full(n, None, object)))
    storage.finish_trial(trial.id)
    return session.id


def test_exporting_a_long_session_to_csv_and_pdf(qtbot, app_window, tmp_path):
    """Forty minutes of samples: the CSV and the report's stabilogram read all of them."""
    ctx, win = app_window
    sid = _long_session(ctx.storage, ctx.athlete.id, 40)
    ctx.results_changed.emit()
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)   # the list reads on the worker
    exp.folder.setText(str(tmp_path / "out"))
    assert exp.sessions.currentItem().data(Qt.ItemDataRole.UserRole) == sid
    seen: list[int] = []
    exp.progress.valueChanged.connect(seen.append)
    disabled = []
    with StallWatch() as watch:
        for export in (exp.export_session, exp.export_pdf):
            export()
            disabled.append(not exp.buttons["pdf"].isEnabled())
            qtbot.waitUntil(lambda: not exp.busy, timeout=WAIT_MS)
            assert exp.message.text().startswith("Written:"), exp.message.text()
    watch.check()
    assert disabled == [True, True]
    raw = next(p for p in (tmp_path / "out").iterdir() if p.name.endswith("_raw.csv"))
    assert raw.read_bytes().count(b"\n") > 40 * 60 * 80
    assert (tmp_path / "out" / f"{exp._stem()}_report.pdf").read_bytes()[:5] == b"%PDF-"
    assert len(set(seen)) > 3                # the bar moved while the rows were written


class WriteLock:
    """Another program holding SQLite's write lock on the database for ``seconds``."""

    def __init__(self, path, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.taken, self.released = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="other-program", daemon=True)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            self.taken.set()
            time.sleep(self.seconds)
            db.execute("ROLLBACK")
        finally:
            db.close()
            self.released.set()

    def start(self) -> WriteLock:
        self._thread.start()
        self.taken.wait(10)
        return self

    def join(self) -> None:
        self._thread.join(10)


def test_a_drill_records_while_another_program_holds_the_database(qtbot, app_window):
    """The sample writer's commit waits for the lock: on its own thread, not the UI's."""
    ctx, win = app_window
    ctx.realtime = True                # a reader thread paced by the clock, as in the app
    ctx.connect_simulated(seed=8)
    screen = win.show_screen("Drills")
    screen.select("quiet")
    screen.duration.setValue(30)
    screen.start()
    runner = screen.runner
    qtbot.waitUntil(lambda: runner.drill.phase == Phase.ACTIVE and runner.samples_written > 80,
                    timeout=WAIT_MS)
    with StallWatch() as watch:
        lock = WriteLock(ctx.storage.path, 1.5).start()
        n0 = runner.samples_written
        qtbot.waitUntil(lambda: lock.released.is_set(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: runner.samples_written > n0 + 2 * 80, timeout=WAIT_MS)
        lock.join()
    watch.check()
    assert screen.state == "running" and screen.error is None
    screen.stop()
    qtbot.waitUntil(lambda: screen.state == "done", timeout=WAIT_MS)
