"""The run-drill / analyze / compare commands through the real `stancelab` entry point."""

import json

import numpy as np
import pytest

from stancelab import cli
from stancelab.cli.drill_commands import analyze_file
from stancelab.files import csv_format, transfer
from stancelab.storage import Storage


def test_run_drill_quiet_then_analyze_its_export(capsys, tmp_path):
    rc = cli.main(["run-drill", "quiet", "--athlete", "Cli", "--simulate", "--fast",
                   "--duration", "8", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    (trial,) = out["trials"]
    assert trial["status"] == "completed" and trial["metrics"]["ellipse95_area_mm2"] > 0
    with Storage() as store:
        folder = tmp_path / "export"
        transfer.export_session(store, out["session_id"], folder)
    files = sorted(folder.rglob("*.csv"))
    raw = [f for f in files if csv_format.FORMAT_NAME.encode() in f.read_bytes()[:4096]]
    assert raw, files
    (result,) = analyze_file(raw[0], "none")
    assert result["part"] == "active phase"
    # The stored active part is what the drill scored (same samples, same settings family).
    assert result["metrics"]["n_samples"] == pytest.approx(8 * 80, abs=2)


def test_analyze_plain_xy_file_and_filter_choice(tmp_path, capsys):
    t = np.arange(0, 20, 0.01)
    x, y = 4 * np.sin(2 * np.pi * 0.25 * t), 2 * np.cos(2 * np.pi * 0.25 * t)
    x = x + np.random.default_rng(0).normal(0, 0.5, t.size)   # noise the filter removes
    path = tmp_path / "trace.csv"
    np.savetxt(path, np.column_stack([t, x, y]), delimiter=",", header="t,x,y", comments="")
    raw, = analyze_file(path, "none", units="mm")
    filt, = analyze_file(path, "default", units="mm")
    assert raw["metrics"]["n_samples"] == 2000
    assert filt["metrics"]["path_length_mm"] < raw["metrics"]["path_length_mm"]
    assert cli.main(["analyze", str(path), "--json", "--units", "mm"]) == 0
    assert json.loads(capsys.readouterr().out)["filter"] == "default"


def test_user_errors_are_one_line(capsys, tmp_path):
    assert cli.main(["analyze", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["compare", "--athlete", "Nobody"]) == 2
    assert "no athlete named" in capsys.readouterr().err
    assert cli.main(["run-drill", "clock", "--simulate", "--fast", "--order", "12,x"]) == 2
    assert "--order" in capsys.readouterr().err
