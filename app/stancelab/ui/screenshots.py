"""Regenerate docs/screenshots/*.png from the real app on the simulated board.

Run: ``xvfb-run -s "-screen 0 1920x1080x24" python -m stancelab.ui.screenshots
[--out docs/screenshots]`` (a real X server: the athlete view goes full screen on it; with
``QT_QPA_PLATFORM=offscreen`` only the coach's screens are made). Uses a throw-away data
folder, runs real drills on the simulated board faster than real time (demo autopilot), grabs
every main screen at 1280 x 800 and the athlete view, full screen at 1920 x 1080, in each phase
(``athlete-*.png``), and a squat set of a plan session in the athlete view
(``athlete-squat-*.png``; ``--plan-session`` makes only those).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

SCREENS = ("Live", "Drills", "Results", "Compare", "Athletes", "Plan", "Board", "Export")


def _pump(app, until, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > end:
            raise TimeoutError("the simulated drill did not finish in time")
        app.processEvents()
        time.sleep(0.001)


def _app_window():
    """The application, a fresh context (not real time) and its window at 1280 x 800."""
    from PySide6.QtWidgets import QApplication

    from stancelab.ui.app import build_window
    from stancelab.ui.context import AppContext

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ctx = AppContext()
    ctx.realtime = False
    win = build_window(ctx)
    win.resize(1280, 800)
    win.show()
    return app, ctx, win


def make_screenshots(out: Path) -> list[Path]:
    from stancelab.ui.app import SIMULATED_BANNER

    app, ctx, win = _app_window()
    ctx.connect_simulated(seed=7)
    win.set_banner(SIMULATED_BANNER)
    drills = win.screens["Drills"]
    drills.trials.setValue(1)
    drills.duration.setValue(10)
    drills.rest.setValue(3)
    win.show_screen("Drills")
    for key in ("clock-left", "clock-right", "single-both"):
        if key == "single-both":
            drills.duration.setValue(14)     # long enough for the 10 s comparison window
        drills.select(key)
        drills.go()
        _pump(app, lambda: drills.state == "done")
    # A second session of single-leg stands (the board reconnected): the progress plots.
    ctx.connect_simulated(seed=8)
    drills.select("single-both")
    drills.go()
    _pump(app, lambda: drills.state == "done")
    files = []
    out.mkdir(parents=True, exist_ok=True)
    if app.platformName() != "offscreen":
        files += athlete_shots(app, drills, out)
        files += plan_session_shots(app, ctx, win, out)

    def shot(name: str) -> None:
        for _ in range(5):
            app.processEvents()
        path = out / f"{name.lower()}.png"
        win.grab().save(str(path))
        files.append(path)

    # The coach's drill screen before a start: the clock drill's settings and its preview
    # (while a drill runs the athlete view is full screen: the athlete-*.png shots).
    drills.select("clock-right")
    shot("Drills")
    # Live view: the simulated athlete on the right foot.
    ctx.simulated_athlete.set_stance("right", ctx.session.source.board_time_s)
    win.show_screen("Live")
    win.screens["Live"].set_stance("right")
    _pump(app, lambda: len(ctx.session.history) >= ctx.session.history.capacity)
    shot("Live")
    for name in SCREENS:
        if name in ("Live", "Drills"):
            continue
        win.show_screen(name)
        _pump(app, lambda: not ctx.worker.running)   # screens read the database on the worker
        if name == "Results":
            res = win.screens["Results"]
            res.list.setCurrentRow(res.list.count() - 1)  # the first clock trial
        if name == "Compare":
            win.screens["Compare"].set_kind("clock")
        if name == "Plan":
            _plan_in_week_two(ctx)
            win.screens["Plan"].refresh()
        _pump(app, lambda: not ctx.worker.running)
        shot(name)
        if name == "Compare":
            cmp = win.screens["Compare"]
            cmp.set_kind("single-leg")
            cmp.tabs.setCurrentIndex(1)
            _pump(app, lambda c=cmp: not c.plots.pending)    # drawn one plot per turn
            shot("Compare-progress")
            cmp.tabs.setCurrentIndex(0)
    win.close()
    ctx.close()
    return files


def athlete_shots(app, drills, out: Path) -> list[Path]:
    """The athlete view, full screen, in each phase of a clock drill and a single-leg stand."""
    files = []
    view = drills.view

    def grab(name: str) -> None:
        drills.ctx.session.pause()       # the drill waits while the picture is taken
        for _ in range(5):
            app.processEvents()
        path = out / f"athlete-{name}.png"
        drills._window.grab().save(str(path))
        files.append(path)
        drills.ctx.session.resume()

    drills.select("clock-right")
    drills.go()
    phases = (
        ("waiting", lambda: view.state == "waiting"),
        ("countdown", lambda: view.state == "countdown" and view.big.text() == "2"),
        ("moving", lambda: view.state == "moving" and view.ring._text == "2"),
        ("holding", lambda: view.state == "in-zone" and view.ring._text == "3"
         and view.ring.fraction > 0.5),
        ("target-score", lambda: view.state == "hold-done" and "3 o'clock" in view.scores[-1]),
        ("trial-score", lambda: drills.state == "done"),
    )
    for name, ready in phases:
        _pump(app, ready)
        grab(f"clock-{name}")
    drills.escape()
    drills.select("single-right")
    drills.go()
    _pump(app, lambda: view.state == "countdown" and view.big.text() == "2")
    grab("single-leg-countdown")
    _pump(app, lambda: drills.state == "done")
    grab("single-leg-trial-score")
    drills.escape()
    return files


def plan_session_shots(app, ctx, win, out: Path) -> list[Path]:
    """The athlete view full screen during a plan session's squat set (the rep counter, the
    set, the plan line) and in the rest before the next set; the board is then the default
    simulated one again."""
    from stancelab.exercises.plan import PlanItem, PlanSpec
    from stancelab.sim.athlete import VirtualAthlete
    from stancelab.sim.exercises import ExercisePerformer

    a = ctx.athlete or ctx.ensure_demo_athlete()
    ctx.select_athlete(a)
    plan = ctx.storage.active_plan(a.id)
    spec = PlanSpec(4, 3, training=[PlanItem("squat", 3, 10)],
                    assessment=[PlanItem("squat", 3, 10)])
    ctx.storage.start_plan(a.id, spec.to_dict())
    ctx.connect_simulated(athlete=ExercisePerformer(VirtualAthlete(seed=9, stance="off"),
                                                    seed=9), seed=9)
    screen = win.show_screen("Plan")
    screen.flow_options = {"between_ms": 0, "rest_s": 20.0}
    _pump(app, lambda: not ctx.worker.running and not screen.loading)
    screen.start_session()
    drills, view = win.screens["Drills"], win.screens["Drills"].view
    files = []

    def grab(name: str) -> None:
        ctx.session.pause()
        for _ in range(5):
            app.processEvents()
        path = out / f"athlete-{name}.png"
        drills._window.grab().save(str(path))
        files.append(path)
        ctx.session.resume()

    _pump(app, lambda: view.rep_counter == "4/10")
    grab("squat-set")
    _pump(app, lambda: view.state == "rest" and view.big.text() == "15")
    grab("squat-rest")
    drills.escape()
    if plan is not None:         # the plan the other screenshots show comes back
        ctx.storage.start_plan(a.id, plan.spec, started=plan.started)
    ctx.connect_simulated(seed=7)
    return files


def _plan_in_week_two(ctx) -> None:
    """The default plan, its baseline and week 1 done (in the session the drills were stored
    in), so the Plan screen shows adherence and today's session."""
    from stancelab.exercises.plan import default_plan

    a = ctx.athlete
    plan = ctx.storage.start_plan(a.id, default_plan().to_dict())
    sid = ctx.storage.sessions(a.id)[-1].id
    for number in range(4):
        ctx.storage.mark_plan_session(plan.id, number, [sid])


def plan_session_only(out: Path) -> list[Path]:
    app, ctx, win = _app_window()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return plan_session_shots(app, ctx, win, out)
    finally:
        win.close()
        ctx.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    p.add_argument("--plan-session", action="store_true",
                   help="only the athlete view during a plan session's squat set")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # no screen: coach's screens only
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STANCELAB_DATA_DIR"] = tmp
        for f in (plan_session_only(args.out) if args.plan_session
                  else make_screenshots(args.out)):
            print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
