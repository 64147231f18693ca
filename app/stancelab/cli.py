"""The `stancelab` command: the desktop app by default, plus recording and data commands.

Every command that needs a board takes the same words: --simulate, --port PORT (and --replay
FILE where a recording can stand in for a board). Errors a user can fix are printed as one line
that names the fix, with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys

from . import __version__


class UserError(Exception):
    """A mistake or a situation the user can fix; the message says how."""


# ---------------------------------------------------------------- board selection

def add_source_args(p: argparse.ArgumentParser, replay: bool = False) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--simulate", action="store_true",
                   help="use the simulated board (the default when no board is plugged in)")
    g.add_argument("--port", metavar="PORT", help="serial port of the board, e.g. /dev/ttyUSB0")
    g.add_argument("--gpio", nargs="?", const="5,6,13,19:21", metavar="DOUTS:SCK",
                   help="Raspberry Pi: read the HX711s directly on these BCM pins "
                        "(default 5,6,13,19:21 = FL,FR,BL,BR data : clock)")
    if replay:
        g.add_argument("--replay", metavar="FILE", help="replay a raw CSV recording")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated athlete")
    p.add_argument("--weak-left", type=float, default=0.0, metavar="F",
                   help="simulated athlete: left leg weaker by this fraction (0-1)")
    p.add_argument("--weak-right", type=float, default=0.0, metavar="F",
                   help="simulated athlete: right leg weaker by this fraction (0-1)")


def parse_gpio_pins(spec: str) -> tuple[tuple[int, ...], int]:
    """'5,6,13,19:21' -> ((5, 6, 13, 19), 21)."""
    try:
        douts, sck = spec.split(":")
        pins = tuple(int(v) for v in douts.split(","))
        if len(pins) != 4:
            raise ValueError
        return pins, int(sck)
    except ValueError:
        raise UserError(f"--gpio {spec!r}: give four data pins and the clock pin as BCM numbers, "
                        "e.g. --gpio 5,6,13,19:21") from None


def simulated_athlete(args, stance: str = "both", foot_length_mm: float = 265.0,
                      mass_kg: float = 70.0):
    from .sim.athlete import VirtualAthlete

    weakness = {k: v for k, v in (("left", args.weak_left), ("right", args.weak_right)) if v}
    return VirtualAthlete(mass_kg=mass_kg, foot_length_mm=foot_length_mm, stance=stance,
                          weakness=weakness or None, seed=args.seed)


def open_source(args, realtime: bool = True, athlete=None):
    """The board the arguments ask for, opened. Without --port/--simulate, a plugged-in
    StanceLab board if exactly one answers, else the simulated board."""
    from .board.source import SourceError

    try:
        if getattr(args, "replay", None):
            from .board.replay import ReplayBoard

            src = ReplayBoard(args.replay, speed=1.0 if realtime else None)
        elif args.port:
            from .board.serial_board import SerialBoard

            src = SerialBoard(args.port)
        elif getattr(args, "gpio", None):
            from .board.gpio import GpioBoard

            src = GpioBoard(*parse_gpio_pins(args.gpio))
        else:
            port = None
            if not args.simulate:
                from .board.ports import find_board

                port = find_board()
            if port:
                from .board.serial_board import SerialBoard

                src = SerialBoard(port)
            else:
                from .board.simulated import SimulatedBoard

                src = SimulatedBoard(athlete or simulated_athlete(args), realtime=realtime,
                                     seed=args.seed)
        src.open()
        if src.state.kind == "simulated":
            from .sim.factory import ensure_calibrated

            ensure_calibrated(src.state.board_id)  # first use: calibrate like a builder would
        return src
    except SourceError as e:
        raise UserError(str(e)) from None


# ---------------------------------------------------------------- commands

def cmd_ports(args) -> int:
    from .board.ports import list_ports

    ports = list_ports(probe=not args.no_probe)
    if not ports:
        print("No serial ports found. Plug the board in (USB) or use --simulate.")
        return 0
    for info in ports:
        mark = "  "
        extra = ""
        if info.identity is not None:
            mark = "* "
            ident = info.identity
            extra = (f"  StanceLab board {ident.board_id:08x}, firmware {ident.firmware_version},"
                     f" {ident.rate_sps} samples/s")
        elif getattr(info, "error", None):
            # The probe's own message explains a failed open; a silent port is just not a board.
            extra = ("  (no StanceLab board answered)" if "No answer" in info.error
                     else f"  ({info.error})")
        print(f"{mark}{info.device}  {info.description}{extra}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stancelab",
        description="Balance-board biofeedback for runners. Without a command, opens the app.")
    p.add_argument("--version", action="version", version=f"stancelab {__version__}")
    add_source_args(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("ports", help="list serial ports and mark StanceLab boards")
    sp.add_argument("--no-probe", action="store_true", help="do not send identify to each port")
    sp.set_defaults(func=cmd_ports)

    from . import calibrate_cli, recording_cli

    recording_cli.register(sub, add_source_args)
    calibrate_cli.register(sub, add_source_args)
    try:
        from .drills import commands as drill_commands
    except ImportError:
        drill_commands = None
    if drill_commands is not None and hasattr(drill_commands, "register"):
        drill_commands.register(sub, add_source_args)
    return p


def main(argv: list[str] | None = None) -> int:
    from .board.source import SourceError
    from .calibration import CalibrationError
    from .csvio import CsvFormatError
    from .storage import StorageError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not args.command:
            try:
                from .ui.app import main_gui
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
