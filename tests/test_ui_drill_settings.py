"""Drill settings that fit the drill, saved per athlete in the real SQLite file; the remembered
athlete-view place and window geometry; the start-up diagnosis."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication

import ui_helpers
from stancelab import paths
from stancelab.drills.settings import for_athlete
from stancelab.storage import Storage
from stancelab.ui import displays
from stancelab.ui.startup import DESKTOP_PACKAGES, diagnose

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def _visible_rows(form) -> set[str]:
    page = form.currentWidget()
    lay = page.layout()
    return {lay.itemAt(i).widget().text() for i in range(lay.rowCount() * 2)
            if lay.itemAt(i) is not None and hasattr(lay.itemAt(i).widget(), "text")
            and lay.itemAt(i).widget().metaObject().className() == "QLabel"} - {""}


def test_each_drill_shows_its_own_settings(app_window):
    _ctx, win = app_window
    drills = win.show_screen("Drills")
    drills.select("clock-left")
    assert _visible_rows(drills.form) == {"Target", "Hold", "Time-out", "Order", "Leg"}
    drills.select("single-both")
    assert _visible_rows(drills.form) == {"Trials per leg", "Stand for", "Rest", "Eyes", "Legs"}
    drills.select("quiet")
    assert _visible_rows(drills.form) == {"Stand for", "Eyes"}


def test_clock_settings_reach_the_drill_and_are_saved_for_the_athlete(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=2)
    drills = win.show_screen("Drills")
    drills.select("clock-left")
    f = drills.form
    f.target_pct.setValue(60)
    f.hold.setValue(0.5)
    f.timeout.setValue(5)
    f.order.setCurrentText("12 3 6 9")
    qtbot.keyClick(drills, Qt.Key.Key_Space)
    assert drills.state == "running"
    drill = drills.runner.drill
    assert drill.cfg.leg == "left" and drill.cfg.target_fraction == 0.6
    assert drill.cfg.hold_s == 0.5 and drill.cfg.timeout_s == 5 and drill.hours == [12, 3, 6, 9]
    qtbot.keyClick(drills, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: drills.state == "done", timeout=10_000)
    coached = ctx.athlete.id
    with Storage(paths.database_path()) as st:     # the real file, another connection
        saved = st.athlete(coached).settings
    c = for_athlete("clock", saved)
    assert (c.leg, c.target_fraction, c.hold_s, c.timeout_s, c.order) == \
        ("left", 0.6, 0.5, 5.0, [12, 3, 6, 9])
    # Another athlete has the defaults; coming back restores the saved ones.
    other = ctx.storage.add_athlete("Bo", 250.0)
    ctx.select_athlete(other)
    assert f.target_pct.value() == 80 and f.order.currentText() == "clockwise"
    ctx.select_athlete(ctx.storage.athlete(coached))
    assert f.target_pct.value() == 60 and f.order.currentText() == "12 3 6 9"
    # Going to another screen and back keeps what the coach set (not saved yet).
    f.hold.setValue(2.0)
    win.show_screen("Live")
    win.show_screen("Drills")
    assert f.hold.value() == 2.0


def test_single_leg_and_quiet_settings_reach_their_drills(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=2)
    drills = win.show_screen("Drills")
    drills.select("single-both")
    drills.form.leg_order.setCurrentText("right, then left")
    drills.form.eyes.setCurrentText("closed")
    drills.trials.setValue(2)
    drill, _s = drills.make_drill("single-leg")
    assert [t.leg for t in drill.plan] == ["right", "left", "right", "left"]
    assert drill.cfg.eyes == "closed"
    drills.select("quiet")
    drills.form.quiet_duration.setValue(12)
    drills.form.quiet_eyes.setCurrentText("closed")
    drill, _s = drills.make_drill("quiet")
    assert drill.cfg.duration_s == 12 and drill.cfg.eyes == "closed"


def test_a_bad_coach_order_is_refused_in_words(app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=2)
    drills = win.show_screen("Drills")
    drills.select("clock-right")
    drills.form.order.setCurrentText("coach's list")
    drills.form.hours.setText("12 13")
    drills.go()
    assert drills.state == "idle"
    assert "between 1 and 12" in drills.message.text()


def test_the_athlete_view_place_is_remembered(app_window):
    _ctx, win = app_window
    drills = win.show_screen("Drills")
    assert displays.athlete_place() == "second"
    drills.place.setCurrentIndex(list(displays.PLACES).index("window"))
    assert displays.athlete_place() == "window"
    assert (paths.data_dir() / "app.ini").exists()


def test_screen_choice_with_the_screens_qt_reports(qapp):
    screens = QGuiApplication.screens()
    coach = screens[0]
    assert displays.athlete_screen("window", screens, coach) is None
    assert displays.athlete_screen("here", screens, coach) is coach
    # One screen (offscreen): "second" falls back to the coach's screen.
    assert displays.athlete_screen("second", screens, coach) is coach
    assert displays.athlete_screen("second", [], None) is None


def test_the_window_rectangle_fits_the_screen():
    """(The remembered size and place are checked under Xvfb: test_ui_athlete_view.py.)"""
    r = displays.fit_rect(QRect(0, 0, 1920, 1080))
    assert (r.width(), r.height(), r.x(), r.y()) == (1728, 972, 96, 54)
    small = displays.fit_rect(QRect(0, 0, 1024, 600))
    assert (small.width(), small.height()) == (1024, 600)
    assert displays.fit_rect(QRect(1920, 0, 1280, 720)).x() >= 1920


def test_diagnosis_names_the_missing_debian_packages():
    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    line = diagnose(["From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed"],
                    {"DISPLAY": ":0"}, loads=lambda so: so not in missing)
    assert "libxcb-icccm4 libxcb-keysyms1" in line and "libxcb-cursor0" not in line
    assert "sudo apt-get install" in line and "\n" not in line
    # Offscreen needs only the base libraries.
    line = diagnose([], {"QT_QPA_PLATFORM": "offscreen"},
                    loads=lambda so: so != "libEGL.so.1")
    assert "libegl1" in line and "xcb" not in line
    # Everything there but Qt still fails: its first line, and the whole list to check.
    line = diagnose(["qt.qpa: something new\nmore"], {"DISPLAY": ":0"}, loads=lambda so: True)
    assert "something new" in line and "more" not in line
    assert all(p in line for p in DESKTOP_PACKAGES)
