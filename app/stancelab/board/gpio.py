"""Four HX711s read straight from a Raspberry Pi's GPIO header, through ``hx711-multi``.

The Pi path makes the same Samples as the Arduino over USB (see docs/protocol.md): one frame
per shared read of the four chips, ``seq`` counting frames, device time from the Pi's
monotonic clock, and the same per-channel status bits.

hx711-multi 1.4 (``pip install stancelab[pi]``) is imported only in :meth:`GpioBoard.open`,
because it imports RPi.GPIO at import time and that fails on anything but a Pi. Its
averaging API does not suit a live balance board (FIRMWARE_NOTES.md, "Raspberry Pi path"):
``read_raw(1)`` returns None, a load that changes by more than ~100 counts inside its window is
dropped, and counts of 0 and -1 are treated as invalid. So this module drives the library's
single-conversion primitive (``HX711._read``: one timed 25-pulse read of the chips that are
ready) and does the rest itself: its own ready-wait with a deadline so a dead chip does not
stall the others, its own two's-complement decoding and saturation flags, and its own zero
with a retry limit. A pulse the library measured over 60 us (the chip may have powered down)
becomes NOT_READY for that frame; the chips re-settle and the stream goes on.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import deque

from stancelab.board import protocol
from stancelab.board.source import Sample, Source, SourceError, now_s

log = logging.getLogger(__name__)

CHANNEL_NAMES = ("front-left", "front-right", "back-left", "back-right")
_SATURATED_RAW = (0x7FFFFF, 0x800000)
#: hx711-multi internals this module relies on; checked on open so a changed library fails
#: with a clear message rather than an AttributeError in the reader thread.
_LIB_HX711_API = ("_read", "_adcs")
_LIB_ADC_API = ("_current_raw_read", "_ready", "_dout_pin", "raw_reads", "reads")

_INSTALL_HINT = ("The GPIO board needs a Raspberry Pi 1-4 or Zero with RPi.GPIO and hx711-multi: "
                 "run `pip install 'stancelab[pi]'` on the Pi. On a Pi 5, a PC or a Mac, "
                 "use the Arduino board over USB instead (docs/raspberry-pi.md).")


class _LibLogger(logging.LoggerAdapter):
    """hx711-multi calls the deprecated Logger.warn; route it to warning() so no
    DeprecationWarning is raised from the reader thread."""

    def warn(self, msg, *args, **kwargs):
        self.warning(msg, *args, **kwargs)


def _signed24(raw: int) -> int:
    return raw - (1 << 24) if raw & 0x800000 else raw


class GpioBoard(Source):
    """Source for four HX711s on a shared SCK pin and four DOUT pins (BCM numbering).

    ``clock`` and ``sleep`` are injectable so tests can run the reader on a virtual clock;
    on a Pi they are ``time.monotonic`` and ``time.sleep``.
    """

    kind = "gpio"

    def __init__(self, dout_pins=(5, 6, 13, 19), sck_pin: int = 21, rate_sps: int = 80, *,
                 board_id: int | None = None, timeout_s: float = 1.0, poll_s: float = 0.0005,
                 clock=time.monotonic, sleep=time.sleep, max_queue: int = 80 * 600) -> None:
        dout_pins = tuple(int(p) for p in dout_pins)
        if len(dout_pins) != protocol.CHANNELS:
            raise ValueError(f"need {protocol.CHANNELS} DOUT pins (FL, FR, BL, BR), "
                             f"got {len(dout_pins)}")
        if len(set(dout_pins + (int(sck_pin),))) != protocol.CHANNELS + 1:
            raise ValueError("DOUT and SCK pins must all be different")
        if rate_sps not in protocol.SUPPORTED_RATES:
            raise ValueError(f"rate_sps must be one of {protocol.SUPPORTED_RATES} (the HX711 "
                             f"RATE pin), not {rate_sps}")
        desc = f"GPIO DOUT {','.join(map(str, dout_pins))} SCK {sck_pin}"
        super().__init__(desc, max_queue=max_queue)
        self.dout_pins = dout_pins
        self.sck_pin = int(sck_pin)
        self.rate_sps = rate_sps
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._gpio = None
        self._hx = None
        self._adcs: list = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._io_lock = threading.Lock()
        self._t0_s = 0.0
        self._seq = 0
        self._times: deque[float] = deque(maxlen=80)
        self._last_counts = [0, 0, 0, 0]
        self._last_ready_s = [0.0] * 4
        self._missed = [0] * 4
        self._prev_frame_s: float | None = None
        #: Reads the library aborted because an SCK pulse lasted 60 us or more.
        self.timing_failures = 0
        #: Per-channel zero offsets (counts) from the last successful :meth:`tare`.
        self.zero_offsets_counts: tuple[int, int, int, int] | None = None
        self.last_tare_attempts = 0
        self._set_state(board_id=board_id, nominal_rate_sps=rate_sps, firmware="hx711-multi")

    @property
    def period_s(self) -> float:
        return 1.0 / self.rate_sps

    # -- lifecycle
    def open(self) -> None:
        if self._hx is not None:
            return
        gpio, lib = self._import_libraries()
        gpio.setmode(gpio.BCM)
        self._gpio = gpio
        pins = [self.sck_pin, *self.dout_pins]
        lib_logger = logging.getLogger("hx711-multi")
        handlers = list(lib_logger.handlers)
        try:
            # The constructor does one read and may log through Logger.warn (deprecated).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                hx = lib.HX711(list(self.dout_pins), self.sck_pin, channel_A_gain=128,
                               channel_select="A", all_or_nothing=False, log_level="ERROR")
        except Exception as exc:
            gpio.cleanup(pins)
            raise SourceError(f"Could not set up the HX711s on {self.state.description}: "
                              f"{exc}. Check the pin numbers (BCM) in the settings.") from exc
        finally:
            for h in lib_logger.handlers:  # it adds a console handler on every construction
                if h not in handlers:
                    lib_logger.removeHandler(h)
        missing = [a for a in _LIB_HX711_API if not hasattr(hx, a)]
        missing += [a for a in _LIB_ADC_API for adc in hx._adcs[:1] if not hasattr(adc, a)]
        if missing:
            gpio.cleanup(pins)
            raise SourceError("This hx711-multi version is not supported (missing "
                              f"{', '.join(missing)}): run `pip install 'hx711-multi>=1.4,<1.5'`.")
        adapter = _LibLogger(logging.getLogger(__name__ + ".hx711_multi"), {})
        hx._logger = adapter
        for adc in hx._adcs:
            adc._logger = adapter
        self._hx = hx
        self._adcs = list(hx._adcs)
        self._t0_s = self._clock()
        self._last_ready_s = [self._t0_s] * 4
        self._missed = [0] * 4
        self._prev_frame_s = None
        # Refuse to "connect" to nothing: at least one chip must answer within the timeout.
        deadline = self._t0_s + self.timeout_s
        while not any(self._dout_levels_low()):
            if self._clock() >= deadline:
                self._release()
                raise SourceError(
                    f"No HX711 answered on {self.state.description} within {self.timeout_s:.0f} s. "
                    "Check the 3.3 V and GND wires to the HX711 boards and that SCK and DOUT go "
                    "to the BCM pins named here (docs/raspberry-pi.md has the wiring table).")
            self._sleep(self.poll_s)
        self._set_state(connected=True, error=None, protocol_version=protocol.PROTOCOL_VERSION)

    def _import_libraries(self):
        try:
            import RPi.GPIO as gpio
        except ModuleNotFoundError as exc:
            raise SourceError(f"RPi.GPIO is not installed. {_INSTALL_HINT}") from exc
        except (ImportError, RuntimeError) as exc:  # the real module refuses to run off a Pi
            raise SourceError(f"RPi.GPIO cannot run here ({exc}). {_INSTALL_HINT}") from exc
        try:
            from hx711_multi import hx711 as lib
        except ModuleNotFoundError as exc:
            raise SourceError(f"hx711-multi is not installed. {_INSTALL_HINT}") from exc
        except (ImportError, RuntimeError) as exc:
            raise SourceError(f"hx711-multi cannot be loaded ({exc}). {_INSTALL_HINT}") from exc
        return gpio, lib

    def start(self) -> None:
        if self._hx is None:
            raise SourceError("Open the GPIO board before starting it.")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._seq = 0
        self._times.clear()
        self._thread = threading.Thread(target=self._run, name="stancelab-gpio", daemon=True)
        self._set_state(streaming=True, error=None)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5.0)
        self._set_state(streaming=False)

    def close(self) -> None:
        self.stop()
        self._release()
        self._set_state(connected=False)

    def _release(self) -> None:
        if self._gpio is not None:
            self._gpio.cleanup([self.sck_pin, *self.dout_pins])
        self._gpio = None
        self._hx = None
        self._adcs = []

    # -- reading
    def _dout_levels_low(self) -> list[bool]:
        return [self._gpio.input(p) == 0 for p in self.dout_pins]

    def _wait_ready(self) -> list[bool]:
        """Poll DOUT until every chip we wait for is ready or the frame deadline passes.

        A chip that missed two frames in a row is not waited for (it is still polled), so a
        dead chip costs the others one slow frame, not their rate."""
        start = self._clock()
        base = self._prev_frame_s if self._prev_frame_s is not None else start
        deadline = max(base + 1.5 * self.period_s, start + self.poll_s)
        wait_for = [c for c in range(4) if self._missed[c] < 2]
        while True:
            low = self._dout_levels_low()
            if (all(low[c] for c in wait_for) if wait_for else any(low)):
                return low
            if self._clock() >= deadline:
                return low
            self._sleep(self.poll_s)

    def _read_frame(self) -> tuple[float, tuple[int, int, int, int], int]:
        """One shared read: (device time s, counts FL/FR/BL/BR, status)."""
        with self._io_lock:
            ready = self._wait_ready()
            t_s = self._clock()
            self._prev_frame_s = t_s
            subset = [adc for adc, r in zip(self._adcs, ready) if r]
            ok = False
            if subset:
                hx = self._hx
                hx._adcs = subset
                try:
                    ok = hx._read()
                finally:
                    hx._adcs = self._adcs
                    for adc in self._adcs:  # the library keeps every read; keep memory flat
                        adc.raw_reads.clear()
                        adc.reads.clear()
                if not ok:
                    self.timing_failures += 1
            status = 0
            for c, adc in enumerate(self._adcs):
                bits = 0
                if ok and ready[c] and adc._ready:
                    raw = adc._current_raw_read & 0xFFFFFF
                    self._last_counts[c] = _signed24(raw)
                    self._last_ready_s[c] = t_s
                    self._missed[c] = 0
                    if raw in _SATURATED_RAW:
                        bits |= protocol.ST_SATURATED
                else:
                    self._missed[c] += 1
                    bits |= protocol.ST_NOT_READY
                    if t_s - self._last_ready_s[c] > self.timeout_s:
                        bits |= protocol.ST_TIMED_OUT
                status |= bits << (4 * c)
            return t_s - self._t0_s, tuple(self._last_counts), status

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t_s, counts, status = self._read_frame()
                self._times.append(t_s)
                sample = Sample(self._seq, t_s, now_s(), counts, status)
                self._seq = (self._seq + 1) % protocol.SEQ_MOD
                self._push([sample])
                if self._seq % 8 == 0:
                    self._set_state(rate_sps=self._rate())
        except Exception as exc:  # the thread must report, never die silently
            log.exception("GPIO reader stopped")
            self._set_state(streaming=False, error=f"Reading the HX711s failed: {exc}")

    def _rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    # -- zero
    def tare(self, n_samples: int = 40, attempts: int = 3,
             max_spread_counts: int = 5000) -> tuple[int, int, int, int]:
        """Zero offsets: the median of ``n_samples`` fresh readings per channel.

        A window is accepted only if every channel answered in at least half the frames and
        its 5-95 % spread is within ``max_spread_counts`` (5000 counts is about 0.23 kg on a
        200 kg, 2 mV/V cell), so someone stepping off mid-window causes a retry rather than a
        wrong zero. Gives up after ``attempts`` windows with a message naming the fix."""
        if self._hx is None:
            raise SourceError("Open the GPIO board before zeroing it.")
        if self._thread is not None and self._thread.is_alive():
            raise SourceError("Stop streaming before zeroing the GPIO board.")
        problems: list[str] = []
        for attempt in range(1, attempts + 1):
            self.last_tare_attempts = attempt
            fresh: list[list[int]] = [[] for _ in range(4)]
            for _ in range(n_samples):
                _, counts, status = self._read_frame()
                for c in range(4):
                    if not protocol.channel_status(status, c) & protocol.ST_NOT_READY:
                        fresh[c].append(counts[c])
            problems = []
            offsets = []
            for c, values in enumerate(fresh):
                if len(values) < max(1, n_samples // 2):
                    problems.append(f"{CHANNEL_NAMES[c]} did not answer")
                    continue
                values.sort()
                lo = values[int(0.05 * (len(values) - 1))]
                hi = values[round(0.95 * (len(values) - 1))]
                if hi - lo > max_spread_counts:
                    problems.append(f"{CHANNEL_NAMES[c]} changed by {hi - lo} counts")
                offsets.append(values[len(values) // 2])
            if not problems:
                self.zero_offsets_counts = tuple(offsets)
                return self.zero_offsets_counts
        raise SourceError(
            f"Could not zero the board after {attempts} tries ({'; '.join(problems)}). "
            "Step off the board, keep it still and check the wiring of any channel that did "
            "not answer, then zero again.")
