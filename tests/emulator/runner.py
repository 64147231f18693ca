"""Build the firmware and the simavr harness, run the harness, collect what it measured."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIRMWARE_DIR = ROOT / "firmware" / "arduino_loadcells"
BUILD = HERE / "build"
APT_PACKAGES = ("gcc-avr avr-libc binutils-avr arduino-core-avr simavr libsimavr-dev "
                "libsimavrparts1 libelf-dev")
INSTALL_HINT = f"sudo apt-get install --no-install-recommends {APT_PACKAGES} gcc make"
HARNESS_SOURCES = ("harness.c", "hx711_model.c", "hx711_model.h")
F_CPU = 16_000_000


def missing_tools() -> list[str]:
    """What this machine lacks to build and emulate the firmware (empty: all there)."""
    missing = [t for t in ("avr-gcc", "avr-g++", "avr-objcopy", "avr-size", "gcc", "make")
               if shutil.which(t) is None]
    if not Path("/usr/include/simavr/sim_avr.h").exists():
        missing.append("libsimavr-dev (/usr/include/simavr/sim_avr.h)")
    if not any(Path(d, "libelf.so").exists() for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib",
                                                        "/usr/lib/aarch64-linux-gnu")):
        missing.append("libelf-dev")
    if not Path("/usr/share/arduino/hardware/arduino/avr/cores/arduino/Arduino.h").exists():
        missing.append("arduino-core-avr")
    return missing


@contextlib.contextmanager
def _build_lock():
    """Two test processes (e.g. xdist or a parallel full run) must not build into one tree."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def build_firmware(variant: str = "default", faults: tuple[str, ...] = ()) -> Path:
    """make the sketch into build/fw-<variant>/ (core objects shared); returns the ELF."""
    out = BUILD / f"fw-{variant}"
    cmd = ["make", "-C", str(FIRMWARE_DIR), f"BUILD_DIR={out}", f"CORE_DIR={BUILD / 'core'}",
           f"FAULTS={' '.join(faults)}"]
    with _build_lock():
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"firmware build failed: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")
    (out / "size.txt").write_text(res.stdout)
    return out / "arduino_loadcells.elf"


def build_harness() -> Path:
    exe = BUILD / "harness"
    sources = [HERE / s for s in HARNESS_SOURCES]
    with _build_lock():
        if exe.exists() and all(exe.stat().st_mtime >= s.stat().st_mtime for s in sources):
            return exe
        tmp = BUILD / "harness.tmp"
        cmd = ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(tmp),
               str(HERE / "harness.c"), str(HERE / "hx711_model.c"),
               "-lsimavr", "-lelf", "-lutil"]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"harness build failed: {' '.join(cmd)}\n{res.stderr}")
        tmp.replace(exe)
    return exe


@dataclass
class Read:
    """One 24-bit word a modelled chip shifted out."""

    cycle: int
    chip: int
    index: int
    value: int

    @property
    def t_s(self) -> float:
        return self.cycle / F_CPU


class Harness:
    """One emulator process: firmware ELF + four HX711 models + a pty the host opens."""

    def __init__(self, exe: Path, elf: Path, values: Path, workdir: Path, seconds: float,
                 extra: tuple[str, ...] = (), control: bool = True) -> None:
        self.summary_path = workdir / "summary.json"
        self.log_path = workdir / "reads.csv"
        self.stderr_path = workdir / "harness.stderr"
        args = [str(exe), "--elf", str(elf), "--values", str(values), "--seconds", str(seconds),
                "--summary", str(self.summary_path), "--read-log", str(self.log_path),
                "--rate-pin", "--wait-host", *extra]
        if control:
            args.append("--control")
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PTY "):
            self.proc.kill()
            raise RuntimeError(f"harness did not start: {line!r}; see {self.stderr_path}")
        self.pty = line.split()[1]

    def control(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120.0, quit: bool = True) -> dict:
        """Wait for the run to end (with ``quit``, end it now) and return its summary."""
        if quit and self.proc.poll() is None and self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.control("quit")
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        if self.proc.returncode != 0:
            raise RuntimeError(f"harness exited with {self.proc.returncode}: "
                               f"{self.stderr_path.read_text()[-2000:]}")
        return json.loads(self.summary_path.read_text())

    def reads(self) -> list[Read]:
        out = []
        for line in self.log_path.read_text().splitlines():
            cycle, chip, index, value = (int(x) for x in line.split(","))
            out.append(Read(cycle, chip, index, value))
        return out

    def kill(self) -> None:
        """Stop the process if it still runs and release its pipes (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self._stderr):
            if f and not f.closed:
                try:
                    f.close()
                except BrokenPipeError:
                    pass


def require_env() -> bool:
    return bool(os.environ.get("STANCELAB_REQUIRE_EMULATOR"))
