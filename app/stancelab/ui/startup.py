"""Why Qt could not open a window, in one line that names the fix.

Qt aborts the process (SIGABRT, exit 134) with a multi-line plugin message when it cannot start
its platform: no display, or a missing X library (its own hint blames libxcb-cursor0 whatever
library is missing). :func:`guard_qt_start` installs a message handler for the creation of the
QApplication only: it keeps Qt's warnings, and on the fatal message prints one line from
:func:`diagnose` and exits 2 before Qt aborts. Nothing is checked when Qt starts fine.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

#: Shared libraries every Qt platform needs (offscreen too), with their Debian package.
BASE_LIBS = {
    "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1", "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
#: What Qt's xcb platform plugin (an X11 desktop) needs on top, with their Debian package.
XCB_LIBS = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
}
#: Every Debian package a desktop needs for the app's window (README lists the same).
DESKTOP_PACKAGES = tuple(BASE_LIBS.values()) + tuple(XCB_LIBS.values())
ALTERNATIVE = ("or use the commands without a window (`stancelab record --simulate`, "
               "`stancelab run-drill clock --simulate`)")


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def platform_name(env: Mapping[str, str]) -> str:
    """The platform Qt will try first: QT_QPA_PLATFORM, else xcb (X11) on Linux."""
    return (env.get("QT_QPA_PLATFORM") or "xcb").split(":")[0].split(";")[0]


def diagnose(messages: list[str], env: Mapping[str, str] | None = None,
             loads: Callable[[str], bool] = _loads) -> str:
    """One line saying why Qt could not start and what to install or do, from Qt's own
    messages, the environment and which libraries load."""
    env = os.environ if env is None else env
    platform = platform_name(env)
    libs = dict(BASE_LIBS)
    if platform == "xcb":
        libs.update(XCB_LIBS)
    missing = [pkg for so, pkg in libs.items() if not loads(so)]
    if missing:
        return (f"the app's window needs the Debian package{'s' * (len(missing) > 1)} "
                f"{' '.join(missing)} (sudo apt-get install {' '.join(missing)}), "
                f"{ALTERNATIVE}")
    text = " ".join(messages)
    if platform == "xcb" and (not env.get("DISPLAY") or "could not connect to display" in text):
        where = f"display {env['DISPLAY']} cannot be opened" if env.get("DISPLAY") \
            else "there is no display (DISPLAY is not set)"
        return (f"{where}: start the app on a desktop (or `ssh -X`), {ALTERNATIVE}")
    first = next((m.strip().splitlines()[0] for m in messages if m.strip()), "")
    return (f"Qt could not start its '{platform}' platform ({first}); the desktop needs "
            f"{' '.join(DESKTOP_PACKAGES)}, {ALTERNATIVE}")


class guard_qt_start:
    """``with guard_qt_start(): app = QApplication(argv)``: a Qt start-up failure becomes one
    line on stderr and exit status 2. Qt's messages while the QApplication is made are kept
    for the diagnosis and not printed (they are the multi-line text this replaces)."""

    def __init__(self, exit: Callable[[int], None] = os._exit) -> None:
        self.messages: list[tuple] = []
        self._exit = exit
        self._previous = None

    def _handler(self, mode, context, message) -> None:
        from PySide6.QtCore import QtMsgType

        self.messages.append((mode, context, message))
        if mode == QtMsgType.QtFatalMsg:
            line = diagnose([m for _, _, m in self.messages])
            print(f"stancelab: error: {line}", file=sys.stderr, flush=True)
            self._exit(2)   # before Qt's abort(); nothing is open yet

    def __enter__(self):
        from PySide6.QtCore import qInstallMessageHandler

        self._previous = qInstallMessageHandler(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(self._previous)
