"""What the simulated athlete costs per tick and per trial start (the default board).

    PYTHONPATH=app .venv/bin/python bench/bench_sim_tick.py

A one-leg athlete queried 2 samples at a time over 30 s at 80 Hz (what the simulated board
asks for per frame), mean wall time per query; and ``retune`` of its sway process (what
starts a trial's sway: new filters, 60 s of warm-up noise), five times. Run it in two trees
back to back (PYTHONPATH pointing at each) to compare; the machine's load is printed.
"""

from __future__ import annotations

import os
import time

import numpy as np

from stancelab.sim.athlete import VirtualAthlete


def main() -> int:
    a = VirtualAthlete(stance="left", seed=1)
    a.cop_mm(np.arange(0, 1, 0.005))
    proc = next(iter(a._processes.values()))
    retune = []
    for f in (0.9, 1.0, 1.1, 1.2, 0.95):
        t0 = time.perf_counter()
        proc.retune(f)
        retune.append(time.perf_counter() - t0)
    t = np.arange(1, 31, 1 / 80)
    t0 = time.perf_counter()
    for i in range(0, len(t), 2):
        a.cop_mm(t[i:i + 2])
    per_query = (time.perf_counter() - t0) / (len(t) / 2)
    print(f"2-sample query: {per_query * 1e6:.1f} us mean over {len(t) // 2}; retune: "
          + ", ".join(f"{x * 1e3:.1f}" for x in retune)
          + f" ms; load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
