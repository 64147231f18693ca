"""Run every benchmark and write docs/benchmarks.md: each figure against its target.

    .venv/bin/python bench/run_all.py            # full run (~25-40 min; firmware: 10 sim. min)
    .venv/bin/python bench/run_all.py --quick    # smoke run (~3 min), written to a temp file
    .venv/bin/python bench/run_all.py --only peers,decode

Needs only the README quick start (``pip install -e '.[test]'``) plus the two peer libraries
for the metric comparison (micromotion, openbalance): when they are missing this script
installs them into the running interpreter's environment (the venv) with pip and says so;
they are benchmark-only tools, not StanceLab dependencies. The firmware benchmark also needs
the avr/simavr apt packages (docs/firmware.md); without them it is reported as not run.

Each benchmark is its own process (so one's memory and thread pools do not affect another),
with PYTHONPATH=app and the BLAS/OpenMP pools pinned to one thread. The machine (CPU model,
cores, load average at start, per benchmark and at the end) and the date go into the report,
with each script's full output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
PIN = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "NUMEXPR_NUM_THREADS": "1"}
PEERS = ("micromotion", "openbalance")


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str = ""          # human text, e.g. "<= 70 ms"
    met: bool | None = None   # None: no target
    missed_by: str = ""
    note: str = ""


@dataclass
class Bench:
    key: str
    script: str
    args: list[str]
    quick_args: list[str]
    parse: object             # (stdout, json-or-None) -> list[Figure]
    json_flag: bool = False
    timeout_s: float = 1800
    env_extra: dict = field(default_factory=dict)


def _le(name, value, unit, limit, note=""):
    met = value is not None and value <= limit
    miss = "" if met or value is None else f"{value - limit:.3g} {unit} over ({value / limit:.2f}x)"
    return Figure(name, value, unit, f"<= {limit:g} {unit}", met, miss, note)


def _ge(name, value, unit, limit, note=""):
    met = value is not None and value >= limit
    miss = "" if met or value is None else f"{limit - value:.3g} {unit} short ({value / limit:.2f}x)"
    return Figure(name, value, unit, f">= {limit:g} {unit}", met, miss, note)


def _num(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1).replace(",", "")) if m else None


# -- parsers: one per script, from its --json output where it has one, else its text ---------

def parse_calibration(out, js):
    e, nf = js["cop_error_mm"], js["noise_floor_70kg"]
    return [_le("COP error after calibration, max over the grid", e["max"], "mm", 1.0,
                f"{js['grid']}; p95 {e['p95']:.3f}, mean {e['mean']:.3f} mm"),
            Figure("COP noise floor at 70 kg, SD x / SD y (unfiltered)",
                   max(nf["cop_sd_x_mm"], nf["cop_sd_y_mm"]), "mm",
                   note=f"SD x {nf['cop_sd_x_mm']:.4f}, SD y {nf['cop_sd_y_mm']:.4f} mm over "
                        f"{nf['samples']} samples (largest shown)"),
            _le("total load error, max", js["load_error_pct"]["max_abs"], "%", 0.2)]


def parse_decode(out, js):
    rate = _num(r"([\d.]+) M frames/s", out)
    ratio = _num(r"ratio bulk / streaming: ([\d.]+)x", out)
    return [_ge("bulk decode", rate, "M frames/s", 1.0,
                f"{ratio}x the per-frame streaming decoder, same run" if ratio else "")]


def parse_metrics(out, js):
    figs = []
    for r in js:
        if r["budget_ms"] is None:
            continue
        figs.append(_le(f"metric set, {r['case']}, {r['settings']} (bench_metrics)",
                        r["median_ms"], "ms", r["budget_ms"],
                        f"p95 {r['p95_ms']:.2f}, min {r['min_ms']:.2f}, CPU median "
                        f"{r['cpu_median_ms']:.2f} ms, {r['repeats']} repeats"))
    return figs


def parse_peers(out, js):
    figs = []
    for k, v in js["peer_problems"].items():
        figs.append(Figure(f"{k}: not compared", None, "", note=v))
    for case, c in js["cases"].items():
        t = c["timings"]
        ours = t["stancelab (filtered, default)"]
        figs.append(_le(f"whole metric set, {case} ({c['samples']} samples), default filter",
                        ours["median_ms"], "ms", c["target_ms"],
                        f"p95 {ours['p95_ms']:.2f}, CPU median {ours['cpu_median_ms']:.2f} ms"))
        mm = t.get("micromotion cop_sway_metrics")
        if mm and case == "1 h":
            figs.append(_ge("1 h: micromotion cop_sway_metrics / StanceLab (wall medians)",
                            mm["ratio_vs_stancelab_filtered"], "x", 2.0,
                            f"micromotion {mm['median_ms']:.1f} ms vs ours "
                            f"{ours['median_ms']:.1f} ms; CPU-time ratio "
                            f"{mm['cpu_ratio_vs_stancelab_filtered']:.2f}x; ours does more "
                            "(filter, hull, Prieto set)"))
        for k, r in t.items():
            if k.startswith("stancelab") or k == "micromotion cop_sway_metrics" and case == "1 h":
                continue
            figs.append(Figure(f"{case}: {k} / StanceLab", r["ratio_vs_stancelab_filtered"],
                               "x", note=f"{r['median_ms']:.2f} ms; vs StanceLab without "
                                         f"filter {r['ratio_vs_stancelab_no_filter']:.2f}x"))
        worst = max((g["rel_diff"] for g in js["agreement"][case] if g["rel_diff"] is not None),
                    default=None)
        figs.append(_le(f"{case}: overlapping metrics, largest relative difference to peers",
                        worst, "", 1e-9, "after converting conventions (see table below)"))
    return figs


def parse_csv(out, js):
    exp = _num(r"stancelab export\s+median\s+([\d.]+) ms", out)
    imp = _num(r"stancelab import\s+median\s+([\d.]+) ms", out)
    core = _num(r"stancelab import \(no derived cols\)\s+median\s+([\d.]+) ms", out)
    er = _num(r"export ratio pandas/stancelab: ([\d.]+)x", out)
    ir = _num(r"import ratio pandas/stancelab: ([\d.]+)x", out)
    return [_le("1 h raw CSV import, all columns (csv_parse.read_raw_csv)",
                None if imp is None else imp / 1e3, "s", 0.2,
                f"pandas.read_csv / ours = {ir}x" if ir else ""),
            _le("1 h raw CSV import as `stancelab import` reads it (counts, times, text; "
                "forces and COP recomputed from the header's calibration)",
                None if core is None else core / 1e3, "s", 0.2, ""),
            _le("1 h raw CSV export", None if exp is None else exp / 1e3, "s", 1.0,
                f"DataFrame.to_csv / ours = {er}x" if er else "")]


def parse_live(out, js):
    """One set of figures per 'live view, <mode>, ...' block (e.g. live only, and recording)."""
    blocks = re.split(r"(?m)^(?=live view)", out)
    blocks = [b for b in blocks if b.startswith("live view")] or [out]
    figs = []
    for b in blocks:
        mode = re.match(r"live view,? ?([^,\d]*)", b)
        tag = f" ({mode.group(1).strip()})" if mode and mode.group(1).strip() else ""
        p50 = _num(r"p50 ([\d.]+) ms", b)
        figs += [_le(f"latency bytes -> COP painted, p99{tag}", _num(r"p99 ([\d.]+) ms", b),
                     "ms", 5.0, f"p50 {p50} ms"),
                 Figure(f"COP frames painted per second{tag}",
                        _num(r"paints per second: ([\d.]+)", b), "/s"),
                 _le(f"CPU while live{tag}, app process", _num(r"CPU: ([\d.]+) %", b),
                     "% of a core", 8.0)]
    return figs


def parse_firmware(out, js):
    if "error" in js:
        return [Figure("firmware in the emulator: not run", None, "", note=js["error"])]
    rt = js["read_time_us"]
    return [Figure("firmware frame rate", js["frame_rate_sps"], "frames/s", "80 frames/s",
                   js["met"]["frame_rate_sps"],
                   "" if js["met"]["frame_rate_sps"] else "off by "
                   f"{js['frame_rate_sps'] - 80:+.3f}",
                   f"{js['frames']} frames over {js['device_seconds']} s device time"),
            _le(f"lost frames over {js['simulated_minutes']:g} simulated min",
                js["lost_frames"], "", 0),
            _le("SCK high time, max", js["sck_high_max_us"], "us", 10.0),
            Figure("4-chip read time, max", rt["max"], "us",
                   note=f"min {rt['min']}, mean {rt['mean']:.2f} us")]


def parse_coldstart(out, js):
    c, g = js["cli"], js["gui"]
    return [Figure("cold start CLI to first sample", c["first_sample_s"]["median_s"], "s",
                   note=f"max {c['first_sample_s']['max_s']:.2f} s; process CPU "
                        f"{c['process_cpu_s']['median_s']:.2f} s; {js['runs']} runs"),
            _le("cold start GUI to first COP painted", g["first_cop_painted_s"]["median_s"],
                "s", 2.0, note=f"max {g['first_cop_painted_s']['max_s']:.2f} s; window built at "
                               f"{g['window_built_s']['median_s']:.2f} s; CPU at the first COP "
                               f"{g['cpu_at_first_cop_s']['median_s']:.2f} s, to exit "
                               f"{g['process_cpu_s']['median_s']:.2f} s; {js['runs']} runs")]


def parse_sim_stats(out, js):
    n = sum(1 for line in out.splitlines() if line.strip())
    return [Figure("virtual athlete sway statistics", None, "",
                   note=f"{n} lines, see the output below (ranges, not pass/fail)")]


def parse_scale(out, js):
    """A few figures per data set: the worst action of each group (bench_scale prints all)."""
    groups = (("first switch to each screen", lambda a: a.endswith("(first)")),
              ("screen switch, nothing changed", lambda a: a.startswith("switch to")
               and not a.endswith(("(first)", "after a stored trial"))),
              ("screen switch after a trial was stored", lambda a: a.endswith("stored trial")),
              ("trial stored while on Drills (results_changed)",
               lambda a: a.startswith("trial stored")),
              ("click in a list", lambda a: a.startswith(("click", "pick"))),
              ("Coach this athlete", lambda a: a.startswith("Coach")),
              ("PDF report", lambda a: a.startswith("PDF")),
              ("UI stall while a drill records (10 ms timer lateness)",
               lambda a: a.startswith("drill:")))
    figs = []
    for name, info in js["sets"].items():
        rows = [r for r in js["rows"] if r["set"] == name]
        tag = (f"{name}: {info['athletes']} athletes, {info['sessions']} sessions, "
               f"{info['samples'] / 1e6:.1f} M samples")
        for title, match in groups:
            sel = [r for r in rows if r["block_ms"] is not None and match(r["action"])]
            if not sel:
                continue
            worst = max(sel, key=lambda r: r["block_ms"]["max"])
            b, c = worst["block_ms"], worst["content_ms"]
            note = (f"worst: {worst['action']}, p50 {b['p50']:.0f} / p95 {b['p95']:.0f} ms"
                    + (f"; to content p50 {c['p50']:.0f} / max {c['max']:.0f} ms" if c else ""))
            figs.append(_le(f"{tag}: {title}, UI blocked, max", b["max"], "ms",
                            worst["target_ms"], note))
        for r in rows:
            if r["block_ms"] is None:
                c = r["content_ms"]
                note = f"p50 {c['p50']:.0f}, p95 {c['p95']:.0f} ms, {c['n']} runs"
                figs.append(_le(f"{tag}: {r['action']}, max", c["max"], "ms", r["target_ms"],
                                note) if r["target_ms"] else
                            Figure(f"{tag}: {r['action']}, max", c["max"], "ms", note=note))
    return figs


def parse_clinic(out, js):
    """Per backend: samples lost with 4 stations at once (must be 0), their commit latency
    p99, and an athlete's progress query over 150 sessions (under 100 ms)."""
    figs = []
    for backend in ("sqlite", "postgresql"):
        if backend not in js:
            continue
        r, p = js[backend]["recording"], js[backend]["progress"]
        tag = f"{backend}: {r['stations']} stations at {r['rate_hz']:g} Hz for {r['seconds']:g} s"
        stopped = f"; {len(r['errors'])} station(s) stopped: {r['errors'][0]}" if r[
            "errors"] else ""
        figs.append(_le(f"{tag}: samples lost", r["lost"], "samples", 0,
                        f"{r['handed']} samples handed over{stopped}"))
        figs.append(Figure(f"{tag}: commit latency p99", r["commit_p99_ms"], "ms",
                           note=f"p50 {r['commit_p50_ms']:.1f}, max {r['commit_max_ms']:.1f} ms,"
                                f" {r['commits']} commits"))
        figs.append(_le(f"{backend}: progress query (load_assessment), {p['sessions']} "
                        f"sessions, median", p["median_ms"], "ms", 100,
                        f"p95 {p['p95_ms']:.1f} ms, {p['trials']} trials"))
    return figs


def parse_report(out, js):
    a, c = js["in_app"], js["cli"]
    tag = f"coach's PDF report, {a['sessions']} sessions, {a['pages']} pages"
    return [_le(f"{tag}: in the app (warm), median wall", a["total"]["median_s"], "s",
                js["target_s"], f"p95 {a['total']['p95_s']:.2f} s; reading "
                f"{a['gather']['median_s']:.2f}, drawing {a['write']['median_s']:.2f} s; CPU "
                f"median {a['cpu']['median_s']:.2f} s"),
            _le(f"{tag}: `stancelab report` (new process), median wall",
                c["total"]["median_s"], "s", js["target_s"],
                f"max {c['total']['max_s']:.2f} s; CPU median {c['cpu']['median_s']:.2f} s "
                "(imports included)")]


BENCHES = [
    Bench("metrics", "bench/bench_metrics.py", [], [], parse_metrics, json_flag=True),
    Bench("peers", "bench/bench_peers.py", [], ["--quick"], parse_peers, json_flag=True),
    Bench("decode", "bench/bench_decode.py", [], ["--frames", "200000", "--repeats", "3"],
          parse_decode),
    Bench("csv", "bench/bench_csv.py", [], ["--repeats", "2"], parse_csv),
    Bench("live", "bench/bench_live.py", [], ["--seconds", "5"], parse_live,
          env_extra={"QT_QPA_PLATFORM": "offscreen"}),
    Bench("coldstart", "bench/bench_coldstart.py", [], ["--runs", "2"], parse_coldstart,
          json_flag=True),
    Bench("calibration", "bench/bench_calibration.py", [], ["--grid", "5", "--hold", "0.5"],
          parse_calibration, json_flag=True),
    Bench("sim_stats", "bench/sim_stats.py", [], ["--seeds", "2"], parse_sim_stats),
    Bench("scale", "bench/bench_scale.py", [], ["--quick"], parse_scale, json_flag=True),
    Bench("clinic", "bench/bench_clinic.py", [], ["--seconds", "5", "--sessions", "30"],
          parse_clinic, json_flag=True),
    Bench("report", "bench/bench_report.py", [], ["--quick"], parse_report, json_flag=True),
    Bench("firmware", "bench/bench_firmware.py", [], ["--minutes", "0.5"], parse_firmware,
          json_flag=True, timeout_s=3600),
]


def python_cmd() -> str:
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(ROOT)) if (ROOT / ".venv") in exe.parents else str(exe)
    except ValueError:
        return str(exe)


def ensure_peers() -> str:
    missing = [p for p in PEERS if importlib.util.find_spec(p) is None]
    if not missing:
        return "micromotion and openbalance already installed"
    msg = (f"installing benchmark-only peers into {sys.prefix}: "
           f"{sys.executable} -m pip install {' '.join(missing)}")
    print(msg, flush=True)
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        msg += f" -- FAILED ({res.stderr.strip()[-300:]}); the peer comparison reports it"
        print(msg, flush=True)
    return msg


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    import numpy
    import scipy

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "commit": commit}


def _load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def run_one(b: Bench, quick: bool) -> dict:
    args = [*(b.quick_args if quick else b.args), *(["--json"] if b.json_flag else [])]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), **PIN, **b.env_extra)
    shown_env = " ".join(f"{k}={v}" for k, v in {"PYTHONPATH": "app", **b.env_extra}.items())
    cmd_text = f"{shown_env} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " \
               f"{python_cmd()} {b.script} {' '.join(shlex.quote(a) for a in args)}".strip()
    load0 = _load()
    print(f"[{dt.datetime.now():%H:%M:%S}] {b.key}: {cmd_text} (load {load0})", flush=True)
    t0 = time.monotonic()
    try:
        res = subprocess.run([sys.executable, str(ROOT / b.script), *args], capture_output=True,
                             text=True, env=env, cwd=ROOT, timeout=b.timeout_s, check=False)
        out, err, rc = res.stdout, res.stderr, res.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = f"timed out after {b.timeout_s:g} s", -1
    wall = time.monotonic() - t0
    figures, problem = [], None
    js = None
    try:
        if b.json_flag:
            js = _json(out)
        figures = b.parse(out, js)
    except Exception as e:  # noqa: BLE001 - a broken benchmark is reported, the rest go on
        problem = f"could not read the output ({type(e).__name__}: {e}); exit code {rc}"
    if rc != 0 and not figures:
        problem = problem or f"exit code {rc}"
    print(f"    done in {wall:.0f} s" + (f"; PROBLEM: {problem}" if problem else ""), flush=True)
    return {"bench": b, "command": cmd_text, "rc": rc, "wall_s": wall, "load_start": load0,
            "load_end": _load(), "stdout": out, "stderr": err[-3000:], "figures": figures,
            "problem": problem}


def _json(out: str):
    """The JSON document a script printed (anything printed before it, e.g. pip, skipped)."""
    m = re.search(r"^[\[{]", out, re.MULTILINE)
    if m is None:
        raise ValueError("no JSON in the output")
    return json.loads(out[m.start():])


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e6):
        s = f"{int(v)}"
    elif abs(v) >= 100:
        s = f"{v:.0f}"
    elif abs(v) >= 1 or v == 0:
        s = f"{v:.3g}"
    elif abs(v) < 1e-3:
        s = f"{v:.1e}"
    else:
        s = f"{v:.3f}"
    return f"{s} {unit}".strip()


def report(results: list[dict], info: dict, quick: bool, peers_msg: str, started: str,
           load_start: str, load_end: str, total_s: float, argv: list[str]) -> str:
    lines = ["# Benchmarks", ""]
    if quick:
        lines += [("**Quick smoke run (--quick): few repeats, short runs. Not the published "
                  "figures.**"), ""]
    cmd = f"{python_cmd()} bench/run_all.py{' ' + ' '.join(argv) if argv else ''}"
    lines += [
        (f"Written by `{cmd}` (every figure below; the per-figure command is in the table). "
        "Benchmarks are not part of the test run. Each script runs as its own process with "
        "`PYTHONPATH=app` and BLAS/OpenMP pinned to one thread (`OMP_NUM_THREADS=1 "
        "OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1`)."), "",
        "## Machine", "",
        f"- date: {started}; total run time {total_s / 60:.1f} min; commit {info['commit']}",
        f"- CPU: {info['cpu']}, {info['cores']} cores; {info['os']}",
        f"- Python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}",
        (f"- load average (1 / 5 / 15 min) at start: {load_start}; at end: {load_end}. "
        "The machine is shared with other jobs: wall-clock figures include waiting for a CPU, "
        "so CPU-time figures are given next to them where the script measures both."),
        f"- peers: {peers_msg}", "",
        "## Figures against targets", "",
        "| figure | value | target | met | command |", "|---|---:|---|---|---|"]
    missed = []
    for r in results:
        for f in r["figures"]:
            met = "" if f.met is None else ("met" if f.met else f"**missed**: {f.missed_by}")
            if f.met is False:
                missed.append((f, r))
            note = f" ({f.note})" if f.note else ""
            lines.append(f"| {f.name}{note} | {_fmt(f.value, f.unit)} | {f.target} | {met} | "
                         f"`{r['command']}` |")
        if r["problem"]:
            lines.append(f"| {r['bench'].key}: not measured | — | | **problem**: "
                         f"{r['problem']} | `{r['command']}` |")
    lines += ["", "## Missed targets", ""]
    if missed:
        for f, r in missed:
            lines.append(f"- {f.name}: {_fmt(f.value, f.unit)} against {f.target} "
                         f"({f.missed_by}); load average during it {r['load_start']} -> "
                         f"{r['load_end']}. See the discussion below.")
    else:
        lines.append("- none")
    lines += ["", "<!-- discussion -->", "", "## Each benchmark's output", ""]
    for r in results:
        b = r["bench"]
        lines += [f"### {b.key}", "",
                  (f"`{r['command']}`: exit {r['rc']}, {r['wall_s']:.0f} s, load average "
                  f"{r['load_start']} -> {r['load_end']}"), "", "```"]
        out = r["stdout"].strip()
        if b.json_flag and len(out) > 12_000:
            out = out[:12_000] + "\n... (truncated; rerun the command for all of it)"
        lines += [out or "(no output)", "```", ""]
        if r["rc"] != 0 and r["stderr"].strip():
            lines += ["stderr (end):", "", "```", r["stderr"].strip()[-1500:], "```", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: few repeats; written to a temp file unless --out is given")
    ap.add_argument("--only", metavar="KEYS",
                    help="(written to a temp file unless --out is given) comma-separated subset "
                         "of: " + ",".join(b.key for b in BENCHES))
    ap.add_argument("--out", metavar="FILE.md", help=f"report path (default {DOC.relative_to(ROOT)})")
    a = ap.parse_args(argv)
    raw_argv = list(argv if argv is not None else sys.argv[1:])
    # Only a full run of everything replaces the published report unless --out says otherwise.
    out_path = Path(a.out) if a.out else (
        Path(tempfile.gettempdir()) / "stancelab-benchmarks-partial.md" if a.quick or a.only
        else DOC)
    benches = BENCHES
    if a.only:
        keys = set(a.only.split(","))
        unknown = keys - {b.key for b in BENCHES}
        if unknown:
            print(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from "
                  f"{', '.join(b.key for b in BENCHES)}")
            return 2
        benches = [b for b in BENCHES if b.key in keys]
    peers_msg = ensure_peers() if any(b.key == "peers" for b in benches) else "not run"
    info = machine()
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_start = _load()
    print(f"{info['cpu']}, {info['cores']} cores, load average {load_start}", flush=True)
    t0 = time.monotonic()
    results = [run_one(b, a.quick) for b in benches]
    text = report(results, info, a.quick, peers_msg, started, load_start, _load(),
                  time.monotonic() - t0, raw_argv)
    text = _keep_discussion(out_path, text)
    out_path.write_text(text)
    print(f"wrote {out_path}")
    n_missed = sum(1 for r in results for f in r["figures"] if f.met is False)
    n_problem = sum(1 for r in results if r["problem"])
    print(f"{sum(len(r['figures']) for r in results)} figures, {n_missed} targets missed, "
          f"{n_problem} benchmarks with problems")
    return 1 if n_problem else 0


def _keep_discussion(path: Path, text: str) -> str:
    """Keep the hand-written discussion (between the markers) of an earlier report."""
    start, end = "<!-- discussion -->", "<!-- /discussion -->"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        kept = old[old.index(start):old.index(end) + len(end)]
    else:
        kept = f"{start}\n{end}"
    return text.replace(start, kept, 1)


if __name__ == "__main__":
    raise SystemExit(main())
