"""Four model HX711s behind the fake RPi.GPIO (tests/fake_rpi), on the wall clock: the GPIO
board as it runs on a Pi, for tests that start it through the board words."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import time

import pytest

FAKE_RPI = pathlib.Path(__file__).parent / "fake_rpi"
GPIO_DOUT, GPIO_SCK = (5, 6, 13, 19), 21      # the pins --gpio means without a value


class WallClock:
    """The HX711 model on the wall clock: the app's GPIO board times itself with
    time.monotonic and time.sleep, as on a Pi."""

    def now(self) -> float:
        return time.monotonic()

    def advance(self, _dt_s: float) -> float:
        return time.monotonic()

    def sleep(self, dt_s: float) -> None:
        time.sleep(dt_s)


@pytest.fixture
def fake_pi(monkeypatch):
    """Four model HX711s behind the fake RPi.GPIO, importable as RPi.GPIO."""
    if importlib.util.find_spec("hx711_multi") is None:
        pytest.skip("hx711-multi is not installed: pip install 'hx711-multi>=1.4,<1.5'")
    from hx711_model import HX711Bus, HX711Chip

    def forget():
        for name in list(sys.modules):
            if name.split(".")[0] in ("RPi", "hx711_multi"):
                del sys.modules[name]

    forget()
    monkeypatch.syspath_prepend(str(FAKE_RPI))
    from RPi import GPIO

    chips = {pin: HX711Chip(lambda t, k=k: 150_000.0 * (k + 1)) for k, pin in enumerate(GPIO_DOUT)}
    GPIO.attach(HX711Bus(WallClock(), GPIO_SCK, chips))
    yield
    GPIO.detach()
    forget()
