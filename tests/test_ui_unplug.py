"""The board unplugged in the middle of a drill run from the GUI, and plugged back in.

Real widgets offscreen, the real SQLite file, and a SerialBoard on a real pty: tests/pty_peer.py
runs a VirtualBoard on the pty master, logs every sample frame it writes, and unplugs/replugs
behind a symlink as udev does with /dev/serial/by-id/... names. Everything is checked against the
peer's log and in device time; qtbot.waitUntil deadlines only guard against a hang.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

import ui_helpers
from pty_peer import BOARD_ID, PtyPeer, make_board
from stancelab.board.serial_board import SerialBoard
from stancelab.drills.events import Phase
from stancelab.storage import Storage

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="needs ptys")

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

STANDING_MASS_KG = 4 * 175.0 / 9.80665   # the peer's athlete: 175 N on each corner
IN_FLIGHT_US = 100_000   # bytes a USB chip had not handed over when the cable went
OTHER_BOARD_ID = 0x0B0A2D01
WAIT_MS = 30_000


@pytest.fixture
def peer(tmp_path, qt_guard):
    """The board behind a stable path; closed before qt_guard looks for leftover threads."""
    p = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    yield p
    p.close()


class Received:
    """Every block the GUI's live session published, in order: what the app received."""

    def __init__(self, session) -> None:
        self.t_us: list[np.ndarray] = []
        self.seq: list[list[int]] = []      # raw samples when the session drained them itself
        self.host_s: list[float] = []
        session.frame.connect(self.on_frame)

    def on_frame(self, fr) -> None:
        self.t_us.append(np.round(fr.block.t_s * 1e6).astype(np.int64))
        self.seq.append([s.seq for s in fr.samples])
        self.host_s.append(time.monotonic())

    def all_t_us(self) -> np.ndarray:
        return np.concatenate(self.t_us) if self.t_us else np.zeros(0, np.int64)

    def count(self) -> int:
        return sum(len(t) for t in self.t_us)


def _connect(ctx, peer) -> SerialBoard:
    board = SerialBoard(peer.path)
    ctx.connect_source(board)
    assert board.state.connected and board.state.board_id == BOARD_ID
    return board


def _start_quiet_stance(qtbot, ctx, win):
    ctx.storage.update_athlete(ctx.athlete.id, settings={"body_mass_kg": STANDING_MASS_KG})
    ctx.refresh_athlete()
    screen = win.show_screen("Drills")
    screen.setFocus()
    screen.duration.setValue(60)
    screen.select("quiet")
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    assert screen.state == "running", screen.cue.text()
    return screen


def _unplug_mid_trial(qtbot, ctx, win, peer):
    """Run quiet stance until a second of its active phase is recorded, then pull the cable."""
    screen = _start_quiet_stance(qtbot, ctx, win)
    runner = screen.runner
    qtbot.waitUntil(lambda: runner.drill.phase == Phase.ACTIVE, timeout=WAIT_MS)
    n0 = runner.samples_written
    qtbot.waitUntil(lambda: runner.samples_written >= n0 + 80, timeout=WAIT_MS)
    peer.unplug()
    qtbot.waitUntil(lambda: screen.state == "done", timeout=WAIT_MS)
    return screen, runner


def _stored(ctx, runner):
    (tid,) = runner.trial_ids.values()
    with Storage(ctx.storage.path) as st:   # a separate connection: what is on disk
        return st.trial(tid), st.read_samples(tid)


def _check_against_peer(peer, seq, us, what):
    """No duplicates, strictly increasing device time, and every pair sent by the board."""
    assert len(us) > 0
    assert np.all(np.diff(us) > 0), f"{what}: device time must strictly increase"
    pairs = list(zip(seq, us.tolist()))
    assert len(set(pairs)) == len(pairs), f"{what}: duplicated samples"
    assert set(pairs) <= set(peer.sent_samples), f"{what}: a sample the board never sent"


# ------------------------------------------------------------------ unplugged mid-trial

def test_unplug_mid_drill_keeps_samples_marks_interrupted_and_says_so(qtbot, app_window, peer):
    ctx, win = app_window
    board = _connect(ctx, peer)
    received = Received(ctx.session)
    screen, runner = _unplug_mid_trial(qtbot, ctx, win, peer)

    # The user is told, on the athlete's screen and in the status line.
    assert screen.error is None, screen.error
    assert "disconnected" in screen.cue.text(), screen.cue.text()
    qtbot.waitUntil(lambda: "was disconnected" in win.status.text(), timeout=WAIT_MS)
    assert "reconnecting automatically" in win.status.text()
    assert not board.state.connected

    # The trial is stored as interrupted, with its reason.
    trial, got = _stored(ctx, runner)
    assert trial.status == "interrupted", trial.status
    assert "disconnected" in trial.reason and "kept" in trial.reason
    assert "active" in set(got.phase)

    us = np.round(got.t_s * 1e6).astype(np.int64)
    _check_against_peer(peer, got.seq.tolist(), us, "stored")
    assert len(got) == runner.samples_written
    # Every sample the GUI received during the trial is in the database, and nothing else.
    rec = received.all_t_us()
    assert set(us.tolist()) == set(rec[rec >= us[0]].tolist())
    # ... up to the moment of the unplug: at most what was in flight in the USB chip is missing.
    lost_at = peer.unplugged_device_us
    sent_in_trial = [t for _, t in peer.sent_samples if us[0] <= t <= lost_at]
    missing = sorted(set(sent_in_trial) - set(us.tolist()))
    assert all(t > lost_at - IN_FLIGHT_US for t in missing), missing[:5]
    assert us[-1] >= lost_at - IN_FLIGHT_US


def test_replug_reconnects_within_two_seconds_and_the_live_view_resumes(qtbot, app_window, peer):
    ctx, win = app_window
    board = _connect(ctx, peer)
    received = Received(ctx.session)
    screen, runner = _unplug_mid_trial(qtbot, ctx, win, peer)
    assert screen.waiting_for_board
    live = win.show_screen("Live")
    n_before, k_before = received.count(), len(received.t_us)
    t_before = received.all_t_us()
    _trial, got = _stored(ctx, runner)

    replugged_host_s = time.monotonic()
    peer.replug()   # same board, kept running on its own supply
    qtbot.waitUntil(lambda: board.state.connected and board.state.streaming, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: received.count() >= n_before + 80, timeout=WAIT_MS)

    # Back on its own: the first sample after the return left the board within 2 s of device
    # time of it coming back.
    after = np.concatenate(received.t_us[k_before:])
    assert 0 < after[0] - peer.replugged_device_us <= 2_000_000
    # No duplicates across the gap: one strictly increasing time axis, and the samples drained
    # by the live session after the return are ones the board sent after it came back.
    assert np.all(np.diff(received.all_t_us()) > 0), "device time must increase across the gap"
    assert after[0] > t_before[-1]
    seq_after = [s for blk in received.seq[k_before:] for s in blk]
    assert len(seq_after) == len(after), "the live session drains raw samples after the drill"
    _check_against_peer(peer, seq_after, after, "after the return")
    sent_after_replug = {t for _, t in peer.sent_samples if t >= peer.replugged_device_us}
    assert set(after.tolist()) <= sent_after_replug

    # The status line no longer reports the disconnection; the live view paints new samples.
    qtbot.waitUntil(lambda: "disconnected" not in win.status.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: live.canvas.cop.isVisible()
                    and (live.canvas.cop_t_host_s or 0) > replugged_host_s, timeout=WAIT_MS)
    assert board.reconnects == 1 and len(board.interruptions) == 1
    # The athlete's screen says the board is back and how to go on.
    qtbot.waitUntil(lambda: "board is back" in screen.cue.text(), timeout=WAIT_MS)
    assert "Space" in screen.cue.text() and not screen.waiting_for_board

    # The interrupted trial is unchanged by what came after.
    trial2, got2 = _stored(ctx, runner)
    assert trial2.status == "interrupted" and len(got2) == len(got)


def test_a_different_board_on_the_port_is_refused_with_a_clear_message(qtbot, app_window, peer):
    ctx, win = app_window
    board = _connect(ctx, peer)
    received = Received(ctx.session)
    _unplug_mid_trial(qtbot, ctx, win, peer)
    ours = peer.device

    peer.device = make_board(OTHER_BOARD_ID, seed=1)
    n_before = received.count()
    peer.replug()
    want = f"A different board ({OTHER_BOARD_ID:08x})"
    qtbot.waitUntil(lambda: want in win.status.text(), timeout=WAIT_MS)
    assert f"plug board {BOARD_ID:08x} back in" in win.status.text()
    assert not board.state.connected
    assert received.count() == n_before, "samples from another board reached the app"

    # The right board back on the same path: the app takes it again on its own.
    peer.unplug()
    peer.device = ours
    peer.replug()
    qtbot.waitUntil(lambda: board.state.connected and board.state.streaming, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: received.count() >= n_before + 40, timeout=WAIT_MS)
    assert board.state.board_id == BOARD_ID
    assert "different board" not in win.status.text()
    assert np.all(np.diff(received.all_t_us()) > 0)


def test_starting_a_drill_while_the_board_is_away_explains_instead_of_failing(
        qtbot, app_window, peer):
    ctx, win = app_window
    _connect(ctx, peer)
    screen, _runner = _unplug_mid_trial(qtbot, ctx, win, peer)
    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key.Key_Space)   # done -> results
    screen = win.show_screen("Drills")
    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key.Key_Space)   # a new drill, board still unplugged
    qtbot.waitUntil(lambda: screen.state == "done", timeout=WAIT_MS)
    assert "was disconnected" in screen.cue.text(), screen.cue.text()
    assert "plug the board back in" in screen.cue.text()


@pytest.mark.parametrize("fault", ["unplugged", "silent"])
def test_closing_the_window_as_the_board_goes_away_does_not_raise(qtbot, app_window, peer,
                                                                   fault):
    """The cable pulled (or the board hung) just before the coach closes the window: stopping
    the board fails, and the window must still close cleanly."""
    ctx, win = app_window
    board = _connect(ctx, peer)
    qtbot.waitUntil(lambda: len(ctx.session.history) > 40, timeout=WAIT_MS)
    if fault == "unplugged":
        peer.unplug()
    else:
        peer.silent = True   # STOP is never acknowledged
    win.close()              # an exception here fails the test (pytest-qt reports it)
    assert ctx.session.source is None
    qtbot.waitUntil(lambda: not board.state.connected, timeout=WAIT_MS)
