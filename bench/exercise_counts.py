"""How well reps are counted: whole simulated sets, counted reps against the simulated truth.

    PYTHONPATH=app python bench/exercise_counts.py [--seeds 5] [--reps 10]

Clean sets (every rep full, no touchdown) and imperfect ones (partial reps 30 %, touchdowns in
30 % of the holds); prints per exercise the share of sets counted exactly and the share of
imperfect reps classified right (docs/exercises.md quotes this output).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_exercises_sim import run


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--reps", type=int, default=10)
    args = p.parse_args()
    for kind in ("squat", "rdl", "step-up"):
        exact = 0
        right = total = ok_sum = err_sum = bad_sum = 0
        for seed in range(args.seeds):
            ex, perf = run(kind, "left", reps=args.reps, seed=100 + seed)
            m = ex.results[0].metrics
            exact += m["reps_counted"] == len(perf.truth)
            ex, perf = run(kind, "left", reps=args.reps, seed=200 + seed, partial_rate=0.3,
                           touchdown_rate=0.3)
            m = ex.results[0].metrics
            # squat / RDL: a touchdown in the hold shortens the balance, the rep counts;
            # one during the movement (or any in a step-up, whose hold is the rep) does not
            truth_ok = sum(not r.partial and (r.touchdown is None or (
                kind != "step-up" and r.where == "hold")) for r in perf.truth)
            total += 1
            right += m["reps_counted"] == truth_ok
            ok_sum += truth_ok
            err_sum += abs(m["reps_counted"] - truth_ok)
            bad_sum += len(perf.truth) - truth_ok
        print(f"{kind:8} clean sets counted exactly {exact}/{args.seeds}; imperfect sets "
              f"with reps_counted = truth {right}/{total} (|counted - truth| summed: "
              f"{err_sum} over {ok_sum} reps that count and {bad_sum} that do not)")


if __name__ == "__main__":
    main()
