"""`stancelab plan start|show|edit|run`: an athlete's 4-week programme from a terminal.

``register(sub)`` adds the sub-command to the main parser (cli/main.py). The plan model is
exercises/plan.py, its tables storage/plans.py, running a session station/plan_run.py.
"""

from __future__ import annotations

import json
import sys

from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.exercises.plan import PlanSpec, default_plan, items_for, schedule

FIELDS = {"sets": int, "reps": int, "seconds": float}


def register(sub) -> None:
    sp = sub.add_parser("plan", help="an athlete's training plan: start, show, edit, run")
    sp.add_argument("action", choices=("start", "show", "edit", "run"))
    sp.add_argument("--athlete", metavar="NAME", required=True)
    sp.add_argument("--weeks", type=int, metavar="N", help="start/edit: weeks (4)")
    sp.add_argument("--per-week", type=int, metavar="N", help="start/edit: sessions a week (3)")
    sp.add_argument("--set", action="append", default=[], metavar="ITEM.FIELD=VALUE",
                    help="start/edit: e.g. squat.reps=8, step-up.sets=2, single-leg.seconds=20")
    sp.add_argument("--items", metavar="NAMES",
                    help="start/edit: the session's items in order, e.g. squat,rdl,step-up "
                         "(new ones at the programme's sets and reps)")
    sp.add_argument("--assessment", action="store_true",
                    help="edit: --set changes the baseline/reassessment items, not training")
    add_source_args(sp)
    sp.add_argument("--fast", action="store_true", help="run: simulated board, faster than "
                    "real time")
    sp.add_argument("--json", action="store_true", help="show: print JSON")
    sp.set_defaults(func=plan_command)


def _edit(spec: PlanSpec, args, assessment: bool) -> PlanSpec:
    if args.weeks is not None:
        spec.weeks = args.weeks
    if args.per_week is not None:
        spec.per_week = args.per_week
    items = spec.assessment if assessment else spec.training
    if args.items:
        known = {i.name: i for i in items}
        fresh = {i.name: i for i in (default_plan().assessment if assessment
                                     else default_plan().training)}
        chosen = []
        for name in (n.strip() for n in args.items.split(",") if n.strip()):
            if name not in known and name not in fresh:
                raise UserError(f"--items: {name!r} is not an exercise or drill of the plan; "
                                f"choose from {', '.join(fresh)}")
            chosen.append(known.get(name) or fresh[name])
        items[:] = chosen
    for text in args.set:
        try:
            target, value = text.split("=", 1)
            name, fld = target.rsplit(".", 1)
            conv = FIELDS[fld]
            v = conv(value)
        except (ValueError, KeyError):
            raise UserError(f"--set {text!r}: write ITEM.FIELD=VALUE with FIELD one of "
                            f"{', '.join(FIELDS)}, e.g. --set squat.reps=8") from None
        hit = [i for i in items if i.name == name]
        if not hit:
            raise UserError(f"--set {text!r}: the plan has no {name!r}; it has "
                            f"{', '.join(i.name for i in items)}")
        for i in hit:
            setattr(i, fld, v)
    try:
        spec.validate()
    except ValueError as e:
        raise UserError(str(e)) from None
    return spec


def _show(store, athlete, plan, as_json: bool) -> None:
    from stancelab.station.plan_run import plan_progress

    spec = PlanSpec.from_dict(plan.spec)
    p = plan_progress(store, plan)
    if as_json:
        print(json.dumps({"athlete": athlete.name, "plan_id": plan.id, "started": plan.started,
                          "spec": spec.to_dict(), "progress": p.to_dict()}, indent=2))
        return
    print(f"Plan {plan.id} for {athlete.name}, started {plan.started[:10]}: {spec.weeks} weeks "
          f"x {spec.per_week} sessions, baseline before and reassessment after")
    print("  training session: " + "; ".join(i.describe() for i in spec.training))
    print("  assessment:       " + "; ".join(i.describe() for i in spec.assessment))
    print(f"  {'':14} {'done':>9} {'time under load':>16} {'balance held':>13}")
    for w in p.weeks:
        print(f"  {w['week']:<14} {w['done']:>3} of {w['planned']:<3} "
              f"{w['time_under_load_s']:>14.0f} s {w['balance_s']:>11.0f} s")
    print(f"  adherence: {p.done} of {p.planned} sessions")
    if p.next_session is None:
        print("  the plan is complete: `stancelab compare --athlete "
              f"{athlete.name!r}` compares the reassessment with the baseline")
    else:
        due = p.next_session
        print(f"  next: {due.label}: " + "; ".join(i.describe() for i in items_for(spec, due))
              + (" (the reassessment is due)" if p.reassessment_due else ""))


def plan_command(args) -> int:
    store = open_store()
    try:
        athlete = store.find_athlete(args.athlete)
        if args.action == "start":
            athlete = athlete or store.get_or_add_athlete(args.athlete)
            spec = _edit(default_plan(), args, assessment=False)
            plan = store.start_plan(athlete.id, spec.to_dict())
            print(f"Started plan {plan.id} for {athlete.name}: {len(schedule(spec))} sessions",
                  file=sys.stderr if args.json else sys.stdout)
            _show(store, athlete, plan, args.json)
            return 0
        if athlete is None:
            raise UserError(f"no athlete named {args.athlete!r}; start a plan with `stancelab "
                            f"plan start --athlete {args.athlete!r}`")
        plan = store.active_plan(athlete.id)
        if plan is None:
            raise UserError(f"{athlete.name} has no plan; start one with `stancelab plan start "
                            f"--athlete {athlete.name!r}`")
        if args.action == "edit":
            spec = _edit(PlanSpec.from_dict(plan.spec), args, args.assessment)
            plan = store.update_plan_spec(plan.id, spec.to_dict())
            _show(store, athlete, plan, args.json)
        elif args.action == "show":
            _show(store, athlete, plan, args.json)
        else:
            return _run(store, athlete, plan, args)
        return 0
    finally:
        store.close()


def _run(store, athlete, plan, args) -> int:
    from stancelab.cli.render import TextRenderer
    from stancelab.station.choice import BoardChoice
    from stancelab.station.plan_run import run_plan_session

    if args.fast and args.port:
        raise UserError("--fast works with --simulate only, not with a real board")
    renderer = TextRenderer()

    def source():
        sim = None
        if not (args.port or getattr(args, "gpio", None)):
            from stancelab.sim.exercises import ExercisePerformer

            choice = BoardChoice.from_args(args)
            sim = ExercisePerformer(choice.simulated_athlete(stance="off"), seed=choice.seed)
        return open_source(args, realtime=not args.fast, athlete=sim)

    def show(events):
        for e in events:
            for line in renderer.render(e):
                print(line, flush=True)

    due, sessions, results = run_plan_session(store, athlete, plan, source,
                                              realtime=not args.fast, on_events=show)
    if due is None:
        print(f"{athlete.name}'s plan is complete; see `stancelab plan show`")
        return 0
    if sessions is None:
        print(f"Stopped: {due.label} is not done; `stancelab plan run` resumes it at the first "
              "item not done")
        return 1
    print(f"Done: {due.label} ({len(results)} trial(s) and set(s) in sessions "
          f"{', '.join(map(str, sessions))})")
    _show(store, athlete, store.plan(plan.id), False)
    return 0 if all(r.status == "completed" for r in results) else 1
