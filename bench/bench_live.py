"""Live view cost: latency from bytes arriving to the COP painted, paints per second, CPU.

What is measured (run: ``.venv/bin/python bench/bench_live.py [--seconds 20]``):

* The board is a VirtualBoard behind a real pseudo-terminal, run in a *separate process*
  (tests/ui_pty_board.py) streaming 80 frames/s in real time, so its CPU is not counted.
* The app side is the real one: SerialBoard (reader thread stamps ``t_host_s`` when the bytes
  arrive, then wakes the session through Source.set_listener, which rings the session's
  socket doorbell) -> LiveSession (drains in the UI thread's wake-up) -> LiveView ->
  BoardCanvas, painted by Qt in the offscreen platform at 1280 x 800, after the app's own
  start-up step (ui.app.settle_after_startup).
* Latency = time.monotonic() at the end of a canvas repaint that drew the COP dot
  (BoardCanvas.drawForeground) minus ``t_host_s`` of the newest sample the dot shows; counted
  once per new sample shown. Reported as p50 / p99 / max. With ``--record`` the drill runner
  drains the source and its blocks carry no host times: latency then starts when the reader
  thread queued the batch (its decode time, tens of microseconds, is not included).
* ``--app``: the whole main window (every screen built and listening, a fresh data folder)
  on its Live screen, as ``stancelab`` runs, measured after the app's one-off warm-up of the
  sway metrics on its worker (3 s after start).
* The COP dot moves only when a sample puts it on another pixel (ui/widgets/board_canvas.py):
  latency is counted for the samples that moved it, and paints per second fall below 80.
* Paints per second = distinct COP paints / seconds. CPU = process CPU time (all threads of the
  app: GUI + serial reader) / wall time, in % of one core; the GUI thread alone also shown.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--record", action="store_true",
                   help="record while live: a quiet-stance drill runs through the session and "
                        "writes every sample to a SQLite database in a temporary folder")
    p.add_argument("--athlete", action="store_true",
                   help="the athlete view full screen at 1920 x 1080 instead of the live view, "
                        "while a quiet-stance drill records (implies --record): what a drill "
                        "costs on the athlete's screen")
    p.add_argument("--app", action="store_true",
                   help="the whole main window at 1280 x 800 on its Live screen (every screen "
                        "built, as `stancelab` runs), with a fresh data folder, instead of the "
                        "live view alone")
    p.add_argument("--no-probe", action="store_true",
                   help="measure CPU without the latency probe (a Python call on every "
                        "repaint that the app itself does not make); latency is not reported")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT / "tests")]))
    dev = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ui_pty_board.py")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = dev.stdout.readline().strip()
        return run(port, args.seconds, args.record or args.athlete, probe=not args.no_probe,
                   athlete=args.athlete, whole_app=args.app)
    finally:
        dev.stdin.close()
        dev.wait(5)


def _start_recording(session):
    """A quiet-stance drill with its runner writing to a fresh database (the app's only
    recording path), long enough to outlast the measurement."""
    import tempfile

    from stancelab.drills.quiet import QuietStance
    from stancelab.drills.runner import DrillRunner
    from stancelab.drills.settings import for_athlete
    from stancelab.storage import Storage

    store = Storage(Path(tempfile.mkdtemp(prefix="stancelab-bench-")) / "bench.sqlite")
    athlete = store.add_athlete("Bench", 265.0)
    drill = QuietStance.from_settings(for_athlete("quiet", {}, eyes="open", duration_s=3600))
    runner = DrillRunner(session.source, session.calibration, drill, store, athlete.id)
    session.run_drill(runner)
    return store, runner


_PY_THREADS: dict[int, str] = {}


def _thread_cpu() -> dict:
    """CPU seconds (user + system) of every thread of this process, from /proc (Linux),
    named by their Python name where Python made them."""
    import threading

    _PY_THREADS.update({t.native_id: t.name for t in threading.enumerate()})
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = _PY_THREADS.get(int(tid)) or stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[tid] = (f"{name}[{tid}]", (int(fields[11]) + int(fields[12])) / tick)
    return out


def _profiler():
    """STANCELAB_BENCH_PROFILE=1: cProfile the GUI thread over the measurement, timed by its
    CPU time (not wall), to find where the view's CPU goes. The profiler itself adds cost."""
    if not os.environ.get("STANCELAB_BENCH_PROFILE"):
        return None
    import cProfile

    return cProfile.Profile(time.thread_time)


def _report_profile(prof) -> None:
    import pstats

    st = pstats.Stats(prof)
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(30)


def _athlete_view(session):
    """The drill screen's athlete view, rendering the session's frames and drill events as the
    drill screen does (ui/screens/drills.py), at 1920 x 1080."""
    from stancelab.ui.athlete_view import AthleteView

    view = AthleteView()
    view.resize(1920, 1080)

    def frame(fr) -> None:
        b = fr.block
        view.canvas.show_cop(b.cop_x_mm, b.cop_y_mm, fr.t_host_last_s)

    def events(evs) -> None:
        drill = session.runner.drill if session.runner is not None else None
        for e in evs:
            view.render(e, drill.name if drill else None, drill.phase if drill else None)

    session.frame.connect(frame)
    session.drill_events.connect(events)
    return view


def _main_window(port: str):
    """The app as `stancelab` builds it (every screen listening to the session), its data in
    a fresh temporary folder, on the Live screen, attached to the pty board as the Board
    screen attaches a serial port."""
    import tempfile

    os.environ["STANCELAB_DATA_DIR"] = tempfile.mkdtemp(prefix="stancelab-bench-app-")
    from stancelab.board.serial_board import SerialBoard
    from stancelab.ui.app import build_window
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    win = build_window(ctx)
    ctx.connect_source(SerialBoard(port, boot_grace_s=0.2))
    win.resize(1280, 800)
    win.show()
    win.show_screen("Live")
    return ctx, win, win.screens["Live"]


def run(port: str, seconds: float, record: bool = False, probe: bool = True,
        athlete: bool = False, whole_app: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from stancelab.board.serial_board import SerialBoard
    from stancelab.ui.app import settle_after_startup
    from stancelab.ui.screens.live import LiveView
    from stancelab.ui.session import LiveSession

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ctx = None
    if whole_app:
        ctx, win, view = _main_window(port)
        session = ctx.session
    else:
        session = LiveSession()
        if athlete:
            view = _athlete_view(session)
        else:
            view = LiveView(session)
            view.resize(1280, 800)
    view.show()
    latencies: list[float] = []
    last_shown = [None]

    def on_paint(t_paint: float, t_host: float) -> None:
        if t_host != last_shown[0]:
            last_shown[0] = t_host
            latencies.append(t_paint - t_host)

    if probe:
        view.canvas.paint_hook = on_paint
    if not whole_app:
        session.attach(SerialBoard(port, boot_grace_s=0.2))
    store, runner = _start_recording(session) if record else (None, None)
    settle_after_startup()
    # The whole app warms the sway metrics up on its worker 3 s after start (a one-off import
    # of about a second of CPU, ui/screens/results.py): measured after it, not during it.
    warm_end = time.monotonic() + (6.0 if whole_app else 2.0)
    while time.monotonic() < warm_end:
        app.processEvents()
        time.sleep(0.0005)
    latencies.clear()
    samples0 = len(session.history)  # noqa: F841 - ring buffer is capped; count via state
    prof = _profiler()
    threads0 = _thread_cpu()
    cpu0, thread0, wall0 = time.process_time(), time.thread_time(), time.monotonic()
    st0 = session.source.state
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    if prof is not None:
        prof.enable()
    loop.exec()
    if prof is not None:
        prof.disable()
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    gui = time.thread_time() - thread0
    threads = _thread_cpu()
    st = session.source.state
    written = runner.samples_written if runner is not None else 0
    session.detach()
    view.close()
    if store is not None:
        store.close()
    if ctx is not None:
        win.close()
        ctx.close()
    lat = np.array(latencies or [np.nan]) * 1e3
    mode = f"recording ({written} samples written)" if record else "not recording"
    if athlete:
        mode = "athlete view 1920 x 1080, " + mode
    if whole_app:
        mode = "main window 1280 x 800 on Live, " + mode
    print(f"live view, {mode}, {wall:.1f} s at {st.rate_sps:.1f} samples/s over a pty "
          f"(lost frames {st.lost_frames - st0.lost_frames})")
    if probe:
        print(f"latency bytes->COP painted: p50 {np.percentile(lat, 50):.2f} ms, "
              f"p99 {np.percentile(lat, 99):.2f} ms, max {np.max(lat):.2f} ms "
              f"(n={len(latencies)})")
        print(f"COP paints per second: {len(latencies) / wall:.1f}")
    else:
        print("latency and paints: not measured (--no-probe)")
    print(f"CPU: {100 * cpu / wall:.1f} % of one core (app process), "
          f"GUI thread {100 * gui / wall:.1f} %")
    per_thread = sorted(((threads[k][1] - threads0.get(k, (None, 0.0))[1], threads[k][0])
                         for k in threads), reverse=True)
    print("CPU per thread: " + ", ".join(f"{name} {100 * t / wall:.1f} %"
                                         for t, name in per_thread if t > 0.001 * wall))
    if prof is not None:
        _report_profile(prof)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(other work on the machine inflates latency; compare runs at low load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
