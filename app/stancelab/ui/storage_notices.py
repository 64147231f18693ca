"""What the storage layer tells the user (the clinic server lost mid-recording and samples
spooled locally, the spool handed over when it returns) reaches the window, not only stderr.

The storage layer speaks through the ``stancelab.storage`` logger, from its writer threads. A
logging handler turns each warning into a queued Qt signal, so the UI thread shows it on the
window's status line and banner; nothing in the core knows about Qt.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

LOGGER = "stancelab.storage"


class _Relay(QObject):
    said = Signal(str)


class StorageNotices(logging.Handler):
    """Installed once per window; :meth:`remove` when the window closes."""

    def __init__(self, show) -> None:
        super().__init__(level=logging.WARNING)
        self._relay = _Relay()
        self._relay.said.connect(show)   # queued onto the UI thread when emitted elsewhere
        self.shown: list[str] = []
        logging.getLogger(LOGGER).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._relay.said.emit(record.getMessage())
        except RuntimeError:             # the window (and the relay) is already gone
            pass

    def remove(self) -> None:
        logging.getLogger(LOGGER).removeHandler(self)


def install(win) -> StorageNotices:
    def show(message: str) -> None:
        win.status.setText(message)
        win.set_banner(message)

    handler = StorageNotices(show)
    win.destroyed.connect(lambda *_: handler.remove())
    return handler
