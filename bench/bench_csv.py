"""Raw CSV speed for a one-hour recording (288,000 rows at 80 samples/s), against pandas.

Run: PYTHONPATH=app .venv/bin/python bench/bench_csv.py [--repeats 7]
Prints median and p90 wall time of StanceLab's export and import, the same for pandas
to_csv / read_csv on the same table, and the ratios. Also times the SQLite read-back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from stancelab import csvio
from stancelab.calibration import Calibration
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
    derived = csvio.derived_columns(counts, cal, 50.0)
    meta = {"board_id": 3, "calibration": cal.to_dict(), "trials": 1, "trial.1.drill": "clock"}
    return meta, np.ones(n, np.int64), samples, derived


def stats(times):
    t = np.array(times)
    return float(np.median(t)), float(np.percentile(t, 90))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    meta, trial, samples, derived = one_hour()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hour.csv"
        w, r = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            csvio.write_raw_csv(path, meta, trial, samples, derived)
            w.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            back = csvio.read_raw_csv(path)
            r.append(time.perf_counter() - t0)
        assert back.samples.equals(samples)
        size_mb = path.stat().st_size / 1e6
        r_core = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            csvio.read_raw_csv(path, derived=False)
            r_core.append(time.perf_counter() - t0)
        results = {"stancelab export": stats(w), "stancelab import": stats(r),
                   "stancelab import (no derived cols)": stats(r_core)}
        try:
            import pandas as pd
        except ImportError:
            pd = None
        if pd is not None:
            df = pd.read_csv(path, comment="#")
            pw, pr = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                df.to_csv(Path(d) / "pd.csv", index=False)
                pw.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pd.read_csv(path, comment="#")
                pr.append(time.perf_counter() - t0)
            results["pandas to_csv"] = stats(pw)
            results["pandas read_csv"] = stats(pr)
        with Storage(Path(d) / "db.sqlite3") as store:
            a = store.add_athlete("bench")
            s = store.start_session(athlete_id=a.id, source_kind="bench")
            t = store.start_trial(s.id, "clock")
            t0 = time.perf_counter()
            store.insert_samples(t.id, samples)
            ins = time.perf_counter() - t0
            rd = []
            for _ in range(max(1, args.repeats // 2)):
                t0 = time.perf_counter()
                store.read_samples(t.id)
                rd.append(time.perf_counter() - t0)
            results["sqlite insert (once)"] = (ins, ins)
            results["sqlite read_samples"] = stats(rd)
    print(f"one hour = {len(samples)} rows, file {size_mb:.1f} MB, {args.repeats} repeats")
    for name, (med, p90) in results.items():
        print(f"  {name:36s} median {med * 1000:7.0f} ms   p90 {p90 * 1000:7.0f} ms")
    if pd is not None:
        print(f"  export ratio pandas/stancelab: "
              f"{results['pandas to_csv'][0] / results['stancelab export'][0]:.1f}x")
        print(f"  import ratio pandas/stancelab: "
              f"{results['pandas read_csv'][0] / results['stancelab import'][0]:.1f}x")


if __name__ == "__main__":
    main()
