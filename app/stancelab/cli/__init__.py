"""The `stancelab` command. Nothing in the app imports this package; it imports the rest.

- main.py: the parser, the entry point and the one translation of errors into a line + exit 2
- errors.py: UserError;  sources.py: the board words;  store.py: opening the database
- data_commands.py: record, sessions, export, import;  board_commands.py: ports, calibrate
- drill_commands.py: run-drill, analyze, compare;  render.py: drill events as terminal text
- report_command.py: report (the coach's PDF, stancelab.report)
"""

from stancelab.cli.main import main

__all__ = ["main"]
