"""Athletes CRUD, export (CSV, PDF, PNG), board screen, comparison, and the test guard itself."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

import ui_helpers
from stancelab.geometry import foot_length_from_eu_size
from stancelab.storage import Storage

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard


def test_first_run_creates_a_demo_athlete(app_window):
    ctx, win = app_window
    assert [a.name for a in ctx.storage.athletes()] == ["Demo Runner"]
    assert ctx.athlete.name == "Demo Runner"
    assert "Demo Runner" in win.screens["Drills"].athlete_label.text()


def test_athletes_create_edit_pick(qtbot, app_window):
    ctx, win = app_window
    scr = win.show_screen("Athletes")
    scr.new_athlete()
    qtbot.keyClicks(scr.name, "Ana Ruiz")
    scr.shoe.setValue(39)
    assert scr.foot.value() == round(foot_length_from_eu_size(39))
    scr.dominant.setCurrentText("left")
    scr.injured.setCurrentText("right")
    scr.notes.setPlainText("ankle sprain 2024")
    scr.save()
    a = ctx.storage.find_athlete("Ana Ruiz")
    assert (a.foot_length_mm, a.shoe_size, a.dominant_leg, a.injured_side) == \
        (round(foot_length_from_eu_size(39)), "39", "left", "right")
    # edit
    scr.foot.setValue(251)
    scr.save()
    assert ctx.storage.athlete(a.id).foot_length_mm == 251
    # a duplicate name is refused with a message, not an exception
    scr.new_athlete()
    qtbot.keyClicks(scr.name, "ana ruiz")
    scr.save()
    assert "already exists" in scr.message.text()
    # pick: every screen follows
    scr._load(a.id)
    scr.use_selected()
    assert ctx.athlete.id == a.id
    assert win.screens["Live"].foot_length_mm == 251
    with Storage(ctx.storage.path) as st:  # persisted in the file
        assert {x.name for x in st.athletes()} == {"Demo Runner", "Ana Ruiz"}


def test_an_edit_made_at_another_station_is_not_overwritten(qtbot, app_window):
    """Two stations opened the same athlete; the second save is refused with a message and the
    first station's edit stays (the row version in the UPDATE's WHERE clause)."""
    ctx, win = app_window
    scr = win.show_screen("Athletes")
    a = ctx.storage.find_athlete("Demo Runner")
    scr._load(a.id)
    qtbot.waitUntil(lambda: scr._form_id == a.id, timeout=5_000)
    with Storage(ctx.storage.path) as other:     # the other station, its own connection
        other.update_athlete(a.id, expected_version=other.athlete(a.id).version,
                             notes="left ankle taped (room 2)")
    scr.notes.setPlainText("typed here meanwhile")
    scr.save()
    assert "another station" in scr.message.text(), scr.message.text()
    assert ctx.storage.athlete(a.id).notes == "left ankle taped (room 2)"


def test_export_csv_pdf_png_after_drills(qtbot, app_window, tmp_path):
    ctx, win = app_window
    ctx.connect_simulated(seed=5)
    drills = win.show_screen("Drills")
    drills.trials.setValue(1)
    drills.duration.setValue(6)
    drills.rest.setValue(2)
    for key in ("clock-left", "clock-right", "single-both"):
        drills.select(key)
        qtbot.keyClick(drills, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: drills.state == "done", timeout=120_000)
        assert drills.error is None

    cmp = win.show_screen("Compare")
    cmp.set_kind("clock")
    assert cmp.rows and {"left", "right"} >= {r["better"] for r in cmp.rows} - {None, "equal"}
    assert any(r["metric"] == "edge_reach_score_pct" for r in cmp.rows)
    cmp.set_kind("single-leg")
    assert any(r["metric"] == "time_held_s" for r in cmp.rows)

    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)   # the list reads on the worker
    exp.folder.setText(str(tmp_path / "out"))

    def run(export) -> list:
        assert export() is not None
        assert exp.busy and not any(b.isEnabled() for b in exp.buttons.values())
        assert exp.progress.isVisible() and exp.message.text().startswith("Exporting")
        qtbot.waitUntil(lambda: not exp.busy, timeout=60_000)
        assert all(b.isEnabled() for b in exp.buttons.values()) and not exp.progress.isVisible()
        assert exp.message.text().startswith("Written:"), exp.message.text()
        return exp.written

    raw, summary = run(exp.export_session)
    assert raw.stat().st_size > 10_000 and summary.read_text().count("\n") >= 4
    (all_summary,) = run(exp.export_summary)
    assert "edge_reach_score_pct" in all_summary.read_text()
    (pdf,) = run(exp.export_pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    pngs = run(exp.export_pngs)
    # 6 s stands never hold the 10 s window the stabilograms show: no stabilogram PNG
    assert {p.stem.split("_")[-1] for p in pngs} == {"reach", "time-held"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    for png in pngs:       # the plots drew their data: far more than the blank frame
        img = QImage(str(png))
        assert len({img.pixel(x, y) for x in range(0, img.width(), 3)
                    for y in range(0, img.height(), 3)}) > 20, png.name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        sorted(p.name for p in (raw, summary, all_summary, pdf, *pngs))   # no temporary file


def test_export_to_an_unwritable_folder_says_so(qtbot, app_window, tmp_path):
    _ctx, win = app_window
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)   # the list reads on the worker
    blocker = tmp_path / "file"
    blocker.write_text("x")
    exp.folder.setText(str(blocker / "sub"))
    exp.export_pdf()
    qtbot.waitUntil(lambda: not exp.busy, timeout=60_000)
    assert exp.written == []
    assert "Choose a folder you can write to" in exp.message.text()
    assert "\n" not in exp.message.text()                 # one line
    assert all(b.isEnabled() for b in exp.buttons.values())
    assert blocker.read_text() == "x"


def test_a_failed_export_keeps_the_files_written_before_it(qtbot, app_window, tmp_path):
    """The second plot cannot be written (a folder has its name): the first stays, the screen
    names it, and no half-written file is left."""
    from stancelab import cli

    ctx, win = app_window
    name = ctx.athlete.name
    for args in (["clock", "--leg", "left"], ["clock", "--leg", "right"],
                 ["single-leg", "--trials", "1", "--duration", "6", "--rest", "1"]):
        assert cli.main(["run-drill", *args, "--athlete", name, "--simulate", "--fast"]) == 0
    out = tmp_path / "out"
    stem = name.replace(" ", "_")
    (out / f"{stem}_time-held.png").mkdir(parents=True)
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)   # the list reads on the worker
    exp.folder.setText(str(out))
    exp.export_pngs()
    qtbot.waitUntil(lambda: not exp.busy, timeout=60_000)
    text = exp.message.text()
    assert text.startswith("Export failed:") and "\n" not in text
    assert f"Written before: {stem}_reach.png." in text
    assert [p.name for p in exp.written] == [f"{stem}_reach.png"]
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}_reach.png",
                                                     f"{stem}_time-held.png"]


def test_a_report_of_an_athlete_without_trials_says_so(qtbot, app_window, tmp_path):
    ctx, win = app_window
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)
    exp.folder.setText(str(tmp_path / "out"))
    exp.export_pdf()
    qtbot.waitUntil(lambda: not exp.busy, timeout=60_000)
    assert exp.message.text() == f"No trials yet for {ctx.athlete.name}: run a drill first."
    assert exp.written == [] and list((tmp_path / "out").iterdir()) == []


def test_board_screen_shows_the_simulated_board(qtbot, app_window):
    ctx, win = app_window
    ctx.connect_simulated(seed=6)
    scr = win.show_screen("Board")
    qtbot.waitUntil(lambda: ctx.session.source.state.rate_sps > 0, timeout=10_000)
    scr.show_state(ctx.session.source.state)
    assert "simulated" in scr.status_labels["board"].text()
    assert scr.status_labels["firmware"].text() == ctx.session.source.state.firmware
    assert scr.ports.itemText(0) == "Simulated board"


LEAKY_TEST = """
import ui_helpers
from PySide6.QtCore import QTimer
qt_guard = ui_helpers.qt_guard
keep = []

def test_leaks_a_timer(qapp):
    t = QTimer()
    t.start(1000)
    keep.append(t)

def test_warns(qapp):
    from PySide6.QtCore import qWarning
    qWarning("something is wrong")

def test_clean(qapp):
    t = QTimer()
    t.start(1000)
    t.stop()
"""


def test_guard_fails_leaked_timers_and_qt_warnings(tmp_path):
    """The guard itself must be able to fail: run three tiny tests in a child pytest."""
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST)
    here = pathlib.Path(__file__).parent
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "test_leaky.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout
    assert "1 QTimer(s) still running" in out, out[-3000:]
    assert "something is wrong" in out, out[-3000:]
    assert "3 passed, 2 errors" in out, out[-3000:]  # errors at teardown of two tests


def test_a_storage_warning_from_a_writer_thread_reaches_the_window(qtbot, app_window):
    """The spool notices (docs/clinic.md) come from the sample writer's thread through the
    ``stancelab.storage`` logger; the window shows them on its status line."""
    import logging
    import threading

    from stancelab.ui import storage_notices

    _ctx, win = app_window
    handler = storage_notices.install(win)
    try:
        said = "The server is unreachable: recording to this laptop's spool (nothing lost)."
        t = threading.Thread(target=logging.getLogger("stancelab.storage").warning,
                             args=(said,))
        t.start()
        t.join()
        qtbot.waitUntil(lambda: win.status.text() == said, timeout=5_000)
    finally:
        handler.remove()


def test_a_full_disk_is_one_line_naming_the_fix(qtbot, app_window):
    """The error /dev/full really raises (ENOSPC), as a worker export hands it back."""
    from stancelab.ui.screens.export import ExportFailed

    _ctx, win = app_window
    exp = win.show_screen("Export")
    try:
        with open("/dev/full", "wb") as f:
            f.write(b"x" * 10)
            f.flush()
    except OSError as e:
        full = e
    exp._fail(ExportFailed(full, []))
    text = exp.message.text()
    assert text.startswith("Export failed: the disk is full") and "\n" not in text
    assert "Free some space" in text
