"""Screens, clicks and commands with a year of data; the longest UI stall while a drill records.

    .venv/bin/python bench/bench_scale.py             # one athlete, 150 sessions x 9 trials
    .venv/bin/python bench/bench_scale.py --quick     # 20 sessions, fewer repeats (~2 min)
    .venv/bin/python bench/bench_scale.py --clinic    # also 60 athletes x 40 sessions (~7 GB)
    .venv/bin/python bench/bench_scale.py --json      # the figures as JSON (bench/run_all.py)

The data is made by the project's own code: real drills (clock left and right, 3 + 3
single-leg stands, quiet stance: the 9 trials of a session) run on the simulated board in fast
mode with the autopilot, twice with different seeds; those trials, samples, settings and scores
are then copied through the Storage API into 150 sessions spread over a year for one athlete,
plus a second athlete with 5 sessions (so the Athletes list has something to click). It is
cached under the temp dir in a folder named after the parameters and the schema version, so a
rerun starts in seconds; each run works on a copy.

The timings come from a child process (no scipy imported yet, as in the app with a real board)
with the real window (``build_window``) offscreen at 1280 x 800. For each action two figures:

- *UI blocked*: the longest stretch the UI thread was busy (the call itself, then every batch
  of events it handles until the action is finished): what the coach feels as a frozen window.
- *to content*: from the action to its content on the screen (worker tasks done, their results
  drawn, events drained).

Actions: every screen switch (the first one, then with nothing changed, then after a trial was
stored while the screen was hidden), a click in each list, "Coach this athlete", the PDF
report, ``stancelab sessions`` and ``stancelab compare --athlete NAME`` as subprocesses, and a
drill (single-leg, one trial per leg) recorded on the simulated board in real time while a
10 ms QTimer measures how late it fires. Targets: every switch and click < 100 ms, the drill
stall < 50 ms, ``stancelab sessions`` for the clinic < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

#: Bump when the generated data changes meaning (the cache key includes it).
GEN_VERSION = 1
YEAR_ATHLETE, SECOND_ATHLETE = "Year Runner", "Second Runner"
TARGET_UI_MS = 100.0
TARGET_STALL_MS = 50.0
TARGET_CLINIC_SESSIONS_S = 1.0


@dataclass(frozen=True)
class DataSpec:
    athletes: int            # athletes with ``sessions`` sessions each
    sessions: int
    extra_sessions: int      # sessions of one more athlete (the second in the list); 0: none
    seeds: tuple[int, ...]   # one recorded template session per seed

    def key(self) -> str:
        from stancelab.storage import MIGRATIONS

        text = json.dumps({**asdict(self), "gen": GEN_VERSION,
                           "schema": max(v for v, _, _ in MIGRATIONS)}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / "stancelab-bench-scale"


# ------------------------------------------------------------------ data
def record_templates(path: Path, seeds) -> None:
    """The 9 trials of a session per seed, recorded by real drills on the simulated board."""
    from stancelab.drills.clock import ClockBalance
    from stancelab.drills.quiet import QuietStance
    from stancelab.drills.runner import DrillRunner
    from stancelab.drills.settings import for_athlete
    from stancelab.drills.single_leg import SingleLegStand
    from stancelab.sim.athlete import VirtualAthlete
    from stancelab.sim.autopilot import Autopilot
    from stancelab.sim.simulated_board import SimulatedBoard
    from stancelab.station.calibrations import calibration_for
    from stancelab.storage import Storage

    foot = 265.0
    with Storage(path) as store:
        athlete = store.add_athlete("Template", foot)
        for seed in seeds:
            src = SimulatedBoard(VirtualAthlete(foot_length_mm=foot, seed=seed, stance="off"),
                                 realtime=False, seed=seed)
            src.open()
            try:
                cal = calibration_for(store, src.state)
                st = src.state
                session = store.start_session(athlete_id=athlete.id, source_kind=st.kind,
                                              board_id=st.board_id, firmware=st.firmware,
                                              calibration=cal)
                drills = [ClockBalance.from_settings(for_athlete("clock", {}, leg=leg,
                                                                 foot_length_mm=foot))
                          for leg in ("left", "right")]
                drills.append(SingleLegStand.from_settings(
                    for_athlete("single-leg", {}, legs=("left", "right"))))
                drills.append(QuietStance.from_settings(for_athlete("quiet", {}),
                                                        foot_length_mm=foot))
                for drill in drills:
                    runner = DrillRunner(src, cal, drill, store=store, athlete_id=athlete.id,
                                         session_id=session.id)
                    pilot = Autopilot(src)
                    try:
                        while not runner.finished:
                            pilot(runner.poll())
                    finally:
                        runner.close()
            finally:
                src.close()


def _shift(iso: str | None, delta: dt.timedelta) -> str | None:
    if iso is None:
        return None
    return (dt.datetime.fromisoformat(iso) + delta).isoformat(timespec="milliseconds")


def replicate(template: Path, out: Path, spec: DataSpec, log) -> dict:
    """Copy the template sessions, through the Storage API, into the athletes' year."""
    from stancelab.storage import Storage

    with Storage(template) as src:
        sessions = [(s, [(t, src.read_samples(t.id)) for t in src.trials(s.id)])
                    for s in src.sessions()]
        cals = {s.id: src.calibration(s.calibration_id) for s, _ in sessions
                if s.calibration_id}
    people = [(f"{YEAR_ATHLETE}" if spec.athletes == 1 else f"Athlete {k + 1:02d}",
               spec.sessions) for k in range(spec.athletes)]
    if spec.extra_sessions:
        people.append((SECOND_ATHLETE, spec.extra_sessions))
    end = dt.datetime.now().astimezone().replace(hour=17, minute=0, second=0, microsecond=0)
    trials = samples = 0
    t0 = time.monotonic()
    with Storage(out) as store:
        for k, (name, n_sessions) in enumerate(people):
            athlete = store.add_athlete(name, 265.0, dominant_leg="right",
                                        injured_side="left" if k % 2 else None)
            for i in range(n_sessions):
                tmpl, tmpl_trials = sessions[(i + k) % len(sessions)]
                started = end - dt.timedelta(days=365 * (n_sessions - 1 - i) / max(n_sessions, 1))
                delta = started - dt.datetime.fromisoformat(tmpl.started)
                with store.transaction():
                    s = store.start_session(athlete_id=athlete.id, source_kind=tmpl.source_kind,
                                            board_id=tmpl.board_id, firmware=tmpl.firmware,
                                            calibration=cals.get(tmpl.id),
                                            started=started.isoformat(timespec="milliseconds"))
                    for t, smp in tmpl_trials:
                        new = store.start_trial(s.id, t.drill, leg=t.leg, condition=t.condition,
                                                settings=t.settings,
                                                started=_shift(t.started, delta))
                        store.insert_samples(new.id, smp)
                        store.update_metrics(new.id, t.metrics)
                        store.finish_trial(new.id, t.status, t.reason, _shift(t.ended, delta))
                        trials += 1
                        samples += len(smp)
            log(f"  {name}: {n_sessions} sessions ({time.monotonic() - t0:.0f} s)")
    return {"athletes": len(people), "sessions": sum(n for _, n in people), "trials": trials,
            "samples": samples}


def ensure_data(name: str, spec: DataSpec, log) -> tuple[Path, dict]:
    """The cached database for ``spec`` (made on the first call)."""
    root = cache_root()
    tdir = root / ("templates-" + hashlib.sha1(repr((GEN_VERSION, spec.seeds)).encode())
                   .hexdigest()[:10])
    template = tdir / "template.sqlite3"
    if not (tdir / "done").exists():
        shutil.rmtree(tdir, ignore_errors=True)
        tdir.mkdir(parents=True)
        log(f"recording {len(spec.seeds)} template session(s) of real drills (fast mode)...")
        record_templates(template, spec.seeds)
        (tdir / "done").write_text("ok")
    ddir = root / f"{name}-{spec.key()}"
    done = ddir / "done.json"
    if not done.exists():
        shutil.rmtree(ddir, ignore_errors=True)
        ddir.mkdir(parents=True)
        log(f"making the {name} data set in {ddir} (once; cached)...")
        info = replicate(template, ddir / "stancelab.sqlite3", spec, log)
        info["bytes"] = (ddir / "stancelab.sqlite3").stat().st_size
        done.write_text(json.dumps(info))
    return ddir, json.loads(done.read_text())


def work_copy(ddir: Path) -> Path:
    """A copy of the data set for a run that records (the drill adds a session)."""
    work = Path(tempfile.mkdtemp(prefix="stancelab-bench-scale-run-"))
    shutil.copy2(ddir / "stancelab.sqlite3", work / "stancelab.sqlite3")
    return work


# ------------------------------------------------------------------ commands
def _env(data_dir: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT / "app"), STANCELAB_DATA_DIR=str(data_dir),
                QT_QPA_PLATFORM="offscreen")


def time_command(args: list[str], data_dir: Path, repeats: int) -> list[float]:
    """Wall seconds of ``python -m stancelab ARGS`` (a new process each time)."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "stancelab", *args], env=_env(data_dir),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             check=False)
        out.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise RuntimeError(f"stancelab {' '.join(args)} exited {res.returncode}: "
                               f"{res.stderr[-500:]}")
    return out


# ------------------------------------------------------------------ the GUI child
SCREENS = ("Results", "Compare", "Athletes", "Export", "Board", "Drills", "Live")
DB_SCREENS = ("Results", "Compare", "Athletes", "Export")


class Meter:
    """Runs one action on the UI thread and pumps events until it is finished: no worker task
    left and the posted events (renders, repaints) handled."""

    def __init__(self, app, ctx) -> None:
        self.app, self.ctx = app, ctx

    def pump(self, timeout_s: float = 60.0) -> float:
        """Handle events until idle; returns the longest single batch (s)."""
        longest, quiet = 0.0, 0
        deadline = time.perf_counter() + timeout_s
        while quiet < 3:
            t = time.perf_counter()
            self.app.processEvents()
            longest = max(longest, time.perf_counter() - t)
            if self.ctx.worker.running:
                quiet = 0
                time.sleep(0.0005)   # let the worker threads have the GIL
            else:
                quiet += 1
            if time.perf_counter() > deadline:
                raise RuntimeError("the action did not finish within the timeout")
        return longest

    def run(self, action, *args) -> dict:
        t0 = time.perf_counter()
        action(*args)
        call = time.perf_counter() - t0
        longest = self.pump()
        return {"block_ms": 1e3 * max(call, longest),
                "content_ms": 1e3 * (time.perf_counter() - t0)}


def measure_gui(work: Path, out_dir: Path, rounds: int, drill_seconds: float,
                read_only: bool) -> dict:
    """The real window offscreen on the database in ``work`` (STANCELAB_DATA_DIR); the PDF
    report is written to ``out_dir``; ``read_only``: no drill (nothing written to ``work``)."""
    from collections import defaultdict

    from PySide6.QtWidgets import QApplication

    t0 = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from stancelab.ui.app import build_window, settle_after_startup
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    ctx.realtime = True
    win = build_window(ctx)
    win.resize(1280, 800)
    win.show()
    m = Meter(app, ctx)
    # The athlete with the year of data (the app starts on the first by name).
    year = max(ctx.storage.athletes(), key=lambda a: len(ctx.storage.sessions(a.id)))
    ctx.select_athlete(year)
    m.pump()
    settle_after_startup()
    built = time.perf_counter() - t0
    acts: dict[str, list] = defaultdict(list)
    try:
        for name in SCREENS:
            acts[f"switch to {name} (first)"].append(m.run(win.show_screen, name))
        for _ in range(rounds):
            for name in SCREENS:
                acts[f"switch to {name}"].append(m.run(win.show_screen, name))
        for _ in range(rounds):
            for name in DB_SCREENS:
                win.show_screen("Drills")
                m.pump()
                acts["trial stored (results_changed) on Drills"].append(
                    m.run(ctx.results_changed.emit))
                acts[f"switch to {name} after a stored trial"].append(
                    m.run(win.show_screen, name))
        _clicks(win, m, acts, rounds)
        exp = win.show_screen("Export")
        m.pump()
        exp.folder.setText(str(out_dir))
        for _ in range(max(2, rounds // 2)):
            acts["PDF report (Export)"].append(m.run(exp.export_pdf))
        out = {"window_built_s": built, "actions": dict(acts)}
        if not read_only:
            ctx.select_athlete(year)     # the clicks above may have left the other one
            m.pump()
            out["drill"] = _drill(win, ctx, m, drill_seconds)
        return out
    finally:
        win.close()
        ctx.close()


def _clicks(win, m: Meter, acts: dict, rounds: int) -> None:
    res = win.show_screen("Results")
    m.pump()
    for i in range(1, 2 * rounds + 1):
        row = min(i, res.list.count() - 1)
        acts["click a trial (Results list)"].append(m.run(res.list.setCurrentRow, row))
    cmp = win.show_screen("Compare")
    m.pump()
    for i in range(2 * rounds):
        acts["pick the drill (Compare)"].append(
            m.run(cmp.kind.setCurrentIndex, (cmp.kind.currentIndex() + 1) % 2))
    exp = win.show_screen("Export")
    m.pump()
    for i in range(1, 2 * rounds + 1):
        row = min(i, exp.sessions.count() - 1)
        acts["click a session (Export list)"].append(
            m.run(exp.sessions.setCurrentRow, row))
    ath = win.show_screen("Athletes")
    m.pump()
    for i in range(2 * rounds):
        acts["click an athlete (Athletes list)"].append(
            m.run(ath.list.setCurrentRow, (i + 1) % 2))
    for i in range(2 * rounds):
        ath.list.setCurrentRow((i + 1) % 2)
        m.pump()
        name = ath.name.text()
        acts[f"Coach this athlete ({name})"].append(m.run(ath.use_selected))


def _drill(win, ctx, m: Meter, trial_s: float) -> dict:
    """A single-leg drill (one trial per leg) recorded on the simulated board in real time,
    with a 10 ms timer measuring how late the UI thread lets it fire."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    drills = win.show_screen("Drills")
    ctx.connect_simulated(seed=11)
    m.pump()
    drills.trials.setValue(1)
    drills.duration.setValue(trial_s)
    drills.rest.setValue(2)
    drills.select("single-both")
    ticks: list[float] = []
    marks: list[float] = []
    ctx.results_changed.connect(lambda: marks.append(time.perf_counter()))
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QEventLoop()
    drills.drill_finished.connect(lambda _r: QTimer.singleShot(1000, loop.quit))
    QTimer.singleShot(int((4 * trial_s + 60) * 1e3), loop.quit)
    t0 = time.perf_counter()
    timer.start()
    drills.go()
    loop.exec()
    timer.stop()
    seconds = time.perf_counter() - t0
    if drills.state != "done" or drills.error:
        raise RuntimeError(f"the drill did not finish: state {drills.state}, {drills.error}")
    t = np.asarray(ticks)
    late = (np.diff(t) - 0.010) * 1e3
    at = t[1:]

    def near(points):
        sel = np.zeros(len(at), bool)
        for p in points:
            sel |= (at >= p - 0.2) & (at <= p + 1.0)
        return float(late[sel].max()) if sel.any() else None

    return {"ticks": len(late), "seconds": seconds, "trials": len(marks) - 1,
            "p50_ms": float(np.percentile(late, 50)), "p95_ms": float(np.percentile(late, 95)),
            "max_ms": float(late.max()), "after_trial_max_ms": near(marks[:-1]),
            "at_end_max_ms": near(marks[-1:])}


def run_child(work: Path, rounds: int, drill_seconds: float, read_only: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="stancelab-bench-scale-out-") as out:
        cmd = [sys.executable, str(Path(__file__)), "--child", str(work), "--out", out,
               "--rounds", str(rounds), "--drill-seconds", str(drill_seconds)] \
            + (["--read-only"] if read_only else [])
        res = subprocess.run(cmd, env=_env(work), capture_output=True, text=True, check=False,
                             timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(f"GUI child exited {res.returncode}: {res.stderr[-2000:]}")
    return json.loads(res.stdout[res.stdout.index("{"):])


# ------------------------------------------------------------------ report
def stats(values_ms) -> dict:
    v = np.asarray(values_ms, float)
    return {"n": int(v.size), "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def figures(gui: dict, commands: dict, label: str) -> list[dict]:
    """One row per action: UI blocked and time to content, p50/p95/max in ms, and the target."""
    rows = []
    for action, samples in gui["actions"].items():
        block = stats([s["block_ms"] for s in samples])
        content = stats([s["content_ms"] for s in samples])
        rows.append({"set": label, "action": action, "n": block["n"], "block_ms": block,
                     "content_ms": content, "target_ms": TARGET_UI_MS,
                     "met": block["max"] < TARGET_UI_MS})
    if "drill" in gui:
        d = gui["drill"]
        for key, text in (("max_ms", "drill: longest 10 ms-timer lateness"),
                          ("after_trial_max_ms", "drill: lateness within 1 s of a stored trial"),
                          ("at_end_max_ms", "drill: lateness within 1 s of the drill's end")):
            if d.get(key) is not None:
                rows.append({"set": label, "action": text, "n": d["ticks"],
                             "block_ms": {"n": d["ticks"], "p50": d["p50_ms"],
                                          "p95": d["p95_ms"], "max": d[key]},
                             "content_ms": None, "target_ms": TARGET_STALL_MS,
                             "met": d[key] < TARGET_STALL_MS})
    for name, secs in commands.items():
        st = stats([s * 1e3 for s in secs])
        target = TARGET_CLINIC_SESSIONS_S * 1e3 if (label == "clinic" and
                                                    name == "stancelab sessions") else None
        rows.append({"set": label, "action": name + " (subprocess)", "n": st["n"],
                     "block_ms": None, "content_ms": st, "target_ms": target,
                     "met": None if target is None else st["max"] < target})
    return rows


def _cell(s: dict | None) -> str:
    return "—" if s is None else f"{s['p50']:.0f} / {s['p95']:.0f} / {s['max']:.0f}"


def print_table(rows: list[dict], heading: str) -> None:
    print(heading)
    print(f"  {'action':<52} {'n':>3}  {'UI blocked p50/p95/max':>24}  "
          f"{'to content p50/p95/max':>24}  target")
    for r in rows:
        met = "" if r["met"] is None else ("met" if r["met"] else "MISSED")
        target = "" if r["target_ms"] is None else f"< {r['target_ms']:.0f} ms {met}"
        print(f"  {r['action']:<52} {r['n']:>3}  {_cell(r['block_ms']):>21} ms  "
              f"{_cell(r['content_ms']):>21} ms  {target}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 sessions, fewer repeats")
    ap.add_argument("--clinic", action="store_true",
                    help="also 60 athletes x 40 sessions (a ~7 GB database, made once)")
    ap.add_argument("--rounds", type=int, help="repeats of each switch and click (5; quick 3)")
    ap.add_argument("--drill-seconds", type=float, default=6.0,
                    help="seconds per single-leg trial of the timed drill (6)")
    ap.add_argument("--no-drill", action="store_true", help="skip the drill stall")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", metavar="DIR", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    rounds = a.rounds or (3 if a.quick else 5)
    if a.child:
        print(json.dumps(measure_gui(Path(a.child), Path(a.out), rounds, a.drill_seconds,
                               a.read_only or a.no_drill)))
        return 0
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if a.json else \
        (lambda s: print(s, flush=True))
    repeats = 3 if a.quick else 5
    sets = [("year", DataSpec(1, 20 if a.quick else 150, 5, (1,) if a.quick else (1, 2)))]
    if a.clinic:
        sets.append(("clinic", DataSpec(60, 40, 0, (1, 2))))
    report = {"sets": {}, "rows": []}
    for label, spec in sets:
        ddir, info = ensure_data(label, spec, log)
        read_only = label == "clinic" or a.no_drill
        # Only the drill writes: a read-only run uses the cached set as it is (the clinic's
        # is too large to copy for every run).
        work = ddir if read_only else work_copy(ddir)
        try:
            name = YEAR_ATHLETE if spec.athletes == 1 else "Athlete 01"
            commands = {"stancelab sessions": time_command(["sessions"], work, repeats),
                        f"stancelab compare --athlete '{name}'":
                            time_command(["compare", "--athlete", name], work, repeats)}
            gui = run_child(work, rounds, a.drill_seconds, read_only)
        finally:
            if work != ddir:
                shutil.rmtree(work, ignore_errors=True)
        rows = figures(gui, commands, label)
        report["sets"][label] = {**info, "cache": str(ddir), "window_built_s":
                                 gui["window_built_s"]}
        report["rows"] += rows
        if not a.json:
            print_table(rows, f"{label}: {info['athletes']} athletes, {info['sessions']} "
                              f"sessions, {info['trials']} trials, {info['samples'] / 1e6:.2f} M "
                              f"samples ({info['bytes'] / 1e9:.2f} GB); window built in "
                              f"{gui['window_built_s'] * 1e3:.0f} ms; times in ms")
            if "drill" in gui:
                d = gui["drill"]
                print(f"  drill: {d['trials']} trials recorded in {d['seconds']:.0f} s realtime, "
                      f"{d['ticks']} timer ticks; lateness p50 {d['p50_ms']:.1f}, p95 "
                      f"{d['p95_ms']:.1f}, max {d['max_ms']:.1f} ms")
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        missed = [r for r in report["rows"] if r["met"] is False]
        print(f"{len(missed)} of {sum(r['met'] is not None for r in report['rows'])} targets "
              "missed" + (": " + "; ".join(f"{r['set']} {r['action']}" for r in missed)
                          if missed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
