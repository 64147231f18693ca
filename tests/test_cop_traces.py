"""Other systems' COP traces: the HBEDB file as published, units declared or refused, the
messy cases of issue 15, each through the reader and the `stancelab analyze` / `import` words."""

import json
import pathlib
import warnings

import numpy as np
import pytest

from stancelab import cli
from stancelab.cli.drill_commands import analyze_file
from stancelab.files import cop_trace
from stancelab.files.csv_format import CsvFormatError

HBEDB = pathlib.Path(__file__).resolve().parent / "data" / "hbedb_BDS00001.csv"


def hbedb_columns():
    """The published file read independently: index/100 s, COP cm -> mm (docs of the dataset)."""
    d = np.genfromtxt(HBEDB, delimiter=",", skip_header=1)
    return d[:, 0] / 100.0, d[:, 7] * 10.0, d[:, 8] * 10.0


def metrics(path, **kw):
    (r,) = analyze_file(path, "default", **kw)
    return r["metrics"]


def close(a, b):
    keys = [k for k, v in a.items() if isinstance(v, float)]
    assert len(keys) > 10
    for k in keys:
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k


def write(path, header, cols, fmt="%.6f", delim=","):
    body = "\n".join(delim.join(fmt % v for v in row) for row in np.column_stack(cols))
    path.write_text((header + "\n" if header else "") + body + "\n")
    return path


def test_hbedb_as_published_reads_as_documented():
    tr = cop_trace.read_cop_trace(HBEDB)
    t, x, y = hbedb_columns()
    assert tr.layout == "hbedb" and len(tr.t_s) == 6000
    np.testing.assert_allclose(tr.t_s, t)
    np.testing.assert_allclose(tr.x_mm, x)
    np.testing.assert_allclose(tr.y_mm, y)
    assert "100 Hz" in tr.notes[0] and "cm" in tr.notes[0]


def test_hbedb_gives_the_metrics_of_its_txy_conversions(tmp_path):
    t, x, y = hbedb_columns()
    published = metrics(HBEDB)
    close(published, metrics(write(tmp_path / "mm.csv", "t_s,x_mm,y_mm", [t, x, y])))
    # the same trace in cm and ms, the units in the names or given on the command line
    close(published, metrics(write(tmp_path / "cm.csv", "time (ms),COPx (cm),COPy (cm)",
                                   [t * 1000, x / 10, y / 10])))
    close(published, metrics(write(tmp_path / "m.csv", "t,x,y", [t, x / 1000, y / 1000],
                                   fmt="%.9f"), units="m", time_units="s"))
    # a semicolon file with decimal commas (a European spreadsheet's export)
    semi = write(tmp_path / "semi.csv", "t;cop_x;cop_y", [t, x, y], delim=";")
    semi.write_text(semi.read_text().replace(".", ","))
    close(published, metrics(semi, units="mm"))
    # a force-plate export with Cx/Cy columns and other columns around them
    close(published, metrics(write(tmp_path / "plate.csv", "Time_s,Fz,Cx_mm,Cy_mm",
                                   [t, np.full_like(t, 700.0), x, y])))


def test_plain_txy_without_units_is_refused_not_read_as_mm(tmp_path, capsys):
    t, x, y = hbedb_columns()
    p = write(tmp_path / "plain.csv", "t,x,y", [t, x / 10, y / 10])     # cm, unsaid
    with pytest.raises(CsvFormatError, match=r"give --units mm\|cm\|m"):
        cop_trace.read_cop_trace(p)
    assert cli.main(["analyze", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--units" in err
    # said: the areas are those of the published file, not 100 times smaller
    assert cli.main(["analyze", str(p), "--units", "cm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["metrics"]["ellipse95_area_mm2"] == pytest.approx(
        metrics(HBEDB)["ellipse95_area_mm2"], rel=1e-6)


def test_time_in_ms_is_inferred_and_said(tmp_path, capsys):
    t, x, y = hbedb_columns()
    p = write(tmp_path / "ms.csv", "t,x_mm,y_mm", [t * 1000, x, y])
    tr = cop_trace.read_cop_trace(p)
    np.testing.assert_allclose(tr.t_s, t, atol=1e-9)
    assert "milliseconds" in tr.notes[0] and "100 samples/s" in tr.notes[0]
    assert cli.main(["analyze", str(p)]) == 0
    assert "Note: time read as milliseconds" in capsys.readouterr().err
    # seconds read as seconds, also said
    s = write(tmp_path / "s.csv", "t,x_mm,y_mm", [t, x, y])
    assert "seconds" in cop_trace.read_cop_trace(s).notes[0]
    # a step that fits neither reading (0.5: 2/s as seconds, 2000/s as ms) is refused
    odd = write(tmp_path / "odd.csv", "t,x_mm,y_mm", [np.arange(20) * 0.5, x[:20], y[:20]])
    with pytest.raises(CsvFormatError, match="--time-units s\\|ms"):
        cop_trace.read_cop_trace(odd)
    assert cop_trace.read_cop_trace(odd, time_units="ms").t_s[1] == pytest.approx(0.0005)


def test_conflicting_units_are_refused(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("t_s,x_cm,y_mm\n0,1,2\n0.01,1,2\n")
    with pytest.raises(CsvFormatError, match="different units"):
        cop_trace.read_cop_trace(p)
    p.write_text("t_s,x_cm,y_cm\n0,1,2\n0.01,1,2\n")
    with pytest.raises(CsvFormatError, match="the columns say cm but --units says mm"):
        cop_trace.read_cop_trace(p, units="mm")
    with pytest.raises(CsvFormatError, match="in cm as published"):
        cop_trace.read_cop_trace(HBEDB, units="mm")


def test_empty_cell_names_the_real_row(tmp_path):
    p = tmp_path / "gap.csv"
    p.write_text("# exported\nt_s,x_mm,y_mm\n0.00,1,2\n0.01,1,2\n0.02,,2\n0.03,1,2\n")
    with pytest.raises(CsvFormatError) as e:
        cop_trace.read_cop_trace(p)
    # the third data row, line 5 of the file
    assert "data row 3 (line 5)" in str(e.value) and "column 2 is empty" in str(e.value)
    p.write_text("t_s,x_mm,y_mm\n0.00,1,2\n0.01,1,abc\n")
    with pytest.raises(CsvFormatError, match="data row 2 .*'abc', not a number"):
        cop_trace.read_cop_trace(p)
    p.write_text("t_s,x_mm,y_mm\n0.00,1,2\n0.01,1\n")
    with pytest.raises(CsvFormatError, match="data row 2 .*2 cells, the trace needs 3"):
        cop_trace.read_cop_trace(p)


def test_header_only_file_is_one_clear_line_without_numpy_warnings(tmp_path, capsys):
    p = tmp_path / "head.csv"
    p.write_text("t_s,x_mm,y_mm\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(["analyze", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "header line but no data rows" in err
    assert "nobody on the board" not in err
    p.write_text("")
    assert cli.main(["analyze", str(p)]) == 2
    assert "no header and no data rows" in capsys.readouterr().err


def test_missing_columns_and_sample_index_need_the_fix(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("time_s,weight_kg\n0,1\n")
    with pytest.raises(CsvFormatError, match="no column for COP x and COP y"):
        cop_trace.read_cop_trace(p)
    p.write_text("sample,x_mm,y_mm\n0,1,2\n1,1,2\n")
    with pytest.raises(CsvFormatError, match="--rate HZ"):
        cop_trace.read_cop_trace(p)
    assert cop_trace.read_cop_trace(p, rate_hz=50).t_s[1] == pytest.approx(0.02)


def test_import_recognises_a_trace_and_names_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    assert cli.main(["import", str(HBEDB)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "HBEDB layout" in err and f"stancelab analyze {HBEDB}" in err
