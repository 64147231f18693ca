"""One verdict on every face: the same stored trials through `stancelab compare --json`, the
Compare screen (real widgets, offscreen), the PDF writer (read back with poppler) and Results
give identical left/right rows, and a
trial recorded through a dead cell shows its fault everywhere and is not scored."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, Qt

import ui_helpers
import verdict_rows
from stancelab import cli

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def _compare_json(capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["compare", "--athlete", "W", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _compare_screen(qtbot, ctx, win):
    ctx.select_athlete(ctx.storage.find_athlete("W"))
    cmp = win.show_screen("Compare")
    cmp.set_kind("single-leg")
    qtbot.waitUntil(lambda: not cmp.loading and not ctx.worker.running, timeout=20_000)
    return cmp


def test_cli_json_and_compare_screen_show_identical_rows_and_the_fault(qtbot, capsys,
                                                                       app_window, tmp_path):
    data = verdict_rows.record_athlete()
    assert data["faulty"], "the dead cell must have hit a trial"
    doc = _compare_json(capsys)
    ctx, win = app_window
    cmp = _compare_screen(qtbot, ctx, win)
    conditions = [s.condition for s in cmp.data.assessment.sides if s.drill == "single-leg"]
    cli_rows = verdict_rows.rows_from_json(doc, "single-leg")
    screen_rows = verdict_rows.rows_from_table(cmp.table, conditions)
    assert cli_rows and screen_rows == cli_rows
    by_metric = {r[1]: r for r in cli_rows}
    assert {"time_held_s", "touchdowns", "path_length_mm"} <= set(by_metric)
    assert by_metric["time_held_s"][4] != "left better"     # the weak leg is never better
    # the window length is shown, with the number of valid trials per leg
    entry = doc["drills"]["single-leg"]
    assert f"first {entry['window_s']:g} s of steady stance" in cmp.note.text()
    assert f"left {entry['trials']['left']} valid trial(s)" in cmp.note.text()

    # the faulty trials: excluded with the reason on both faces, status "sensor fault"
    cli_excluded = {e["trial_id"]: e for e in doc["excluded"]}
    assert set(data["faulty"]) <= set(cli_excluded)
    assert all(cli_excluded[t]["status"] == "sensor fault" for t in data["faulty"])
    shown = {int(cmp.excluded.item(i, 0).text()): (cmp.excluded.item(i, 4).text(),
                                                   cmp.excluded.item(i, 5).text())
             for i in range(cmp.excluded.rowCount())}
    assert shown == {t: (e["status"], e["reason"]) for t, e in cli_excluded.items()}
    assert "back-left load cell" in shown[data["faulty"][0]][1]
    assert cmp.tabs.tabText(2) == f"Excluded trials ({len(cli_excluded)})"

    # the coach picks the first session as the reassessment: both faces still agree
    first = data["sessions"][0]
    cmp.reassessment.setCurrentIndex(cmp.reassessment.findData(first))
    qtbot.waitUntil(lambda: not cmp.loading and cmp.data.reassessment == first, timeout=20_000)
    assert cmp.data.assessment.side_of("single-leg", conditions[0]).sessions == \
        {"left": first, "right": first}
    capsys.readouterr()
    assert cli.main(["compare", "--athlete", "W", "--json", "--reassessment", str(first)]) == 0
    older = verdict_rows.rows_from_json(json.loads(capsys.readouterr().out), "single-leg")
    assert verdict_rows.rows_from_table(cmp.table, conditions) == older != cli_rows

    # the CLI table says it too
    capsys.readouterr()
    assert cli.main(["compare", "--athlete", "W"]) == 0
    text = capsys.readouterr().out
    assert f"trial {data['faulty'][0]} (session {data['sessions'][1]}, single-leg, left) " \
        "sensor fault: recorded through a sensor fault" in text

    # the PDF writer, same stored trials: every `compare --json` row once, as printed, and the
    # faulty trials in its data-quality section with their reason
    _check_pdf(doc, data, tmp_path)

    # Results: listed as "sensor fault", the fault shown, no scores, no "no problems"
    res = win.screens["Results"]
    res.show_trial(data["faulty"][0])
    win.show_screen("Results")
    qtbot.waitUntil(lambda: res.trial is not None and res.trial.id == data["faulty"][0]
                    and not res.picking, timeout=20_000)
    assert "(sensor fault)" in res.list.currentItem().text()
    assert res.headline.text() == "Sensor fault: not scored"
    flags = res.flags.text()
    assert "Trial sensor fault: recorded through a sensor fault" in flags
    assert "not scored" in flags and "No data-quality problems found" not in flags
    assert "Not scored (sensor fault)" in res.verdict.text()
    assert res.scores.rowCount() == 0


def _check_pdf(doc: dict, data: dict, tmp_path) -> None:
    import re
    import subprocess

    from stancelab import report
    from stancelab.report.text import row_cells
    from stancelab.storage import Storage

    out = tmp_path / "w.pdf"
    with Storage() as store:
        report.write_report(out, report.gather(store, store.athlete(data["athlete_id"])))
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    lines = [re.sub(r"\s+", "", line) for line in text.splitlines()]
    rows = doc["drills"]["single-leg"]["rows"]
    assert rows
    for row in rows:
        cells = re.sub(r"\s+", "", "".join(row_cells(row)))
        assert sum(line.startswith(cells) for line in lines) == 1, (row["metric"], cells)
    flat = re.sub(r"\s+", " ", text)
    for e in doc["excluded"]:
        if e["trial_id"] in data["faulty"]:
            assert f"Trial {e['trial_id']} (session {e['session_id']}" in flat
            assert "recorded through a sensor fault" in flat


def test_results_headline_reads_the_model_for_a_scored_trial(qtbot, app_window):
    data = verdict_rows.record_athlete(fault_at_s=None)
    ctx, win = app_window
    ctx.select_athlete(ctx.storage.find_athlete("W"))
    res = win.show_screen("Results")
    qtbot.waitUntil(lambda: res.trial is not None and not res.picking and not res.loading,
                    timeout=20_000)
    assert res.trial.session_id == data["sessions"][1]       # the latest trial
    verdict = res.verdict.text()
    assert f"Scored with 2 valid trial(s) of session {data['sessions'][1]}" in verdict
    assert "Time held: left" in verdict and "Since baseline" in verdict
    labels = [res.scores.item(i, 0).text() for i in range(res.scores.rowCount())]
    assert labels[0] == "Time held"
    assert "Path length (10 s window)" in labels                # the compared window only
    assert "No data-quality problems found" in res.flags.text()


def _click(qtbot, plots, scatter, index: int) -> None:
    """A real mouse click on one point of a scatter (press and release on the viewport), once
    the plots are laid out on screen."""
    qtbot.waitExposed(plots.view)
    qtbot.waitUntil(lambda: plots.view.viewport().width() > 100, timeout=5_000)
    qtbot.wait(50)               # the view boxes settle their ranges on the next paint
    spot = scatter.points()[index]
    scene = scatter.mapToScene(QPointF(spot.pos()))
    view_pos = plots.view.mapFromScene(scene)
    qtbot.mouseClick(plots.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)


def test_progress_plots_mark_baseline_reassessment_and_mdc_and_a_click_opens_the_trial(
        qtbot, app_window):
    data = verdict_rows.record_athlete(fault_at_s=None)
    ctx, win = app_window
    cmp = _compare_screen(qtbot, ctx, win)
    cmp.tabs.setCurrentIndex(1)
    a = cmp.data.assessment
    plots = cmp.plots
    qtbot.waitUntil(lambda: not plots.pending, timeout=5_000)   # one plot per turn, when shown
    assert {"time_held_s", "touchdowns", "ellipse95_area_mm2", "mean_velocity_mm_s"} <= \
        set(plots.plots)
    first, latest = data["sessions"]
    for p in (p for p in a.progress if p.metric in plots.plots):
        assert plots.markers[p.metric] == {"baseline": 0, "reassessment": 1}
        if p.mdc95 is not None:    # the band is the model's MDC95 about the baseline
            assert plots.bands[p.metric][p.leg] == (p.baseline - p.mdc95,
                                                    p.baseline + p.mdc95)
    assert plots.bands["time_held_s"], "two trials per session: an MDC from the athlete's SD"
    cond = next(g.condition for g in a.history if g.drill == "single-leg")
    scatter = plots.points[("time_held_s", "left", cond)]
    assert [round(s.pos().x()) for s in scatter.points()] == [0, 1]    # session ordinals
    res = win.screens["Results"]
    _click(qtbot, plots, scatter, 0)       # the baseline session's left leg
    qtbot.waitUntil(lambda: win.current_screen_name() == "Results", timeout=5_000)
    qtbot.waitUntil(lambda: res.trial is not None and not res.picking and not res.loading,
                    timeout=20_000)
    assert res.trial.session_id == first and res.trial.leg == "left"
    assert res.list.currentItem().data(Qt.ItemDataRole.UserRole) == res.trial.id
    win.show_screen("Compare")
    cmp.tabs.setCurrentIndex(1)
    _click(qtbot, plots, plots.points[("time_held_s", "right", cond)], 1)
    qtbot.waitUntil(lambda: res.trial is not None and res.trial.session_id == latest
                    and res.trial.leg == "right" and not res.picking, timeout=20_000)


def test_the_other_faces_do_not_call_a_faulty_trial_completed(qtbot, capsys, tmp_path,
                                                               app_window):
    """`stancelab sessions`, the summary CSV and the Athletes screen's count of scored trials
    read the same status as Compare and Results."""
    import pandas as pd

    data = verdict_rows.record_athlete()
    faulty_session = data["sessions"][1]
    assert cli.main(["sessions", "--athlete", "W"]) == 0
    listing = capsys.readouterr().out
    for t in data["faulty"]:
        line = next(x for x in listing.splitlines() if x.strip().startswith(f"trial {t} "))
        assert "sensor fault" in line and "completed" not in line, line
    summary = tmp_path / "s.csv"
    assert cli.main(["export", "--session", str(faulty_session), "--out", str(tmp_path / "r.csv"),
                     "--summary", str(summary)]) == 0
    rows = pd.read_csv(summary, comment="#")
    n_faulty = len(data["faulty"])
    assert (rows["status"] == "sensor fault").sum() == n_faulty
    assert (rows["status"] == "completed").sum() == 4 - n_faulty
    _ctx, win = app_window
    scr = win.show_screen("Athletes")
    scr._load(data["athlete_id"])
    qtbot.waitUntil(lambda: scr.history.rowCount() == 2, timeout=10_000)
    texts = [" ".join(scr.history.item(r, c).text() for c in range(scr.history.columnCount())
                      if scr.history.item(r, c)) for r in range(2)]
    assert any(f"{4 - n_faulty}/4" in t for t in texts), texts
