"""The coach's PDF report for an athlete with a year of data: 150 sessions, target <= 3 s.

    .venv/bin/python bench/bench_report.py            # 150 sessions x 9 trials, 5 repeats
    .venv/bin/python bench/bench_report.py --quick    # 20 sessions, 3 repeats
    .venv/bin/python bench/bench_report.py --json     # the figures as JSON (bench/run_all.py)

The database is bench_scale.py's "year" set (real drills on the simulated board copied into
150 sessions over a year, cached under the temp dir; made once, a few minutes). Two figures:

- *in the app*: ``report.gather`` + ``report.write_report`` in one process that has already
  imported them (what the Export screen's worker does once the app runs), median / p95 / max
  over the repeats after one warm-up, with the split between reading and drawing;
- *from the command line*: ``stancelab report --athlete NAME --out FILE`` as a new process
  each time (Python, numpy, scipy and matplotlib imports included).

Target: at most 3 s (median wall) for each (issue "The coach's report and progress you can
see"). CPU time of the process is printed next to it: on a shared machine the wall time
includes waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import YEAR_ATHLETE, DataSpec, ensure_data

TARGET_S = 3.0


def stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"median_s": statistics.median(v), "p95_s": v[min(len(v) - 1, round(0.95 *
                                                                               (len(v) - 1)))],
            "max_s": v[-1], "min_s": v[0], "n": len(v)}


def in_process(db: Path, out_dir: Path, repeats: int) -> dict:
    from stancelab import report
    from stancelab.storage import Storage

    gather_s, write_s, total_s, cpu_s = [], [], [], []
    pages = sessions = size = 0
    for k in range(repeats + 1):          # the first is a warm-up (imports, font cache)
        c0, t0 = time.process_time(), time.perf_counter()
        with Storage(db) as store:
            content = report.gather(store, store.find_athlete(YEAR_ATHLETE))
        t1 = time.perf_counter()
        path = report.write_report(out_dir / f"r{k}.pdf", content)
        t2, c2 = time.perf_counter(), time.process_time()
        if k:
            gather_s.append(t1 - t0)
            write_s.append(t2 - t1)
            total_s.append(t2 - t0)
            cpu_s.append(c2 - c0)
        sessions, size = len(content.sessions), path.stat().st_size
        pages = path.read_bytes().count(b"/Type /Page\n") or \
            path.read_bytes().count(b"/Type /Page ")
    return {"total": stats(total_s), "gather": stats(gather_s), "write": stats(write_s),
            "cpu": stats(cpu_s), "sessions": sessions, "pdf_bytes": size, "pages": pages}


def from_cli(data_dir: Path, out_dir: Path, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), STANCELAB_DATA_DIR=str(data_dir))
    times, cpu = [], []
    for k in range(repeats):
        out = out_dir / f"cli{k}.pdf"
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "stancelab", "report", "--athlete",
                            YEAR_ATHLETE, "--out", str(out)], env=env, capture_output=True,
                           text=True, check=False)
        times.append(time.perf_counter() - t0)
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
        if r.returncode != 0:
            raise RuntimeError(f"stancelab report exited {r.returncode}: {r.stderr[-400:]}")
    return {"total": stats(times), "cpu": stats(cpu)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 sessions, 3 repeats")
    ap.add_argument("--repeats", type=int, help="repeats of each (5; quick 3)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    repeats = a.repeats or (3 if a.quick else 5)
    spec = DataSpec(1, 20 if a.quick else 150, 5, (1,) if a.quick else (1, 2))
    log = (lambda s: print(s, file=sys.stderr, flush=True))
    ddir, info = ensure_data("year", spec, log)
    with tempfile.TemporaryDirectory(prefix="stancelab-bench-report-") as tmp:
        app = in_process(ddir / "stancelab.sqlite3", Path(tmp), repeats)
        cli = from_cli(ddir, Path(tmp), repeats)
    result = {"data": info, "athlete_sessions": spec.sessions, "in_app": app, "cli": cli,
              "target_s": TARGET_S, "load_average": os.getloadavg()}
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    t, g, w, c = app["total"], app["gather"], app["write"], cli["total"]
    print(f"report for {YEAR_ATHLETE}: {app['sessions']} sessions, {app['pages']} pages, "
          f"{app['pdf_bytes'] / 1e3:.0f} kB (database: {info['trials']} trials, "
          f"{info['samples'] / 1e6:.1f} M samples)")
    print(f"  in the app (warm): median {t['median_s']:.2f} s, p95 {t['p95_s']:.2f}, max "
          f"{t['max_s']:.2f} (reading {g['median_s']:.2f}, drawing + writing "
          f"{w['median_s']:.2f}); CPU median {app['cpu']['median_s']:.2f} s; target <= "
          f"{TARGET_S:g} s (median wall): {'met' if t['median_s'] <= TARGET_S else 'MISSED'}")
    print(f"  stancelab report (new process): median {c['median_s']:.2f} s, max "
          f"{c['max_s']:.2f}; CPU median {cli['cpu']['median_s']:.2f} s; target <= "
          f"{TARGET_S:g} s (median wall): {'met' if c['median_s'] <= TARGET_S else 'MISSED'}")
    print(f"  load average {result['load_average'][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
