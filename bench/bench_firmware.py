"""The firmware in the emulator: frame rate, lost frames, SCK high time, 4-chip read time.

    .venv/bin/python bench/bench_firmware.py [--minutes 10] [--json]

Runs the firmware helper's own measurement (tests/emulator/measure.py: avr-gcc build of
firmware/arduino_loadcells, simavr harness with four HX711 models, the host side through
SerialBoard over the harness's pty) for the given *simulated* time at 80 SPS, and checks the
figures against the targets: 80 frames/s, 0 lost frames, SCK high <= 10 us. The emulator runs at
roughly 0.7-2.6 simulated seconds per wall second, so 10 minutes take 4-15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ROOT / "tests" / "emulator" / "measure.py"
TARGETS = {"frame_rate_sps": 80.0, "lost_frames": 0, "sck_high_max_us": 10.0}


def missing() -> list[str]:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "app")]
    from emulator import runner

    return runner.missing_tools()


def run(minutes: float) -> dict:
    lack = missing()
    if lack:
        return {"error": f"cannot build/emulate the firmware: missing {', '.join(lack)}; see "
                         "docs/firmware.md for the apt-get line"}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT / "tests")]))
    cmd = [sys.executable, str(MEASURE), "--seconds", f"{minutes * 60:g}", "--rate", "80"]
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        return {"error": f"{' '.join(cmd)} exited {res.returncode}: {res.stderr[-1500:]}"}
    out = json.loads(res.stdout[res.stdout.index("{"):])
    out["simulated_minutes"] = minutes
    out["wall_s"] = round(wall, 1)
    out["targets"] = TARGETS
    out["met"] = {
        "frame_rate_sps": abs(out["frame_rate_sps"] - 80.0) <= 0.05,
        "lost_frames": out["lost_frames"] == 0,
        "sck_high_max_us": out["sck_high_max_us"] <= TARGETS["sck_high_max_us"],
    }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="simulated streaming time (10)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.minutes)
    if a.json:
        print(json.dumps(r, indent=2))
        return 0 if "error" not in r else 1
    if "error" in r:
        print(r["error"])
        return 1
    rt = r["read_time_us"]
    print(f"firmware in simavr, {a.minutes:g} simulated min at 80 SPS ({r['wall_s']:.0f} s wall, "
          f"{r['sim_speed']} sim s per wall s)")
    print(f"  frame rate {r['frame_rate_sps']:.4f} frames/s over {r['device_seconds']:.1f} s "
          f"device time, {r['frames']} frames, lost {r['lost_frames']}")
    print(f"  SCK high max {r['sck_high_max_us']} us (target <= 10 us); 4-chip read "
          f"{rt['min']}/{rt['mean']}/{rt['max']} us min/mean/max")
    print(f"  flash {r['flash_bytes']} B, RAM {r['ram_bytes']} B; met: {r['met']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
