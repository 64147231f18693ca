"""The Settings screen sets this station's server through the same code as `stancelab db use`:
real widgets (offscreen) against the real throw-away PostgreSQL cluster (storage_backends.py)."""

from PySide6.QtCore import Qt

import ui_helpers
from stancelab.storage import Storage
from stancelab.storage.backends import saved_url, setting_path

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def _try(qtbot, scr, button, url=None):
    if url is not None:
        scr.url.setText(url)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    # Off the UI thread: the busy bar shows and the buttons wait until the check is over.
    assert scr.busy.isVisible() and not scr.use_button.isEnabled()
    qtbot.waitUntil(lambda: scr.task is None, timeout=20_000)
    assert not scr.busy.isVisible() and scr.use_button.isEnabled()
    return scr.message.text()


def test_settings_sets_and_clears_the_server(app_window, qtbot, pg_db):
    ctx, win = app_window
    scr = win.show_screen("Settings")
    running = ctx.storage.backend.location
    assert "own file (no server set)" in scr.current.text()

    said = _try(qtbot, scr, scr.use_button, "postgresql://coach:hunter2@db.example/stancelab")
    assert "does not keep passwords" in said and "~/.pgpass" in said
    assert "hunter2" not in said and not setting_path().exists()
    assert scr.url.text() == "postgresql://coach@db.example/stancelab"   # off the screen too

    said = _try(qtbot, scr, scr.use_button, "postgresql://coach@/x?host=/nonexistent")
    assert said.startswith("Not changed:") and "Cannot reach the StanceLab server" in said
    assert not setting_path().exists()

    said = _try(qtbot, scr, scr.use_button, pg_db.target)
    assert "Saved: this station will use postgresql://" in said
    assert "Restart StanceLab" in said and running in said   # this run keeps its database
    assert saved_url() == pg_db.target
    assert ctx.storage.backend.location == running
    assert "set with `stancelab db use`" in scr.current.text()
    with Storage() as store:               # the next start (and every command) uses it
        assert store.path is None

    said = _try(qtbot, scr, scr.local_button)
    assert saved_url() is None and "own file" in scr.current.text()
    assert "nothing else changes" in said   # this run was on its own file all along
