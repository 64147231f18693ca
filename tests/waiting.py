"""Polling a condition in tests that watch threads, sockets or processes (no Qt event loop)."""

from __future__ import annotations

import time


def wait_for(pred, timeout: float = 10.0, every: float = 0.01) -> bool:
    """Poll ``pred`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return bool(pred())
