"""What the same code costs right after a wake-up: one sample through process_for_display,
called back to back and with a sleep between calls (the live view's threads wake 80 times a
second). Run: ``PYTHONPATH=app .venv/bin/python bench/bench_wake_cost.py``. CPU time of this
thread (time.thread_time) per call, median of the calls; see docs/benchmarks.md."""

from __future__ import annotations

import statistics
import time

from stancelab.board.source import Sample
from stancelab.calibration import default_calibration
from stancelab.processing import process_for_display


def per_call_us(gap_s: float, calls: int = 400) -> float:
    cal = default_calibration()
    samples = [Sample(1, 0.1, 0.2, (700_000, 710_000, 690_000, 700_000), 0)]
    process_for_display(samples, cal)
    costs = []
    for _ in range(calls):
        if gap_s:
            time.sleep(gap_s)
        t0 = time.thread_time()
        process_for_display(samples, cal)
        costs.append(time.thread_time() - t0)
    return 1e6 * statistics.median(costs)


def main() -> int:
    warm = per_call_us(0.0)
    cold = per_call_us(0.0125)
    print(f"process_for_display, one sample: back to back {warm:.1f} us per call, "
          f"after a 12.5 ms sleep {cold:.1f} us per call ({cold / warm:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
