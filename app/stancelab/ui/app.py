"""Entry point of the desktop app: pick the board, build the window, run the event loop.

``stancelab`` (no command) calls :func:`main_gui` with the parsed arguments: the same board
words as the commands (--simulate, --port, --gpio, --replay, --seed, --weak-left/right). The
window shows at once; the board is chosen and opened on the worker. Without a word, a plugged-in
StanceLab board is used when one answers, else the simulated board with a banner that says so.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from stancelab.board.source import Source, SourceError
from stancelab.station.choice import BoardChoice, Chosen, choose_board
from stancelab.storage import StorageError
from stancelab.ui import storage_notices
from stancelab.ui.context import AppContext, demo_athlete
from stancelab.ui.displays import place_main_window, remember_main_window
from stancelab.ui.main_window import MainWindow
from stancelab.ui.startup import guard_qt_start

SIMULATED_BANNER = "Simulated board — no board connected"
LOOKING_BANNER = "Looking for a board…"


def choose_source(args, realtime: bool = True) -> tuple[Source, str | None]:
    """The source the arguments ask for (not opened) and the banner to show with it: the same
    selector as the command line (stancelab.station.choice), every board word honoured.
    Probing the ports takes up to 1.5 s: the app calls it on its worker."""
    words = BoardChoice.from_args(args)
    maybe_simulated = words.simulate or not (words.port or words.gpio or words.replay
                                             or words.wiiboard)
    chosen = choose_board(words, realtime=realtime,
                          athlete=demo_athlete(words) if maybe_simulated else None)
    return chosen.source, _banner(chosen)


def _banner(chosen: Chosen) -> str | None:
    if chosen.source.kind != "simulated":
        return None
    return SIMULATED_BANNER if chosen.fallback else "Simulated board"


def build_window(ctx: AppContext) -> MainWindow:
    """The full app on an existing context; tests and the screenshot script use this too."""
    from stancelab.ui.screens.athletes import AthletesScreen
    from stancelab.ui.screens.board import BoardScreen
    from stancelab.ui.screens.compare import CompareScreen
    from stancelab.ui.screens.drills import DrillScreen
    from stancelab.ui.screens.export import ExportScreen
    from stancelab.ui.screens.live import LiveView
    from stancelab.ui.screens.plan import PlanScreen
    from stancelab.ui.screens.results import ResultsScreen
    from stancelab.ui.screens.settings import SettingsScreen

    win = MainWindow(ctx.session)
    ctx.window = win
    win.add_screen("Live", LiveView(ctx.session))
    win.add_screen("Drills", DrillScreen(ctx))
    win.add_screen("Results", ResultsScreen(ctx))
    win.add_screen("Compare", CompareScreen(ctx))
    win.add_screen("Athletes", AthletesScreen(ctx))
    win.add_screen("Plan", PlanScreen(ctx))
    win.add_screen("Board", BoardScreen(ctx))
    win.add_screen("Export", ExportScreen(ctx))
    win.add_screen("Settings", SettingsScreen(ctx))
    # A point of Compare's progress plots opens that session's trial in Results.
    results = win.screens["Results"]
    win.screens["Compare"].open_trial.connect(
        lambda trial_id: (results.show_trial(trial_id), win.show_screen("Results")))
    # ctx.foot_length_mm, not the athlete's field: an athlete made on the command line may
    # have no foot length (the app then draws the default foot).
    ctx.athlete_changed.connect(lambda a: win.screens["Live"].set_athlete_foot(ctx.foot_length_mm))
    ctx.select_athlete(ctx.ensure_demo_athlete())
    return win


def settle_after_startup() -> None:
    """Move the start-up objects (Qt wrappers, modules: tens of thousands) out of the garbage
    collector's sight: they live for the whole run, and a full collection over them pauses the
    live view for tens of milliseconds."""
    gc.collect()
    gc.freeze()


def start_app(args, ctx: AppContext | None = None) -> tuple[AppContext, MainWindow, list[str]]:
    """Build the window, recover recordings a crash left open, and start connecting the board
    the arguments ask for (see :func:`connect_at_start`: the board is attached once the event
    loop runs). Returns the messages the user must read now (shown by :func:`tell_user`)."""
    ctx = ctx or AppContext()
    win = build_window(ctx)
    win.storage_notices = storage_notices.install(win)
    notes = [f"Recovered an interrupted recording: {rec.samples} samples kept "
             f"(trial {rec.trial_id}; see Results)."
             for rec in ctx.storage.recover_interrupted()]
    connect_at_start(ctx, win, args)
    return ctx, win, notes


def connect_at_start(ctx: AppContext, win: MainWindow, args) -> None:
    """The window shows "Looking for a board…" at once; the worker chooses the board (probing
    the ports when no word names one) and opens it; then the board is attached and the banner
    says what was found, or why none was (also told as a notice)."""
    choice = BoardChoice.from_args(args)
    ctx.board_choice = choice
    win.set_banner(LOOKING_BANNER)
    chosen: list[Chosen] = []

    def make_source() -> Source:
        chosen.append(choose_board(choice, realtime=ctx.realtime))
        return chosen[-1].source

    def failed(exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SourceError) else \
            f"Could not open the board ({type(exc).__name__}: {exc})."
        win.set_banner(f"No board: {message}")
        tell_user(win, [f"{message} You can also connect one on the Board screen."])

    ctx.connect_in_background(make_source, on_done=lambda _src: win.set_banner(
        _banner(chosen[-1])), on_error=failed)


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
    app = QApplication.instance()
    if app is None:
        with guard_qt_start():   # no display, a missing X library: one line, exit 2
            app = QApplication(argv)
    app.setApplicationName("StanceLab")
    try:
        ctx, win, notes = start_app(args)
    except StorageError as exc:
        # A damaged or newer database: say which file and what to do; touch nothing.
        print(f"stancelab: error: {exc}", file=sys.stderr)
        if app.platformName() != "offscreen":
            QMessageBox.critical(None, "StanceLab", str(exc))
        return 2
    place_main_window(win)           # the remembered place, else 90 % of the screen
    app.aboutToQuit.connect(lambda: remember_main_window(win))
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
