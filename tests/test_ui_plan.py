"""The Plan screen with real widgets offscreen on a real SQLite file: no plan, starting one on
the worker, then adherence and today's session as sessions are done."""

from __future__ import annotations

import ui_helpers

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def _settled(qtbot, ctx, screen) -> None:
    qtbot.waitUntil(lambda: not screen.loading and not ctx.worker.running, timeout=20_000)


def test_plan_screen_starts_a_plan_and_shows_adherence(qtbot, app_window):
    ctx, win = app_window
    athlete = ctx.ensure_demo_athlete()
    ctx.select_athlete(athlete)
    screen = win.show_screen("Plan")
    _settled(qtbot, ctx, screen)
    assert "No plan yet" in screen.today.text() and screen.start.isVisible()
    screen.start.click()
    qtbot.waitUntil(lambda: screen.view is not None and screen.view.plan_id is not None,
                    timeout=20_000)
    _settled(qtbot, ctx, screen)
    assert not screen.start.isVisible()
    assert screen.today.text().startswith("Today: baseline: single-leg 3 trial(s) per leg")
    assert screen.table.rowCount() == 6
    assert screen.table.item(1, 1).text() == "0 of 3"
    # the baseline and one training session done (recorded in a stored session)
    store = ctx.storage
    plan = store.active_plan(athlete.id)
    s = store.start_session(athlete_id=athlete.id, source_kind="simulated")
    store.mark_plan_session(plan.id, 0, [s.id])
    store.mark_plan_session(plan.id, 1, [s.id])
    ctx.results_changed.emit()
    qtbot.waitUntil(lambda: "2 of 14" in screen.title.text(), timeout=20_000)
    assert screen.today.text().startswith("Today: week 1 session 2")
    assert screen.table.item(1, 1).text() == "1 of 3" and screen.due.text() == ""
