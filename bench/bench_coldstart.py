"""Cold start to the first live frame, for the CLI and for the desktop app.

    .venv/bin/python bench/bench_coldstart.py [--runs 7] [--json]

Each run is a new Python process with a new, empty data folder (STANCELAB_DATA_DIR), so the
database is created on the way, as on a first start; the OS file cache and the .pyc files are
warm (a repeated start, not the first after boot).

- CLI: ``python -m stancelab record --simulate --seconds 0.1``. "First sample" is the first
  progress line on stderr, which the recorder prints right after the first samples arrive
  (it is stamped by this script when read from the pipe); "exit" is the process's end.
- GUI: the app's own start-up steps (QApplication, AppContext, ``build_window``,
  ``choose_source`` with --simulate, ``connect_source``, show at 1280 x 800, offscreen Qt
  platform) in a child ``python -c``; the Live canvas's ``paint_hook`` (the latency probe the
  live benchmark uses) prints the wall-clock time of the first repaint that drew the COP dot
  and quits. There is no such hook in ``stancelab`` itself (see docs/benchmarks.md).

Times are from just before the process is spawned. Medians and max over the runs; also the
child's CPU time (user + system, whole run to exit), which a busy machine inflates less, and
for the GUI the child's CPU time when the first COP was painted (all its threads), the figure
to compare between trees on a shared machine.

Target (issue "The athlete's screen"): GUI cold start to the first COP painted <= 2 s (median
wall). ``--app DIR`` measures another checkout's ``app`` folder (e.g. the main tree, back to
back with this one, in the same conditions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.0  # GUI: first COP painted, median wall

GUI_CHILD = r"""
import sys, time
from argparse import Namespace
from PySide6.QtWidgets import QApplication
from stancelab.ui.app import build_window, choose_source
from stancelab.ui.context import AppContext
app = QApplication(sys.argv[:1])
ctx = AppContext()
win = build_window(ctx)
t_window = time.time()
source, banner = choose_source(Namespace(simulate=True, seed=0))
ctx.connect_source(source)
win.set_banner(banner)
win.resize(1280, 800)
win.show()
def first(painted_s, t_host_s):
    print(f"WINDOW {t_window!r}", flush=True)
    print(f"FIRST_COP {time.time()!r}", flush=True)
    print(f"CPU {time.process_time()!r}", flush=True)
    win.screens["Live"].canvas.paint_hook = None
    app.quit()
win.screens["Live"].canvas.paint_hook = first
rc = app.exec()
ctx.close()
sys.exit(rc)
"""


APP = ROOT / "app"


def _env(tmp: str) -> dict:
    return dict(os.environ, PYTHONPATH=str(APP), STANCELAB_DATA_DIR=tmp,
                QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")


def _child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_once() -> dict:
    cpu0 = _child_cpu_s()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        p = subprocess.Popen([sys.executable, "-m", "stancelab", "record", "--simulate",
                              "--seconds", "0.1"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=_env(tmp), cwd=tmp)
        first = None
        lines = []
        for line in p.stderr:
            lines.append(line)
            if first is None and line.startswith("["):
                first = time.time() - t0
        rc = p.wait()
        end = time.time() - t0
    if rc != 0 or first is None:
        raise RuntimeError(f"record exited {rc} without a progress line: {''.join(lines)[-800:]}")
    return {"first_sample_s": first, "exit_s": end, "process_cpu_s": _child_cpu_s() - cpu0}


def gui_once(timeout_s: float = 60.0) -> dict:
    cpu0 = _child_cpu_s()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        res = subprocess.run([sys.executable, "-c", GUI_CHILD], capture_output=True, text=True,
                             env=_env(tmp), cwd=tmp, timeout=timeout_s, check=False)
        end = time.time() - t0
    stamps = dict(line.split() for line in res.stdout.splitlines() if line[:1].isupper()
                  and len(line.split()) == 2)
    if "FIRST_COP" not in stamps:
        raise RuntimeError(f"GUI child exited {res.returncode} before a COP was painted: "
                           f"{res.stderr[-800:]}")
    return {"window_built_s": float(stamps["WINDOW"]) - t0,
            "first_cop_painted_s": float(stamps["FIRST_COP"]) - t0,
            "cpu_at_first_cop_s": float(stamps["CPU"]), "exit_s": end,
            "process_cpu_s": _child_cpu_s() - cpu0}


def _summary(rows: list[dict]) -> dict:
    return {k: {"median_s": float(np.median([r[k] for r in rows])),
                "max_s": float(np.max([r[k] for r in rows])),
                "min_s": float(np.min([r[k] for r in rows]))} for k in rows[0]}


def run(runs: int) -> dict:
    cli_once()  # warm the file cache and .pyc files; not counted
    gui_once()
    cli = [cli_once() for _ in range(runs)]
    gui = [gui_once() for _ in range(runs)]
    return {"runs": runs, "cli": _summary(cli), "gui": _summary(gui),
            "cli_command": "python -m stancelab record --simulate --seconds 0.1",
            "gui_command": "python -c <bench_coldstart.GUI_CHILD> (QT_QPA_PLATFORM=offscreen)"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--app", type=Path, default=APP, help="the app folder to measure")
    a = ap.parse_args(argv)
    globals()["APP"] = a.app.resolve()
    load0 = os.getloadavg()
    r = run(a.runs)
    first = r["gui"]["first_cop_painted_s"]["median_s"]
    r.update(app=str(APP), target_s=TARGET_S, met=first <= TARGET_S,
             load_average=[load0, os.getloadavg()])
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"cold start, {a.runs} runs each (median [min-max])")
    for side in ("cli", "gui"):
        for k, v in r[side].items():
            print(f"  {side} {k:<22} {v['median_s'] * 1e3:7.0f} ms "
                  f"[{v['min_s'] * 1e3:.0f}-{v['max_s'] * 1e3:.0f}]")
    print(f"  target: GUI first COP <= {TARGET_S:g} s (median wall): "
          f"{'met' if r['met'] else 'MISSED'}; load average {load0[0]:.2f} -> "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs ({APP})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
