"""Sway statistics of the virtual athlete next to the target ranges and a real recording.

Run: PYTHONPATH=app .venv/bin/python bench/sim_stats.py [--seeds 10]
The "trials" lines (step-on time to stabilisation, trial-to-trial CV, left/right of a symmetric
athlete, learning) run single-leg trials as the drill does (step on, 4 s lead-in, 30 s hold)
through stancelab.analysis.single_leg with its default settings.
Metrics: stancelab.analysis.sway_metrics without the low-pass filter (95 % prediction ellipse
area, mean velocity, mean frequency; docs/metrics.md); COP sampled at 80 Hz. The test suite checks
the same ranges with a small independent implementation (tests/test_sim_athlete.py).
"""

from __future__ import annotations

import argparse
import math
import pathlib

import numpy as np

from stancelab.analysis import NO_FILTER
from stancelab.analysis import sway_metrics as analysis_sway_metrics
from stancelab.board import protocol
from stancelab.sim import athlete as athlete_module
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.athlete_stats import (
    CV_RANGE_PCT,
    TARGET_RANGES,
    TTS_RANGE_S,
    clock_excursions_pct,
    cv_pct,
    single_leg_trials,
)
from stancelab.sim.trials import learning_factor
from stancelab.sim.virtual_board import VirtualBoard

# (stance, eyes, seconds): target ranges, see docs/simulator.md; the report adds eyes-closed
# single-leg on the left.
TARGETS = {**TARGET_RANGES,
           ("left", "closed", 30): TARGET_RANGES[("right", "closed", 30)]}
TARGETS.pop(("right", "closed", 30))
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "hbedb_BDS00001.csv"


def sway_metrics(x_mm, y_mm, fs):
    t = np.arange(len(x_mm)) / fs
    m = analysis_sway_metrics(t, np.asarray(x_mm, float), np.asarray(y_mm, float), NO_FILTER)
    return {"area": m.ellipse95_area_mm2, "v": m.mean_velocity_mm_s, "mf": m.mean_frequency_hz}


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


def through_the_board(seed):
    """Sway measured from decoded counts (HX711 noise, gains +-1 %) against the athlete's truth."""
    from stancelab.calibration import cop_from_forces, default_calibration, tare
    from stancelab.sim.simulated_board import SimulatedBoard

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


def _q(vals) -> str:
    v = np.asarray(vals, float)
    return (f"median {np.median(v):.3g} [p10 {np.percentile(v, 10):.3g} - p90 "
            f"{np.percentile(v, 90):.3g}], min {v.min():.3g}, max {v.max():.3g}")


def trial_stats(seeds: int, n_trials: int = 5) -> None:
    """The per-trial model (sim/trials.py) through the project's single-leg analysis."""
    print(f"trials ({seeds} seeds x {n_trials} trials per leg, eyes open, 30 s hold, no "
          "touchdowns; stancelab.analysis.single_leg defaults):")
    for label, weak in (("healthy", None), ("weak 0.3", {"left": 0.3})):
        runs = [single_leg_trials("left", s, n_trials, weakness=weak) for s in range(seeds)]
        tts = [m.time_to_stabilisation_s for ms in runs for m in ms]
        print(f"  time to stabilisation, {label} leg: {_q(tts)} s; zero in "
              f"{sum(t == 0 for t in tts)}/{len(tts)} trials   (stated range {TTS_RANGE_S[0]}-"
              f"{TTS_RANGE_S[1]} s; published 1.5-2.0 s after single-leg landings, Ross et al. "
              "2008, Gribble et al. 2012; longer on unstable ankles)")
        for key in CV_RANGE_PCT:
            cvs = [cv_pct([getattr(m.sway, key) for m in ms]) for ms in runs]
            lo, hi = CV_RANGE_PCT[key]
            print(f"  trial-to-trial CV of {key}, {label} leg: {_q(cvs)} %   (stated range "
                  f"{lo:g}-{hi:g} %; published velocity CV 7-13 % inter-trial/inter-test, "
                  "J Sports Sci Med 2018;17:174)")
    ratios = []
    for s in range(seeds):
        lv = np.mean([m.sway.mean_velocity_mm_s for m in single_leg_trials("left", s, 3)])
        rv = np.mean([m.sway.mean_velocity_mm_s for m in single_leg_trials("right", s, 3)])
        ratios.append(lv / rv)
    print(f"  symmetric athlete, 3 trials per leg: left/right mean velocity {_q(ratios)}; left "
          f"higher in {sum(r > 1 for r in ratios)}/{seeds} seeds")
    for leg in ("left",):
        base = None
        for k in (0, 1, 4, 8, 24):
            v = np.mean([m.sway.mean_velocity_mm_s for s in range(seeds)
                         for m in single_leg_trials(leg, s, 3, sessions_trained=k)])
            base = base or v
            print(f"  learning: sessions_trained={k:>2}: mean velocity {v:.1f} mm/s "
                  f"({100 * (v / base - 1):+.1f} %; model {100 * (learning_factor(k) - 1):+.1f} %)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--hour", action="store_true",
                    help="also time one hour of athlete + virtual board bytes")
    ap.add_argument("--trials-only", action="store_true",
                    help="only the per-trial statistics (transient, CV, learning)")
    args = ap.parse_args()
    trial_stats(args.seeds)
    if args.trials_only:
        return
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
    strong = np.array([[clock_excursions_pct("right", s, {"left": 0.4})[h] for h in range(1, 13)]
                       for s in range(args.seeds)])
    weak = np.array([[clock_excursions_pct("left", s, {"left": 0.4})[h] for h in range(1, 13)]
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
