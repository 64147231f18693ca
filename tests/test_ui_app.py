"""Start-up choices: which board, which banner."""

from __future__ import annotations

import argparse

import ui_helpers
from stancelab.board.serial_board import SerialBoard
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.ui.app import SIMULATED_BANNER, choose_source

qt_guard = ui_helpers.qt_guard


def _args(**kw):
    return argparse.Namespace(**{"simulate": False, "port": None, "seed": 0, **kw})


def test_simulate_forces_the_simulated_board():
    src, banner = choose_source(_args(simulate=True))
    assert isinstance(src, SimulatedBoard)
    assert banner == "Simulated board"


def test_port_forces_that_port():
    src, banner = choose_source(_args(port="/dev/ttyUSB7"))
    assert isinstance(src, SerialBoard) and src.port == "/dev/ttyUSB7"
    assert banner is None


def test_no_board_found_starts_the_simulated_board_with_a_banner(monkeypatch):
    from stancelab.board import ports

    monkeypatch.setattr(ports, "find_board", lambda *a, **k: None)
    src, banner = choose_source(_args())
    assert isinstance(src, SimulatedBoard)
    assert banner == SIMULATED_BANNER


def test_damaged_database_at_start_is_one_line_and_untouched(tmp_path, monkeypatch):
    """The GUI started on a damaged database says which file and what to do; exit 2."""
    import os
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    db = data / "stancelab.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    env = dict(os.environ, STANCELAB_DATA_DIR=str(data), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "stancelab", "--simulate"], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2
    assert "stancelab: error:" in r.stderr and "stancelab.sqlite3" in r.stderr
    assert "Traceback" not in r.stderr
    assert db.read_bytes() == before
