"""`stancelab run-drill | analyze | compare`: the drills and their numbers from a terminal.

``register(sub, add_source_args)`` adds the three sub-commands to the main parser (cli.py).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.drills import settings as drill_settings
from stancelab.station.choice import BoardChoice
from stancelab.station.drill_run import DrillRun

DRILLS = ("clock", "single-leg", "quiet")
LEGGED = ("clock", "single-leg")




# ------------------------------------------------------------------ argparse
def register(sub) -> None:
    sp = sub.add_parser("run-drill", help="run a drill with spoken-style cues in the terminal")
    sp.add_argument("drill", choices=DRILLS, help="clock balance, single-leg stands or quiet "
                    "two-leg stance")
    add_source_args(sp)
    sp.add_argument("--leg", choices=("left", "right"),
                    help="stance leg (clock: default right; single-leg: default both, "
                         "alternating left/right)")
    sp.add_argument("--athlete", metavar="NAME", default="Demo athlete",
                    help="athlete name; created if new (default: 'Demo athlete')")
    sp.add_argument("--eyes", choices=("open", "closed"), help="single-leg and quiet stance")
    sp.add_argument("--trials", type=int, metavar="N", help="single-leg: trials per leg (3)")
    sp.add_argument("--duration", type=float, metavar="S",
                    help="single-leg / quiet: seconds per trial (30)")
    sp.add_argument("--rest", type=float, metavar="S", help="single-leg: rest between trials (30)")
    sp.add_argument("--fraction", type=float, metavar="F",
                    help="clock: targets at this fraction of the foot's edge (0.6/0.8/1.0)")
    sp.add_argument("--order", metavar="HOURS",
                    help="clock: 'clockwise', 'counterclockwise' or hours like 12,3,6,9")
    sp.add_argument("--hold", type=float, metavar="S", help="clock: hold time per target (1)")
    sp.add_argument("--timeout", type=float, metavar="S", help="clock: time-out per target (8)")
    sp.add_argument("--mass", type=float, metavar="KG", help="athlete's body mass")
    sp.add_argument("--foot-length", type=float, metavar="MM", help="athlete's foot length")
    sp.add_argument("--save-settings", action="store_true",
                    help="keep these settings as the athlete's defaults for this drill")
    sp.add_argument("--fast", action="store_true",
                    help="simulated board: run faster than real time (the autopilot stands in)")
    sp.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    sp.set_defaults(func=run_drill_command)

    sp = sub.add_parser("analyze", help="sway metrics of a raw CSV export or a t,x,y CSV (mm)")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.add_argument("--filter", choices=("none", "default"), default="default",
                    help="low-pass filter before the metrics (default: 10 Hz Butterworth, "
                         "zero phase; see docs/metrics.md)")
    sp.set_defaults(func=analyze_command)

    sp = sub.add_parser("compare", help="left versus right per metric for an athlete")
    sp.add_argument("--athlete", metavar="NAME", required=True)
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.add_argument("--flag", type=float, default=10.0, metavar="PCT",
                    help="flag asymmetries above this many percent (10)")
    sp.set_defaults(func=compare_command)


# ------------------------------------------------------------------ run-drill
def build_drill(kind: str, s, foot_length_mm: float | None = None):
    from stancelab.drills.clock import ClockBalance
    from stancelab.drills.quiet import QuietStance
    from stancelab.drills.single_leg import SingleLegStand

    if kind == "clock":
        return ClockBalance.from_settings(s)
    if kind == "single-leg":
        return SingleLegStand.from_settings(s)
    return QuietStance.from_settings(s, foot_length_mm=foot_length_mm)


def _overrides(kind: str, args) -> dict:
    order = args.order
    if order and order not in ("clockwise", "counterclockwise"):
        try:
            order = [int(h) for h in order.replace(" ", "").split(",") if h]
        except ValueError:
            raise UserError("--order takes 'clockwise', 'counterclockwise' or hours like "
                              "12,3,6,9") from None
    if kind == "clock":
        return {"leg": args.leg, "target_fraction": args.fraction, "order": order,
                "hold_s": args.hold, "timeout_s": args.timeout}
    if kind == "single-leg":
        return {"legs": [args.leg] if args.leg else None, "eyes": args.eyes,
                "n_trials": args.trials, "duration_s": args.duration, "rest_s": args.rest}
    return {"eyes": args.eyes, "duration_s": args.duration}


def run_drill_command(args) -> int:
    from stancelab.cli.render import TextRenderer, summary_lines

    kind = args.drill
    if args.fast and args.port:
        raise UserError("--fast works with --simulate only, not with a real board")
    store = open_store()
    try:
        athlete = store.get_or_add_athlete(args.athlete)
        a_settings = dict(athlete.settings)
        if args.mass:
            a_settings["body_mass_kg"] = args.mass
        foot_mm = args.foot_length or athlete.foot_length_mm or a_settings.get("foot_length_mm")
        if foot_mm:
            a_settings["foot_length_mm"] = float(foot_mm)
        try:
            s = drill_settings.for_athlete(kind, a_settings, **_overrides(kind, args))
            drill = build_drill(kind, s, foot_mm)
        except ValueError as e:
            raise UserError(str(e)) from None
        if args.save_settings or args.mass or args.foot_length:
            if args.save_settings:
                a_settings = drill_settings.store_for_athlete(kind, s, a_settings)
            fields = {"settings": a_settings}
            if args.foot_length:
                fields["foot_length_mm"] = args.foot_length
            store.update_athlete(athlete.id, **fields)

        mass = a_settings.get("body_mass_kg") or 70.0
        sim = None if args.port else BoardChoice.from_args(args).simulated_athlete(
            stance="off", foot_length_mm=float(foot_mm or 265.0), mass_kg=float(mass))
        src = open_source(args, realtime=not args.fast, athlete=sim)
        st = src.state
        renderer = TextRenderer()
        out = sys.stderr if args.json else sys.stdout

        def show(events):
            for e in events:
                for line in renderer.render(e):
                    print(line, file=out, flush=True)

        def started(run):
            print(f"{kind} drill for {athlete.name} on the {st.description}"
                  + (" (the simulated athlete follows the cues)" if run.pilot else ""), file=out)
            if run.calibration.method == "nominal":
                print("Note: this board has no saved calibration; forces use nominal gains "
                      "and scores are approximate.", file=out)

        run = DrillRun(store, src, drill, athlete.id, realtime=not args.fast, on_events=show,
                       on_started=started)
        run.run()
        runner = run.runner
        print("Results:", file=out)
        for line in summary_lines(runner.results):
            print(line, file=out)
        print(f"Saved as session {runner.session_id} in {store.path}", file=out)
        if args.json:
            print(json.dumps({"athlete": athlete.name, "session_id": runner.session_id,
                              "trials": [r.to_dict() for r in runner.results]}, indent=2,
                             default=_json_default))
        return 0 if all(r.status == "completed" for r in runner.results) else 1
    finally:
        store.close()


def _json_default(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


# ------------------------------------------------------------------ analyze
def _analysis_settings(name: str):
    from stancelab.analysis import NO_FILTER, AnalysisSettings

    return NO_FILTER if name == "none" else AnalysisSettings()


def _defined_span(t, x, y):
    import numpy as np

    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if ok.size == 0:
        return None
    sl = slice(int(ok[0]), int(ok[-1]) + 1)
    return t[sl], x[sl], y[sl]


def analyze_file(path, filter_name: str = "default") -> list[dict]:
    """Sway metrics of each trial of a raw CSV (its ACTIVE part when phases were recorded),
    or of a plain t, x, y trace in s and mm."""
    from stancelab.analysis import sway_metrics
    from stancelab.files.cop_trace import load_xy_csv
    from stancelab.files.csv_format import FORMAT_NAME, CsvFormatError
    from stancelab.files.csv_parse import read_raw_csv

    settings = _analysis_settings(filter_name)
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    parts = []
    try:
        if FORMAT_NAME.encode() in head:
            raw = read_raw_csv(path)
            for number in raw.trial_numbers():
                m = raw.trial == number
                t = raw.samples.t_s[m]
                x, y = raw.derived["cop_x_mm"][m], raw.derived["cop_y_mm"][m]
                phase = raw.samples.phase[m]
                active = phase == "active"
                used = "active phase" if active.any() else "whole trial"
                if active.any():
                    t, x, y = t[active], x[active], y[active]
                parts.append((number, used, t, x, y))
        else:
            t, x, y = load_xy_csv(path)
            parts.append((1, "whole file", t, x, y))
    except CsvFormatError as e:
        raise UserError(str(e)) from None
    out = []
    for number, used, t, x, y in parts:
        span = _defined_span(t, x, y)
        if span is None:
            out.append({"trial": number, "part": used, "error": "nobody on the board (COP "
                        "undefined throughout)"})
            continue
        try:
            metrics = sway_metrics(*span, settings)
        except ValueError as e:
            out.append({"trial": number, "part": used, "error": str(e)})
            continue
        out.append({"trial": number, "part": used, "metrics": metrics.to_dict()})
    return out


def analyze_command(args) -> int:
    results = analyze_file(args.file, args.filter)
    if args.json:
        print(json.dumps({"file": str(args.file), "filter": args.filter, "results": results},
                         indent=2, default=_json_default))
        return 0 if all("metrics" in r for r in results) else 1
    for r in results:
        print(f"trial {r['trial']} ({r['part']})")
        if "error" in r:
            print(f"  cannot analyse: {r['error']}")
            continue
        m = r["metrics"]
        for key, value in m.items():
            if key in ("settings", "preprocessing"):
                continue
            print(f"  {key:<28} {_fmt(value)}")
        print(f"  filter: {m['settings'].get('filter_description', '')}")
    return 0 if all("metrics" in r for r in results) else 1


def _fmt(value) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


# ------------------------------------------------------------------ compare
def _numbers(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[k] = float(v)
    return out


def trial_values(trial) -> dict:
    """The numbers of one stored trial that a comparison works on.

    Clock trials add each per-target reach metric averaged over the 12 targets (time-outs
    included: how far a target was reached still counts, a missing number is skipped)."""
    values = _numbers(trial.metrics)
    if trial.drill == "clock":
        per_target = [_numbers(t) for t in trial.metrics.get("targets", [])]
        # First appearance order, not a set: the output must not change from run to run.
        for k in dict.fromkeys(k for t in per_target for k in t):
            vs = [t[k] for t in per_target if k in t]
            if vs:
                values[k] = sum(vs) / len(vs)
    return values


def _mean_values(dicts: list[dict]) -> dict:
    keys = [k for k in dicts[0]] if dicts else []
    out = {}
    for k in keys:
        vs = [d[k] for d in dicts if k in d]
        if len(vs) == len(dicts):
            out[k] = sum(vs) / len(vs)
    return out


def _usable(trial) -> bool:
    if trial.status == "completed":
        return True
    # A single-leg stand ended by stepping off is a result (time held), not missing data.
    return trial.drill == "single-leg" and trial.status == "aborted" and bool(trial.metrics)


def compare_athlete(store, athlete_id: int, flag_pct: float = 10.0) -> dict:
    """Left versus right per drill from the athlete's latest session with each leg, and the
    trend from the first such session (baseline) to the latest."""
    from stancelab.analysis.compare import METRIC_DIRECTION, compare_sides, trend

    by_leg: dict[tuple[str, str], list[list]] = {}
    for session in store.sessions(athlete_id):
        for trial in store.trials(session.id):
            if trial.drill in LEGGED and trial.leg in ("left", "right") and _usable(trial):
                sessions = by_leg.setdefault((trial.drill, trial.leg), [])
                if not sessions or sessions[-1][0] != session.id:
                    sessions.append([session.id, []])
                sessions[-1][1].append(trial)
    report = {}
    for drill in LEGGED:
        sides = {leg: by_leg.get((drill, leg)) for leg in ("left", "right")}
        if not all(sides.values()):
            continue
        latest = {leg: _mean_values([trial_values(t) for t in s[-1][1]])
                  for leg, s in sides.items()}
        left = {k: v for k, v in latest["left"].items() if k in METRIC_DIRECTION}
        entry = {"rows": compare_sides(left, latest["right"], flag_pct),
                 "trials": {leg: len(s[-1][1]) for leg, s in sides.items()},
                 "sessions": {leg: s[-1][0] for leg, s in sides.items()},
                 "formula": "asymmetry = |L - R| / max(|L|, |R|) x 100", "flag_pct": flag_pct}
        trends = {}
        for leg, s in sides.items():
            if len(s) > 1:
                base = _mean_values([trial_values(t) for t in s[0][1]])
                base = {k: v for k, v in base.items() if k in METRIC_DIRECTION}
                trends[leg] = {"baseline_session": s[0][0], "latest_session": s[-1][0],
                               "rows": trend(base, latest[leg])}
        if trends:
            entry["trend"] = trends
        report[drill] = entry
    return report


def compare_command(args) -> int:
    store = open_store()
    try:
        athlete = store.find_athlete(args.athlete)
        if athlete is None:
            raise UserError(f"no athlete named {args.athlete!r}; see `stancelab sessions`")
        report = compare_athlete(store, athlete.id, args.flag)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"athlete": athlete.name, "drills": report}, indent=2))
        return 0
    if not report:
        print(f"No drill with both legs for {athlete.name} yet. Run for example:\n"
              f"  stancelab run-drill clock --leg left --athlete {athlete.name!r}\n"
              f"  stancelab run-drill clock --leg right --athlete {athlete.name!r}")
        return 0
    for drill, entry in report.items():
        t = entry["trials"]
        print(f"{drill}: left {t['left']} trial(s), right {t['right']} trial(s); "
              f"{entry['formula']}; flagged above {entry['flag_pct']:g} %")
        print(f"  {'metric':<28} {'left':>10} {'right':>10} {'asym %':>7}  better")
        for r in entry["rows"]:
            flag = "  <-- check" if r["flagged"] else ""
            print(f"  {r['metric']:<28} {r['left']:>10.4g} {r['right']:>10.4g} "
                  f"{r['asymmetry_pct']:>7.1f}  {r['better'] or '-'}{flag}")
        for leg, tr in entry.get("trend", {}).items():
            print(f"  trend, {leg} leg: session {tr['baseline_session']} -> "
                  f"{tr['latest_session']}")
            for r in tr["rows"]:
                pct = "-" if r["change_pct"] is None else f"{r['change_pct']:+.1f} %"
                word = {True: "better", False: "worse", None: ""}[r["improved"]]
                print(f"    {r['metric']:<26} {r['baseline']:>10.4g} -> {r['latest']:>10.4g} "
                      f"({r['change']:+.4g}, {pct}) {word}")
    return 0
