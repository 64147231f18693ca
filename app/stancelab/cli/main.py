"""The `stancelab` command: the desktop app by default, plus recording and data commands.

Every command that needs a board takes the same words: --simulate, --port PORT (a serial port,
or socket://HOST:PORT for a board served by `stancelab serve`), --gpio, --wiiboard (and --replay
FILE where a recording can stand in for a board). Errors a user can fix are printed as one line
that names the fix, with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from stancelab import __version__
from stancelab.cli import (
    board_commands,
    data_commands,
    db_commands,
    drill_commands,
    exercise_commands,
    plan_commands,
    report_command,
    serve_command,
)
from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stancelab",
        description="Balance-board biofeedback for runners. Without a command, opens the app.")
    p.add_argument("--version", action="version", version=f"stancelab {__version__}")
    add_source_args(p, replay=True)   # the app replays a recording as its board too
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    for commands in (board_commands, data_commands, drill_commands, exercise_commands,
                     plan_commands, report_command, serve_command, db_commands):
        commands.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from stancelab.board.source import SourceError
    from stancelab.calibration import CalibrationError
    from stancelab.files.csv_format import CsvFormatError
    from stancelab.storage import StorageError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.program = argv is None     # the `stancelab` process itself, not a caller in Python
    try:
        if not args.command:
            try:
                from stancelab.ui.app import main_gui
            except ImportError as e:
                raise UserError(f"the desktop app needs Qt ({e}); reinstall with "
                                "`pip install -e .` or use a command such as `stancelab "
                                "record --simulate`") from None
            return main_gui(args)
        return args.func(args) or 0
    except UserError as e:
        print(f"stancelab: error: {e}", file=sys.stderr)
        return 2
    except (StorageError, CsvFormatError, SourceError, CalibrationError) as e:
        # Raised with a message for the user by the core modules; never a traceback.
        print(f"stancelab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stancelab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `stancelab compare | head`: the reader left; stop quietly as other Unix tools do.
        # stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        if e.errno == errno.ENOSPC:
            print("stancelab: error: the disk is full; free some space (the recording so far "
                  "is kept in the database)", file=sys.stderr)
            return 2
        if e.errno in (errno.EACCES, errno.EPERM):
            print(f"stancelab: error: permission denied: {e.filename or e}; choose a folder "
                  "you can write to", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
