"""The app's "PDF report for the coach" is stancelab.report's file, whatever was on screen.

Drills are stored through the command line into the app's database; the report exported
before any other screen was opened and the one exported after visiting Results, Compare and
Athletes must read and look the same (poppler's text and page images), because the report is
made from the database on the worker, never from widgets.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import ui_helpers
from stancelab import cli
from test_report import _pixels, pdftext

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="needs poppler-utils (pdftotext, pdftoppm)")


def _export(qtbot, exp, folder) -> tuple:
    exp.folder.setText(str(folder))
    assert exp.export_pdf() is not None
    assert exp.progress.isVisible()
    qtbot.waitUntil(lambda: not exp.busy, timeout=120_000)
    (pdf,) = exp.written
    return pdf


def test_the_report_is_the_same_whichever_screens_were_opened(qtbot, app_window, tmp_path):
    ctx, win = app_window
    name = ctx.athlete.name
    for args in (["clock", "--leg", "left"], ["clock", "--leg", "right"],
                 ["single-leg", "--trials", "2", "--duration", "13", "--rest", "1"]):
        assert cli.main(["run-drill", *args, "--athlete", name, "--simulate", "--fast"]) in (0, 1)
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)
    first = _export(qtbot, exp, tmp_path / "a")
    for screen in ("Results", "Compare", "Athletes"):
        scr = win.show_screen(screen)
        qtbot.waitUntil(lambda scr=scr: not getattr(scr, "loading", False), timeout=30_000)
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)
    second = _export(qtbot, exp, tmp_path / "b")

    made = re.compile(r"^Report\s+made|StanceLab report · ")     # the minute it was made
    a, b = ([x for x in pdftext(p).splitlines() if not made.search(x)] for p in (first, second))
    assert a == b and any("Left" in x and "Right" in x for x in a)
    pa, pb = (_pixels(p, tmp_path / p.parent.name) for p in (first, second))
    assert len(pa) == len(pb) >= 3
    for k, (x, y) in enumerate(zip(pa[1:], pb[1:]), 2):     # page 1 carries the minute
        assert np.array_equal(x, y), f"page {k} differs"
    assert subprocess.run(["pdfinfo", str(first)], capture_output=True, text=True,
                          check=True).stdout.count("A4") == 1
