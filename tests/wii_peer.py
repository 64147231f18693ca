"""The kernel's side of a Wii Balance Board, for tests: a sysfs tree and input_event bytes.

No Wii board, Bluetooth or /dev/uinput exists here, so this models the interface the reader
sees, as the kernel makes it:

- sysfs: ``class/input/eventN/device/{name,uniq}`` of the input device hid-wiimote registers
  ("Nintendo Wii Remote Balance Board", uniq = the Bluetooth address) and the battery's
  ``class/power_supply/wiimote_battery_<address>/capacity``;
- the character device: a FIFO carrying ``struct input_event`` records in the native layout
  (timeval, type, code, value: 24 bytes on 64-bit);
- what arrives: per report the four sensors in 10 g units (hid-wiimote-modules.c
  ``wiimod_bboard_in_ext``: ABS_HAT0X top right, HAT0Y bottom right, HAT1X top left, HAT1Y
  bottom left, clamped at 0), passed through the input core's fuzz filter (fuzz 2, as the
  driver sets): a value within the fuzz is smoothed or dropped, only changed axes are sent and a
  report without a change sends no SYN_REPORT at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stancelab.board import wiiboard as wb

ADDRESS = "00:1e:35:3b:7c:a1"
FUZZ = 2
HALF_W, HALF_D = 433.0 / 2, 238.0 / 2          # the sensor rectangle, mm
#: Sensors in the driver's order of axes: TR, BR, TL, BL -> ABS_HAT0X, 0Y, 1X, 1Y.
DRIVER_AXES = (wb.ABS_HAT0X, wb.ABS_HAT0Y, wb.ABS_HAT1X, wb.ABS_HAT1Y)


def event(t_s: float, kind: int, code: int, value: int) -> bytes:
    sec = int(t_s)
    return wb.INPUT_EVENT.pack(sec, round((t_s - sec) * 1e6), kind, code, int(value))


def defuzz(value: int, old: int, fuzz: int = FUZZ) -> int:
    """The input core's input_defuzz_abs_event (integer arithmetic as in C)."""
    def cdiv(a, b):
        return int(a / b)
    if fuzz:
        if old - fuzz // 2 < value < old + fuzz // 2:
            return old
        if old - fuzz < value < old + fuzz:
            return cdiv(old * 3 + value, 4)
        if old - fuzz * 2 < value < old + fuzz * 2:
            return cdiv(old + value, 2)
    return value


def sensors_for(mass_kg: float, x_mm: float, y_mm: float, gains=(1, 1, 1, 1)) -> np.ndarray:
    """Units (10 g) per sensor FL, FR, BL, BR of a mass at (x, y): the statics of a rigid top on
    four supports at the rectangle's corners (bilinear shares), each sensor's scale ``gains``."""
    fx, fy = (x_mm + HALF_W) / (2 * HALF_W), (y_mm + HALF_D) / (2 * HALF_D)
    share = np.array([(1 - fx) * fy, fx * fy, (1 - fx) * (1 - fy), fx * (1 - fy)])
    return mass_kg * 100.0 * share * np.asarray(gains, float)


class Kernel:
    """Turns sensor values into the bytes the reader gets, keeping the input core's state."""

    def __init__(self) -> None:
        self.state = [0, 0, 0, 0]        # FL, FR, BL, BR as last passed on
        self.reports: list[tuple[float, tuple[int, int, int, int]]] = []  # what was sent

    def report(self, t_s: float, fl_fr_bl_br) -> bytes:
        v = [max(0, int(np.rint(u))) for u in fl_fr_bl_br]      # the driver clamps at 0
        by_driver = {wb.ABS_HAT0X: 1, wb.ABS_HAT0Y: 3, wb.ABS_HAT1X: 0, wb.ABS_HAT1Y: 2}
        out = b""
        for axis in DRIVER_AXES:
            ch = by_driver[axis]
            new = defuzz(v[ch], self.state[ch])
            if new != self.state[ch]:
                self.state[ch] = new
                out += event(t_s, wb.EV_ABS, axis, new)
        if not out:
            return b""                  # nothing changed: no SYN_REPORT reaches the reader
        self.reports.append((t_s, tuple(self.state)))
        return out + event(t_s, wb.EV_SYN, wb.SYN_REPORT, 0)


def recorded_trace(seed: int = 7, seconds: float = 12.0, t0: float = 5000.0):
    """A quiet-stance trace as the board sends it: a 68 kg athlete swaying (a few mm), reports
    30-100 per second at uneven intervals, one SYN_DROPPED (reader too slow) and a press of the
    front button. Returns (bytes, the reports the reader must see, the dropped count)."""
    rng = np.random.default_rng(seed)
    k = Kernel()
    data, t = b"", t0
    x = y = 0.0
    dropped, pressed = 0, False
    while t < t0 + seconds:
        t += rng.uniform(0.010, 0.033)
        x = 0.98 * x + rng.normal(0, 0.8)
        y = 0.98 * y + rng.normal(0, 1.2)
        units = sensors_for(68.0, 20.0 + x, -10.0 + y) + rng.normal(0, 1.0, 4)
        data += k.report(t, units)
        if dropped == 0 and t > t0 + seconds / 2:
            # the kernel overflowed this reader's buffer: a report is lost up to the next one
            dropped = 1
            data += event(t, wb.EV_SYN, wb.SYN_DROPPED, 0)
            t += 0.012
            data += k.report(t, units + 40)
            # The reader drops it (it follows SYN_DROPPED); the next report differs from it on
            # every sensor by far more than the fuzz, so all four axes come again.
            k.reports.pop()
        if not pressed and t > t0 + 3.0:
            pressed = True
            data += event(t, wb.EV_KEY, wb.BTN_A, 1) + event(t, wb.EV_SYN, wb.SYN_REPORT, 0)
            k.reports.append((t, tuple(k.state)))
    return data, k.reports, dropped


class SysfsTree:
    """The sysfs and /dev roots of one Wii board (and a keyboard beside it) under ``root``."""

    def __init__(self, root: Path, number: int = 7, address: str = ADDRESS,
                 battery_pct: int | None = 80) -> None:
        self.sys = root / "sys"
        self.dev = root / "dev"
        self.number, self.address = number, address
        (self.dev / "input").mkdir(parents=True, exist_ok=True)
        kbd = self.sys / "class" / "input" / "event0" / "device"
        kbd.mkdir(parents=True)
        (kbd / "name").write_text("AT Translated Set 2 keyboard\n")
        self.battery(battery_pct)
        self.fd: int | None = None
        self.plug()

    @property
    def device(self) -> str:
        return str(self.dev / "input" / f"event{self.number}")

    def battery(self, pct: int | None) -> None:
        d = self.sys / "class" / "power_supply" / f"wiimote_battery_{self.address}"
        d.mkdir(parents=True, exist_ok=True)
        if pct is not None:
            (d / "capacity").write_text(f"{pct}\n")

    def plug(self, number: int | None = None) -> None:
        """The board connects: its input device appears, the FIFO gets a writer."""
        if number is not None:
            self.number = number
        d = self.sys / "class" / "input" / f"event{self.number}" / "device"
        d.mkdir(parents=True, exist_ok=True)
        (d / "name").write_text(wb.DEVICE_NAME + "\n")
        (d / "uniq").write_text(self.address + "\n")
        if not os.path.exists(self.device):
            os.mkfifo(self.device)
        # O_RDWR: the FIFO has a writer from now on, so the reader sees no end of file yet
        self.fd = os.open(self.device, os.O_RDWR | os.O_NONBLOCK)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view[:4096])
            except BlockingIOError:
                import time
                time.sleep(0.002)
                continue
            view = view[n:]

    def unplug(self) -> None:
        """The board goes away: the device leaves sysfs and /dev, the reader sees the end."""
        import shutil
        shutil.rmtree(self.sys / "class" / "input" / f"event{self.number}")
        os.unlink(self.device)
        os.close(self.fd)
        self.fd = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def cop_from_units(values) -> tuple[float, float, float]:
    """The board's own arithmetic (total kg, COP mm) from FL, FR, BL, BR in 10 g units, as the
    Wii-board literature writes it: x = W/2 ((TR + BR) - (TL + BL)) / total, y = D/2 ((TL + TR)
    - (BL + BR)) / total."""
    tl, tr, bl, br = (float(v) for v in values)
    total = tl + tr + bl + br
    return total / 100.0, HALF_W * ((tr + br) - (tl + bl)) / total, \
        HALF_D * ((tl + tr) - (bl + br)) / total

