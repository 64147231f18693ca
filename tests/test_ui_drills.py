"""Whole drills through the GUI on the simulated board (faster than real time), keyboard only,
with the results checked in the real SQLite file."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt

import ui_helpers
from stancelab import paths
from stancelab.storage import Storage

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def _run(qtbot, screen, timeout_ms=120_000):
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    assert screen.state == "running"
    qtbot.waitUntil(lambda: screen.state == "done", timeout=timeout_ms)
    assert screen.error is None, screen.error


def test_clock_and_single_leg_drills_run_and_are_stored(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=3)
    screen = win.show_screen("Drills")
    screen.setFocus()

    screen.select("clock-right")
    states = []
    real_set_state = screen.view.set_state
    screen.view.set_state = lambda st: (states.append(st), real_set_state(st))
    distances = []
    real_guide = screen.audio.guide
    screen.audio.guide = lambda d: (distances.append(d), real_guide(d))
    _run(qtbot, screen)
    # The guiding tone followed the COP: outside the zones and inside them (negative), then
    # silence at the end.
    guided = [d for d in distances if d is not None]
    assert min(guided) < 0 < max(guided) and distances[-1] is None
    # The athlete view said each state in its colour: on the board, ready, moving, holding,
    # the hold done, and the end.
    seen = [st for i, st in enumerate(states) if i == 0 or states[i - 1] != st]
    assert seen[:3] == ["waiting", "countdown", "moving"]
    assert {"in-zone", "hold-done"} <= set(seen) and seen[-1] == "done"
    assert screen.detached    # full screen (one screen here) until Space or Escape
    assert "Done" in screen.cue.text()
    assert any("edge reach" in s for s in screen.scores)
    # Sound cues (the system bell): 3-2-1 ticks, a tone per target reached, one at the end.
    played = screen.audio.played
    assert played[:3] == ["tick 3", "tick 2", "tick 1"]
    assert sum(p.startswith("reached") for p in played) >= 10 and played[-1] == "done"

    screen.trials.setValue(1)
    screen.duration.setValue(10)
    screen.rest.setValue(5)
    screen.select("single-both")
    _run(qtbot, screen)

    # Space at the end takes the coach to the results of the last trial.
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    assert win.current_screen_name() == "Results"
    assert not screen.detached
    results = win.screens["Results"]
    qtbot.waitUntil(lambda: results.trial is not None, timeout=10_000)  # read on the worker
    assert results.trial.drill == "single-leg"
    assert results.scores.rowCount() > 0

    # What is in the database file, read back with a separate connection.
    with Storage(paths.database_path()) as st:
        trials = [t for s in st.sessions(ctx.athlete.id) for t in st.trials(s.id)]
        by = {(t.drill, t.leg): t for t in trials}
        assert set(by) == {("clock", "right"), ("single-leg", "left"), ("single-leg", "right")}
        assert all(t.status == "completed" for t in trials)
        clock = by[("clock", "right")]
        assert clock.metrics["edge_reach_score_pct"] > 0
        assert len(clock.metrics["targets"]) == 12
        for leg in ("left", "right"):
            sl = by[("single-leg", leg)]
            assert 9.0 <= sl.metrics["time_held_s"] <= 10.5
            assert st.sample_count(sl.id) >= 10 * 80
    con = sqlite3.connect(paths.database_path())
    try:
        (n,) = con.execute("SELECT count(*) FROM samples").fetchone()
    finally:
        con.close()
    assert n > (10 + 10) * 80


def test_escape_stops_a_drill_and_keeps_its_samples(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=4)
    screen = win.show_screen("Drills")
    screen.select("single-left")
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(ctx.session.history) > 400, timeout=30_000)
    qtbot.keyClick(screen, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: screen.state == "done", timeout=10_000)
    assert "Stopped" in screen.cue.text() or "stopped" in screen.cue.text()
    assert not screen.detached
    trials = [t for s in ctx.storage.sessions(ctx.athlete.id) for t in ctx.storage.trials(s.id)]
    assert [t.status for t in trials] == ["aborted"]
    assert ctx.storage.sample_count(trials[0].id) > 0


def test_arrow_keys_choose_the_drill(qtbot, app_window):
    _ctx, win = app_window
    screen = win.show_screen("Drills")
    start = screen.choice.currentRow()
    qtbot.keyClick(screen, Qt.Key.Key_Down)
    qtbot.keyClick(screen, Qt.Key.Key_Down)
    assert screen.choice.currentRow() == start + 2
    qtbot.keyClick(screen, Qt.Key.Key_Up)
    assert screen.choice.currentRow() == start + 1
    # Without a board, Space explains what to do instead of failing.
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    assert "Connect a board" in screen.cue.text()
    assert screen.state == "idle"


def test_sound_cues_can_be_switched_off(app_window):
    _ctx, win = app_window
    screen = win.show_screen("Drills")
    screen.sound.setChecked(False)
    screen.audio.countdown(3)
    screen.audio.reached("12 o'clock")
    assert screen.audio.played == []
    screen.sound.setChecked(True)
    screen.audio.countdown(2)
    screen.audio.countdown(2)   # once per second, not per event
    assert screen.audio.played == ["tick 2"]


def test_closing_the_athlete_window_stops_the_drill_like_escape(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=4)
    screen = win.show_screen("Drills")
    screen.select("quiet")
    qtbot.keyClick(screen, Qt.Key.Key_Space)
    assert screen.detached
    screen._window.close()          # what the window manager's close button does
    qtbot.waitUntil(lambda: screen.state == "done", timeout=10_000)
    assert not screen.detached and screen.view.isVisible()
