"""The PySide6 + pyqtgraph desktop app: the only package that may import Qt.

Screens are separate widgets that render state from the core and send intents back to the main
window; one :class:`~stancelab.ui.session.LiveSession` timer drains the board into them.
"""
