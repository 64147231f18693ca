"""A VirtualBoard behind a real pseudo-terminal, paced in real time, for SerialBoard in UI tests
and bench/bench_live.py: the bytes cross a real tty exactly as from a USB-serial adapter."""

from __future__ import annotations

import math
import os
import select
import threading
import time
import tty

import numpy as np

from stancelab.sim.virtual_board import VirtualBoard


def swaying_person(mass_kg: float = 70.0, amp_mm: float = 25.0, period_s: float = 4.0):
    """Corner loads (N) of a person on the board centre whose COP circles ``amp_mm``."""
    from stancelab.geometry import BoardGeometry, G

    geo = BoardGeometry()
    half_w = geo.cell_x_mm.max()
    half_d = geo.cell_y_mm.max()

    def load_fn(t_s):
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        x = amp_mm * np.cos(2 * math.pi * t / period_s)
        y = amp_mm * np.sin(2 * math.pi * t / period_s)
        w = mass_kg * G
        fx = (x / half_w + 1) / 2           # share on the right cells
        fy = (y / half_d + 1) / 2           # share on the front cells
        return np.column_stack([w * (1 - fx) * fy, w * fx * fy,
                                w * (1 - fx) * (1 - fy), w * fx * (1 - fy)])
    return load_fn


class PtyBoard:
    """Runs the device side in a thread: commands in, frames out, paced by time.monotonic."""

    def __init__(self, load_fn=None, tick_s: float = 0.002) -> None:
        self.board = VirtualBoard(load_fn or swaying_person())
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.tick_s = tick_s
        self.write_times: list[tuple[float, int]] = []   # (monotonic after write, bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-virtual-board", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], self.tick_s)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                answer = self.board.receive(data)
                if answer:
                    os.write(self.master, answer)
            now = time.monotonic()
            out = self.board.advance(now - last)
            last = now
            if out:
                try:
                    os.write(self.master, out)
                except OSError:
                    return


def main() -> None:
    """Run a board in this process (for bench/bench_live.py): print the port, serve until
    stdin closes, so the device's CPU is not counted as the app's."""
    import sys

    with PtyBoard() as pb:
        print(pb.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
