"""Every board word reaches the board in both front ends: `stancelab record` and the app.

One parametrised test per word. Each runs the real command line in-process
(``stancelab record --seconds 1 ...``, ``--fast`` where the command takes it) and the real app
start (``start_app`` on the words the ``stancelab`` parser gives it), and compares what each
one opened: the source kind, the board id, and the simulated athlete's weak legs. The boards are
real parts: a VirtualBoard behind a pty for --port, the fake RPi.GPIO over the HX711 model for
--gpio, input_event bytes through a FIFO for --wiiboard (tests/wii_peer.py), a raw CSV the CLI
recorded for --replay.
"""

from __future__ import annotations

import pathlib
import time
from dataclasses import dataclass

import pytest

import ui_helpers
from fake_pi_board import fake_pi  # noqa: F401 - the fixture
from pty_peer import BOARD_ID, PtyPeer
from stancelab.cli.main import build_parser
from stancelab.cli.main import main as cli_main
from stancelab.sim.virtual_board import DEFAULT_BOARD_ID
from stancelab.station import choice
from stancelab.storage import Storage

qt_guard = ui_helpers.qt_guard

HERE = pathlib.Path(__file__).parent


@dataclass(frozen=True)
class Opened:
    kind: str
    board_id: int | None
    weakness: dict | None       # the simulated athlete's, per leg


def _opened(src) -> Opened:
    athlete = getattr(src, "athlete", None)
    return Opened(src.state.kind, src.state.board_id,
                  dict(athlete.weakness) if athlete is not None else None)


@pytest.fixture
def wii_board(tmp_path, monkeypatch):
    """A Wii board as the kernel shows it (tests/wii_peer.py), sending reports in real time."""
    import threading

    import numpy as np

    from stancelab.board import wiiboard
    from wii_peer import Kernel, SysfsTree, sensors_for

    tree = SysfsTree(tmp_path / "wii")
    monkeypatch.setenv(wiiboard.SYSFS_ROOT_ENV, str(tree.sys))
    monkeypatch.setenv(wiiboard.DEV_ROOT_ENV, str(tree.dev))
    stop = threading.Event()

    def send():
        k, rng = Kernel(), np.random.default_rng(5)
        while not stop.is_set():
            tree.write(k.report(time.monotonic(), sensors_for(70, 0, 0) + rng.normal(0, 2, 4)))
            time.sleep(0.015)

    th = threading.Thread(target=send, daemon=True)
    th.start()
    yield tree
    stop.set()
    th.join()
    tree.close()


@pytest.fixture
def pty_board(qt_guard):
    with PtyPeer() as peer:
        yield peer


def _record_replay_file(path: pathlib.Path) -> None:
    """Two seconds: more than the one the replay is recorded for."""
    assert cli_main(["record", "--simulate", "--fast", "--seconds", "2", "--athlete", "Rec",
                     "--out", str(path)]) == 0


def _words(word: str, request, tmp_path) -> tuple[list[str], Opened]:
    """The words for ``word`` (its board set up) and what both front ends must open."""
    if word == "simulate":
        return ["--simulate"], Opened("simulated", DEFAULT_BOARD_ID, {"left": 0.0, "right": 0.0})
    if word == "weak-left":
        return (["--simulate", "--weak-left", "0.3", "--seed", "4"],
                Opened("simulated", DEFAULT_BOARD_ID, {"left": 0.3, "right": 0.0}))
    if word == "port":
        peer = request.getfixturevalue("pty_board")
        return ["--port", peer.path], Opened("serial", BOARD_ID, None)
    if word == "gpio":
        request.getfixturevalue("fake_pi")
        return ["--gpio"], Opened("gpio", None, None)
    if word == "wiiboard":
        request.getfixturevalue("wii_board")
        return ["--wiiboard"], Opened("wiiboard", 0x353B7CA1, None)
    if word == "replay":
        path = tmp_path / "recorded.csv"
        _record_replay_file(path)
        return ["--replay", str(path)], Opened("replay", DEFAULT_BOARD_ID, None)
    raise AssertionError(word)


def _through_cli(words: list[str], monkeypatch) -> Opened:
    """`stancelab record` on these words; what it opened, checked against what it stored."""
    opened = []
    real = choice.choose_board

    def spy(*a, **kw):             # the real selector, noting the source it chose
        chosen = real(*a, **kw)
        opened.append(chosen.source)
        return chosen

    monkeypatch.setattr(choice, "choose_board", spy)
    real_time = "--port" in words or "--wiiboard" in words
    fast = [] if real_time else ["--fast"]   # a real board runs in real time only
    rc = cli_main(["record", *words, *fast, "--seconds", "1", "--athlete", "Words"])
    monkeypatch.setattr(choice, "choose_board", real)
    assert rc == 0
    (src,) = opened
    with Storage() as store:
        session = store.sessions(store.find_athlete("Words").id)[-1]
    assert (session.source_kind, session.board_id) == (src.state.kind, src.state.board_id)
    return _opened(src)


def _through_app(words: list[str], qtbot) -> Opened:
    """The app started with these words: the board it attached once the worker answered."""
    from stancelab.ui.app import start_app
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    ctx.realtime = False
    ctx, win, _notes = start_app(build_parser().parse_args(words), ctx)
    try:
        qtbot.waitUntil(lambda: ctx.session.source is not None
                        or win.banner.text().startswith("No board"), timeout=20_000)
        assert ctx.session.source is not None, win.banner.text()
        return _opened(ctx.session.source)
    finally:
        win.close()
        ctx.close()


@pytest.mark.parametrize("word", ["simulate", "port", "gpio", "wiiboard", "replay",
                                  "weak-left"])
def test_every_board_word_opens_the_same_board_in_the_cli_and_the_app(
        word, request, tmp_path, monkeypatch, qtbot):
    words, expected = _words(word, request, tmp_path)
    by_cli = _through_cli(words, monkeypatch)
    by_app = _through_app(words, qtbot)
    assert by_cli == expected
    assert by_app == expected
