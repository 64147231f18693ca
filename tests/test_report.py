"""The coach's PDF, read back as a person would: poppler's text of it and its pages as images.

One database for the module: two rounds of real drills on the simulated board (clock left and
right, three single-leg stands per leg held past the 10 s window) for one athlete, plus an
interrupted trial (the data-quality section). The PDF's table rows must be exactly
`stancelab compare --json`'s rows as the report formats them, every plot region must hold
drawn data, and errors are one line with no file left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from small_disk import run_on_small_tmpfs
from stancelab import __version__, cli, report
from stancelab.report import pdf as report_pdf
from stancelab.report.text import drill_title, metric_label, progress_words, row_cells
from stancelab.storage import Storage

NAME = "Ana Ruiz"
APP = str(Path(__file__).resolve().parents[1] / "app")

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None or
                                shutil.which("pdftoppm") is None,
                                reason="needs poppler-utils (pdftotext, pdftoppm)")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("report-data")
    old = os.environ.get("STANCELAB_DATA_DIR")
    os.environ["STANCELAB_DATA_DIR"] = str(d)
    try:
        for seed in ("1", "2"):
            for args in (["clock", "--leg", "left"], ["clock", "--leg", "right"],
                         ["single-leg", "--trials", "3", "--duration", "14", "--rest", "1"]):
                assert cli.main(["run-drill", *args, "--athlete", NAME, "--simulate",
                                 "--fast", "--seed", seed]) in (0, 1)
        for seed in ("1", "2"):      # an exercise: left/right rows, reps per set, progress
            for leg in ("left", "right"):
                assert cli.main(["run-exercise", "squat", "--leg", leg, "--reps", "3",
                                 "--athlete", NAME, "--simulate", "--fast", "--seed",
                                 seed]) == 0
        with Storage(d / "stancelab.sqlite3") as store:
            a = store.find_athlete(NAME)
            s = store.start_session(athlete_id=a.id, source_kind="simulated")
            t = store.start_trial(s.id, "clock", leg="left", condition="80% of edge")
            store.finish_trial(t.id, "interrupted", "the board was unplugged")
            store.add_athlete("Nobody Yet")
    finally:
        if old is None:
            os.environ.pop("STANCELAB_DATA_DIR", None)
        else:
            os.environ["STANCELAB_DATA_DIR"] = old
    return d


@pytest.fixture
def in_data(data_dir, monkeypatch):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture(scope="module")
def made(data_dir, tmp_path_factory):
    """The report written through the library, with the regions its plots were drawn in."""
    out = tmp_path_factory.mktemp("report") / "r.pdf"
    with Storage(data_dir / "stancelab.sqlite3") as store:
        content = report.gather(store, store.find_athlete(NAME),
                                generated="2026-12-02T10:00+01:00")
    regions: list = []
    report.write_report(out, content, regions=regions)
    return out, content, regions


def pdftext(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_header_names_athlete_dates_sessions_board_calibration_and_version(made):
    out, content, _ = made
    text = pdftext(out)
    assert NAME in text and "StanceLab · balance report" in text
    first, last = content.sessions[0].started[:10], content.sessions[-1].started[:10]
    assert re.search(rf"Dates\s+{first} to {last}", text)
    ids = ", ".join(str(s.id) for s in content.sessions)
    assert re.search(rf"Sessions included\s+{len(content.sessions)}: {ids}", text)
    assert len(content.sessions) == 11   # 6 of drills, 4 of squats, 1 with the cut trial
    assert re.search(r"Board\s+51ab[0-9a-f]{4}", text)
    assert re.search(r"Calibration\s+\d{4}-\d\d-\d\d \(tare\+gain\)", text)
    assert f"StanceLab {__version__}" in text
    # data quality: the interrupted trial and why; methods: the filter actually used
    assert "interrupted: the board was unplugged" in text
    assert "Butterworth design order 2, cut-off 10 Hz" in text
    assert "95 % ellipse: the prediction ellipse" in text


def test_table_rows_are_the_compare_json_rows_as_printed(made, in_data, capsys):
    """The PDF leg of the consistency check: the same stored trials, the same metrics, the
    same values (formatted once, by report.text) and the same verdict words."""
    out, _, _ = made
    assert cli.main(["compare", "--athlete", NAME, "--json"]) == 0
    drills = json.loads(capsys.readouterr().out)["drills"]
    lines = [squash(line) for line in pdftext(out).splitlines()]
    assert {"clock", "single-leg", "squat"} <= set(drills)
    for drill, entry in drills.items():
        assert entry["rows"], drill
        for row in entry["rows"]:
            cells = squash("".join(row_cells(row)))
            hits = [line for line in lines if line.startswith(cells)]
            assert len(hits) == 1, (drill, row["metric"], cells)
            # the verdict is the whole rest of the row (a note number at most)
            assert re.fullmatch(r"(\[\d+\])?", hits[0][len(cells):]), hits[0]
        labels = [squash(metric_label(r["metric"])) for r in entry["rows"]]
        assert len(labels) == len(set(labels))
    # both legs' values are in every row: no row with a dash on one side only is hidden
    sl = drills["single-leg"]["rows"]
    assert all(r["left"] is not None and r["right"] is not None for r in sl)


def test_exercise_reps_per_set_are_the_models_sets(made, in_data, capsys):
    """Per exercise and leg, the reps counted in each set the model compared: the sets of the
    session `compare --json` names, as stored, averaging to its reps-counted row."""
    out, _, _ = made
    assert cli.main(["compare", "--athlete", NAME, "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["drills"]["squat"]
    text = pdftext(out)
    row = {r["metric"]: r for r in entry["rows"]}["reps_counted"]
    with Storage(in_data / "stancelab.sqlite3") as store:
        for leg in ("left", "right"):
            sid = entry["sessions"][leg]
            sets = [t for t in store.trials(sid) if t.drill == "squat" and t.leg == leg
                    and t.condition == entry["condition"] and t.status == "completed"]
            assert len(sets) == entry["trials"][leg] == 3
            counted = [t.metrics["reps_counted"] for t in sets]
            words = " · ".join(f"{c} of 3" for c in counted)
            line = f"Reps counted per set, {leg} leg (session {sid}): {words}"
            assert text.count(line) == 1, line
            assert np.mean(counted) == pytest.approx(row[leg])
    assert "One-leg squat (3 reps): left against right" in text


def test_an_exercise_is_charted_across_its_sessions_with_the_models_progress(made):
    """Two squat sessions per leg: the squat's headline metrics get progress charts (drawn
    data is checked below with every plot) and the model's progress verdicts in words."""
    out, content, regions = made
    names = {name for _, name, _ in regions}
    assert {f"progress squat {m}" for m in report_pdf.HEADLINE["squat"]} <= names
    text = pdftext(out)
    assert "One-leg squat (3 reps): Reps counted" in text
    rows = [p for p in content.assessment.progress
            if p.drill == "squat" and p.metric in report_pdf.HEADLINE["squat"]]
    assert {p.leg for p in rows} == {"left", "right"}
    flat = squash(text)
    for p in rows:
        line = (f"{drill_title(p.drill, p.condition)} · session {p.baseline_session} → "
                f"{p.reassessment_session}: {progress_words(p)}")
        assert flat.count(squash(line)) == 1, line


def _pixels(pdf: Path, tmp: Path, dpi: int = 60) -> list[np.ndarray]:
    from PySide6.QtGui import QImage

    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(tmp / "page")],
                   check=True)
    pages = []
    for png in sorted(tmp.glob("page-*.png")):
        img = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
        w, h, bpl = img.width(), img.height(), img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
        pages.append(buf[:, :3 * w].reshape(h, w, 3).copy())
    return pages


def test_every_plot_region_holds_drawn_data(made, tmp_path):
    """Inside each plot's axes (the frame, ticks and grid are grey) there are coloured data
    pixels: the traces, ellipses, polygons, bars and progress lines."""
    out, content, regions = made
    names = {name for _, name, _ in regions}
    assert {"reach", "stabilogram left", "stabilogram right", "time held"} <= names
    assert any(n.startswith("progress") for n in names)
    pages = _pixels(out, tmp_path)
    for page, name, (x0, y0, x1, y1) in regions:
        img = pages[page - 1]
        h, w, _ = img.shape
        box = img[int((1 - y1) * h) + 2:int((1 - y0) * h) - 2, int(x0 * w) + 2:int(x1 * w) - 2]
        rgb = box.astype(int)
        coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
        assert coloured.sum() > 40, (name, int(coloured.sum()))
    # the two stabilograms share one scale: equal boxes over one span that holds both
    boxes = [np.round(np.diff(np.reshape(rect, (2, 2)), axis=0), 6).tolist()
             for _, name, rect in regions if name.startswith("stabilogram")]
    assert len(boxes) == 2 and boxes[0] == boxes[1]
    half = report_pdf.charts.stabilogram_limits(content.stabilograms["eyes open"])
    assert half > max(s.sway["ellipse95_semi_major_mm"] for s in
                      content.stabilograms["eyes open"])


def test_the_cli_writes_the_same_report(made, in_data, tmp_path):
    out = tmp_path / "cli.pdf"
    r = subprocess.run([sys.executable, "-m", "stancelab", "report", "--athlete", NAME,
                        "--out", str(out)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=APP), check=False)
    assert r.returncode == 0, r.stderr
    mine = pdftext(made[0]).splitlines()
    theirs = pdftext(out).splitlines()
    drop = re.compile(r"^Report\s+made|StanceLab report · ")   # the time it was made
    assert [x for x in mine if not drop.search(x)] == [x for x in theirs if not drop.search(x)]


@pytest.mark.parametrize("args, words", [
    (["--athlete", "Nobody"], "no athlete named 'Nobody'"),
    (["--athlete", NAME, "--from", "2026-02-30"], "--from '2026-02-30' is not a date"),
    (["--athlete", NAME, "--from", "2026-05-01", "--to", "2026-04-01"], "is after --to"),
    (["--athlete", "Nobody Yet"], "Nobody Yet has no trials"),
    (["--athlete", NAME, "--from", "2999-01-01"], "has no trials between 2999-01-01"),
])
def test_cli_errors_are_one_line_and_write_nothing(in_data, tmp_path, capsys, args, words):
    out = tmp_path / "r.pdf"
    assert cli.main(["report", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_a_path_it_cannot_write(in_data, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out, words in ((blocker / "r.pdf", "does not exist"), (tmp_path, "is a folder"),
                       (tmp_path / "r.txt", "ending in .pdf")):
        assert cli.main(["report", "--athlete", NAME, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


FULL_SCRIPT = """
set -u
mount -t tmpfs -o size=48k tmpfs "$1/mnt" || exit 97
STANCELAB_DATA_DIR="$3" PYTHONPATH="$4" "$2" -m stancelab report --athlete "Ana Ruiz" \
    --out "$1/mnt/r.pdf"
echo "rc=$?"
ls -A "$1/mnt"
"""


def test_a_full_disk_says_so_and_leaves_no_file(in_data, tmp_path):
    r = run_on_small_tmpfs(tmp_path, FULL_SCRIPT, sys.executable, str(in_data), APP)
    if r.returncode == 97 or "unshare" in r.stderr and not r.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    assert r.stdout.split() == ["rc=2"], r.stdout        # nothing left in the folder
    err = r.stderr.strip()
    assert err.startswith("stancelab: error: the disk is full; nothing was written")
    assert "\n" not in err


def test_progress_points_are_the_models_session_means(made):
    """Each charted point is the model's group of that session (Assessment.history), in
    session order: two rounds of drills, two points per leg."""
    _, content, _ = made
    a = content.assessment
    for (drill, leg, cond, metric), pts in content.series.items():
        groups = [g for g in a.history if (g.drill, g.leg, g.condition) == (drill, leg, cond)]
        assert [(p.session_id, p.mean) for p in pts] == \
            [(g.session_id, g.metrics[metric].mean) for g in groups if metric in g.metrics]
    assert len(content.series[("single-leg", "left", "eyes open", "mean_velocity_mm_s")]) == 2
