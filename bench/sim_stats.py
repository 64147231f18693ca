"""Sway statistics of the virtual athlete next to the target ranges and a real recording.

Run: PYTHONPATH=app .venv/bin/python bench/sim_stats.py [--seeds 10]
Metrics (computed here, independently of stancelab.analysis): 95 % prediction ellipse area with
the F-based form, mean velocity = path / ((n-1)/fs), mean frequency = v / (2 pi mean distance);
COP sampled at 80 Hz, no filter.
"""

from __future__ import annotations

import argparse
import math
import pathlib

import numpy as np
from scipy import stats

from stancelab.board import protocol
from stancelab.board.virtual import VirtualBoard
from stancelab.sim import athlete as athlete_module
from stancelab.sim.athlete import VirtualAthlete

# (stance, eyes, seconds): target ranges, see docs/simulator.md
TARGETS = {
    ("both", "open", 60): {"area": (50, 400), "v": (5, 15), "mf": (0.2, 0.7)},
    ("both", "closed", 60): {"area": (80, 700), "v": (7, 25), "mf": (0.2, 0.8)},
    ("left", "open", 30): {"area": (250, 1500), "v": (20, 55), "mf": (0.5, 1.6)},
    ("left", "closed", 30): {"area": (800, 5000), "v": (45, 130), "mf": (0.6, 2.0)},
}
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "hbedb_BDS00001.csv"


def sway_metrics(x_mm, y_mm, fs):
    x = np.asarray(x_mm) - np.mean(x_mm)
    y = np.asarray(y_mm) - np.mean(y_mm)
    n = len(x)
    lam = np.linalg.eigvalsh(np.cov(x, y))
    area = np.pi * np.sqrt(lam[0] * lam[1]) * 2 * (n - 1) * (n + 1) / (n * (n - 2)) \
        * stats.f.ppf(0.95, 2, n - 2)
    v = np.hypot(np.diff(x), np.diff(y)).sum() / ((n - 1) / fs)
    return {"area": area, "v": v, "mf": v / (2 * np.pi * np.hypot(x, y).mean())}


def athlete_metrics(stance, eyes, seconds, seed, weakness=None, fs=80.0):
    a = VirtualAthlete(stance=stance, eyes=eyes, seed=seed, weakness=weakness,
                       touchdowns_per_min=0.0)
    t = 5.0 + np.arange(int(seconds * fs)) / fs
    cop = a.cop_mm(t)
    return sway_metrics(cop[:, 0], cop[:, 1], fs)


def unbounded_metrics(stance, eyes, seconds, seed, weakness=None):
    """The same sway with the base-of-support bounds switched off, to show what they change."""
    saved = athlete_module.SOFT_LIMIT_KNEE, athlete_module.SWAY_CUT_AT_LIMIT
    athlete_module.SOFT_LIMIT_KNEE, athlete_module.SWAY_CUT_AT_LIMIT = math.inf, 0.0
    try:
        return athlete_metrics(stance, eyes, seconds, seed, weakness)
    finally:
        athlete_module.SOFT_LIMIT_KNEE, athlete_module.SWAY_CUT_AT_LIMIT = saved


def clock_excursions(leg, seed, weakness, hold_s=4.0, fs=80.0):
    """Lean toward each clock target at 100 % of the edge, hold 4 s, return to the centre; the
    largest COP excursion along each direction as % of the foot's edge distance (truth COP)."""
    a = VirtualAthlete(stance=leg, weakness=weakness, seed=seed, touchdowns_per_min=0.0)
    foot = a.feet[leg]
    t, out = 2.0, {}
    for hour, x, y in foot.clock_targets(1.0):
        plan = a.lean_to((x, y), t)
        ts = np.arange(plan.start_s, plan.end_s + hold_s, 1 / fs)
        angle = foot.clock_angle(hour)
        along = a.cop_mm(ts) @ np.array([math.cos(angle), math.sin(angle)])
        out[hour] = 100 * along.max() / foot.edge_distance(angle)
        t = a.lean_to(None, ts[-1]).end_s + 1.0
    return out


def through_the_board(seed):
    """Sway measured from decoded counts (HX711 noise, gains +-1 %) against the athlete's truth."""
    from stancelab.board.simulated import SimulatedBoard
    from stancelab.calibration import cop_from_forces, default_calibration, tare

    athlete = VirtualAthlete(stance="off", seed=seed, touchdowns_per_min=0.0)
    sim = SimulatedBoard(athlete, realtime=False, seed=seed)
    sim.open()
    cal = tare(default_calibration(), np.array([q.counts for q in sim.run_for(3.0)], float))
    sim.set_stance("both")
    sim.run_for(5.0)
    samples = sim.run_for(60.0)
    sim.close()
    _, x, y = cop_from_forces(cal.forces_n(np.array([q.counts for q in samples], float)))
    truth = athlete.cop_mm(sim.board.true_time_s(np.array([q.t_s for q in samples])))
    return sway_metrics(x, y, 80.0), sway_metrics(truth[:, 0], truth[:, 1], 80.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--hour", action="store_true",
                    help="also time one hour of athlete + virtual board bytes")
    args = ap.parse_args()
    if args.hour:
        import time

        board = VirtualBoard(VirtualAthlete(history_s=10), seed=0)
        board.boot()
        board.receive(protocol.cmd_start())
        t0 = time.perf_counter()
        n = 0
        for _ in range(60):
            n += len(board.advance(60.0)) // 26
        print(f"one hour at 80 SPS: {n} frames generated and encoded in "
              f"{time.perf_counter() - t0:.2f} s (athlete + HX711 model + encoder)")
    print(f"{'condition':<22}{'area mm2':>22}{'v mm/s':>20}{'mf Hz':>18}   (median [min-max] over "
          f"{args.seeds} seeds; target range)")
    for (stance, eyes, seconds), target in TARGETS.items():
        ms = [athlete_metrics(stance, eyes, seconds, s) for s in range(args.seeds)]
        row = f"{stance + ' ' + eyes + f' {seconds}s':<22}"
        for k in ("area", "v", "mf"):
            vals = np.array([m[k] for m in ms])
            row += f"{np.median(vals):.3g} [{vals.min():.3g}-{vals.max():.3g}]".rjust(22)
        print(row + "   " + ", ".join(f"{k} {lo}-{hi}" for k, (lo, hi) in target.items()))
    for side in ("left", "right"):
        ms = [athlete_metrics(side, "open", 30, s, weakness={"left": 0.3}) for s in
              range(args.seeds)]
        print(f"single {side:<5} open, left weakness 0.3: median area "
              f"{np.median([m['area'] for m in ms]):.0f} mm2, v {np.median([m['v'] for m in ms]):.1f}"
              " mm/s")
    changes = []
    for seed in range(args.seeds):
        b = athlete_metrics("left", "closed", 30, seed, {"left": 0.3})
        f = unbounded_metrics("left", "closed", 30, seed, {"left": 0.3})
        changes.append([100 * (b[k] / f[k] - 1) for k in ("area", "v", "mf")])
    worst = np.abs(np.array(changes)).max(axis=0)
    print("base-of-support bounds vs none, single-leg eyes closed, weak leg 0.3 (largest sway): "
          f"largest change over seeds: area {worst[0]:.2f} %, v {worst[1]:.2f} %, mf "
          f"{worst[2]:.2f} %")
    strong = np.array([[clock_excursions("right", s, {"left": 0.4})[h] for h in range(1, 13)]
                       for s in range(args.seeds)])
    weak = np.array([[clock_excursions("left", s, {"left": 0.4})[h] for h in range(1, 13)]
                     for s in range(args.seeds)])
    print(f"clock, 100 % targets, hold 4 s, left weakness 0.4 ({args.seeds} seeds): max excursion "
          "% of edge, median strong (right) / weak (left) per hour:")
    print("  " + "  ".join(f"{h}: {np.median(strong[:, h - 1]):.0f}/{np.median(weak[:, h - 1]):.0f}"
                           for h in range(1, 13)))
    print(f"  strong > weak in {np.count_nonzero(strong > weak)} of {strong.size} "
          f"(seed, hour) pairs; largest excursion {max(strong.max(), weak.max()):.1f} %; mean "
          f"strong {strong.mean():.1f} %, weak {weak.mean():.1f} %")
    for seed in range(3):
        board_m, truth_m = through_the_board(seed)
        print(f"through the board (seed {seed}, two-leg open 60 s, tare + nominal gains): area "
              f"{board_m['area']:.1f} vs truth {truth_m['area']:.1f} mm2, v {board_m['v']:.2f} vs "
              f"{truth_m['v']:.2f} mm/s")
    if REFERENCE.exists():
        d = np.genfromtxt(REFERENCE, delimiter=",", skip_header=1)
        m = sway_metrics(d[:, 7] * 10, d[:, 8] * 10, 100.0)
        print(f"reference {REFERENCE.name} (two-leg, eyes open, 60 s, 100 Hz): area "
              f"{m['area']:.0f} mm2, v {m['v']:.1f} mm/s, mf {m['mf']:.2f} Hz")


if __name__ == "__main__":
    main()
