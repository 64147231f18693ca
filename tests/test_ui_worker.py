"""The UI worker: results, errors and progress come back on the UI thread; nothing outlives it."""

from __future__ import annotations

import threading

import pytest

from stancelab.ui.worker import Worker
from ui_helpers import qt_guard  # noqa: F401


def test_result_error_and_progress_arrive_on_the_ui_thread(qtbot):
    worker = Worker()
    ui_thread = threading.current_thread()
    seen = []

    def slow_sum(n, progress):
        assert threading.current_thread() is not ui_thread
        for i in range(n):
            progress(i + 1, n)
        return sum(range(n))

    worker.submit(slow_sum, 1000, on_done=lambda r: seen.append(("done", r,
                  threading.current_thread() is ui_thread)),
                  on_progress=lambda d, t: seen.append(("progress", d, t)))
    worker.submit(lambda: 1 / 0, on_error=lambda e: seen.append(("error", type(e).__name__,
                  threading.current_thread() is ui_thread)))
    qtbot.waitUntil(lambda: {s[0] for s in seen} >= {"done", "error"}, timeout=5000)
    assert ("done", 499500, True) in seen
    assert ("error", "ZeroDivisionError", True) in seen
    progress = [s for s in seen if s[0] == "progress"]
    assert progress and progress[-1] == ("progress", 1000, 1000)   # the last one always comes
    assert len(progress) < 1000                                     # throttled
    qtbot.waitUntil(lambda: not worker.running, timeout=5000)
    worker.close()


def test_a_cancelled_task_never_calls_back(qtbot):
    worker = Worker()
    gate = threading.Event()
    seen = []
    task = worker.submit(gate.wait, 5, on_done=seen.append)
    task.cancel()
    gate.set()
    task.finished.wait(5)
    qtbot.wait(50)
    assert seen == []
    worker.close()
    with pytest.raises(RuntimeError):
        worker.submit(print)
