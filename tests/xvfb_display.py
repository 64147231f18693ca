"""A real X server for the tests that measure windows against a screen: Xvfb, with RandR
monitors laid out by xrandr (two monitors side by side = a laptop and a TV), and monitors
removed and added again as a cable unplugged and plugged in.

Xvfb runs with -noreset: without it the server resets (and forgets the monitors) each time its
last client, such as xrandr, disconnects. The app under test runs in a child process with
DISPLAY pointing here and QT_QPA_PLATFORM=xcb (the pytest process's Qt is offscreen).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

TOOLS = ("Xvfb", "xrandr", "xdpyinfo", "xdotool")


def require_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        msg = (f"needs {' '.join(missing)} (Debian: xvfb x11-xserver-utils x11-utils xdotool; "
               ".ci/run installs them)")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :199")


class Xvfb:
    def __init__(self, width: int, height: int) -> None:
        require_tools()
        self.number = _free_display()
        self.display = f":{self.number}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-noreset", "-nolisten", "tcp",
             "-screen", "0", f"{width}x{height}x24"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 10
        while subprocess.run(["xdpyinfo"], env=self.env(), capture_output=True,
                             check=False).returncode:
            if self.proc.poll() is not None or time.monotonic() > end:
                err = self.proc.stderr.read().decode(errors="replace")[-400:]
                self.close()
                raise RuntimeError(f"Xvfb {self.display} did not start: {err}")
            time.sleep(0.05)

    def env(self, **extra) -> dict:
        return {**os.environ, "DISPLAY": self.display, **extra}

    def xrandr(self, *args: str) -> None:
        subprocess.run(["xrandr", *args], env=self.env(), check=True, capture_output=True)

    def monitor(self, name: str, w: int, h: int, x: int, y: int = 0, output: str = "none"):
        """Add a monitor of w x h pixels at (x, y) (about 96 dpi)."""
        self.xrandr("--setmonitor", name, f"{w}/{w * 254 // 960}x{h}/{h * 254 // 960}+{x}+{y}",
                    output)

    def remove_monitor(self, name: str) -> None:
        self.xrandr("--delmonitor", name)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
