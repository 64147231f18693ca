"""Entry point of the desktop app: pick the board, build the window, run the event loop.

``stancelab`` (no command) calls :func:`main_gui` with the parsed arguments. Without --port or
--simulate it uses a plugged-in StanceLab board when one answers, else the simulated board with a
banner that says so.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from stancelab.board.source import Source, SourceError
from stancelab.station.choice import BoardChoice, choose_board
from stancelab.storage import StorageError
from stancelab.ui.context import AppContext
from stancelab.ui.main_window import MainWindow

SIMULATED_BANNER = "Simulated board — no board connected"


def choose_source(args, realtime: bool = True) -> tuple[Source, str | None]:
    """The source the arguments ask for (not opened) and the banner to show with it: the same
    selector as the command line (stancelab.station.choice), every board word honoured."""
    choice = BoardChoice.from_args(args)
    chosen = choose_board(choice, realtime=realtime)
    if chosen.source.kind != "simulated":
        return chosen.source, None
    return chosen.source, SIMULATED_BANNER if chosen.fallback else "Simulated board"


def build_window(ctx: AppContext) -> MainWindow:
    """The full app on an existing context; tests and the screenshot script use this too."""
    from stancelab.ui.screens.athletes import AthletesScreen
    from stancelab.ui.screens.board import BoardScreen
    from stancelab.ui.screens.compare import CompareScreen
    from stancelab.ui.screens.drills import DrillScreen
    from stancelab.ui.screens.export import ExportScreen
    from stancelab.ui.screens.live import LiveView
    from stancelab.ui.screens.results import ResultsScreen

    win = MainWindow(ctx.session)
    ctx.window = win
    win.add_screen("Live", LiveView(ctx.session))
    win.add_screen("Drills", DrillScreen(ctx))
    win.add_screen("Results", ResultsScreen(ctx))
    win.add_screen("Compare", CompareScreen(ctx))
    win.add_screen("Athletes", AthletesScreen(ctx))
    win.add_screen("Board", BoardScreen(ctx))
    win.add_screen("Export", ExportScreen(ctx))
    ctx.athlete_changed.connect(lambda a: win.screens["Live"].set_athlete_foot(a.foot_length_mm))
    ctx.select_athlete(ctx.ensure_demo_athlete())
    return win


def settle_after_startup() -> None:
    """Move the start-up objects (Qt wrappers, modules: tens of thousands) out of the garbage
    collector's sight: they live for the whole run, and a full collection over them pauses the
    live view for tens of milliseconds."""
    gc.collect()
    gc.freeze()


def start_app(args, ctx: AppContext | None = None) -> tuple[AppContext, MainWindow, list[str]]:
    """Build the window, recover recordings a crash left open, connect the board the arguments
    ask for. Returns the messages the user must read (shown by :func:`tell_user`)."""
    ctx = ctx or AppContext()
    win = build_window(ctx)
    notes = [f"Recovered an interrupted recording: {rec.samples} samples kept "
             f"(trial {rec.trial_id}; see Results)."
             for rec in ctx.storage.recover_interrupted()]
    try:
        source, banner = choose_source(args, realtime=ctx.realtime)
        ctx.connect_source(source)
        win.set_banner(banner)
    except SourceError as exc:
        win.set_banner(f"No board: {exc}")
        notes.append(f"{exc} You can also connect one on the Board screen.")
    return ctx, win, notes


def tell_user(win: MainWindow, notes: list[str]) -> QMessageBox | None:
    """One line per note on stderr (for logs and terminals) and one non-blocking dialog."""
    for note in notes:
        print(f"stancelab: {note}", file=sys.stderr)
    if not notes:
        return None
    box = QMessageBox(QMessageBox.Icon.Information, "StanceLab", "\n\n".join(notes),
                      QMessageBox.StandardButton.Ok, win)
    box.setObjectName("startup-notice")
    box.open()
    win.status.setText(notes[-1])
    return box


def run_app(argv: list[str], args) -> int:
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("StanceLab")
    try:
        ctx, win, notes = start_app(args)
    except StorageError as exc:
        # A damaged or newer database: say which file and what to do; touch nothing.
        print(f"stancelab: error: {exc}", file=sys.stderr)
        if app.platformName() != "offscreen":
            QMessageBox.critical(None, "StanceLab", str(exc))
        return 2
    win.resize(1280, 800)
    win.show()
    tell_user(win, notes)
    settle_after_startup()
    try:
        return app.exec()
    finally:
        ctx.close()
def main_gui(args) -> int:
    """Called by ``stancelab`` with no command (see stancelab.cli)."""
    return run_app(sys.argv[:1], args)
