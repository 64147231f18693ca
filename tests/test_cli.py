"""The `stancelab` command end to end: record, list, export, import, errors without tracebacks."""

import subprocess
import sys

import numpy as np
import pytest

from stancelab.cli import main
from stancelab.files import csv_parse
from stancelab.storage import Storage


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_record_export_import_round_trip(tmp_path, capsys):
    out = tmp_path / "demo.csv"
    code, _, err = run(capsys, "record", "--simulate", "--fast", "--seconds", "30",
                       "--athlete", "Ana", "--out", str(out))
    assert code == 0, err
    assert "completed: 2400 samples" in err
    code, listing, _ = run(capsys, "sessions")
    assert "Ana" in listing and "2400 samples" in listing
    code, msg, err = run(capsys, "import", str(out))
    assert code == 0, err
    assert "2400 samples" in msg
    again = tmp_path / "again.csv"
    code, _, err = run(capsys, "export", "--session", "2", "--out", str(again))
    assert code == 0, err
    a, b = csv_parse.read_raw_csv(out), csv_parse.read_raw_csv(again)
    with Storage() as store:
        s1, s2 = store.read_samples(1), store.read_samples(2)
    assert s1.equals(s2) and len(s1) == 2400
    assert np.array_equal(a.samples.counts, b.samples.counts)
    assert {k: v for k, v in a.metadata.items() if k != "exported"} == \
        {k: v for k, v in b.metadata.items() if k != "exported"}


def test_recording_uses_a_calibrated_simulated_board(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert run(capsys, "record", "--simulate", "--fast", "--seconds", "5",
               "--out", str(out))[0] == 0
    import pandas as pd

    df = pd.read_csv(out, comment="#")
    # The virtual athlete weighs 70 kg; calibrated forces must say so (within sway dynamics).
    assert df["total_n"].mean() == pytest.approx(70 * 9.80665, rel=0.01)
    assert df["cop_x_mm"].abs().max() < 120


@pytest.mark.parametrize("argv, words", [
    (["export", "--session", "99", "--out", "x.csv"], "No session 99"),
    (["import", "missing.csv"], "missing.csv"),
    (["record", "--simulate", "--seconds", "0"], "--seconds"),
    (["record", "--port", "/dev/does-not-exist", "--seconds", "1"], "does-not-exist"),
    (["export", "--session", "1", "--out", "x.csv", "--include", "name,shoe"], "unknown athlete"),
])
def test_user_errors_are_one_line_without_traceback(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert words in err and "Traceback" not in err
    assert err.startswith("stancelab: error:")


def test_console_entry_point_runs_as_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "stancelab", "record", "--simulate", "--fast",
                        "--seconds", "2"], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "completed: 160 samples" in r.stderr
