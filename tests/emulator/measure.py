"""Measure the firmware in the emulator and print the figures quoted in docs/firmware.md.

    PYTHONPATH=app:tests .venv/bin/python tests/emulator/measure.py [--seconds 60] [--rate 80]

Builds the firmware and harness, streams for the given simulated time through SerialBoard and
prints flash/RAM, SCK high time, 4-chip read time, frame rate and lost frames as JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]),
                    str(Path(__file__).resolve().parents[2] / "app")]

from emulator import checks, runner, values
from stancelab.board.serial_board import SerialBoard


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="simulated streaming time")
    ap.add_argument("--rate", type=int, default=80, choices=(10, 80))
    args = ap.parse_args()
    missing = runner.missing_tools()
    if missing:
        print(f"missing: {', '.join(missing)}; install with: {runner.INSTALL_HINT}")
        return 1
    exe = runner.build_harness()
    elf = runner.build_firmware("default")
    size = (runner.BUILD / "fw-default" / "size.txt").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        vals = work / "values.txt"
        values.write(str(vals))
        h = runner.Harness(exe, elf, vals, work, seconds=args.seconds + 5.0)
        board = SerialBoard(h.pty, rate_sps=args.rate, auto_reconnect=False)
        samples: list = []
        t0 = time.monotonic()
        try:
            board.open()
            board.start()
            while not samples or samples[-1].t_s - samples[0].t_s < args.seconds:
                samples += board.read(timeout=0.2)
            lost = board.lost_frames
        finally:
            board.close()
            summary = h.finish()
        wall = time.monotonic() - t0
    fresh = sum(checks.fresh(s, 0) for s in samples) / len(samples)
    out = {
        "flash_bytes": int(re.search(r"Program:\s+(\d+)", size).group(1)),
        "ram_bytes": int(re.search(r"Data:\s+(\d+)", size).group(1)),
        "sck_high_max_us": summary["sck_high_max_us"],
        "read_time_us": {k: summary[f"read_time_{k}_us"] for k in ("min", "mean", "max")},
        "power_down_violations": summary["power_down_violations"],
        "frames": len(samples),
        "device_seconds": round(samples[-1].t_s - samples[0].t_s, 3),
        "frame_rate_sps": round(checks.frame_rate(samples), 4),
        "lost_frames": lost,
        "fresh_fraction_ch0": round(fresh, 4),
        "sim_speed": round(summary["sim_seconds"] / wall, 2),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
