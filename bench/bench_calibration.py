"""COP accuracy of the simulated measurement chain after calibration, and its noise floor.

Chain: static loads -> VirtualBoard (HX711 counts with per-cell gain spread, offsets, noise,
drift) -> protocol bytes -> Decoder -> the calibration procedure every front end runs
(stancelab.station.calibrate: tare, 20 kg at the 5 marks, least-squares gains, verdict) ->
70 kg placed over a grid covering the central 80 % of the area the cells span.

    python bench/bench_calibration.py [--grid 9] [--hold 1.0] [--seed 0]

--hold is the averaging per grid point; the calibration's own timings are the procedure's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from stancelab import calibration as cal
from stancelab.geometry import G
from stancelab.sim.factory import Rig, point_load
from stancelab.station.calibrations import calibrate_on_rig


def run(grid: int = 9, hold_s: float = 1.0, seed: int = 0) -> dict:
    rig = Rig(seed)
    geom = rig.geom
    verdict = calibrate_on_rig(rig)
    c = verdict.calibration

    w, d = geom.span_mm()
    xs = np.linspace(-0.4 * w, 0.4 * w, grid)
    ys = np.linspace(-0.4 * d, 0.4 * d, grid)
    cop_err, load_err = np.zeros((grid, grid)), np.zeros((grid, grid))
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            rig.loads = point_load(geom, 70.0, x, y)
            counts = rig.hold(hold_s)
            total, cx, cy = cal.cop_from_forces(c.forces_n(counts.mean(axis=0)[None]), geom)
            cop_err[j, i] = np.hypot(cx[0] - x, cy[0] - y)
            load_err[j, i] = (total[0] - 70.0 * G) / (70.0 * G) * 100

    rig.loads = point_load(geom, 70.0, 0, 0)
    counts = rig.hold(10.0)
    _, nx, ny = cal.cop_from_forces(c.forces_n(counts), geom)
    return {
        "grid": f"{grid}x{grid} over x +-{0.4 * w:.0f} mm, y +-{0.4 * d:.0f} mm",
        "hold_s": hold_s,
        "cop_error_mm": {"max": float(cop_err.max()), "mean": float(cop_err.mean()),
                         "p95": float(np.percentile(cop_err, 95))},
        "load_error_pct": {"max_abs": float(np.abs(load_err).max()),
                           "mean": float(load_err.mean())},
        "fitted_gain_change_pct": [round(v * 100, 3) for v in verdict.gain_change],
        "noise_floor_70kg": {"cop_sd_x_mm": float(np.std(nx, ddof=1)),
                             "cop_sd_y_mm": float(np.std(ny, ddof=1)),
                             "samples": len(nx)},
        "cop_error_map_mm": np.round(cop_err, 3).tolist(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=9)
    ap.add_argument("--hold", type=float, default=1.0, help="seconds averaged per placement")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.grid, a.hold, a.seed)
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"COP accuracy after calibration, 70 kg, {r['grid']}, {a.hold:g} s per point")
    e = r["cop_error_mm"]
    print(f"  COP error mm: max {e['max']:.3f}  p95 {e['p95']:.3f}  mean {e['mean']:.3f}"
          f"   (target max <= 1 mm)")
    le = r["load_error_pct"]
    print(f"  total load error %: max |{le['max_abs']:.4f}|  mean {le['mean']:+.4f}"
          f"   (target <= 0.2 %)")
    print(f"  fitted gain change vs nominal %: {r['fitted_gain_change_pct']}")
    nf = r["noise_floor_70kg"]
    print(f"  noise floor at 70 kg (unfiltered, {nf['samples']} samples): "
          f"SD x {nf['cop_sd_x_mm']:.4f} mm, SD y {nf['cop_sd_y_mm']:.4f} mm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
