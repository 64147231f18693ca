"""The Wii Balance Board on Linux, read through the kernel's hid-wiimote driver (evdev).

The driver (drivers/hid/hid-wiimote-modules.c, ``wiimod_bboard_probe`` / ``_in_ext``) registers
an input device named "Nintendo Wii Remote Balance Board" and reports its four sensors as the
absolute axes ABS_HAT0X (top right), ABS_HAT0Y (bottom right), ABS_HAT1X (top left) and
ABS_HAT1Y (bottom left), range 0..65535, fuzz 2. Each value is already calibrated by the driver
from the board's own factory points at 0, 17 and 34 kg (piecewise linear, 1700 per 17 kg), so
one unit is 10 g on that sensor, and values below the 0 kg point are clamped to 0. A report
ends with SYN_REPORT; the input core drops an axis value within its fuzz of the previous one
(so an unchanged sensor sends nothing, and a still, empty board may send no report at all).

Here a report becomes one :class:`~stancelab.board.source.Sample`: counts FL, FR, BL, BR in
those 10 g units (the driver's "top" is the front, toward the toes: docs/wiiboard.md says how
to check it), device time from the event's timestamp, ``seq`` counting reports. When no report
comes for ``hold_s`` the last values still hold (the kernel sends only changes); a sample
repeating them is emitted at that pace with every channel's NOT_READY bit set, so a still
board is not mistaken for a stopped one and the gaps stay visible in the data. SYN_DROPPED
(the kernel's buffer for this reader overflowed) counts as lost frames. Reading ends with
ENODEV (the board switched off or went out of range) or end of file; the source then reports
disconnected and looks for the board again every ``reconnect_interval_s``.

Calibration goes through the same procedure as the HX711 board (station/calibrate.py): the
nominal calibration of a Wii board is 10 g per unit on the sensor rectangle of
:data:`stancelab.geometry.WII_BALANCE_BOARD`, chosen by :func:`stancelab.calibration.
default_calibration` from the firmware name this source reports (:data:`FIRMWARE`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from stancelab.board import protocol
from stancelab.board.source import Sample, Source, SourceError, now_s

DEVICE_NAME = "Nintendo Wii Remote Balance Board"
#: What ``state.firmware`` says for this board: the kernel driver that calibrates its values.
FIRMWARE = "hid-wiimote"
#: One reported unit is 10 g on a sensor (the driver's 1700 per 17 kg), in newtons.
NOMINAL_N_PER_UNIT = 0.01 * 9.80665
#: The board's reports come at up to ~100/s over Bluetooth; the rate actually seen is lower and
#: uneven (the driver sends only changes), and is measured from the event times.
NOMINAL_RATE_SPS = 100
#: Below this battery capacity (the driver's power_supply ``capacity``, percent) the source says
#: so in its state: the board switches itself off as the four AA cells run down.
LOW_BATTERY_PCT = 20

# linux/input-event-codes.h
EV_SYN, EV_KEY, EV_ABS = 0x00, 0x01, 0x03
SYN_REPORT, SYN_DROPPED = 0, 3
ABS_HAT0X, ABS_HAT0Y, ABS_HAT1X, ABS_HAT1Y = 0x10, 0x11, 0x12, 0x13
BTN_A = 0x130
#: Axis -> channel index (FL, FR, BL, BR): top left, top right, bottom left, bottom right.
AXIS_CHANNEL = {ABS_HAT1X: 0, ABS_HAT0X: 1, ABS_HAT1Y: 2, ABS_HAT0Y: 3}

#: struct input_event: struct timeval (two longs), __u16 type, __u16 code, __s32 value. Native
#: sizes, as the kernel writes it for this process: 24 bytes on 64-bit, 16 on 32-bit.
INPUT_EVENT = struct.Struct("@llHHi")
_ALL_NOT_READY = sum(protocol.ST_NOT_READY << (4 * c) for c in range(4))
#: Bytes of a partial record kept between reads: less than one record, so the buffer is capped.
_MAX_PENDING = INPUT_EVENT.size - 1


def _ioc(direction: int, kind: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (kind << 8) | number


#: EVIOCGABS(abs): struct input_absinfo (six __s32); EVIOCSCLOCKID: an int.
_ABSINFO = struct.Struct("@6i")
_EVIOCSCLOCKID = _ioc(1, ord("E"), 0xA0, 4)
_CLOCK_MONOTONIC = 1


def _eviocgabs(axis: int) -> int:
    return _ioc(2, ord("E"), 0x40 + axis, _ABSINFO.size)


@dataclass(frozen=True)
class Report:
    """One SYN_REPORT: the four sensor values after it, and its event time."""

    t_s: float
    values: tuple[int, int, int, int]
    button: bool = False


class EventDecoder:
    """input_event bytes -> Reports. A pure function of the bytes fed, however they are chunked.

    ``values`` starts at the sensors' values when the reader opened the device (the input
    core's state, or 0, its initial value); an axis not in a report keeps its last value."""

    def __init__(self, values=(0, 0, 0, 0)) -> None:
        self.values = list(values)
        self.button = False
        self.dropped = 0            # SYN_DROPPED seen
        self._pending = b""
        self._resync = False        # after SYN_DROPPED: ignore events up to the next report
        self._changed = False

    def feed(self, data: bytes) -> list[Report]:
        buf = self._pending + data
        n = len(buf) - len(buf) % INPUT_EVENT.size
        self._pending = buf[n:][:_MAX_PENDING]
        out = []
        for sec, usec, kind, code, value in INPUT_EVENT.iter_unpack(buf[:n]):
            if kind == EV_SYN:
                if code == SYN_DROPPED:
                    self.dropped += 1
                    self._resync = True
                elif code == SYN_REPORT:
                    if not self._resync:
                        out.append(Report(sec + usec * 1e-6, tuple(self.values), self.button))
                    self._resync = False
            elif self._resync:
                continue
            elif kind == EV_ABS and code in AXIS_CHANNEL:
                self.values[AXIS_CHANNEL[code]] = value
            elif kind == EV_KEY and code == BTN_A:
                self.button = bool(value)
        return out


@dataclass(frozen=True)
class WiiBoardInfo:
    device: str                  # /dev/input/eventN
    name: str
    address: str | None          # Bluetooth address (the input device's ``uniq``)
    battery_pct: int | None

    @property
    def board_id(self) -> int | None:
        return address_board_id(self.address)


def address_board_id(address: str | None) -> int | None:
    """The board id of a Wii board: the low 32 bits of its Bluetooth address."""
    if not address:
        return None
    try:
        return int(address.replace(":", ""), 16) & 0xFFFFFFFF
    except ValueError:
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


#: Where sysfs and /dev are; the environment can point them elsewhere (tests, containers).
SYSFS_ROOT_ENV, DEV_ROOT_ENV = "STANCELAB_SYSFS_ROOT", "STANCELAB_DEV_ROOT"


def _roots(sysfs_root, dev_root) -> tuple[Path, Path]:
    return (Path(sysfs_root or os.environ.get(SYSFS_ROOT_ENV) or "/sys"),
            Path(dev_root or os.environ.get(DEV_ROOT_ENV) or "/dev"))


def battery_pct(address: str | None, sysfs_root: str | Path | None = None) -> int | None:
    """The driver's battery capacity (power_supply ``wiimote_battery_<address>``), or None."""
    if not address:
        return None
    text = _read_text(_roots(sysfs_root, None)[0] / "class" / "power_supply"
                      / f"wiimote_battery_{address}" / "capacity")
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def find_wiiboards(sysfs_root: str | Path | None = None, dev_root: str | Path | None = None
                   ) -> list[WiiBoardInfo]:
    """Every input device the hid-wiimote driver registered as a balance board."""
    sysfs_root, dev_root = _roots(sysfs_root, dev_root)
    root = sysfs_root / "class" / "input"
    found = []
    try:
        entries = sorted(root.glob("event*"), key=lambda p: int(p.name[5:] or 0)
                         if p.name[5:].isdigit() else 0)
    except OSError:
        return []
    for event in entries:
        name = _read_text(event / "device" / "name")
        if name != DEVICE_NAME:
            continue
        address = _read_text(event / "device" / "uniq") or None
        found.append(WiiBoardInfo(str(dev_root / "input" / event.name), name, address,
                                  battery_pct(address, sysfs_root)))
    return found


class WiiBoard(Source):
    """A Wii Balance Board through evdev. ``device`` None finds the one paired board."""

    kind = "wiiboard"

    def __init__(self, device: str | None = None, *, sysfs_root: str | Path | None = None,
                 dev_root: str | Path | None = None, hold_s: float = 0.1,
                 reconnect_interval_s: float = 1.0, auto_reconnect: bool = True) -> None:
        super().__init__(description=device or DEVICE_NAME)
        self.requested = device                  # None: the one board found by its name
        self.device = device
        self.address: str | None = None
        self.battery_pct: int | None = None
        self.sysfs_root, self.dev_root = sysfs_root, dev_root
        self.hold_s = hold_s
        self.reconnect_interval_s = reconnect_interval_s
        self.auto_reconnect = auto_reconnect
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._accepting = False
        self._decoder = EventDecoder()
        self._t0: float | None = None            # event time of the first report
        self._last_t: float | None = None        # device time of the last sample
        self._last_host: float | None = None
        self._t_shift = 0.0                      # keeps device time going across reconnects
        self._seq = 0
        self._times: list[float] = []
        self.lost_frames = 0
        self.reconnects = 0
        self.held_samples = 0
        self._set_state(nominal_rate_sps=NOMINAL_RATE_SPS, firmware=FIRMWARE)

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        if self._thread is not None:
            return
        self._closing.clear()
        self._connect()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"stancelab-wiiboard {self.device}")
        self._thread.start()

    def start(self) -> None:
        if self._thread is None:
            raise SourceError("Open the Wii Balance Board before starting it.")
        self._accepting = True
        self._set_state(streaming=True)

    def stop(self) -> None:
        self._accepting = False
        self._set_state(streaming=False)

    def close(self) -> None:
        self._closing.set()
        self._accepting = False
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5.0)
        self._close_fd()
        self._set_state(connected=False, streaming=False)

    # ------------------------------------------------------------------ connecting
    def _resolve(self) -> WiiBoardInfo:
        boards = find_wiiboards(self.sysfs_root, self.dev_root)
        if self.requested is not None:
            real = os.path.realpath(self.requested)       # /dev/input/by-id/... links too
            info = next((b for b in boards if os.path.realpath(b.device) == real), None)
            return info or WiiBoardInfo(self.requested, DEVICE_NAME, None, None)
        if not boards:
            raise SourceError(
                "No Wii Balance Board found: switch it on (the button at the front), pair it "
                "with bluetoothctl and check that the hid-wiimote driver is loaded "
                "(docs/wiiboard.md).")
        if len(boards) > 1:
            names = ", ".join(b.device for b in boards)
            raise SourceError(f"Several Wii Balance Boards are connected: {names}. Choose one "
                              "with --wiiboard DEVICE.")
        return boards[0]

    def _connect(self) -> None:
        info = self._resolve()
        try:
            fd = os.open(info.device, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise SourceError(f"{info.device} does not exist: switch the Wii Balance Board on "
                              "and pair it (docs/wiiboard.md), or run `stancelab ports`.") from None
        except PermissionError:
            raise SourceError(
                f"Permission denied on {info.device}: add yourself to the input group "
                "(`sudo usermod -aG input $USER`, then log in again) or install the udev rule "
                "in docs/wiiboard.md.") from None
        except OSError as e:
            raise SourceError(f"Cannot open {info.device}: {e.strerror or e}; check the "
                              "board's connection (docs/wiiboard.md).") from None
        self._try_ioctl(fd, _EVIOCSCLOCKID, struct.pack("@i", _CLOCK_MONOTONIC))
        self._fd = fd
        self._decoder = EventDecoder(self._decoder.values)
        self._resync()
        self.device, self.address = info.device, info.address
        self._battery_note(info.address)
        self._set_state(connected=True, board_id=info.board_id, firmware=FIRMWARE,
                        description=f"Wii Balance Board {info.device}"
                        + (f" ({info.address})" if info.address else ""),
                        protocol_version=None)

    def _resync(self) -> None:
        """The sensors' current values from the input core (EVIOCGABS); kept where the fd is
        not an evdev device."""
        for axis, ch in AXIS_CHANNEL.items():
            got = self._try_ioctl(self._fd, _eviocgabs(axis), bytes(_ABSINFO.size))
            if got:
                self._decoder.values[ch] = _ABSINFO.unpack(got)[0]

    @staticmethod
    def _try_ioctl(fd: int, request: int, arg: bytes) -> bytes | None:
        """An evdev ioctl; None where the fd is not an evdev device (a pipe in tests)."""
        try:
            return fcntl.ioctl(fd, request, arg)
        except OSError:
            return None

    def _battery_note(self, address: str | None) -> None:
        self.battery_pct = battery_pct(address, self.sysfs_root)
        if self.battery_pct is not None and self.battery_pct < LOW_BATTERY_PCT:
            self._set_state(error=f"The Wii Balance Board's battery is low ({self.battery_pct} "
                                  "%): put in four fresh AA batteries before a trial; it "
                                  "switches itself off as they run down.")
        else:
            self._set_state(error=None)

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # ------------------------------------------------------------------ reading
    def _run(self) -> None:
        while not self._closing.is_set():
            if self._fd is None:
                if not self.auto_reconnect or not self._reconnect():
                    if not self.auto_reconnect:
                        return
                    self._closing.wait(self.reconnect_interval_s)
                continue
            try:
                ready, _, _ = select.select([self._fd], [], [], self.hold_s)
                data = os.read(self._fd, 64 * INPUT_EVENT.size) if ready else None
            except OSError as e:
                self._lost(e.errno)
                continue
            if data == b"":
                self._lost(None)
                continue
            if data is None:
                self._hold()
                continue
            self._take(self._decoder.feed(data))

    def _take(self, reports: list[Report]) -> None:
        host = now_s()
        if self._decoder.dropped:
            # The kernel's advice for SYN_DROPPED: ask the device for its state again.
            self.lost_frames += self._decoder.dropped
            self._decoder.dropped = 0
            self._resync()
        out = []
        for r in reports:
            if self._t0 is None:
                self._t0 = r.t_s
            t = r.t_s - self._t0 + self._t_shift
            if self._last_t is not None and t <= self._last_t:
                t = self._last_t + 1e-6            # a clock step back must not reorder
            out.append(self._sample(t, host, r.values, 0))
        self._emit(out)

    def _hold(self) -> None:
        """No report for hold_s: the values still hold (the kernel sends changes only)."""
        if self._last_t is None or self._last_host is None:
            return
        host = now_s()
        t = self._last_t + (host - self._last_host)
        self.held_samples += 1
        self._emit([self._sample(t, host, tuple(self._decoder.values), _ALL_NOT_READY)])

    def _sample(self, t: float, host: float, values, status: int) -> Sample:
        s = Sample(self._seq, t, host, tuple(values), status)
        self._seq = (self._seq + 1) % protocol.SEQ_MOD
        self._last_t, self._last_host = t, host
        if not status:
            self._times = (self._times + [t])[-100:]
        return s

    def _emit(self, samples: list[Sample]) -> None:
        if samples and self._accepting:
            self._push(samples)
        if samples:
            self._set_state(rate_sps=self._rate(), lost_frames=self.lost_frames)

    def _rate(self) -> float:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def _lost(self, err: int | None) -> None:
        self._close_fd()
        why = ("switched off or out of Bluetooth range" if err in (None, errno.ENODEV)
               else os.strerror(err))
        then = ("Switch it on again (the front button); StanceLab reconnects by itself."
                if self.auto_reconnect else "Reconnect it and open it again.")
        self._set_state(connected=False, error=f"The Wii Balance Board {self.device} was "
                                               f"disconnected ({why}). {then}")

    def _back(self) -> bool:
        """Whether the board is there again: listed by the driver (the same Bluetooth address
        when it had one; it may come back as another eventN), or its path exists."""
        boards = find_wiiboards(self.sysfs_root, self.dev_root)
        if self.address is not None:
            return any(b.address == self.address for b in boards)
        if self.requested is None:
            return len(boards) == 1
        real = os.path.realpath(self.requested)
        return any(os.path.realpath(b.device) == real for b in boards) or \
            (not boards and os.path.exists(self.requested))

    def _reconnect(self) -> bool:
        if not self._back():
            return False
        saved = self.requested
        if self.address is not None and saved is None:
            self.requested = next(b.device for b in find_wiiboards(self.sysfs_root, self.dev_root)
                                  if b.address == self.address)
        try:
            self._connect()
        except SourceError:
            return False
        finally:
            self.requested = saved
        # The new connection's event times start from its own first report: continue the
        # device time from the last sample plus the time the board was away.
        self._t0 = None
        if self._last_t is not None and self._last_host is not None:
            self._t_shift = self._last_t + max(now_s() - self._last_host, 1e-3)
        self.reconnects += 1
        self._set_state(connected=True, streaming=self._accepting)
        return True
