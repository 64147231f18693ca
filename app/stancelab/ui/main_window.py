"""The main window stays thin: a banner, a sidebar, a stack of screens and a status line.

Screens own their widgets and logic; the window only switches between them, forwards the
current athlete, and shuts the live session down when it closes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stancelab.board.source import SourceError
from stancelab.ui.session import LiveSession
from stancelab.ui.widgets import ACCENT, BG, FG

STYLE = f"""
QWidget {{ background: {BG}; color: {FG}; font-size: 15px; }}
QListWidget {{ font-size: 18px; border: none; background: #161b21; }}
QListWidget::item {{ padding: 12px 16px; }}
QListWidget::item:selected {{ background: #2b3340; color: {ACCENT}; }}
QPushButton {{ background: #2b3340; border: 1px solid #3d4654; padding: 8px 14px;
              border-radius: 4px; }}
QPushButton:checked, QPushButton:default {{ background: #3d4a5c; border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #66707c; }}
QLineEdit, QComboBox, QDoubleSpinBox, QSpinBox, QPlainTextEdit, QTableWidget, QListView {{
    background: #1b2129; border: 1px solid #3d4654; padding: 4px; }}
QHeaderView::section {{ background: #222a33; padding: 4px; border: none; }}
"""


class MainWindow(QMainWindow):
    athlete_changed = Signal(object)

    def __init__(self, session: LiveSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("StanceLab")
        self.setStyleSheet(STYLE)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(f"background: {ACCENT}; color: #000; font-size: 18px; "
                                  "font-weight: bold; padding: 6px;")
        self.banner.setVisible(False)
        self.nav = QListWidget()
        self.nav.setFixedWidth(190)
        self.stack = QStackedWidget()
        self.status = QLabel("No board")
        self.status.setObjectName("status")
        self.status.setStyleSheet("color: #9aa4b1; padding: 2px 8px;")
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        outer = QVBoxLayout()
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.banner)
        outer.addLayout(body, 1)
        outer.addWidget(self.status)
        central = QWidget()
        central.setLayout(outer)
        self.setCentralWidget(central)
        self.screens: dict[str, QWidget] = {}
        self.nav.currentRowChanged.connect(self._on_nav)
        session.state_changed.connect(self._show_state)
        session.error.connect(lambda msg: self.status.setText(f"Board: {msg}"))

    def add_screen(self, name: str, widget: QWidget) -> None:
        self.screens[name] = widget
        self.stack.addWidget(widget)
        self.nav.addItem(name)
        if self.nav.currentRow() < 0:
            self.nav.setCurrentRow(0)

    def show_screen(self, name: str) -> QWidget:
        self.nav.setCurrentRow(list(self.screens).index(name))
        return self.screens[name]

    def current_screen_name(self) -> str:
        return list(self.screens)[self.stack.currentIndex()]

    def _on_nav(self, row: int) -> None:
        if row < 0:
            return
        w = self.stack.widget(row)
        self.stack.setCurrentIndex(row)
        if hasattr(w, "activated"):
            w.activated()
        w.setFocus()

    def set_banner(self, text: str | None) -> None:
        self.banner.setText(text or "")
        self.banner.setVisible(bool(text))

    def _show_state(self, st) -> None:
        if st is None:
            self.status.setText("No board connected")
            return
        parts = [st.description]
        if st.firmware:
            parts.append(f"firmware {st.firmware}")
        if st.rate_sps:
            parts.append(f"{st.rate_sps:.1f} samples/s")
        parts.append(f"{st.lost_frames} lost frames")
        if st.error:
            parts.append(st.error)
        self.status.setText("  ·  ".join(parts))

    def closeEvent(self, event) -> None:
        for w in self.screens.values():
            if hasattr(w, "shutdown"):
                w.shutdown()
        try:
            self.session.detach()
        except SourceError:
            # The board vanished or stopped answering just as the window closed: detach has
            # closed the port anyway, and a closing window has nobody left to tell.
            pass
        super().closeEvent(event)
