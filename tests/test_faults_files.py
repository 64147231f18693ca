"""Bad files in, hostile text out, through the `stancelab` command.

Imports of damaged raw CSVs must stop with one line naming the problem (and the line), exit 2,
and leave the database exactly as it was. Exports must never hand a spreadsheet a formula, and
file names made from athlete names must stay in the chosen folder.
(Speed and size of CSV import/export are covered by the CSV benchmark and tests/test_csvio.py.)
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from stancelab.board.source import Sample
from stancelab.cli import main
from stancelab.files import csv_format, csv_parse, csv_write, transfer
from stancelab.storage import Storage

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\t=1", "\r=1", "=cmd|' /C calc'!A0", "'=already", "a,=1+1", "line\n=2"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def make_session(store, name="Ana", texts=("hold", "reach"), n=200, trials=2, **athlete):
    a = store.add_athlete(name, **athlete)
    s = store.start_session(athlete_id=a.id, source_kind="simulated", notes="ok")
    k = 0
    for j in range(trials):
        t = store.start_trial(s.id, "clock", leg="left", condition="eyes open",
                              settings={"hold_s": 1.0})
        with store.sample_writer(t.id) as w:
            rows = [Sample(k + i, (k + i) / 80, (k + i) / 80, (1000 + i, -i, 2 * i, 7), 0)
                    for i in range(n)]
            w.extend(rows, phase=[texts[i % len(texts)] for i in range(n)],
                     target=[texts[(i + 1) % len(texts)] for i in range(n)])
        k += n
        store.update_metrics(t.id, {"score_pct": 50.0 + j})
        store.finish_trial(t.id, "completed")
    return s


@pytest.fixture
def raw(tmp_path):
    """A two-trial raw CSV export, made in a separate database."""
    with Storage(tmp_path / "source.sqlite3") as store:
        s = make_session(store)
        path, _ = transfer.export_session(store, s.id, tmp_path / "export")
    return path


def database_rows():
    with Storage() as store:
        return {table: store._q(f"SELECT COUNT(*) FROM {table}")[0][0]
                for table in ("athletes", "sessions", "trials", "samples", "calibrations")}


def data_line(path: Path, k: int) -> int:
    """1-based line number of data row ``k`` (negative: from the end)."""
    lines = path.read_bytes().split(b"\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith(b"trial,")) + 1
    rows = [i for i in range(first, len(lines)) if lines[i]]
    return rows[k] + 1


def edit_line(path: Path, line_no: int, fn) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line_no - 1] = fn(lines[line_no - 1].decode()).encode()
    path.write_bytes(b"\n".join(lines))


def field(line: str, name: str, value: str) -> str:
    cells = line.split(",")
    cells[csv_format.COLUMN_NAMES.index(name)] = value
    return ",".join(cells)


def truncate_mid_row(p):
    data = p.read_bytes()
    p.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 25])
    return data_line(p, -1), "expected 18 fields"


def truncate_in_header(p):
    data = p.read_bytes()
    p.write_bytes(data[: data.find(b"trial,t_s") - 30])
    return None, "no column header line"


def wrong_format(p):
    p.write_bytes(p.read_bytes().replace(b"# format: stancelab-raw-csv", b"# format: other"))
    return None, "not a StanceLab raw CSV"


def wrong_unit(p):
    p.write_bytes(p.read_bytes().replace(b",cop_x_mm,", b",cop_x_cm,"))
    return None, "'cop_x_cm' has the wrong unit; expected 'cop_x_mm'"


def missing_column(p):
    p.write_bytes(p.read_bytes().replace(b",status,", b",state,"))
    return None, "column 'status' is missing"


def newer_format(p):
    p.write_bytes(p.read_bytes().replace(b"# format_version: 1", b"# format_version: 5"))
    return None, "newer"


def nan_counts(p):
    line = data_line(p, -3)   # late in trial 2: trial 1 would import if writes were partial
    edit_line(p, line, lambda ln: field(ln, "fr_counts", "nan"))
    return line, "fr_counts must be a whole number"


def nan_time(p):
    line = data_line(p, -3)
    edit_line(p, line, lambda ln: field(ln, "t_s", "nan"))
    return line, "t_s"


def empty_time(p):
    line = data_line(p, -3)
    edit_line(p, line, lambda ln: field(ln, "t_s", ""))
    return line, "t_s"


def time_backwards(p):
    line = data_line(p, -3)
    edit_line(p, line, lambda ln: field(ln, "t_s", "0.5"))
    return line, "time goes backwards"


def duplicated_row(p):
    lines = p.read_bytes().split(b"\n")
    k = data_line(p, -3)
    lines.insert(k, lines[k - 1])
    p.write_bytes(b"\n".join(lines))
    return k + 1, "duplicate sample"


def binary_garbage(p):
    p.write_bytes(np.random.default_rng(3).integers(0, 256, 5000, np.uint8).tobytes())
    return None, ""


def empty_file(p):
    p.write_bytes(b"")
    return None, ""


@pytest.mark.parametrize("damage", [
    truncate_mid_row, truncate_in_header, wrong_format, wrong_unit, missing_column,
    newer_format, nan_counts, nan_time, empty_time, time_backwards, duplicated_row,
    binary_garbage, empty_file], ids=lambda f: f.__name__)
def test_bad_csv_import_is_refused_and_writes_nothing(raw, capsys, damage):
    assert run(capsys, "sessions")[0] == 0   # the database exists before the import
    before = database_rows()
    line, words = damage(raw)
    code, out, err = run(capsys, "import", str(raw))
    assert code == 2, (out, err)
    assert err.startswith("stancelab: error:") and err.count("\n") == 1
    assert "Traceback" not in err and raw.name in err
    assert words in err
    if line is not None:
        assert f"line {line}:" in err
    assert database_rows() == before


def test_the_same_file_imports_again_only_as_a_new_session(raw, capsys):
    """Defined behaviour: re-importing is allowed (a round trip into one database relies on
    it); each import is a complete, separate session."""
    assert run(capsys, "import", str(raw))[0] == 0
    assert run(capsys, "import", str(raw))[0] == 0
    with Storage() as store:
        a, b = store.sessions()
        for s in (a, b):
            assert [store.sample_count(t.id) for t in store.trials(s.id)] == [200, 200]


def test_truncated_at_a_line_end_is_detected(raw, capsys):
    data = raw.read_bytes()
    raw.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1000) + 1])
    assert run(capsys, "import", str(raw))[0] == 2


# ------------------------------------------------------------------ exports

def dangerous(cell: str) -> bool:
    c = cell
    if c[:1] in ("=", "+", "@", "\t", "\r"):
        return True
    if c.startswith("-"):
        try:
            float(c)
        except ValueError:
            return True
    return False


def spreadsheet_cells(path: Path):
    """Every cell a spreadsheet would make of the file, metadata lines included."""
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            yield from row


def test_hostile_text_never_reaches_a_spreadsheet_as_a_formula(tmp_path, capsys):
    with Storage() as store:
        a = store.add_athlete(HOSTILE[0], notes=HOSTILE[1], dominant_leg=HOSTILE[2],
                              injured_side=HOSTILE[3], shoe_size=HOSTILE[4])
        s = store.start_session(athlete_id=a.id, source_kind="simulated", notes=HOSTILE[8])
        t = store.start_trial(s.id, HOSTILE[5], leg=HOSTILE[6], condition=HOSTILE[7],
                              settings={"order": HOSTILE[0], HOSTILE[1]: [HOSTILE[2], "@x"]})
        n = 3 * len(HOSTILE)
        with store.sample_writer(t.id) as w:
            w.extend([Sample(i, i / 80, i / 80, (5000, 5000, 5000, 5000), 0) for i in range(n)],
                     phase=[HOSTILE[i % len(HOSTILE)] for i in range(n)],
                     target=[HOSTILE[(i + 3) % len(HOSTILE)] for i in range(n)])
        store.update_metrics(t.id, {"note": HOSTILE[9], "x_mm": -1.5,
                                    "targets": [{"outcome": HOSTILE[0]}]})
        store.finish_trial(t.id, "aborted", HOSTILE[2])
    raw, summary = tmp_path / "raw.csv", tmp_path / "summary.csv"
    code, _, err = run(capsys, "export", "--session", "1", "--out", str(raw), "--summary",
                       str(summary), "--include",
                       "name,notes,dominant_leg,injured_side,shoe_size,foot_length_mm")
    assert code == 0, err
    for path in (raw, summary):
        cells = list(spreadsheet_cells(path))
        bad = [c for c in cells if dangerous(c)]
        assert not bad, f"{path.name}: {bad[:5]}"
        assert any("HYPERLINK" in c for c in cells)   # the text is there, only defused
    # Defused, not lost: the import gives back the exact text.
    got = csv_parse.read_raw_csv(raw)
    assert list(got.samples.phase) == [HOSTILE[i % len(HOSTILE)] for i in range(n)]
    assert got.metadata["athlete.name"] == HOSTILE[0]
    assert got.metadata["athlete.notes"] == HOSTILE[1]


NAMES = ["../../etc/passwd", "..", ".", "/etc/passwd", "C:\\Windows\\System32\\evil",
         "CON", "con.txt", "NUL", "LPT1", "   ", "a/../../b", "~root", "nul\x00byte",
         "..\\..\\x", "x" * 300, "Zoë O'Brien"]


def test_file_names_from_athlete_names_stay_in_the_chosen_folder(tmp_path):
    out = tmp_path / "chosen" / "folder"
    before = {p for p in tmp_path.rglob("*")}
    made = []
    with Storage(tmp_path / "db.sqlite3") as store:
        for k, name in enumerate(NAMES):
            s = make_session(store, name=name if name.strip() else f"blank {k}", n=10, trials=1)
            if not name.strip():   # storage refuses blank names; the file name fallback is
                stem = csv_write.safe_filename(name)   # still checked here
                assert stem and "/" not in stem
                continue
            made += transfer.export_session(store, s.id, out)
    created = {p for p in tmp_path.rglob("*")} - before
    files = [p for p in created if p.is_file() and p.suffix == ".csv"]
    assert sorted(files) == sorted(set(made)) and len(files) == 2 * (len(NAMES) - 1)
    for p in files:
        assert p.resolve().parent == out.resolve(), p
        assert not p.name.startswith(".")
        assert p.stem.split(".")[0].upper() not in {"CON", "NUL", "LPT1"}
        assert len(p.name) < 120
    assert not (tmp_path / "etc").exists() and not Path("/etc/passwd_raw.csv").exists()
    # nothing else appeared outside the chosen folder, no temporary files left behind
    assert all(out in p.parents or p in out.parents or p == out or p.name.startswith("db.")
               for p in created)
