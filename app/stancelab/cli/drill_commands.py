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

    sp = sub.add_parser("analyze", help="sway metrics of a raw CSV export or another system's "
                        "COP trace (t,x,y; HBEDB; force-plate exports)")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--units", choices=("mm", "cm", "m"),
                    help="COP unit of a trace whose columns do not say it (required then)")
    sp.add_argument("--time-units", choices=("s", "ms"),
                    help="time unit of a trace whose time column does not say it (otherwise "
                         "inferred from the step, and the choice printed)")
    sp.add_argument("--rate", type=float, metavar="HZ",
                    help="sampling rate of a trace with a sample index instead of a time")
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.add_argument("--filter", choices=("none", "default"), default="default",
                    help="low-pass filter before the metrics (default: 10 Hz Butterworth, "
                         "zero phase; see docs/metrics.md)")
    sp.set_defaults(func=analyze_command)

    sp = sub.add_parser("compare", help="left versus right per metric for an athlete")
    sp.add_argument("--athlete", metavar="NAME", required=True)
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.add_argument("--flag", type=float, default=10.0, metavar="PCT",
                    help="flag asymmetries above this many percent (10; information only)")
    sp.add_argument("--baseline", type=int, metavar="SESSION",
                    help="baseline session id (default: the first with the drill)")
    sp.add_argument("--reassessment", type=int, metavar="SESSION",
                    help="reassessment session id (default: the latest with the drill)")
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
    from stancelab.analysis.assessment import shown_status
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
        return 0 if all(shown_status(r.status, r.reason, r.metrics) == "completed"
                        for r in runner.results) else 1
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


def analyze_file(path, filter_name: str = "default", units: str | None = None,
                 time_units: str | None = None, rate_hz: float | None = None,
                 notes: list | None = None) -> list[dict]:
    """Sway metrics of each trial of a raw CSV (its ACTIVE part when phases were recorded),
    or of another system's COP trace (files.cop_trace; what it assumed goes into ``notes``)."""
    from stancelab.analysis import sway_metrics
    from stancelab.files.cop_trace import read_cop_trace
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
            trace = read_cop_trace(path, units, time_units, rate_hz)
            if notes is not None:
                notes.extend(trace.notes)
            parts.append((1, "whole file", trace.t_s, trace.x_mm, trace.y_mm))
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
    notes: list[str] = []
    results = analyze_file(args.file, args.filter, args.units, args.time_units, args.rate,
                           notes)
    for note in notes:
        print(f"Note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({"file": str(args.file), "filter": args.filter, "notes": notes,
                          "results": results}, indent=2, default=_json_default))
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
def compare_athlete(store, athlete_id: int, flag_pct: float = 10.0,
                    baseline_session: int | None = None,
                    reassessment_session: int | None = None) -> dict:
    """Left versus right per drill (and condition), progress and excluded trials, all from
    station.assessment.load_assessment: the same model the Compare screen and the PDF read."""
    from dataclasses import asdict

    from stancelab.station.assessment import load_assessment

    a = load_assessment(store, athlete_id, baseline_session, reassessment_session, flag_pct)
    report = {}
    for side in a.sides:
        key = side.drill if side.drill not in report else f"{side.drill} ({side.condition})"
        entry = {"condition": side.condition, "window_s": side.window_s,
                 "trials": {"left": side.n_left, "right": side.n_right},
                 "sessions": side.sessions, "note": side.note,
                 "formula": "asymmetry = |L - R| / max(|L|, |R|) x 100", "flag_pct": flag_pct,
                 "rows": [asdict(r) for r in side.rows]}
        prog = [asdict(p) for p in a.progress
                if p.drill == side.drill and p.condition == side.condition]
        if prog:
            entry["progress"] = prog
        report[key] = entry
    return report, a


def _g(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def compare_command(args) -> int:
    from dataclasses import asdict

    store = open_store()
    try:
        athlete = store.find_athlete(args.athlete)
        if athlete is None:
            raise UserError(f"no athlete named {args.athlete!r}; see `stancelab sessions`")
        known = {s.id for s in store.sessions(athlete.id)}
        for name in ("baseline", "reassessment"):
            sid = getattr(args, name, None)
            if sid is not None and sid not in known:
                raise UserError(f"--{name} {sid}: {athlete.name} has no session {sid}; see "
                                "`stancelab sessions`")
        report, a = compare_athlete(store, athlete.id, args.flag, args.baseline,
                                    args.reassessment)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"athlete": athlete.name, "drills": report, "rules": a.rules,
                          "excluded": [asdict(e) for e in a.excluded]}, indent=2))
        return 0
    if not report:
        print(f"No drill with both legs for {athlete.name} yet. Run for example:\n"
              f"  stancelab run-drill clock --leg left --athlete {athlete.name!r}\n"
              f"  stancelab run-drill clock --leg right --athlete {athlete.name!r}")
    for drill, entry in report.items():
        t = entry["trials"]
        cond = f" ({entry['condition']})" if entry["condition"] else ""
        win = (f"; sway over the first {entry['window_s']:g} s of steady stance"
               if entry["window_s"] else "")
        print(f"{drill}{cond}: left {t['left']} valid trial(s), right {t['right']} valid "
              f"trial(s) (mean +- SD){win}; {entry['formula']}; flagged above "
              f"{entry['flag_pct']:g} % (information; the verdict uses the noise)")
        if entry["note"]:
            print(f"  note: {entry['note']}")
        print(f"  {'metric':<26} {'left':>16} {'right':>16} {'asym %':>7} {'noise':>8}  verdict")
        for r in entry["rows"]:
            lv = _g(r["left"]) + ("" if r["left_sd"] is None else f"+-{r['left_sd']:.2g}")
            rv = _g(r["right"]) + ("" if r["right_sd"] is None else f"+-{r['right_sd']:.2g}")
            asym = "-" if r["asymmetry_pct"] is None else f"{r['asymmetry_pct']:.1f}"
            flag = "*" if r["flagged"] else " "
            why = f" ({r['reason']})" if r["reason"] else ""
            print(f"  {r['metric']:<26} {lv:>16} {rv:>16} {asym:>6}{flag} {_g(r['noise']):>8}"
                  f"  {r['verdict']}{why}")
        for p in entry.get("progress", []):
            mdc = "-" if p["mdc95"] is None else f"{p['mdc95']:.3g}"
            print(f"  progress {p['leg'] or ''} {p['metric']}: session {p['baseline_session']} "
                  f"{p['baseline']:.4g} -> {p['reassessment_session']} {p['reassessment']:.4g} "
                  f"({p['change']:+.4g}, MDC95 {mdc} from {p['sem_source']}): {p['verdict']}")
    if a.excluded:
        print("Excluded from the scores:")
        for e in a.excluded:
            print(f"  trial {e.trial_id} (session {e.session_id}, {e.drill}"
                  f"{', ' + e.leg if e.leg else ''}) {e.status}: {e.reason}")
    return 0
