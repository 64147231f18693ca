# ruff: noqa: N999  (the real module is called RPi.GPIO)
"""Fake RPi.GPIO: the subset hx711-multi and stancelab.board.gpio use, wired to an HX711Bus.

Tests put ``tests/fake_rpi`` first on ``sys.path`` and call :func:`attach` with an
``hx711_model.HX711Bus``. Like the real module it refuses pin calls before ``setmode`` and
output/input on pins that were not set up, and warns when a pin is set up again without a
``cleanup`` in between, so a source that does not release its pins is caught.
"""

from __future__ import annotations

import warnings

BCM = 11
BOARD = 10
OUT = 0
IN = 1
HIGH = 1
LOW = 0
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
RPI_INFO = {"P1_REVISION": 3, "TYPE": "fake (tests/fake_rpi)"}

_bus = None
_mode = None
_pins: dict[int, int] = {}
_warn = True
calls = 0


def attach(bus) -> None:
    """Connect the model; resets the module to its import state."""
    global _bus, _mode, calls
    _bus = bus
    _mode = None
    _pins.clear()
    calls = 0


def detach() -> None:
    attach(None)


def configured_pins() -> dict[int, int]:
    return dict(_pins)


def setwarnings(flag: bool) -> None:
    global _warn
    _warn = bool(flag)


def setmode(mode: int) -> None:
    global _mode
    if mode not in (BCM, BOARD):
        raise ValueError("An invalid mode was passed to setmode()")
    if _mode is not None and mode != _mode:
        raise ValueError("A different mode has already been set!")
    _mode = mode


def getmode():
    return _mode


def setup(channel, direction: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
    if _mode is None:
        raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                           "GPIO.setmode(GPIO.BCM)")
    for pin in channel if isinstance(channel, (list, tuple)) else [channel]:
        if pin in _pins and _warn:
            warnings.warn("This channel is already in use, continuing anyway.  Use "
                          "GPIO.setwarnings(False) to disable warnings.", RuntimeWarning,
                          stacklevel=2)
        _pins[pin] = direction
        if direction == OUT and initial != -1:
            output(pin, initial)


def output(channel: int, value) -> None:
    global calls
    if _pins.get(channel) != OUT:
        raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
    calls += 1
    if _bus is not None and channel == _bus.sck_pin:
        _bus.set_sck(bool(value))


def input(channel: int) -> int:
    global calls
    if channel not in _pins:
        raise RuntimeError("You must setup() the GPIO channel first")
    calls += 1
    if _bus is None or channel not in _bus.chips:
        return HIGH
    return _bus.read_dout(channel)


def cleanup(channel=None) -> None:
    global _mode
    if channel is None:
        _pins.clear()
        _mode = None
        return
    for pin in channel if isinstance(channel, (list, tuple)) else [channel]:
        _pins.pop(pin, None)
    if not _pins:
        _mode = None
