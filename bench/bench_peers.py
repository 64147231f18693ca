"""The whole sway metric set against micromotion and openbalance, same arrays, same run.

    .venv/bin/python bench/bench_peers.py [--quick] [--json]

Data: the shipped real recording (tests/data/hbedb_BDS00001.csv, 60 s at 100 Hz, COP cm -> mm)
linearly resampled to 80 Hz; the 1 h case tiles it forward/backward alternately (no jumps at the
seams) to 288,000 samples, the 30 s case is its first 2,400 samples. Every side gets the same
float64 arrays (t in s, x/y in mm) and the same timestamps.

What each side computes (its whole per-trial metric call):
- stancelab: ``sway_metrics(t, x, y, settings)`` -- checks, preprocessing, filter (default
  Butterworth order 2, 10 Hz, forward-backward, or NO_FILTER), ellipse, hull, path, velocity,
  RMS, ranges, MDIST, MFREQ, sway area per second, means.
- micromotion: ``micromotion.balance.cop_sway_metrics(xy, t=t)`` (path, rate, ellipse, ranges,
  SDs, Welch mean frequencies; no filter, no hull) and the same plus ``convex_hull_area``.
- openbalance: a ``Trial`` with the COP set, ``calculate_path_length`` +
  ``calculate_sway_areas`` (hull, ellipse, Prieto circle); "filtered" adds
  ``apply_lowpass_filter(cutoff 10 Hz, order 2)`` on the COP columns, the same filter as ours.

Timing: each repeat runs every side once, in turn (interleaved, so load on the shared machine
hits all sides alike); one warm-up round first. Reported: median and p95 of wall time
(perf_counter), median CPU time of this process (process_time), and ratios of medians
(theirs / ours: > 1 means StanceLab is faster). BLAS/OpenMP pools are pinned to one thread for
every side (OMP/OPENBLAS/MKL_NUM_THREADS=1, set before numpy loads).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import pathlib
import sys
import time

import numpy as np
from scipy.stats import chi2

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from stancelab.analysis import NO_FILTER, AnalysisSettings, sway_metrics

REFERENCE = pathlib.Path(os.environ.get("STANCELAB_REFERENCE_CSV",
                                        str(ROOT / "tests" / "data" / "hbedb_BDS00001.csv")))
FS = 80.0
TARGET_MS = {"1 h": 70.0, "30 s": 1.5}
TARGET_RATIO = 2.0  # micromotion / stancelab on the 1 h case


def load_arrays():
    """Reference COP at 80 Hz: (t, x, y) for 1 h and 30 s."""
    d = np.genfromtxt(REFERENCE, delimiter=",", skip_header=1)
    t0, x0, y0 = d[:, 0] / 100.0, d[:, 7] * 10.0, d[:, 8] * 10.0
    tu = np.arange(0.0, t0[-1] - t0[0], 1.0 / FS) + t0[0]
    x, y = np.interp(tu, t0, x0), np.interp(tu, t0, y0)
    reps = int(np.ceil(288_000 / x.size))
    xs = np.concatenate([x if i % 2 == 0 else x[::-1] for i in range(reps)])[:288_000]
    ys = np.concatenate([y if i % 2 == 0 else y[::-1] for i in range(reps)])[:288_000]
    hour = (np.arange(288_000) / FS, np.ascontiguousarray(xs), np.ascontiguousarray(ys))
    n30 = int(30 * FS)
    trial = (np.arange(n30) / FS, x[:n30].copy(), y[:n30].copy())
    return {"1 h": hour, "30 s": trial}


def peers() -> tuple[dict, dict]:
    """Import the peers; a missing one is reported, not fatal."""
    found, problems = {}, {}
    try:
        from micromotion.balance import convex_hull_area, cop_sway_metrics

        found["micromotion"] = (cop_sway_metrics, convex_hull_area)
    except Exception as e:  # noqa: BLE001 - any import failure is a finding to report
        problems["micromotion"] = f"{type(e).__name__}: {e}"
    try:
        from openbalance import Trial
        from openbalance.processing import filters as ob_filters
        from openbalance.processing import kinematics as ob_kin

        found["openbalance"] = (Trial, ob_filters, ob_kin)
    except Exception as e:  # noqa: BLE001
        problems["openbalance"] = f"{type(e).__name__}: {e}"
    return found, problems


def make_calls(found: dict, t, x, y) -> dict:
    """name -> zero-argument callable returning that side's result, all on the same arrays."""
    xy = np.column_stack([x, y])
    filtered = AnalysisSettings()
    calls = {
        "stancelab (filtered, default)": lambda: sway_metrics(t, x, y, filtered),
        "stancelab (no filter)": lambda: sway_metrics(t, x, y, NO_FILTER),
    }
    if "micromotion" in found:
        mm_sway, mm_hull = found["micromotion"]
        calls["micromotion cop_sway_metrics"] = lambda: mm_sway(xy, t=t)
        calls["micromotion cop_sway_metrics + convex_hull_area"] = (
            lambda: (mm_sway(xy, t=t), mm_hull(xy)))
    if "openbalance" in found:
        trial_cls, ob_filters, ob_kin = found["openbalance"]

        def ob(filter_on: bool):
            tr = trial_cls(xy, FS, ["COP_x", "COP_y"])
            if filter_on:
                ob_filters.apply_lowpass_filter(tr, cutoff_freq=10.0, order=2)
                tr.parameters["COP_x"] = tr.filtered_data[:, 0]
                tr.parameters["COP_y"] = tr.filtered_data[:, 1]
            else:
                tr.parameters["COP_x"], tr.parameters["COP_y"] = x, y
            ob_kin.calculate_path_length(tr)
            ob_kin.calculate_sway_areas(tr)
            return tr.parameters

        calls["openbalance (no filter)"] = lambda: ob(False)
        calls["openbalance (filtered 10 Hz, order 2)"] = lambda: ob(True)
    return calls


def time_interleaved(calls: dict, repeats: int) -> dict:
    for fn in calls.values():  # warm-up round
        fn()
    wall = {k: np.empty(repeats) for k in calls}
    cpu = {k: np.empty(repeats) for k in calls}
    for i in range(repeats):
        for k, fn in calls.items():
            a, c = time.perf_counter(), time.process_time()
            fn()
            wall[k][i] = time.perf_counter() - a
            cpu[k][i] = time.process_time() - c
    return {k: {"median_ms": float(np.median(wall[k]) * 1e3),
                "p95_ms": float(np.percentile(wall[k], 95) * 1e3),
                "min_ms": float(wall[k].min() * 1e3),
                "cpu_median_ms": float(np.median(cpu[k]) * 1e3),
                "repeats": repeats} for k in calls}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def agreement(found: dict, t, x, y) -> list[dict]:
    """Overlapping metrics, unfiltered, converted to one convention where they differ."""
    ours = sway_metrics(t, x, y, NO_FILTER).values()
    n = int(ours["n_samples"])
    from stancelab.analysis.sway import prediction_factor

    chi = float(chi2.ppf(0.95, 2))
    c = prediction_factor(n)
    sd = np.sqrt(n / (n - 1))  # ours: n denominator; theirs: n - 1
    rows = []

    def add(metric, peer, our_value, their_value, convention):
        rows.append({"metric": metric, "peer": peer, "stancelab": our_value,
                     "peer_value": their_value, "rel_diff": _rel(our_value, their_value),
                     "convention": convention})

    xy = np.column_stack([x, y])
    if "micromotion" in found:
        mm_sway, mm_hull = found["micromotion"]
        m = mm_sway(xy, t=t)
        add("path length mm", "micromotion", ours["path_length_mm"], m["path_len"], "same")
        add("mean velocity mm/s", "micromotion", ours["mean_velocity_mm_s"], m["path_rate"],
            "same: path / (t[-1] - t[0]) = path / ((n-1)/fs)")
        add("range ML mm", "micromotion", ours["range_ml_mm"], m["ml_range"], "same")
        add("range AP mm", "micromotion", ours["range_ap_mm"], m["ap_range"], "same")
        add("SD ML mm", "micromotion", ours["rms_ml_mm"] * sd, m["ml_sd"],
            "ours rms_ml (n) x sqrt(n/(n-1)) vs theirs SD (n-1)")
        add("SD AP mm", "micromotion", ours["rms_ap_mm"] * sd, m["ap_sd"],
            "ours rms_ap (n) x sqrt(n/(n-1)) vs theirs SD (n-1)")
        add("95 % ellipse area mm^2", "micromotion", ours["ellipse95_area_mm2"] * chi / c,
            m["area95"], f"ours prediction ellipse (F-based c={c:.4f}) x chi2_0.95(2)/c "
            f"= {chi / c:.5f} vs theirs chi2 (cov n-1)")
        add("hull area mm^2", "micromotion", ours["hull_area_mm2"], mm_hull(xy), "same")
        rows.append({"metric": "mean frequency Hz", "peer": "micromotion",
                     "stancelab": ours["mean_frequency_hz"], "peer_value": m["mf_mean"],
                     "rel_diff": None,
                     "convention": "not comparable: ours Prieto MFREQ = v/(2 pi MDIST); theirs "
                                   "power-weighted mean of a Welch spectrum, 0.1-5 Hz, per axis"})
    if "openbalance" in found:
        trial_cls, _, ob_kin = found["openbalance"]
        tr = trial_cls(xy, FS, ["COP_x", "COP_y"])
        tr.parameters["COP_x"], tr.parameters["COP_y"] = x, y
        ob_kin.calculate_path_length(tr)
        ob_kin.calculate_sway_areas(tr)
        p = tr.parameters
        add("path length mm", "openbalance", ours["path_length_mm"], float(p["Path_Length"]),
            "same")
        add("95 % ellipse area mm^2", "openbalance", ours["ellipse95_area_mm2"] * chi / c,
            float(p["Area_Ellipse"]), "ours x chi2/c as above vs theirs chi2 (cov n-1), "
            "which they call a prediction ellipse")
        add("hull area mm^2", "openbalance", ours["hull_area_mm2"], float(p["Area_Hull"]),
            "same")
        # Filtered path: the same Butterworth (order 2, 10 Hz, forward-backward) on both sides.
        fo = sway_metrics(t, x, y, AnalysisSettings()).values()
        trf = trial_cls(xy, FS, ["COP_x", "COP_y"])
        found["openbalance"][1].apply_lowpass_filter(trf, cutoff_freq=10.0, order=2)
        trf.parameters["COP_x"], trf.parameters["COP_y"] = (trf.filtered_data[:, 0],
                                                            trf.filtered_data[:, 1])
        ob_kin.calculate_path_length(trf)
        add("path length mm, filtered", "openbalance", fo["path_length_mm"],
            float(trf.parameters["Path_Length"]),
            "ours sosfiltfilt-equivalent vs their filtfilt (b, a), both odd-extension pad 9")
    return rows


def run(quick: bool = False) -> dict:
    found, problems = peers()
    data = load_arrays()
    out = {"data": f"{REFERENCE.name} resampled to 80 Hz; 1 h = 288,000 samples "
                   "(forward/backward tiles), 30 s = 2,400 samples",
           "threads": "OMP/OPENBLAS/MKL/NUMEXPR_NUM_THREADS=1",
           "peers": {k: _version(k) for k in found}, "peer_problems": problems,
           "cases": {}, "agreement": {}}
    repeats = {"1 h": 5 if quick else 30, "30 s": 50 if quick else 400}
    for case, (t, x, y) in data.items():
        timings = time_interleaved(make_calls(found, t, x, y), repeats[case])
        ours = timings["stancelab (filtered, default)"]
        ours_nf = timings["stancelab (no filter)"]
        for k, r in timings.items():
            if not k.startswith("stancelab"):
                r["ratio_vs_stancelab_filtered"] = r["median_ms"] / ours["median_ms"]
                r["ratio_vs_stancelab_no_filter"] = r["median_ms"] / ours_nf["median_ms"]
                r["cpu_ratio_vs_stancelab_filtered"] = (r["cpu_median_ms"]
                                                        / ours["cpu_median_ms"])
        out["cases"][case] = {"samples": int(t.size), "target_ms": TARGET_MS[case],
                              "timings": timings}
        out["agreement"][case] = agreement(found, t, x, y)
    return out


def _version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke run)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.quick)
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"data: {r['data']}; {r['threads']}; peers {r['peers']}")
    for k, v in r["peer_problems"].items():
        print(f"  {k} not compared: {v}")
    for case, c in r["cases"].items():
        print(f"\n{case} ({c['samples']} samples), target <= {c['target_ms']:g} ms")
        print("| implementation | median ms | p95 ms | min ms | CPU median ms | "
              "theirs / ours (filtered) | theirs / ours (no filter) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for k, t in c["timings"].items():
            r1 = t.get("ratio_vs_stancelab_filtered")
            r2 = t.get("ratio_vs_stancelab_no_filter")
            print(f"| {k} | {t['median_ms']:.3f} | {t['p95_ms']:.3f} | {t['min_ms']:.3f} | "
                  f"{t['cpu_median_ms']:.3f} | {'' if r1 is None else f'{r1:.2f}x'} | "
                  f"{'' if r2 is None else f'{r2:.2f}x'} |")
        print("agreement (unfiltered unless said):")
        for g in r["agreement"][case]:
            d = "n/a" if g["rel_diff"] is None else f"{g['rel_diff']:.1e}"
            print(f"  {g['metric']:<28} {g['peer']:<12} ours {g['stancelab']:.6g}  theirs "
                  f"{g['peer_value']:.6g}  rel diff {d}  ({g['convention']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
