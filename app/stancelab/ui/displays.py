"""Screens and remembered window places: where the coach's window opens, and where the athlete
view goes while a drill runs (a second screen, a TV, when there is one).

The choice of screen is a pure function of the screens Qt reports (:func:`athlete_screen`), so
it is tested with the real screens of an X server; the preferences live in an INI file in the
data folder (``app.ini``, next to the database), so each station remembers its own.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication, QScreen

from stancelab import paths

#: Where the athlete view goes while a drill runs (the setting's values and their words).
PLACES = {
    "second": "Second screen if there is one",
    "here": "Full screen on this screen",
    "window": "Inside this window",
}
DEFAULT_PLACE = "second"


def settings() -> QSettings:
    return QSettings(str(paths.data_dir() / "app.ini"), QSettings.Format.IniFormat)


def athlete_place() -> str:
    value = str(settings().value("athlete_view/place", DEFAULT_PLACE))
    return value if value in PLACES else DEFAULT_PLACE


def set_athlete_place(place: str) -> None:
    if place not in PLACES:
        raise ValueError(f"athlete view place must be one of {', '.join(PLACES)}")
    s = settings()
    s.setValue("athlete_view/place", place)
    s.sync()


def athlete_screen(place: str, screens: list[QScreen], coach: QScreen | None) -> QScreen | None:
    """The screen the athlete view goes full screen on, or None to keep it in the coach's
    window. "second": the largest screen other than the coach's (a TV beats a small monitor),
    falling back to the coach's own screen when it is the only one."""
    if place == "window" or not screens:
        return None
    coach = coach if coach in screens else screens[0]
    if place == "second":
        others = [s for s in screens if s is not coach and s != coach]
        if others:
            return max(others, key=lambda s: s.geometry().width() * s.geometry().height())
    return coach


def fit_rect(available: QRect, share: float = 0.9, minimum=(1024, 700)) -> QRect:
    """A window rectangle centred in ``available``: ``share`` of it, at least ``minimum``
    (never more than the screen)."""
    w = min(available.width(), max(int(available.width() * share), minimum[0]))
    h = min(available.height(), max(int(available.height() * share), minimum[1]))
    x = available.x() + (available.width() - w) // 2
    y = available.y() + (available.height() - h) // 2
    return QRect(x, y, w, h)


def place_main_window(win) -> None:
    """Restore the window's remembered size and place when they still fit a screen that is
    there; otherwise open at 90 % of the screen it is on."""
    saved = settings().value("window/geometry")
    if isinstance(saved, QByteArray) and not saved.isEmpty() and win.restoreGeometry(saved):
        frame = win.frameGeometry()
        if any(s.availableGeometry().intersects(frame) for s in QGuiApplication.screens()):
            return
    screen = win.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        win.setGeometry(fit_rect(screen.availableGeometry()))


def remember_main_window(win) -> None:
    s = settings()
    s.setValue("window/geometry", win.saveGeometry())
    s.sync()
