"""The one board selector: which source the user's words ask for, for the CLI and the GUI alike.

Every front end describes the board with the same words (``--simulate``, ``--port PORT``,
``--gpio [DOUTS:SCK]``, ``--wiiboard [DEVICE]``, ``--replay FILE`` and the simulated athlete's
``--seed``, ``--weak-left``, ``--weak-right``), turns them into a :class:`BoardChoice` and calls
:func:`choose_board` (a source, not yet opened: the GUI opens it on a worker) or
:func:`open_board` (opened and calibrated: the CLI). Without a word, a plugged-in StanceLab board
is used when exactly one answers, else a Wii Balance Board when exactly one is connected, else
the simulated board (``Chosen.fallback`` tells the GUI to say so in its banner).
"""

from __future__ import annotations

from dataclasses import dataclass

from stancelab.board.source import Source, SourceError

#: The Raspberry Pi pins used when --gpio is given without a value (BCM numbers).
DEFAULT_GPIO_PINS = "5,6,13,19:21"
#: --wiiboard without a device: the one Wii Balance Board the kernel lists.
WII_AUTO = "auto"


@dataclass(frozen=True)
class BoardChoice:
    simulate: bool = False
    port: str | None = None
    gpio: str | None = None          # "DOUT,DOUT,DOUT,DOUT:SCK" (BCM numbers)
    wiiboard: str | None = None      # a Wii Balance Board: its /dev/input/eventN, or WII_AUTO
    replay: str | None = None        # a raw CSV played back as the board
    seed: int = 0                    # the simulated athlete's seed
    weak_left: float = 0.0           # the simulated athlete's weakness per leg (0-1)
    weak_right: float = 0.0

    @classmethod
    def from_args(cls, args) -> BoardChoice:
        """From parsed arguments; words a command does not offer count as not given."""
        return cls(simulate=bool(getattr(args, "simulate", False)),
                   port=getattr(args, "port", None), gpio=getattr(args, "gpio", None),
                   wiiboard=getattr(args, "wiiboard", None),
                   replay=getattr(args, "replay", None), seed=int(getattr(args, "seed", 0) or 0),
                   weak_left=float(getattr(args, "weak_left", 0.0) or 0.0),
                   weak_right=float(getattr(args, "weak_right", 0.0) or 0.0))

    def simulated_athlete(self, stance: str = "both", foot_length_mm: float = 265.0,
                          mass_kg: float = 70.0):
        """The virtual athlete these words describe."""
        from stancelab.sim.athlete import VirtualAthlete

        for side, v in (("left", self.weak_left), ("right", self.weak_right)):
            if not 0.0 <= v < 1.0:
                raise SourceError(f"--weak-{side} {v:g}: give a fraction from 0 to below 1, "
                                  "e.g. --weak-left 0.3")
        weakness = {k: v for k, v in (("left", self.weak_left), ("right", self.weak_right)) if v}
        return VirtualAthlete(mass_kg=mass_kg, foot_length_mm=foot_length_mm, stance=stance,
                              weakness=weakness or None, seed=self.seed)


def parse_gpio_pins(spec: str) -> tuple[tuple[int, ...], int]:
    """'5,6,13,19:21' -> ((5, 6, 13, 19), 21)."""
    try:
        douts, sck = spec.split(":")
        pins = tuple(int(v) for v in douts.split(","))
        if len(pins) != 4:
            raise ValueError
        return pins, int(sck)
    except ValueError:
        raise SourceError(f"--gpio {spec!r}: give four data pins and the clock pin as BCM "
                          f"numbers, e.g. --gpio {DEFAULT_GPIO_PINS}") from None


@dataclass
class Chosen:
    source: Source
    #: True when no word was given and no board answered: the simulated board stands in.
    fallback: bool = False


def choose_board(choice: BoardChoice, *, realtime: bool = True, athlete=None,
                 find_timeout_s: float | None = None) -> Chosen:
    """The source the words ask for, not opened. Probing the ports (no word given) takes up to
    a second and a half: call this off the UI thread. ``athlete`` replaces the simulated
    athlete the words describe (a drill builds its own to the athlete's size)."""
    if choice.replay:
        from stancelab.station.replay import ReplayBoard

        return Chosen(ReplayBoard(choice.replay, speed=1.0 if realtime else None))
    if choice.port:
        from stancelab.board.serial_board import SerialBoard

        return Chosen(SerialBoard(choice.port))
    if choice.gpio:
        from stancelab.board.gpio import GpioBoard

        pins, sck = parse_gpio_pins(choice.gpio)
        try:
            return Chosen(GpioBoard(pins, sck))
        except ValueError as e:
            raise SourceError(f"--gpio {choice.gpio!r}: {e}") from None
    if choice.wiiboard and not choice.simulate:   # the GUI's "simulated board" keeps the words
        from stancelab.board.wiiboard import WiiBoard

        return Chosen(WiiBoard(None if choice.wiiboard == WII_AUTO else choice.wiiboard))
    if not choice.simulate:
        from stancelab.board.ports import FIND_TIMEOUT_S, find_board
        from stancelab.board.wiiboard import WiiBoard, find_wiiboards

        port = find_board(FIND_TIMEOUT_S if find_timeout_s is None else find_timeout_s)
        if port:
            from stancelab.board.serial_board import SerialBoard

            return Chosen(SerialBoard(port))
        if len(find_wiiboards()) == 1:
            return Chosen(WiiBoard())
    from stancelab.sim.simulated_board import SimulatedBoard

    return Chosen(SimulatedBoard(athlete or choice.simulated_athlete(), realtime=realtime,
                                 seed=choice.seed), fallback=not choice.simulate)


def open_board(choice: BoardChoice, *, realtime: bool = True, athlete=None) -> Source:
    """The chosen source, opened (the handshake done): the command line's way in."""
    src = choose_board(choice, realtime=realtime, athlete=athlete).source
    src.open()
    return src
