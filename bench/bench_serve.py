"""A board served over TCP (`stancelab serve`) and read through socket://, on loopback.

    PYTHONPATH=app .venv/bin/python bench/bench_serve.py [--seconds 30]

The simulated board's firmware model behind a BoardServer on 127.0.0.1, a SerialBoard on
socket://: PING round trips (percentiles of 200), then the stream for --seconds: samples,
lost frames from the sequence numbers, and the host-side delay from one frame to the next
(p50/p99/max, what a live view waits at worst). Not registered in run_all.py.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from stancelab.board.serial_board import SerialBoard
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.virtual_board import VirtualBoard
from stancelab.station.serve import BoardServer, VirtualDevice


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    server = BoardServer(VirtualDevice(VirtualBoard(VirtualAthlete(seed=1), seed=1)),
                         "127.0.0.1", 0).start()
    src = SerialBoard(f"socket://127.0.0.1:{server.address[1]}")
    try:
        src.open()
        rtt = np.array([src.ping() * 1e3 for _ in range(200)])
        src.start()
        got = []
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            got += src.read(timeout=0.1)
    finally:
        src.close()
        server.close()
    seq = np.array([s.seq for s in got])
    gap_ms = np.diff([s.t_host_s for s in got]) * 1e3
    lost = int(np.sum(np.diff(seq) % 65536 - 1))
    print(f"ping over loopback TCP: p50 {np.percentile(rtt, 50):.2f} ms, "
          f"p99 {np.percentile(rtt, 99):.2f} ms (n=200)")
    print(f"{args.seconds:g} s streamed at 80/s: {len(got)} samples, {lost} lost by sequence, "
          f"state.lost_frames {src.state.lost_frames}; frame-to-frame arrival p50 "
          f"{np.percentile(gap_ms, 50):.1f} ms, p99 {np.percentile(gap_ms, 99):.1f} ms, "
          f"max {gap_ms.max():.1f} ms")


if __name__ == "__main__":
    main()
