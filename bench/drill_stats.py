"""The clock drill as the demo runs it: targets reached and reach, healthy vs weak leg.

    PYTHONPATH=app:tests .venv/bin/python bench/drill_stats.py [--seeds 5]

Default clock drill (80 % targets, foot centre on the printed mark), simulated athlete on the
autopilot, through the real decoder and DrillRunner (tests/test_drills_sim.py helpers). Prints
what docs/drills.md quotes: targets reached and mean maximal excursion per seed, and per
direction how often the weak leg reaches less far than the strong one.
"""

from __future__ import annotations

import argparse

import numpy as np

from stancelab.drills import ClockBalance
from stancelab.drills.settings import ClockSettings
from stancelab.sim.autopilot import Autopilot
from test_drills_sim import FOOT_MM, board, run


def clock(leg: str, seed: int, weakness=None, fraction: float = 0.8):
    src, cal = board(seed=seed, weakness=weakness)
    drill = ClockBalance.from_settings(ClockSettings(leg=leg, foot_length_mm=FOOT_MM,
                                                     target_fraction=fraction))
    run(src, cal, drill, pilot=Autopilot(src.athlete))
    src.close()
    reached = sum(r["outcome"] == "reached" for r in drill.target_results)
    return reached, {r["hour"]: r["max_excursion_pct"] for r in drill.target_results}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args(argv)
    for fraction in (0.8, 1.0):
        for label, weak in (("healthy", None), ("30 % weak", {"right": 0.3})):
            rows = [clock("right", s, weak, fraction) for s in range(a.seeds)]
            n = [r for r, _ in rows]
            exc = np.mean([np.nanmean([v for v in e.values() if v is not None]) for _, e in rows])
            print(f"{fraction:.0%} targets, {label:9s}: reached {n} of 12 (seeds 0-{a.seeds - 1}),"
                  f" mean maximal excursion {exc:.0f} %")
    below = total = 0
    for seed in range(min(a.seeds, 3)):
        _, strong = clock("right", seed, {"left": 0.3})
        _, weak = clock("left", seed, {"left": 0.3})
        for h in range(1, 13):
            if strong.get(h) is not None and weak.get(h) is not None:
                total += 1
                below += weak[h] < strong[h]
    print(f"left leg 30 % weaker, per direction: weak below strong in {below} of {total} "
          f"(seed, direction) pairs, seeds 0-{min(a.seeds, 3) - 1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
