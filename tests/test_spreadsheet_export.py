"""The spreadsheet export (`export --excel`, the Export screen's box) read back as a
decimal-comma spreadsheet reads it: UTF-8 with BOM, semicolons, decimal commas. The default
CSV stays what pandas reads with no options."""

from __future__ import annotations

import pandas as pd

import ui_helpers
from stancelab import cli

app_window = ui_helpers.app_window
qt_guard = ui_helpers.qt_guard

LOCALE = {"sep": ";", "decimal": ",", "comment": "#", "encoding": "utf-8-sig"}


def _session(name: str) -> int:
    assert cli.main(["run-drill", "single-leg", "--trials", "1", "--duration", "6", "--rest",
                     "1", "--athlete", name, "--simulate", "--fast"]) in (0, 1)
    from stancelab.storage import Storage

    with Storage() as store:
        return store.sessions(store.find_athlete(name).id)[-1].id


def test_excel_export_reads_back_with_the_locale_conventions(tmp_path, capsys):
    sid = _session("Zoë; Müller")
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    assert cli.main(["export", "--session", str(sid), "--out", str(plain), "--summary",
                     str(tmp_path / "plain_s.csv")]) == 0
    assert cli.main(["export", "--session", str(sid), "--out", str(excel), "--summary",
                     str(tmp_path / "excel_s.csv"), "--excel"]) == 0
    assert "decimal commas" in capsys.readouterr().out
    raw = excel.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# format: stancelab-raw-csv\n")
    header = [ln for ln in raw.decode("utf-8-sig").splitlines() if ln.startswith("#")]
    name_line = next(ln for ln in header if ln.startswith("# athlete.name:"))
    assert ";" not in name_line                       # never split into a second cell
    data = [ln for ln in raw.decode("utf-8-sig").splitlines() if not ln.startswith("#")]
    assert data[0].startswith("trial;t_s;seq;") and "," in data[1] and "." not in data[1]

    a = pd.read_csv(plain, comment="#")               # the default: pandas, no options
    b = pd.read_csv(excel, **LOCALE)
    assert len(a) > 400 and b["t_s"].dtype == float and b["cop_x_mm"].dtype == float
    pd.testing.assert_frame_equal(a, b)
    sa = pd.read_csv(tmp_path / "plain_s.csv", comment="#")
    sb = pd.read_csv(tmp_path / "excel_s.csv", **LOCALE)
    assert sb["time_held_s"].dtype == float and sb["time_held_s"].iloc[0] > 0
    pd.testing.assert_frame_equal(sa, sb)


def test_import_refuses_a_spreadsheet_export_in_one_line(tmp_path, capsys):
    sid = _session("Imp")
    out = tmp_path / "x.csv"
    assert cli.main(["export", "--session", str(sid), "--out", str(out), "--excel"]) == 0
    capsys.readouterr()
    assert cli.main(["import", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "spreadsheet export" in err and "without --excel" in err and "\n" not in err


def test_the_export_screen_writes_spreadsheet_csvs_when_asked(qtbot, app_window, tmp_path):
    ctx, win = app_window
    _session(ctx.athlete.name)
    exp = win.show_screen("Export")
    qtbot.waitUntil(lambda: not exp.loading, timeout=10_000)
    exp.folder.setText(str(tmp_path))
    written = {}
    for excel in (False, True):
        exp.excel.setChecked(excel)
        for job in (exp.export_session, exp.export_summary):
            assert job() is not None
            qtbot.waitUntil(lambda: not exp.busy, timeout=60_000)
            assert exp.message.text().startswith("Written:"), exp.message.text()
            written.setdefault(excel, []).extend(exp.written)
    assert all(p.name.endswith("_excel.csv") for p in written[True])
    assert not any(p.name.endswith("_excel.csv") for p in written[False])
    for plain, excel in zip(written[False], written[True]):
        pd.testing.assert_frame_equal(pd.read_csv(plain, comment="#"),
                                      pd.read_csv(excel, **LOCALE))
