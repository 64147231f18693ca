"""The board words every command that reads a board takes, and the one way to open it."""

from __future__ import annotations

import argparse

from stancelab.board.source import Source, SourceError
from stancelab.cli.errors import UserError
from stancelab.station.choice import DEFAULT_GPIO_PINS, WII_AUTO, BoardChoice, open_board


def add_source_args(p: argparse.ArgumentParser, replay: bool = False) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--simulate", action="store_true",
                   help="use the simulated board (the default when no board is plugged in)")
    g.add_argument("--port", metavar="PORT", help="serial port of the board, e.g. /dev/ttyUSB0")
    g.add_argument("--gpio", nargs="?", const=DEFAULT_GPIO_PINS, metavar="DOUTS:SCK",
                   help="Raspberry Pi: read the HX711s directly on these BCM pins "
                        f"(default {DEFAULT_GPIO_PINS} = FL,FR,BL,BR data : clock)")
    g.add_argument("--wiiboard", nargs="?", const=WII_AUTO, metavar="DEVICE",
                   help="a Wii Balance Board paired over Bluetooth (Linux, hid-wiimote): its "
                        "/dev/input/eventN, or the one connected (docs/wiiboard.md)")
    if replay:
        g.add_argument("--replay", metavar="FILE", help="replay a raw CSV recording")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated athlete")
    p.add_argument("--weak-left", type=float, default=0.0, metavar="F",
                   help="simulated athlete: left leg weaker by this fraction (0-1)")
    p.add_argument("--weak-right", type=float, default=0.0, metavar="F",
                   help="simulated athlete: right leg weaker by this fraction (0-1)")


def open_source(args, realtime: bool = True, athlete=None) -> Source:
    """The board the arguments ask for, opened (see stancelab.station.choice)."""
    try:
        return open_board(BoardChoice.from_args(args), realtime=realtime, athlete=athlete)
    except SourceError as e:
        raise UserError(str(e)) from None
