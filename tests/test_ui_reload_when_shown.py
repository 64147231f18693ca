"""Screens that read the database: hidden ones wait until shown, loads run on the worker, the
latest pick wins, and Results lists and draws each trial once. Real drills on the simulated
board (fast mode) fill a real SQLite file."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

import ui_helpers
from stancelab.ui import trialdata

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

DB_SCREENS = ("Results", "Compare", "Athletes", "Export")


def _count(obj, name: str, calls: list) -> None:
    """Record (thread, args) of every call of ``obj.name`` and still make it."""
    real = getattr(obj, name)

    def recorded(*args, **kwargs):
        calls.append((threading.current_thread(), args))
        return real(*args, **kwargs)

    setattr(obj, name, recorded)


def _drill(qtbot, ctx, win, key="single-left") -> None:
    drills = win.show_screen("Drills")
    drills.trials.setValue(1)
    drills.duration.setValue(5)
    drills.rest.setValue(0)
    drills.select(key)
    qtbot.keyClick(drills, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: drills.state == "done", timeout=120_000)
    assert drills.error is None


def _settled(qtbot, ctx, screen) -> None:
    qtbot.waitUntil(lambda: not screen.loading and not getattr(screen, "picking", False)
                    and not ctx.worker.running, timeout=20_000)


@pytest.fixture
def with_board(app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=6)
    return ctx, win


def test_a_stored_trial_reloads_no_hidden_screen_and_a_shown_one_once(qtbot, with_board):
    ctx, win = with_board
    loads = {name: [] for name in DB_SCREENS}
    for name in DB_SCREENS:
        win.show_screen(name)              # each loaded once, so none is stale from the start
        _settled(qtbot, ctx, win.screens[name])
        _count(win.screens[name], "load", loads[name])
    stored = []
    ctx.results_changed.connect(lambda: stored.append(1))
    _drill(qtbot, ctx, win, "single-both")  # two trials stored, then the drill's end
    assert len(stored) >= 3
    assert {name: len(c) for name, c in loads.items()} == {name: 0 for name in DB_SCREENS}
    assert all(win.screens[name].stale for name in DB_SCREENS)
    for name in DB_SCREENS:
        screen = win.show_screen(name)
        _settled(qtbot, ctx, screen)
        assert len(loads[name]) == 1, name
        assert loads[name][0][0] is not threading.main_thread()   # read on the worker
        win.show_screen("Drills")
        win.show_screen(name)              # nothing changed since: shown without a reload
        _settled(qtbot, ctx, screen)
        assert len(loads[name]) == 1, name
    # A visible screen follows a change at once, on the worker.
    ctx.results_changed.emit()
    visible = DB_SCREENS[-1]
    _settled(qtbot, ctx, win.screens[visible])
    assert len(loads[visible]) == 2 and len(loads["Results"]) == 1
    # reload() (the PDF report's): reads now when stale, not again when current.
    results = win.screens["Results"]
    results.reload()
    assert len(loads["Results"]) == 2 and loads["Results"][1][0] is threading.main_thread()
    results.reload()
    assert len(loads["Results"]) == 2


def test_results_lists_and_draws_each_trial_once(qtbot, with_board):
    ctx, win = with_board
    _drill(qtbot, ctx, win, "single-both")
    _drill(qtbot, ctx, win, "single-right")
    results = win.screens["Results"]
    drawn, reads = [], []
    _count(results, "_show", drawn)
    _count(ctx.storage, "read_samples", reads)
    win.show_screen("Results")
    _settled(qtbot, ctx, results)
    stored = [t.id for t in ctx.storage.trials_for_athlete(ctx.athlete.id)]
    listed = [results.list.item(i).data(Qt.ItemDataRole.UserRole)
              for i in range(results.list.count())]
    assert len(stored) == 3 and listed == stored[::-1]      # newest first, each once
    assert [d[1][0].trial.id for d in drawn] == [stored[-1]]  # the newest, drawn once
    assert [r[1] for r in reads] == [(stored[-1],)]            # and its samples read once
    assert results.trial.id == stored[-1] and results.scores.rowCount() > 0


def test_a_picked_trial_is_read_and_computed_off_the_ui_thread(qtbot, with_board, monkeypatch):
    ctx, win = with_board
    _drill(qtbot, ctx, win, "single-both")
    results = win.show_screen("Results")
    _settled(qtbot, ctx, results)
    reads, sways, drawn = [], [], []
    _count(ctx.storage, "read_samples", reads)
    _count(results, "_show", drawn)
    real_sway = trialdata.sway_metrics
    monkeypatch.setattr(trialdata, "sway_metrics",
                        lambda *a, **k: sways.append(threading.current_thread())
                        or real_sway(*a, **k))
    older = results.list.item(1).data(Qt.ItemDataRole.UserRole)
    results.list.setCurrentRow(0)
    results.list.setCurrentRow(1)   # picked before the first came back: the latest wins
    assert results.picking
    _settled(qtbot, ctx, results)
    assert results.trial.id == older
    assert [d[1][0].trial.id for d in drawn] == [older]
    assert reads and sways
    assert all(t is not threading.main_thread() for t, _ in reads)
    assert all(t is not threading.main_thread() for t in sways)


def test_compare_and_athletes_read_on_the_worker_and_the_report_reads_now(qtbot, with_board):
    ctx, win = with_board
    for key in ("clock-left", "clock-right"):
        _drill(qtbot, ctx, win, key)
    cmp = win.show_screen("Compare")
    _settled(qtbot, ctx, cmp)
    assert any(r["metric"] == "edge_reach_score_pct" for r in cmp.rows)
    loads, reads = [], []
    _count(cmp, "load", loads)
    _count(ctx.storage, "trials_for_athlete", reads)     # what the assessment model reads
    cmp.kind.setCurrentIndex(1)      # the coach picks single-leg: read on the worker
    _settled(qtbot, ctx, cmp)
    assert len(loads) == 1 and loads[0][0] is not threading.main_thread()
    assert reads == []               # nothing stored since: the assessment read last time
    assert cmp.rows == [] and "single-leg stands" in cmp.summary.text()
    cmp.set_kind("clock")            # what the PDF report calls: the rows are there on return
    assert any(r["metric"] == "edge_reach_score_pct" for r in cmp.rows)
    assert len(loads) == 2 and loads[1][0] is threading.main_thread()
    ath = win.show_screen("Athletes")
    _settled(qtbot, ctx, ath)
    assert ath.history.rowCount() == 1
    assert ath.history.item(0, 3).text() == "2/2 clock"
