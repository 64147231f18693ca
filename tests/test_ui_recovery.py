"""Killed while recording: SIGKILL a real GUI process in the middle of a drill, start again, and
check the interrupted trial is recovered (all samples but at most the last second) and the user is
told. Also: start-up problems with the board are a message, never a traceback.

The killed process is this file run as a script (see ``_child``): the real app on the realtime
simulated board, offscreen, the Drills screen started by its own start() as a key press would.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ != "__main__":
    import ui_helpers

    qt_guard = ui_helpers.qt_guard


def _args(**kw):
    return argparse.Namespace(**{"simulate": True, "port": None, "seed": 0, **kw})


def _child() -> None:
    """Run the app, start a quiet-stance drill, print 'written N t_s' after each drain."""
    from PySide6.QtWidgets import QApplication

    from stancelab.ui.app import start_app

    app = QApplication(sys.argv[:1])
    ctx, win, _ = start_app(_args())
    win.show()
    screen = win.show_screen("Drills")
    screen.select("quiet")
    screen.duration.setValue(60)
    # The board is opened on the worker: start once it is attached.
    ctx.source_changed.connect(lambda src: screen.start() if src is not None else None)

    def on_frame(fr) -> None:
        runner = screen.runner
        if runner is not None and runner.samples_written and len(fr.block):
            print(f"written {runner.samples_written} {fr.block.t_s[-1]:.4f}", flush=True)

    ctx.session.frame.connect(on_frame)
    print("started", flush=True)
    app.exec()


def test_gui_killed_while_recording_recovers_the_trial_and_says_so(qtbot, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([str(HERE.parent / "app"), str(HERE)]))
    errors = tmp_path / "child-stderr.txt"
    with errors.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(Path(__file__))], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)
    last: list[str] = []
    enough = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("written"):
                last[:] = line.split()[1:]
                if int(last[0]) >= 160:      # two seconds recorded
                    enough.set()

    reader = threading.Thread(target=read, name="child-stdout", daemon=True)
    reader.start()
    try:
        assert enough.wait(90), errors.read_text()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        reader.join(5)
        proc.stdout.close()
    written_n, written_t = int(last[0]), float(last[1])
    assert proc.returncode == -signal.SIGKILL

    from stancelab.storage import Storage
    from stancelab.ui.app import start_app, tell_user
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    ctx.realtime = False
    ctx, win, notes = start_app(_args(), ctx)
    try:
        box = tell_user(win, notes)
        (trial,) = [t for t in _trials(ctx.storage) if t[1] == "interrupted"]
        tid, _, n, last_t = trial
        assert f"Recovered an interrupted recording: {n} samples kept" in box.text()
        # Everything up to the last commit: the writer commits at least every 0.5 s, so at
        # most the last second before the kill is lost, never more.
        assert written_n - 80 <= n <= written_n + 80
        assert last_t >= written_t - 1.0
        assert ctx.storage.read_samples(tid).t_s.size == n
    finally:
        win.close()
        ctx.close()
    store = Storage()            # the recovery is durable: a third start finds nothing to do
    try:
        assert store.recover_interrupted() == []
    finally:
        store.close()


def _trials(storage):
    """(id, status, samples, last t_s) of every trial, read with plain SQL on the file."""
    with sqlite3.connect(storage.path) as db:
        return db.execute("SELECT t.id, t.status, COUNT(s.idx), MAX(s.t_s) FROM trials t "
                          "LEFT JOIN samples s ON s.trial_id = t.id GROUP BY t.id "
                          "ORDER BY t.id").fetchall()


def test_two_boards_at_start_is_a_message_not_a_traceback(qtbot, monkeypatch, capsys):
    """Two real boards (VirtualBoards behind ptys) answer the start-up probe."""
    from PySide6.QtWidgets import QMessageBox

    from stancelab.board.ports import EXTRA_PORTS_ENV
    from stancelab.ui.app import start_app, tell_user
    from ui_pty_board import PtyBoard

    with PtyBoard() as one, PtyBoard() as two:
        monkeypatch.setenv(EXTRA_PORTS_ENV, os.pathsep.join([one.port, two.port]))
        ctx, win, notes = start_app(_args(simulate=False))
        assert tell_user(win, notes) is None       # nothing to recover
        assert win.banner.text() == "Looking for a board…"
        qtbot.waitUntil(lambda: win.banner.text().startswith("No board"), timeout=20_000)
    try:
        box = win.findChild(QMessageBox, "startup-notice")
        assert "Choose one with --port" in box.text()
        assert win.banner.text().startswith("No board: Several StanceLab boards")
        assert ctx.session.source is None
        err = capsys.readouterr().err
        assert "stancelab: Several StanceLab boards" in err and "Traceback" not in err
    finally:
        win.close()
        ctx.close()


if __name__ == "__main__":
    _child()
