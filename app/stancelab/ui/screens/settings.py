"""Settings: which database this station uses (a clinic's PostgreSQL server, or its own file).

The same code as ``stancelab db use`` (storage.backends.use_server): a URL with a password is
refused with the same words (passwords go in ~/.pgpass or a service file), the server is
tried and its schema brought up to date on the worker, with a busy bar, and the setting is
saved only when that worked. The app keeps its open database until it restarts (a recording
or a list on screen never changes database under the user's feet); the screen says so.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stancelab.storage import StorageError
from stancelab.storage.backends import has_password, saved_url, without_password
from stancelab.storage.station_setting import setting_said, use_server
from stancelab.ui.widgets.common import WARN

PLACEHOLDER = "postgresql://coach@db.clinic.example/stancelab"


class SettingsScreen(QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task = None
        title = QLabel("Database server")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.current = QLabel()
        self.current.setObjectName("server-current")
        self.current.setWordWrap(True)
        self.url = QLineEdit()
        self.url.setObjectName("server-url")
        self.url.setPlaceholderText(PLACEHOLDER)
        self.url.returnPressed.connect(self.use_server)
        help_text = QLabel("The clinic's PostgreSQL server, as a postgresql:// URL without a "
                           "password: the password goes in ~/.pgpass or a service file "
                           "(docs/clinic.md).")
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: #9aa4b1;")
        self.use_button = QPushButton("Test and use this server")
        self.use_button.setObjectName("server-use")
        self.use_button.clicked.connect(self.use_server)
        self.local_button = QPushButton("Use this station's own file")
        self.local_button.setObjectName("server-local")
        self.local_button.clicked.connect(self.use_local)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)            # a busy bar: a connection has no percentage
        self.busy.setVisible(False)
        self.message = QLabel()
        self.message.setObjectName("server-message")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.local_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        for w in (title, self.current, self.url, help_text):
            layout.addWidget(w)
        layout.addLayout(buttons)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.url.setText(saved_url() or "")
        self._show_current()

    def activated(self) -> None:
        self._show_current()

    def _show_current(self) -> None:
        try:
            where, why = setting_said()
        except StorageError as e:
            where, why = "an invalid setting", str(e)
        running = self.ctx.storage.backend.location
        extra = "" if where == running else f" This run still uses {running}."
        self.current.setText(f"This station uses {where} ({why}).{extra}")

    def _start(self, url: str | None, doing: str) -> None:
        self.use_button.setEnabled(False)
        self.local_button.setEnabled(False)
        self.busy.setVisible(True)
        self._say(doing)
        self.task = self.ctx.worker.submit(use_server, url, on_done=self._done,
                                           on_error=self._failed, name="use server")

    def use_server(self) -> None:
        url = self.url.text().strip()
        if not url:
            self._say("Type the server's postgresql:// URL first.", error=True)
            return
        if has_password(url):
            # Not kept on screen either: the field keeps the URL without it.
            self.url.setText(without_password(url))
        self._start(url, "Connecting to the server and checking its tables…")

    def use_local(self) -> None:
        self._start(None, "Switching to this station's own file…")

    def _finish(self) -> None:
        self.task = None
        self.busy.setVisible(False)
        self.use_button.setEnabled(True)
        self.local_button.setEnabled(True)
        self._show_current()

    def _done(self, where: str) -> None:
        self._finish()
        if self.ctx.storage.backend.location == where:
            self._say(f"This station uses {where}; nothing else changes.")
        else:
            self._say(f"Saved: this station will use {where}. Restart StanceLab to switch; "
                      f"until then this run keeps recording to "
                      f"{self.ctx.storage.backend.location}.")

    def _failed(self, exc: Exception) -> None:
        self._finish()
        text = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
        self._say(f"Not changed: {text}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {WARN};" if error else "")
