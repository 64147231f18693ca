"""Starting the app: the window comes at once and the board when the worker has opened it; a
database made by the command line opens cleanly."""

from __future__ import annotations

import argparse

import ui_helpers
from stancelab.cli.main import main as cli_main
from stancelab.ui.app import LOOKING_BANNER, start_app
from stancelab.ui.context import AppContext

qt_guard = ui_helpers.qt_guard


def _args(**kw):
    return argparse.Namespace(**{"simulate": True, "port": None, "seed": 0, **kw})


def _start(args):
    ctx = AppContext()
    ctx.realtime = False
    return start_app(args, ctx)


def test_the_window_comes_first_and_the_board_when_the_worker_has_opened_it(qtbot):
    ctx, win, notes = _start(_args())
    try:
        assert notes == []
        assert win.banner.text() == LOOKING_BANNER and win.banner.isVisibleTo(win)
        assert ctx.session.source is None        # not opened on the UI thread
        qtbot.waitUntil(lambda: ctx.session.source is not None, timeout=20_000)
        assert ctx.session.source.state.kind == "simulated"
        assert win.banner.text() == "Simulated board"
        qtbot.waitUntil(lambda: "samples/s" in win.status.text(), timeout=20_000)
    finally:
        win.close()
        ctx.close()


def test_closing_while_the_board_is_being_opened_leaves_nothing_running(qtbot):
    """The worker finishes opening a board nobody will attach: close() closes it (qt_guard
    fails the test on a reader thread left running)."""
    ctx, win, _ = _start(_args())
    assert ctx.connecting
    win.close()
    ctx.close()
    assert ctx.session.source is None


def test_an_athlete_made_on_the_command_line_without_a_foot_length_opens_cleanly(qtbot):
    """`stancelab run-drill --athlete NAME` creates the athlete without a foot length; the app
    then starts with that athlete and coaches it without an exception (pytest-qt fails the
    test on one raised in a slot), drawing the default foot."""
    assert cli_main(["run-drill", "quiet", "--simulate", "--fast", "--athlete", "Bo Lind",
                     "--duration", "5"]) == 0
    ctx, win, _ = _start(_args())
    try:
        assert ctx.athlete.name == "Bo Lind" and ctx.athlete.foot_length_mm is None
        live = win.screens["Live"]
        assert live.foot_length_mm == ctx.foot_length_mm == 265.0
        athletes = win.show_screen("Athletes")
        athletes._load(ctx.athlete.id)
        athletes.use_selected()                  # "Coach this athlete"
        assert "Now coaching Bo Lind" in athletes.message.text()
        for name in ("Live", "Drills", "Results", "Compare"):
            win.show_screen(name)
        assert live.foot_length_mm == 265.0
        qtbot.waitUntil(lambda: ctx.session.source is not None, timeout=20_000)
    finally:
        win.close()
        ctx.close()


def test_the_board_screen_simulated_board_keeps_the_start_up_words(qtbot):
    """`stancelab --simulate --weak-left 0.3 --seed 4`, then Board > Simulated board >
    Connect: the new simulated athlete is the one the words describe."""
    ctx, win, _ = _start(_args(weak_left=0.3, seed=4))
    try:
        qtbot.waitUntil(lambda: ctx.session.source is not None, timeout=20_000)
        first = ctx.session.source
        scr = win.show_screen("Board")
        scr.ports.setCurrentIndex(0)
        assert scr.ports.currentText() == "Simulated board"
        scr.connect_selected()
        qtbot.waitUntil(lambda: ctx.session.source not in (None, first), timeout=20_000)
        assert ctx.session.source.athlete.weakness == {"left": 0.3, "right": 0.0}
        assert scr.connect_message.text() == "Connected to the simulated board."
        assert not first.state.connected                  # closed on the worker
    finally:
        win.close()
        ctx.close()
