"""Live view on a real serial path: VirtualBoard -> pty -> SerialBoard -> LiveSession -> view."""

from __future__ import annotations

import itertools
import math

import numpy as np

import ui_helpers
from stancelab.board.serial_board import SerialBoard
from stancelab.ui.screens.live import LiveView
from stancelab.ui.session import LiveSession, RingBuffer
from ui_pty_board import PtyBoard

qt_guard = ui_helpers.qt_guard


def test_ring_buffer_keeps_newest_rows_in_order():
    rb = RingBuffer(5)
    rb.extend(np.arange(3 * 8, dtype=float).reshape(3, 8))
    rb.extend(np.arange(100, 100 + 4 * 8, dtype=float).reshape(4, 8))
    rows = rb.last()
    assert len(rb) == 5
    assert rows[:, 0].tolist() == [16.0, 100.0, 108.0, 116.0, 124.0]
    assert rb.last(2)[:, 0].tolist() == [116.0, 124.0]


def test_live_view_paints_cop_from_the_board(qtbot):
    with PtyBoard() as pb:
        session = LiveSession()
        view = LiveView(session)
        qtbot.addWidget(view)
        view.resize(900, 600)
        view.show()
        painted = []
        view.canvas.paint_hook = lambda t_paint, t_host: painted.append((t_paint, t_host))
        session.attach(SerialBoard(pb.port, boot_grace_s=0.2))
        try:
            qtbot.waitUntil(lambda: len(session.history) >= 80 and len(painted) >= 10,
                            timeout=10000)
        finally:
            session.detach()
        rows = session.history.last()
        total_kg = rows[:, 1] / 9.80665
        # The VirtualBoard's cells carry an unknown zero offset: nominal calibration reads
        # load plus offset, so only check the COP moves on a circle-ish path and gets drawn.
        # The first frames after START can come before the cells carry the person (NaN COP
        # below the load threshold); the newest half second must all be drawn.
        assert np.all(np.isfinite(rows[-40:, 6]))
        assert total_kg.mean() > 50
        assert view.canvas.cop.isVisible()
        x, y = view.canvas.cop.pos().x(), view.canvas.cop.pos().y()
        assert (x, y) == (rows[-1, 6], rows[-1, 7]) or math.isclose(x, rows[-1, 6], abs_tol=1e-6)
        assert all(t_paint >= t_host for t_paint, t_host in painted)
        assert view.load_label.text().endswith("kg")


def test_the_doorbell_drains_each_batch_and_is_closed_on_detach(qtbot):
    """The reader thread rings a local socket pair; the session drains in that wake-up (no
    0 ms timer hop), and detaching closes both ends (no descriptor left per attach)."""
    with PtyBoard() as pb:
        session = LiveSession()
        frames = []
        session.frame.connect(frames.append)
        session.attach(SerialBoard(pb.port, boot_grace_s=0.2))
        bell = session._bell
        try:
            qtbot.waitUntil(lambda: len(frames) >= 40, timeout=10000)
        finally:
            session.detach()
        assert session._bell is None
        assert bell._rx.fileno() == -1 and bell._tx.fileno() == -1
        bell.ring()                      # a late ring from the reader after detach: ignored
        n = len(frames)
        qtbot.wait(100)
        assert len(frames) == n
        # One frame per arrival: the drain took what had arrived, in order.
        t = [fr.block.t_s[-1] for fr in frames]
        assert all(b > a for a, b in itertools.pairwise(t))


def test_trail_places_dots_in_batches_and_fades_by_age(qapp):
    from stancelab.ui.widgets.board_canvas import BoardCanvas

    canvas = BoardCanvas()
    trail = canvas._trail
    assert len(trail.dots) == BoardCanvas.TRAIL // trail.stride

    def shown() -> int:
        return sum(d.isVisible() for d in trail.dots)

    # Samples one at a time as the drain brings them: every stride-th gets a dot, placed
    # `batch` dots at a time.
    for k in range(trail.stride * trail.batch - 1):
        canvas.show_cop(np.array([float(k)]), np.array([0.0]))
    assert shown() == 0 and canvas.cop.isVisible()
    canvas.show_cop(np.array([99.0]), np.array([0.0]))
    assert shown() == trail.batch
    assert sorted(d.pos().x() for d in trail.dots if d.isVisible()) == \
        [float(trail.stride - 1), 99.0]
    # Long enough for every dot: opacity falls with age (refreshed every fade_every dots, so
    # the newest few are all opaque), the oldest faint.
    for k in range(3 * BoardCanvas.TRAIL):
        canvas.show_cop(np.array([float(k)]), np.array([1.0]))
    assert shown() == len(trail.dots)
    by_age = [d.opacity() for d in sorted(trail.dots, key=lambda d: -d.pos().x())]
    assert by_age == sorted(by_age, reverse=True)
    assert by_age[0] == 1.0 and by_age[-1] < 0.5
    canvas.show_cop(np.array([np.nan]), np.array([np.nan]))
    assert not canvas.cop.isVisible()
    canvas.clear_cop()
    assert shown() == 0 and trail._pending == []
    canvas.deleteLater()
