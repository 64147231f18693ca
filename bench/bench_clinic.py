"""A clinic on one database: several stations recording at once, and an athlete's progress query.

    PYTHONPATH=app .venv/bin/python bench/bench_clinic.py                 # both backends
    PYTHONPATH=app .venv/bin/python bench/bench_clinic.py --backend postgresql --seconds 60
    PYTHONPATH=app .venv/bin/python bench/bench_clinic.py --json

Stations: ``--stations`` processes (4), each recording a simulated 80 Hz stream in real time
(a batch of 4 samples every 50 ms, as a board's drain timer hands them over) through a
SampleWriter with the default 0.5 s commit interval, for ``--seconds`` (20). Every commit the
writer thread makes is timed (from COMMIT sent to done, plus the heartbeat UPDATE before it);
after the stations close, the samples each handed over are counted in the database: lost =
handed - stored. Progress query: one athlete with ``--sessions`` (150) sessions of 4 trials
(quiet stance, single-leg left and right, clock) with metrics shaped like real ones; timed is
``load_assessment`` (what `stancelab compare` and the Compare screen run: the athlete's
session summaries and trials in two queries, then the assessment), median and p95 of 30 runs.

PostgreSQL: the server in STANCELAB_TEST_POSTGRES_URL (a fresh schema), else a throw-away
cluster started like the tests' (tests/pg_cluster.py: initdb, unix socket, fsync off, so the
figures are the database's and the network's share, not the disk's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app"), str(ROOT / "tests")]

from stancelab.board.source import Sample
from stancelab.storage import SampleArrays, Storage, StorageError


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


# ------------------------------------------------------------------ one station (a child)

def station(target: str, name: str, seconds: float, rate: float) -> dict:
    store = Storage(target)
    athlete = store.get_or_add_athlete(name)
    session = store.start_session(athlete_id=athlete.id, source_kind="simulated")
    trial = store.start_trial(session.id, "recording")
    w = store.sample_writer(trial.id)
    db, times = w._db, []
    real_commit, real_execute = db.commit, db.execute
    began = {}

    def execute(sql, params=()):
        if sql.startswith("UPDATE trials SET heartbeat_unix"):
            began["t"] = time.perf_counter()
        return real_execute(sql, params)

    def commit():
        start = began.pop("t", None) or time.perf_counter()
        real_commit()
        times.append(time.perf_counter() - start)

    db.execute, db.commit = execute, commit      # the writer thread's own connection
    per_batch, period = 4, 4 / rate
    i, t0, error = 0, time.monotonic(), None
    try:
        while time.monotonic() - t0 < seconds:
            w.extend([Sample(k % 65536, k / rate, time.time(), (k, -k, 2 * k, 7), 0)
                      for k in range(i, i + per_batch)])
            i += per_batch
            time.sleep(max(0.0, t0 + (i / per_batch) * period - time.monotonic()))
        w.close()
    except StorageError as e:      # the recording stopped: count what it kept
        error = str(e)
        w.close()
    stored = store.sample_count(trial.id)
    store.close()
    return {"handed": i, "stored": stored, "commits_s": times, "error": error}


def run_stations(target: str, n: int, seconds: float, rate: float) -> dict:
    procs = [subprocess.Popen([sys.executable, __file__, "--child", target, f"station {k}",
                               str(seconds), str(rate)], stdout=subprocess.PIPE, text=True)
             for k in range(n)]
    results = [json.loads(p.communicate(timeout=seconds * 4 + 120)[0]) for p in procs]
    commits_ms = [t * 1000 for r in results for t in r["commits_s"]]
    return {"errors": [r["error"] for r in results if r["error"]], "stations": n, "seconds": seconds, "rate_hz": rate,
            "handed": sum(r["handed"] for r in results),
            "lost": sum(r["handed"] - r["stored"] for r in results),
            "commits": len(commits_ms), "commit_p50_ms": pct(commits_ms, 50),
            "commit_p99_ms": pct(commits_ms, 99), "commit_max_ms": max(commits_ms)}


# ------------------------------------------------------------------ the progress query

def metrics_for(drill: str, k: int) -> dict:
    if drill == "clock":
        return {"edge_reach_score_pct": 60 + k % 20, "targets_reached": 10, "weakest_hour": 9,
                "targets": [{"hour": h, "max_excursion_pct": 50.0 + h + k % 7}
                            for h in (12, 3, 6, 9)]}
    if drill == "single-leg":
        return {"time_held_s": 20.0 + k % 9, "touchdowns": k % 3, "ellipse95_area_mm2":
                300.0 + k, "mean_velocity_mm_s": 20.0 + k % 5, "time_to_stabilisation_s": 1.5}
    return {"ellipse95_area_mm2": 200.0 + k, "mean_velocity_mm_s": 10.0, "path_length_mm":
            300.0, "rms_mm": 3.0, "left_pct": 49.0, "right_pct": 51.0}


def progress_query(target: str, sessions: int, repeats: int = 30) -> dict:
    from stancelab.station.assessment import load_assessment

    with Storage(target) as store:
        athlete = store.add_athlete(f"Progress {uuid.uuid4().hex[:6]}")
        few = SampleArrays.from_samples([Sample(k, k / 80, k / 80, (k, k, k, k), 0)
                                         for k in range(40)])
        for k in range(sessions):
            with store.transaction():
                s = store.start_session(athlete_id=athlete.id, source_kind="simulated",
                                        started=f"2026-01-01T10:00:{k // 60:02d}.{k % 60:03d}")
                for drill, leg in (("quiet", None), ("single-leg", "left"),
                                   ("single-leg", "right"), ("clock", "right")):
                    t = store.start_trial(s.id, drill, leg=leg, condition="eyes open")
                    store.insert_samples(t.id, few)
                    store.update_metrics(t.id, metrics_for(drill, k))
                    store.finish_trial(t.id)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            load_assessment(store, athlete.id)
            times.append((time.perf_counter() - t0) * 1000)
    return {"sessions": sessions, "trials": sessions * 4, "median_ms": statistics.median(times),
            "p95_ms": pct(times, 95)}


# ------------------------------------------------------------------ the servers

def postgres_target():
    """(URL of a fresh schema, cleanup)."""
    import psycopg

    import pg_cluster

    url, cluster = os.environ.get(pg_cluster.URL_ENV), None
    if not url:
        cluster = pg_cluster.temp_cluster()
        url = cluster.url
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    target = f"{url}{sep}options={urllib.parse.quote(f'-csearch_path={schema}')}"

    def cleanup():
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
        if cluster is not None:
            cluster.destroy()
    return target, cleanup


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, target, name, seconds, rate = sys.argv
        print(json.dumps(station(target, name, float(seconds), float(rate))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    ap.add_argument("--stations", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=80.0)
    ap.add_argument("--sessions", type=int, default=150)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = {"cpus": len(os.sched_getaffinity(0)), "load_before": os.getloadavg()[0]}
    for backend in (("sqlite", "postgresql") if a.backend == "both" else (a.backend,)):
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="stancelab-bench-")
            target = str(Path(folder) / "clinic.sqlite3")

            def cleanup(folder=folder):
                shutil.rmtree(folder, ignore_errors=True)
        else:
            target, cleanup = postgres_target()
        try:
            out[backend] = {"recording": run_stations(target, a.stations, a.seconds, a.rate),
                            "progress": progress_query(target, a.sessions)}
        finally:
            cleanup()
    out["load_after"] = os.getloadavg()[0]
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"CPUs usable {out['cpus']}, load average {out['load_before']:.2f} before, "
          f"{out['load_after']:.2f} after")
    for backend in ("sqlite", "postgresql"):
        if backend not in out:
            continue
        r, p = out[backend]["recording"], out[backend]["progress"]
        print(f"{backend}: {r['stations']} stations x {r['seconds']:g} s at {r['rate_hz']:g} Hz: "
              f"{r['handed']} samples, lost {r['lost']}; {r['commits']} commits, latency "
              f"p50 {r['commit_p50_ms']:.1f} ms, p99 {r['commit_p99_ms']:.1f} ms, max "
              f"{r['commit_max_ms']:.1f} ms")
        for e in r["errors"]:
            print(f"{backend}: a station stopped: {e}")
        print(f"{backend}: progress query (load_assessment), {p['sessions']} sessions / "
              f"{p['trials']} trials: median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms "
              f"(target < 100 ms: {'met' if p['p95_ms'] < 100 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
