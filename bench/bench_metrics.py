"""Speed of the sway metrics, and their values on the shared reference recording.

    python bench/bench_metrics.py               # timings: 1 h and 30 s at 80 Hz, filter on/off
    python bench/bench_metrics.py --reference   # metrics on hbedb_BDS00001 (docs/metrics.md)
    python bench/bench_metrics.py --json        # either, as JSON

Timings are wall-clock medians and 95th percentiles over repeats of the whole
``sway_metrics(t, x, y, settings)`` call (preprocessing + filter + every metric), after a
warm-up call; budgets: 70 ms for an hour, 1.5 ms for a 30 s trial.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
from scipy.signal import lfilter

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))  # the oracle

from reference_impl import reference_sway
from stancelab.analysis import NO_FILTER, AnalysisSettings, prepare, sway_metrics

_DEFAULT_REFERENCE = (pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
                      / "hbedb_BDS00001.csv")
REFERENCE = pathlib.Path(os.environ.get("STANCELAB_REFERENCE_CSV", str(_DEFAULT_REFERENCE)))
FS = 80.0
BUDGET_MS = {"1 h": 70.0, "30 s": 1.5}


def synthetic_sway(duration_s: float, fs: float = FS, seed: int = 0, jitter: bool = False):
    """Quiet-stance-like COP: low-pass random walk (mm) plus load-cell noise."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs)
    drive = rng.standard_normal((2, n))
    xy = lfilter([0.02], [1.0, -0.98], drive, axis=1) * np.array([[4.0], [6.0]])
    xy += rng.normal(0.0, 0.2, xy.shape)
    t = np.arange(n) / fs
    if jitter:
        t = t + rng.uniform(-0.3, 0.3, n) / fs
    return t, xy[0], xy[1]


def time_call(fn, repeats: int) -> dict:
    """Wall-clock and CPU time per call. CPU time (this process only) is what the code costs;
    wall time also includes waiting for the CPU when other work shares the machine."""
    fn()
    wall = np.empty(repeats)
    cpu = np.empty(repeats)
    for i in range(repeats):
        a, c = time.perf_counter(), time.process_time()
        fn()
        wall[i] = time.perf_counter() - a
        cpu[i] = time.process_time() - c
    return {"median_ms": float(np.median(wall) * 1e3),
            "p95_ms": float(np.percentile(wall, 95) * 1e3),
            "min_ms": float(wall.min() * 1e3),
            "cpu_median_ms": float(np.median(cpu) * 1e3), "repeats": repeats}


def run_timings() -> list[dict]:
    rows = []
    cases = [("1 h", 3600.0, 40, False), ("30 s", 30.0, 500, False),
             ("1 h", 3600.0, 20, True)]
    for label, dur, repeats, jitter in cases:
        t, x, y = synthetic_sway(dur, jitter=jitter)
        for name, cfg in (("unfiltered", NO_FILTER), ("filtered", AnalysisSettings())):
            r = time_call(lambda t=t, x=x, y=y, cfg=cfg: sway_metrics(t, x, y, cfg), repeats)
            r.update(case=label + (" jittered timestamps" if jitter else ""), samples=t.size,
                     settings=name, budget_ms=None if jitter else BUDGET_MS[label])
            rows.append(r)
    return rows


def load_reference():
    d = np.genfromtxt(REFERENCE, delimiter=",", skip_header=1)
    return d[:, 0] / 100.0, d[:, 7] * 10.0, d[:, 8] * 10.0


def run_reference() -> dict:
    t, x, y = load_reference()
    out = {"file": str(REFERENCE), "samples": int(t.size), "cases": {}}
    for name, cfg in (("unfiltered", NO_FILTER), ("filtered", AnalysisSettings())):
        m = sway_metrics(t, x, y, cfg)
        p = prepare(t, x, y, cfg)
        slow = reference_sway(p.x_mm, p.y_mm, p.fs_hz)
        worst = max(abs(m.values()[k] - v) / max(abs(v), 1e-300) for k, v in slow.items()
                    if v != 0)
        out["cases"][name] = {"settings": cfg.describe(), "metrics": m.values(),
                              "max_rel_diff_vs_plain_loop": worst}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", action="store_true", help="metrics on the reference file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.reference:
        res = run_reference()
        if args.json:
            print(json.dumps(res, indent=2))
            return 0
        u, f = res["cases"]["unfiltered"], res["cases"]["filtered"]
        print(f"{res['file']} ({res['samples']} samples, COP cm -> mm)")
        print(f"| metric | unfiltered | {f['settings']} | change |")
        print("|---|---:|---:|---:|")
        for k, v in u["metrics"].items():
            fv = f["metrics"][k]
            ch = f"{100 * (fv - v) / v:+.2f} %" if v else ""
            print(f"| {k} | {v:.4g} | {fv:.4g} | {ch} |")
        print(f"max relative difference vs plain-loop implementation: unfiltered "
              f"{u['max_rel_diff_vs_plain_loop']:.1e}, filtered "
              f"{f['max_rel_diff_vs_plain_loop']:.1e}")
        return 0
    rows = run_timings()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {load} "
          "(other work on the machine inflates the p95)")
    print("| case | samples | settings | median ms | p95 ms | min ms | CPU median ms | repeats "
          "| budget ms |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        b = r["budget_ms"]
        budget = "" if b is None else (
            f"{b:g} (wall {'ok' if r['median_ms'] <= b else 'OVER'}, "
            f"CPU {'ok' if r['cpu_median_ms'] <= b else 'OVER'})")
        print(f"| {r['case']} | {r['samples']} | {r['settings']} | {r['median_ms']:.2f} | "
              f"{r['p95_ms']:.2f} | {r['min_ms']:.2f} | {r['cpu_median_ms']:.2f} | {r['repeats']} | {budget} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
