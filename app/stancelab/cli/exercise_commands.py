"""`stancelab run-exercise`: the programme's strength exercises on the board, from a terminal.

``register(sub)`` adds the sub-command to the main parser (cli/main.py). Same board words as
`run-drill`; the simulated athlete performs the sets itself.
"""

from __future__ import annotations

import json
import math
import sys

from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.exercises.settings import KINDS, TITLES, for_athlete
from stancelab.station.choice import BoardChoice


def register(sub) -> None:
    sp = sub.add_parser("run-exercise", help="count the reps of a strength exercise on one leg")
    sp.add_argument("exercise", choices=KINDS, help="one-leg squat, one-leg Romanian deadlift "
                    "with knee drive, or step-up to balance")
    add_source_args(sp)
    sp.add_argument("--leg", choices=("left", "right"), required=True, help="stance leg")
    sp.add_argument("--athlete", metavar="NAME", default="Demo athlete",
                    help="athlete name; created if new (default: 'Demo athlete')")
    sp.add_argument("--reps", type=int, metavar="N", help="reps per set (squat/RDL 10, "
                    "step-up 6)")
    sp.add_argument("--sets", type=int, metavar="N", help="sets (squat/RDL 3, step-up 1)")
    sp.add_argument("--hold", type=float, metavar="S", help="balance to hold after each rep")
    sp.add_argument("--rest", type=float, metavar="S", help="rest between sets (30)")
    sp.add_argument("--fast", action="store_true",
                    help="simulated board: run faster than real time (the athlete is simulated)")
    sp.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    sp.set_defaults(func=run_exercise_command)


def _n(v, unit="", digits=1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"


def run_exercise_command(args) -> int:
    from stancelab.cli.render import TextRenderer
    from stancelab.exercises import Exercise
    from stancelab.station.exercise_run import ExerciseRun

    if args.fast and args.port:
        raise UserError("--fast works with --simulate only, not with a real board")
    store = open_store()
    try:
        athlete = store.get_or_add_athlete(args.athlete)
        a_settings = dict(athlete.settings)
        try:
            s = for_athlete(args.exercise, a_settings, leg=args.leg, reps=args.reps,
                            sets=args.sets, hold_s=args.hold, rest_s=args.rest)
        except ValueError as e:
            raise UserError(f"{e}; see `stancelab run-exercise --help`") from None
        sim = None
        if not (args.port or getattr(args, "gpio", None)):
            from stancelab.sim.exercises import ExercisePerformer

            choice = BoardChoice.from_args(args)
            sim = ExercisePerformer(choice.simulated_athlete(
                stance="off", foot_length_mm=float(a_settings.get("foot_length_mm") or 265.0),
                mass_kg=float(a_settings.get("body_mass_kg") or 70.0)), seed=choice.seed)
        src = open_source(args, realtime=not args.fast, athlete=sim)
        out = sys.stderr if args.json else sys.stdout
        renderer = TextRenderer()

        def show(events):
            for e in events:
                for line in renderer.render(e):
                    print(line, file=out, flush=True)

        print(f"{TITLES[s.kind]}, {s.leg} leg, {s.sets} x {s.reps}, for {athlete.name} on the "
              f"{src.state.description}", file=out)
        run = ExerciseRun(store, src, Exercise(s), athlete.id, realtime=not args.fast,
                          on_events=show)
        run.run()
        results = run.results
        print("Results:", file=out)
        for r in results:
            m = r.metrics
            print(f"  set {r.index + 1}: {r.status}; reps {m.get('reps_counted', 0)}/"
                  f"{s.reps} counted ({m.get('partial_reps', 0)} partial, "
                  f"{m.get('touchdown_reps', 0)} with a touchdown); ML excursion "
                  f"{_n(m.get('ml_excursion_mm'), 'mm')}, balance held "
                  f"{_n(m.get('balance_held_s'), 's')} per rep, time under load "
                  f"{_n(m.get('time_under_load_s'), 's')}" + (f" ({r.reason})" if r.reason
                                                             else ""), file=out)
        print(f"Saved as session {run.session_id} in {store.path}", file=out)
        if args.json:
            print(json.dumps({"athlete": athlete.name, "exercise": s.kind, "leg": s.leg,
                              "session_id": run.session_id,
                              "reps_counted": sum(r.metrics.get("reps_counted", 0)
                                                  for r in results),
                              "sets": [r.to_dict() for r in results]}, indent=2, default=str))
        return 0 if all(r.status == "completed" for r in results) else 1
    finally:
        store.close()
