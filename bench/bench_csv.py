"""Raw CSV speed for a one-hour recording (288,000 rows at 80 samples/s), against pandas.

Run: PYTHONPATH=app .venv/bin/python bench/bench_csv.py [--repeats 7] [--no-sqlite]
Prints median and p95 wall time and median CPU time of StanceLab's export and import, the same
for pandas to_csv / read_csv on the same table in the same run (interleaved, so a busy machine
slows both alike), the ratios, the CPUs this process may use and the load average. Also times
the SQLite write and read-back of the same hour.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from stancelab.calibration import Calibration
from stancelab.files import csv_parse, csv_write
from stancelab.storage import SampleArrays, Storage, quantise_us


def one_hour(n: int = 288_000):
    rng = np.random.default_rng(1)
    i = np.arange(n)
    counts = (np.array([380_000, 390_000, 370_000, 385_000])
              + rng.normal(0, 3000, (n, 4))).astype(np.int64)
    phase = np.empty(n, object)
    phase[:] = np.where((i // 800) % 2 == 0, "hold", "reach")
    target = np.empty(n, object)
    target[:] = [None] * n
    target[(i // 800) % 2 == 1] = "3"
    samples = SampleArrays(i % 65536, quantise_us(10.0 + i * 0.0125),
                           quantise_us(5000.0 + i * 0.0125 + rng.random(n) * 0.004), counts,
                           np.zeros(n, np.int64), phase, target)
    cal = Calibration(board_id=3, offsets_counts=(2000.0, -1500.0, 800.0, 0.0))
    derived = csv_write.derived_columns(counts, cal, 50.0)
    meta = {"board_id": 3, "calibration": cal.to_dict(), "trials": 1, "trial.1.drill": "clock"}
    return meta, np.ones(n, np.int64), samples, derived


def stats(times):
    """(median wall, p95 wall, median CPU) of (wall, cpu) pairs."""
    t = np.array(times).reshape(-1, 2)
    return (float(np.median(t[:, 0])), float(np.percentile(t[:, 0], 95)),
            float(np.median(t[:, 1])))


def timed(fn, out: list):
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    out.append((time.perf_counter() - w, time.process_time() - c))
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite timings")
    args = ap.parse_args()
    try:
        import pandas as pd
    except ImportError:
        pd = None
    load_before = os.getloadavg()
    meta, trial, samples, derived = one_hour()
    results = {}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hour.csv"
        csv_write.write_raw_csv(path, meta, trial, samples, derived)
        df = pd.read_csv(path, comment="#") if pd is not None else None
        w, r, r_core, pw, pr = [], [], [], [], []
        for _ in range(args.repeats):
            timed(lambda: csv_write.write_raw_csv(path, meta, trial, samples, derived), w)
            back = timed(lambda: csv_parse.read_raw_csv(path), r)
            timed(lambda: csv_parse.read_raw_csv(path, derived=False), r_core)
            if pd is not None:
                timed(lambda: df.to_csv(Path(d) / "pd.csv", index=False), pw)
                timed(lambda: pd.read_csv(path, comment="#"), pr)
        assert back.samples.equals(samples)
        size_mb = path.stat().st_size / 1e6
        results["stancelab export"] = stats(w)
        results["stancelab import"] = stats(r)
        results["stancelab import (no derived cols)"] = stats(r_core)
        if pd is not None:
            results["pandas to_csv"] = stats(pw)
            results["pandas read_csv"] = stats(pr)
        if not args.no_sqlite:
            with Storage(Path(d) / "db.sqlite3") as store:
                a = store.add_athlete("bench")
                s = store.start_session(athlete_id=a.id, source_kind="bench")
                t = store.start_trial(s.id, "clock")
                ins, rd = [], []
                timed(lambda: store.insert_samples(t.id, samples), ins)
                for _ in range(max(1, args.repeats // 2)):
                    timed(lambda: store.read_samples(t.id), rd)
                results["sqlite insert (once)"] = stats(ins)
                results["sqlite read_samples"] = stats(rd)
    print(f"one hour = {len(samples)} rows, file {size_mb:.1f} MB, {args.repeats} repeats; "
          f"CPUs usable {len(os.sched_getaffinity(0))} of {os.cpu_count()}, load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    for name, (med, p95, cpu) in results.items():
        print(f"  {name:36s} median {med * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   "
              f"CPU {cpu * 1000:7.0f} ms")
    if pd is not None:
        for what, ours, theirs in (("export", "stancelab export", "pandas to_csv"),
                                   ("import", "stancelab import", "pandas read_csv")):
            print(f"  {what} ratio pandas/stancelab: {results[theirs][0] / results[ours][0]:.2f}x"
                  f" (wall medians; CPU {results[theirs][2] / results[ours][2]:.2f}x)")
    print(f"  targets: import <= 200 ms, export <= 1000 ms (median wall): import "
          f"{'met' if results['stancelab import'][0] <= 0.2 else 'NOT met'}, export "
          f"{'met' if results['stancelab export'][0] <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
