"""The Raspberry Pi source against a fake RPi.GPIO that models the HX711 datasheet.

hx711-multi (the real library) runs unmodified on top of tests/fake_rpi; its perf_counter
and sleep are pointed at the model's virtual clock so its 60 us pulse checks see modelled
time. Every value is compared exactly with what the model shifted out.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import subprocess
import sys
import threading
import time
import warnings

import pytest

from stancelab.board import protocol
from stancelab.board.source import SourceError

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import itertools

from hx711_model import HX711Bus, HX711Chip, VirtualClock, to_counts

FAKE = pathlib.Path(__file__).parent / "fake_rpi"
DOUT = (5, 6, 13, 19)
SCK = 21
ROOT = pathlib.Path(__file__).resolve().parents[1]

# hx711-multi is pure Python and installs anywhere (it declares no dependencies); only its
# `import RPi.GPIO` needs a Pi, which the fake provides. CI installs it with the test extra.
if importlib.util.find_spec("hx711_multi") is None:
    pytest.skip("hx711-multi is not installed: pip install 'hx711-multi>=1.4,<1.5'",
                allow_module_level=True)


def _forget_pi_modules():
    for name in list(sys.modules):
        if name in ("RPi", "hx711_multi") or name.startswith(("RPi.", "hx711_multi.")):
            del sys.modules[name]


@pytest.fixture
def pi(monkeypatch):
    """A fake Pi: returns a function that wires four model chips and gives back the bus."""
    _forget_pi_modules()
    monkeypatch.syspath_prepend(str(FAKE))
    import hx711_multi.hx711 as lib
    from RPi import GPIO

    assert "fake_rpi" in GPIO.__file__
    clock = VirtualClock()
    monkeypatch.setattr(lib, "perf_counter", clock.now)
    monkeypatch.setattr(lib, "sleep", clock.sleep)

    def wire(value_fns, **chip_kw):
        per_chip = [dict(chip_kw) for _ in DOUT]
        for i, kw in enumerate(per_chip):
            for key, val in list(kw.items()):
                if isinstance(val, (list, tuple)):
                    kw[key] = val[i]
        chips = {pin: HX711Chip(fn, **kw) for pin, fn, kw in zip(DOUT, value_fns, per_chip)}
        bus = HX711Bus(clock, SCK, chips)
        GPIO.attach(bus)
        return bus

    wire.clock = clock
    wire.GPIO = GPIO
    wire.lib = lib
    yield wire
    GPIO.detach()
    _forget_pi_modules()


def make_board(pi, **kw):
    from stancelab.board.gpio import GpioBoard
    return GpioBoard(DOUT, SCK, clock=pi.clock.now, sleep=pi.clock.sleep, **kw)


def collect(board, n, guard_s=60.0):
    out, t_end = [], time.monotonic() + guard_s  # guard against a hang, not a timing check
    while len(out) < n:
        assert time.monotonic() < t_end, f"only {len(out)} of {n} samples arrived"
        out.extend(board.read(timeout=1.0))
    return out[:n]


def corner_loads():
    """A standing athlete swaying: per-corner counts, two of them negative (sign extension)."""
    return [lambda t, k=k, s=s: k + s * 40000.0 * math.sin(2 * math.pi * 0.7 * t)
            for k, s in ((1_500_000, 1), (-1_200_000, -1), (900_000, 1), (-35, -1))]


def fresh_values(samples, c):
    return [s.counts[c] for s in samples if not channel(s.status, c) & protocol.ST_NOT_READY]


def channel(status, c):
    return protocol.channel_status(status, c)


# -- import and install errors ------------------------------------------------------------

def test_importing_the_module_pulls_in_no_pi_library():
    code = ("import sys, stancelab.board.gpio as g; "
            "print(sorted(m for m in sys.modules if m.startswith(('RPi', 'hx711_multi'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT / "app"), "PATH": ""}, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_rpi_gpio_names_the_fix(monkeypatch):
    from stancelab.board.gpio import GpioBoard
    _forget_pi_modules()
    monkeypatch.setitem(sys.modules, "RPi", None)
    board = GpioBoard()
    with pytest.raises(SourceError) as err:
        board.open()
    msg = str(err.value)
    assert "RPi.GPIO is not installed" in msg
    assert "pip install 'stancelab[pi]'" in msg and "Pi 5" in msg
    assert not board.state.connected


def test_missing_hx711_multi_names_the_fix(pi, monkeypatch):
    pi([lambda t: 0.0] * 4)
    monkeypatch.setitem(sys.modules, "hx711_multi", None)
    with pytest.raises(SourceError, match=r"hx711-multi is not installed.*stancelab\[pi\]"):
        make_board(pi).open()


def test_bad_pins_are_refused_before_touching_gpio():
    from stancelab.board.gpio import GpioBoard
    with pytest.raises(ValueError, match="4 DOUT pins"):
        GpioBoard(dout_pins=(5, 6, 13))
    with pytest.raises(ValueError, match="different"):
        GpioBoard(dout_pins=(5, 6, 13, 21), sck_pin=21)
    with pytest.raises(ValueError, match="rate_sps"):
        GpioBoard(rate_sps=40)


# -- values -------------------------------------------------------------------------------

def test_reads_exact_values_with_sign_and_drifting_chips(pi):
    fns = corner_loads()
    bus = pi(fns, osc_ppm=(0, 4000, -4000, 1500), phase_s=(0.0, 0.003, 0.007, 0.011))
    board = make_board(pi)
    board.open()
    board.start()
    samples = collect(board, 400)
    board.close()
    for c, pin in enumerate(DOUT):
        fresh = fresh_values(samples, c)
        shifted = [conv.counts for conv in bus.chips[pin].reads]
        # Every fresh value is the model's next conversion, in order, none invented or
        # altered (read 0 is the one hx711-multi's constructor makes).
        assert fresh == shifted[1:1 + len(fresh)]
        assert len(fresh) >= 0.97 * len(samples)
        for conv in bus.chips[pin].reads:
            assert conv.counts == to_counts(fns[c](conv.t_s))
    assert any(s.counts[3] < 0 for s in samples) and any(s.counts[1] < -1_000_000 for s in samples)
    assert [s.seq for s in samples] == list(range(400))
    rate = (len(samples) - 1) / (samples[-1].t_s - samples[0].t_s)  # modelled device time
    assert 78.0 < rate < 81.0
    assert bus.max_sck_high_s < 60e-6
    assert all(chip.power_downs == 0 for chip in bus.chips.values())


def test_a_fast_changing_load_is_not_dropped(pi):
    # A load rising by 50 000 counts per sample (~2.3 kg) on the front-left chip.
    # hx711-multi's averaged read rejects such a window (stdev filter); this source must not.
    t0 = pi.clock.now()
    ramp = [lambda t: 4_000_000.0 * (t - t0) - 4_000_000,
            lambda t: 1000.0 + 40.0 * math.sin(2 * math.pi * 7.3 * t),  # quiet, with noise
            lambda t: -1000.0, lambda t: 123_456.0]
    bus = pi(ramp)
    board = make_board(pi)
    board.open()
    board.start()
    samples = collect(board, 160)
    board.close()
    fl = bus.chips[DOUT[0]]
    fresh = fresh_values(samples, 0)
    assert len(fresh) >= 155
    assert fresh == [conv.counts for conv in fl.reads][1:1 + len(fresh)]
    assert all(b > a for a, b in itertools.pairwise(fresh))  # every sample a new value
    # The library's averaged read really does throw this load away (why we bypass it).
    pi.GPIO.setmode(pi.GPIO.BCM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hx = pi.lib.HX711(list(DOUT), SCK, all_or_nothing=False, log_level="CRITICAL")
        raw = hx.read_raw(10)
    pi.GPIO.cleanup()
    assert raw[0] is None and abs(raw[1] - 1000.0) < 50.0


def test_saturation_is_flagged(pi):
    pi([lambda t: 1e9, lambda t: -1e9, lambda t: 0.0, lambda t: -1.0])
    board = make_board(pi)
    board.open()
    board.start()
    samples = collect(board, 20)
    board.close()
    last = samples[-1]
    assert last.counts == (protocol.COUNT_MAX, protocol.COUNT_MIN, 0, -1)
    assert channel(last.status, 0) == protocol.ST_SATURATED
    assert channel(last.status, 1) == protocol.ST_SATURATED
    assert channel(last.status, 2) == 0 and channel(last.status, 3) == 0


# -- faults -------------------------------------------------------------------------------

def test_dead_chip_is_flagged_timed_out_while_others_stream(pi):
    bus = pi([lambda t: 1000.0, lambda t: 2000.0, lambda t: 3000.0, lambda t: 4000.0],
             alive=(True, True, False, True))
    board = make_board(pi)
    board.open()
    board.start()
    samples = collect(board, 240)
    board.close()
    first_timeout = next(s for s in samples if channel(s.status, 2) & protocol.ST_TIMED_OUT)
    assert first_timeout.t_s <= 1.1  # within a second (+ one frame) of opening
    late = [s for s in samples if s.t_s > 1.2]
    assert late and all(channel(s.status, 2) == protocol.ST_NOT_READY | protocol.ST_TIMED_OUT
                        for s in late)
    assert all(channel(s.status, c) == 0 for s in late for c in (0, 1, 3))
    assert late[-1].counts[:2] == (1000, 2000) and late[-1].counts[3] == 4000
    rate = (len(late) - 1) / (late[-1].t_s - late[0].t_s)
    assert 78.0 < rate < 81.0  # the dead chip does not slow the others down
    assert bus.chips[DOUT[2]].reads == []


def test_no_chip_at_all_refuses_to_open(pi):
    pi([lambda t: 0.0] * 4, alive=False)
    board = make_board(pi)
    with pytest.raises(SourceError, match="No HX711 answered.*3.3 V"):
        board.open()
    assert pi.GPIO.configured_pins() == {}


def test_a_preempted_pulse_becomes_not_ready_and_the_stream_recovers(pi):
    bus = pi([lambda t: 111.0, lambda t: 222.0, lambda t: 333.0, lambda t: 444.0])
    board = make_board(pi)
    board.open()
    board.start()
    collect(board, 10)
    bus.stall_next_high_s = 200e-6  # the OS de-schedules us with SCK high: chips power down
    samples = collect(board, 80)
    board.close()
    assert board.timing_failures >= 1
    assert any(chip.power_downs >= 1 for chip in bus.chips.values())
    assert any(s.status & 0x1111 == 0x1111 for s in samples)  # a frame with nothing fresh
    assert samples[-1].status == 0 and samples[-1].counts == (111, 222, 333, 444)
    assert board.state.error is None


# -- zero ---------------------------------------------------------------------------------

def test_tare_retries_while_someone_steps_off(pi):
    step_off_s = pi.clock.now() + 0.9  # loaded through the first window, still afterwards
    fns = [lambda t, k=k: k + (800_000 if t < step_off_s else 0) for k in (5000, -7000, 300, 42)]
    pi(fns)
    board = make_board(pi)
    board.open()
    offsets = board.tare(n_samples=40, attempts=3)
    assert offsets == (5000, -7000, 300, 42)
    assert board.last_tare_attempts == 2
    assert board.zero_offsets_counts == offsets
    board.close()


def test_tare_gives_up_with_a_clear_message(pi):
    pi([lambda t: 100_000 * math.sin(9 * t), lambda t: 0.0, lambda t: 0.0, lambda t: 0.0],
       alive=(True, True, False, True))
    board = make_board(pi)
    board.open()
    with pytest.raises(SourceError) as err:
        board.tare(n_samples=20, attempts=2)
    msg = str(err.value)
    assert "after 2 tries" in msg and "front-left changed by" in msg
    assert "back-left did not answer" in msg and "Step off the board" in msg
    assert board.last_tare_attempts == 2 and board.zero_offsets_counts is None
    board.close()


def test_tare_refused_while_streaming(pi):
    pi([lambda t: 0.0] * 4)
    board = make_board(pi)
    board.open()
    board.start()
    with pytest.raises(SourceError, match="Stop streaming"):
        board.tare()
    board.close()


# -- lifecycle ----------------------------------------------------------------------------

def test_close_stops_the_thread_and_releases_the_pins(pi):
    pi([lambda t: 10.0] * 4)
    board = make_board(pi)
    board.open()
    assert set(pi.GPIO.configured_pins()) == {SCK, *DOUT}
    board.start()
    collect(board, 5)
    assert any(t.name == "stancelab-gpio" for t in threading.enumerate())
    board.close()
    board.close()  # safe twice
    assert not any(t.name == "stancelab-gpio" for t in threading.enumerate())
    assert pi.GPIO.configured_pins() == {}
    assert not board.state.connected and not board.state.streaming
    board.read()  # samples received before close stay readable; drain them
    # Re-opening does not trip RPi.GPIO's "channel already in use" warning (an error here).
    board.open()
    board.start()
    again = collect(board, 5)
    assert again[0].seq == 0
    board.close()


def test_library_console_handler_is_not_leaked(pi):
    import logging
    pi([lambda t: 10.0] * 4)
    before = list(logging.getLogger("hx711-multi").handlers)
    for _ in range(3):
        board = make_board(pi)
        board.open()
        board.close()
    assert logging.getLogger("hx711-multi").handlers == before


def test_model_selects_gain_by_pulse_count_and_resettles(pi):
    """The fake chip honours the 25/27-pulse gain selection the library sends."""
    bus = pi([lambda t: 500.0] * 4)
    pi.GPIO.setmode(pi.GPIO.BCM)
    t0 = pi.clock.now()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pi.lib.HX711(list(DOUT), SCK, channel_A_gain=64, all_or_nothing=False,
                     log_level="CRITICAL")
    pi.GPIO.cleanup()
    bus.read_dout(DOUT[0])  # the model runs lazily: let the conversions after the sleep happen
    chip = bus.chips[DOUT[0]]
    assert chip.gain == ("A", 64)
    # first word only after the 3 discarded settling conversions (50 ms at 80 SPS)
    assert chip.reads[0].t_s - t0 >= 4 * chip.period_s - 1e-9
    assert bus.max_sck_high_s < 60e-6 and chip.power_downs == 0
