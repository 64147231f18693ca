"""Qt fixtures for the tests/test_ui_*.py files: fail on Qt warnings and on leaked timers/threads.

Import the fixtures into a test module with ``from ui_helpers import qt_guard  # noqa: F401``;
``qt_guard`` is autouse there. Qt runs offscreen (tests/conftest.py sets QT_QPA_PLATFORM).
"""

from __future__ import annotations

import threading
import weakref

import pytest
from PySide6.QtCore import QThread, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

_SEVERE = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
#: Messages of the offscreen platform plugin itself, not of our code: it has no window system
#: to pass size hints to.
_PLATFORM_NOISE = ("This plugin does not support propagateSizeHints()",)


@pytest.fixture(autouse=True)
def qt_guard(qapp, monkeypatch):
    """Collect Qt warnings and every started QTimer/QThread; fail the test if any warning was
    logged or any timer/thread is still running after the test's widgets were closed."""
    messages: list[str] = []

    def handler(mode, context, message):
        if mode in _SEVERE and message not in _PLATFORM_NOISE:
            messages.append(f"{mode.name}: {message}")

    previous = qInstallMessageHandler(handler)
    timers: list[weakref.ref] = []
    qthreads: list[weakref.ref] = []
    timer_start, thread_start = QTimer.start, QThread.start

    def tracked_timer_start(self, *a):
        timers.append(weakref.ref(self))
        return timer_start(self, *a)

    def tracked_thread_start(self, *a):
        qthreads.append(weakref.ref(self))
        return thread_start(self, *a)

    monkeypatch.setattr(QTimer, "start", tracked_timer_start)
    monkeypatch.setattr(QThread, "start", tracked_thread_start)
    py_threads_before = set(threading.enumerate())
    yield messages
    QApplication.processEvents()
    qInstallMessageHandler(previous)
    live_timers = [t for t in (r() for r in timers) if t is not None and _alive(t.isActive)]
    live_threads = [t for t in (r() for r in qthreads) if t is not None and _alive(t.isRunning)]
    new_py = [t for t in threading.enumerate() if t not in py_threads_before]
    for t in new_py:
        t.join(1.0)  # a closed source's reader thread notices within its read timeout
    new_py = [t for t in new_py if t.is_alive()]
    problems = []
    if messages:
        problems.append("Qt warnings:\n  " + "\n  ".join(messages))
    if live_timers:
        problems.append(f"{len(live_timers)} QTimer(s) still running: "
                        + ", ".join(t.objectName() or repr(t) for t in live_timers))
    if live_threads:
        problems.append(f"{len(live_threads)} QThread(s) still running")
    if new_py:
        problems.append("threads still running: " + ", ".join(t.name for t in new_py))
    if problems:
        pytest.fail("\n".join(problems))


def _alive(probe) -> bool:
    try:
        return bool(probe())
    except RuntimeError:  # the C++ object is already deleted: not running
        return False


@pytest.fixture
def app_window(qtbot, qt_guard):
    """The whole app on a fresh database in the test's data dir, simulated board not yet
    connected; closed (timers stopped, source closed, database closed) at teardown."""
    from stancelab.ui.app import build_window
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    ctx.realtime = False
    win = build_window(ctx)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield ctx, win
    win.close()
    ctx.close()
