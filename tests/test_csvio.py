"""CSV export/import on real files and a real SQLite database: lossless, pandas-readable, safe."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stancelab.calibration import Calibration, cop_from_forces
from stancelab.files import cop_trace, csv_bytes, csv_format, csv_parse, csv_write, transfer
from stancelab.files.csv_format import CsvFormatError
from stancelab.storage import SampleArrays, Storage, quantise_us
from test_storage import make_samples

PHASES = ["hold", "=cmd|' /C calc'!A0", "-1 step", "+x", "@sum", "\tlead tab", "\rcr",
          "'quoted", "a,b \"c\"", "#3 target", "back\nslash", "-", "'", "ümlaut ø"]


def recorded_session(store: Storage, n_trials=2, n=200, athlete="Ada Runner", phases=PHASES):
    cal = Calibration(board_id=7, offsets_counts=(1000.0, -500.0, 250.0, 0.0),
                      gains_n_per_count=(4.5e-4, 4.6e-4, 4.4e-4, 4.55e-4), firmware="1.0.0",
                      method="tare+gain")
    a = store.get_or_add_athlete(athlete, foot_length_mm=255.0, dominant_leg="right",
                                 notes="left ankle, =2+2")
    s = store.start_session(athlete_id=a.id, source_kind="simulated", board_id=7,
                            firmware="1.0.0", calibration=cal, notes="pre-season, tester=JD")
    for k in range(n_trials):
        t = store.start_trial(s.id, "clock", leg=["left", "right"][k % 2],
                              condition="eyes open", settings={"hours": [3, 9], "fraction": 0.8})
        samples = make_samples(k * n, n)
        phase = [phases[i % len(phases)] for i in range(n)]
        targets = [None if i % 5 else f"{i % 12 + 1}" for i in range(n)]
        with store.sample_writer(t.id) as w:
            w.extend(samples, phase, targets)
        store.update_metrics(t.id, {"path_length_mm": 400.5 + k, "reach_3_mm": -12.0})
        store.finish_trial(t.id, "completed" if k == 0 else "aborted", None if k == 0 else
                           "athlete stepped off, =HYPERLINK(\"x\")")
    return s


def test_roundtrip_identical_samples_and_metadata(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as a:
        s = recorded_session(a)
        raw, _ = transfer.export_session(a, s.id, tmp_path / "out",
                                            athlete_fields=("name", "foot_length_mm", "notes"),
                                            analysis={"lowpass_hz": 10.0})
        first = csv_parse.read_raw_csv(raw)
        with Storage(tmp_path / "b.sqlite3") as b:
            sid = transfer.import_raw_csv(b, raw)
            for ta, tb in zip(a.trials(s.id), b.trials(sid), strict=True):
                assert a.read_samples(ta.id).equals(b.read_samples(tb.id))
                assert (ta.drill, ta.leg, ta.condition, ta.settings, ta.status, ta.reason,
                        ta.started, ta.ended, ta.metrics) == \
                       (tb.drill, tb.leg, tb.condition, tb.settings, tb.status, tb.reason,
                        tb.started, tb.ended, tb.metrics)
            assert b.athletes()[0].name == "Ada Runner"
            raw2, _ = transfer.export_session(b, sid, tmp_path / "again",
                                           athlete_fields=("name", "foot_length_mm", "notes"),
                                           analysis={"lowpass_hz": 10.0})
    second = csv_parse.read_raw_csv(raw2)
    first.metadata.pop("exported")
    second.metadata.pop("exported")
    assert first.metadata == second.metadata
    assert first.metadata["calibration"]["gains_n_per_count"][1] == 4.6e-4
    assert first.metadata["session_notes"] == "pre-season, tester=JD"
    assert first.samples.equals(second.samples)
    assert np.array_equal(first.trial, second.trial)
    # Apart from the export time stamp, the second file is byte-identical to the first.
    strip = [ln for ln in raw.read_text().splitlines() if not ln.startswith("# exported:")]
    assert strip == [ln for ln in raw2.read_text().splitlines()
                     if not ln.startswith("# exported:")]
    assert "ümlaut ø" in set(first.samples.phase)


def test_derived_columns_match_the_calibration(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store, n_trials=1)
        cal = store.calibration(s.calibration_id)
        counts = store.read_samples(store.trials(s.id)[0].id).counts
        threshold = float(np.median(cal.forces_n(counts).sum(1)))  # half the rows below
        raw, _ = transfer.export_session(store, s.id, tmp_path, min_load_n=threshold)
        got = csv_parse.read_raw_csv(raw)
    forces = cal.forces_n(got.samples.counts)
    total, x, y = cop_from_forces(forces, cal.geometry, threshold)
    assert np.allclose(got.derived["cop_y_mm"], y, atol=5e-3, equal_nan=True)
    assert np.allclose(got.derived["fl_n"], forces[:, 0], atol=5e-4)
    assert np.allclose(got.derived["total_n"], total, atol=5e-4)
    assert np.array_equal(np.isnan(got.derived["cop_x_mm"]), np.isnan(x))
    assert np.isnan(x).any() and (~np.isnan(x)).any()  # both cases exercised
    assert np.allclose(got.derived["cop_x_mm"], x, atol=5e-3, equal_nan=True)


def test_pandas_reads_it_with_comment_hash(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store)
        raw, summary = transfer.export_session(store, s.id, tmp_path)
        samples = store.read_samples(store.trials(s.id)[0].id)
    df = pd.read_csv(raw, comment="#")
    assert list(df.columns) == list(csv_format.COLUMN_NAMES)
    assert len(df) == 400
    assert df["fr_counts"].dtype.kind == "i" and (df["fr_counts"] < 0).all()  # negatives stay
    assert df["fr_counts"].iloc[0] == samples.counts[0, 1]
    assert df["t_s"].iloc[1] == pytest.approx(samples.t_s[1], abs=1e-9)
    assert df["phase"].iloc[1] == "'=cmd|' /C calc'!A0"  # neutralised in the spreadsheet view
    assert df["phase"].iloc[9] == "#3 target"            # '#' inside a quoted cell survives
    sm = pd.read_csv(summary, comment="#")
    assert sm["path_length_mm"].tolist() == [400.5, 401.5]
    assert sm["samples"].tolist() == [200, 200] and sm["trial"].tolist() == [1, 2]
    assert sm["status"].tolist() == ["completed", "aborted"]
    assert sm["reason"].iloc[1].startswith("athlete stepped off")


def test_no_cell_starts_with_a_formula_character(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store)
        raw, summary = transfer.export_session(store, s.id, tmp_path, athlete_fields=("notes",))
    import csv
    for path in (raw, summary):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell[:1] in ("=", "+", "@", "\t", "\r"):
                        pytest.fail(f"{path.name}: dangerous cell {cell!r}")
                    if cell.startswith("-"):  # only numbers may start with a minus
                        float(cell)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=30))
@example(["\r\n"])  # a line break inside a quoted cell once came back as "\n"
@example(["a\rb", "=1+2", "\n", None])
def test_any_text_cell_survives(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("h") / "t.csv"
    texts = [t.replace("\x00", "") or None if t is not None else None for t in texts]
    n = len(texts)
    samples = SampleArrays(np.arange(n), quantise_us(np.arange(n) * 0.0125),
                           quantise_us(np.arange(n) * 0.0125 + 3.0), np.ones((n, 4), np.int64),
                           np.zeros(n, np.int64), _obj(texts), _obj(texts[::-1]))
    derived = {c: np.full(n, np.nan) for c in csv_format.DERIVED_COLUMNS}
    csv_write.write_raw_csv(path, {"note": "x"}, np.ones(n, np.int64), samples, derived)
    got = csv_parse.read_raw_csv(path)
    assert list(got.samples.phase) == texts
    assert list(got.samples.target) == texts[::-1]


def _obj(values):
    out = np.empty(len(values), object)
    out[:] = values
    return out


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.text(max_size=5), kids, max_size=3), max_leaves=8))
def test_metadata_values_roundtrip(value):
    text = csv_format.encode_meta_value(value)
    assert "\n" not in text and "\r" not in text
    assert "," not in text or not isinstance(value, str)
    assert csv_format.decode_meta_value(text) == value or (
        isinstance(value, float) and math.isclose(csv_format.decode_meta_value(text), value))


def _raw_file(tmp_path, n=50, phases=("hold", "reach", "-back", "=x")):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store, n_trials=1, n=n, phases=phases)
        raw, _ = transfer.export_session(store, s.id, tmp_path)
    return raw


def _edit(path, line_no, fn):
    lines = path.read_text().split("\n")
    lines[line_no - 1] = fn(lines[line_no - 1])
    path.write_text("\n".join(lines))


def _data_line(path, k=0):
    lines = path.read_text().split("\n")
    return next(i for i, ln in enumerate(lines) if ln.startswith("trial,")) + 2 + k


@pytest.mark.parametrize("mutate, message", [
    (lambda ln: ln.replace(ln.split(",")[4], ""), "fl_counts is NaN or empty"),
    (lambda ln: ln.replace(ln.split(",")[4], "nan"), "fl_counts must be a whole number"),
    (lambda ln: ln.rsplit(",", 3)[0], "expected 18 fields"),
    (lambda ln: ",".join([ln.split(",")[0], "0.5"] + ln.split(",")[2:]), "time goes backwards"),
    (lambda ln: ",".join(ln.split(",")[:2] + ["70000"] + ln.split(",")[3:]), "seq must be"),
])
def test_import_errors_name_the_line(tmp_path, mutate, message):
    raw = _raw_file(tmp_path)
    line = _data_line(raw, 10)
    _edit(raw, line, mutate)
    with pytest.raises(CsvFormatError, match=f"line {line}: {message}"):
        csv_parse.read_raw_csv(raw)


def test_line_numbers_count_lines_inside_quoted_cells(tmp_path):
    raw = _raw_file(tmp_path, phases=("two\nlines", "hold"))  # slow path: quoted cells
    lines = raw.read_text().split("\n")
    k = next(i for i, ln in enumerate(lines) if ln.startswith("1,") and ln.endswith(",hold,"))
    lines[k] = lines[k].replace(",hold,", ",hold,extra,")
    raw.write_text("\n".join(lines))
    with pytest.raises(CsvFormatError, match=f"line {k + 1}: expected 18 fields, found 19"):
        csv_parse.read_raw_csv(raw)


def test_duplicate_row_is_reported(tmp_path):
    raw = _raw_file(tmp_path)
    lines = raw.read_text().split("\n")
    k = _data_line(raw, 5)
    lines.insert(k, lines[k - 1])
    raw.write_text("\n".join(lines))
    with pytest.raises(CsvFormatError, match=f"line {k + 1}: duplicate sample"):
        csv_parse.read_raw_csv(raw)


def test_header_problems(tmp_path):
    raw = _raw_file(tmp_path)
    text = raw.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("# format: stancelab-raw-csv", "# format: other"))
    with pytest.raises(CsvFormatError, match="not a StanceLab raw CSV"):
        csv_parse.read_raw_csv(bad)
    bad.write_text(text.replace(",total_n,", ",total_kg,"))
    with pytest.raises(CsvFormatError, match="'total_kg' has the wrong unit; expected 'total_n'"):
        csv_parse.read_raw_csv(bad)
    bad.write_text(text.replace(",status,", ",stat,"))
    with pytest.raises(CsvFormatError, match="column 'status' is missing"):
        csv_parse.read_raw_csv(bad)
    bad.write_text(text.replace("# format_version: 1", "# format_version: 9"))
    with pytest.raises(CsvFormatError, match="newer"):
        csv_parse.read_raw_csv(bad)


def test_failed_import_writes_nothing(tmp_path):
    raw = _raw_file(tmp_path, n=100)
    line = _data_line(raw, 99)  # the very last row is broken
    _edit(raw, line, lambda ln: ln.replace(ln.split(",")[5], "x"))
    with Storage(tmp_path / "b.sqlite3") as b:
        with pytest.raises(CsvFormatError, match=f"line {line}"):
            transfer.import_raw_csv(b, raw)
        assert b.sessions() == [] and b.athletes() == []


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("precious")
    n = 5
    samples = SampleArrays(np.arange(n), np.arange(n) * 1.0, np.arange(n) * 1.0,
                           np.ones((n, 4), np.int64), np.zeros(n, np.int64), _obj([None] * n),
                           _obj([None] * n))

    def boom(done, total):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        csv_write.write_raw_csv(target, {}, np.ones(n, np.int64), samples,
                            {c: np.zeros(n) for c in csv_format.DERIVED_COLUMNS}, progress=boom)
    assert target.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [target]


def test_progress_is_reported(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store, n_trials=1, n=120_000)
        calls = []
        transfer.export_session(store, s.id, tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (120_000, 120_000) and len(calls) >= 3
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "C:\\Windows\\x", "CON", "",
                                  "a/b\\c:d*e?f", "Zoë O'Brien"])
def test_file_names_stay_in_the_folder(tmp_path, name):
    stem = csv_write.safe_filename(name)
    assert stem and "/" not in stem and "\\" not in stem and not stem.startswith(".")
    assert (tmp_path / f"{stem}.csv").resolve().parent == tmp_path.resolve()
    assert stem.upper() != "CON"


def test_export_uses_sanitised_athlete_name(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store, n_trials=1, n=10, athlete="../../Evil, =1+1")
        raw, summary = transfer.export_session(store, s.id, tmp_path / "out")
    assert raw.parent == tmp_path / "out" and summary.parent == tmp_path / "out"
    assert raw.name.startswith("Evil_1_1_")


def test_load_xy_csv(tmp_path):
    p = tmp_path / "cop.csv"
    p.write_text("# from a force plate\nt_s,x_mm,y_mm\n0.00,1.5,-2\n0.01,1.6,-2.5\n")
    t, x, y = cop_trace.load_xy_csv(p)
    assert t.tolist() == [0.0, 0.01] and x.tolist() == [1.5, 1.6] and y.tolist() == [-2, -2.5]
    p.write_text("0,1,2\n0.01,3,4\n")
    assert cop_trace.load_xy_csv(p, units="mm")[2].tolist() == [2, 4]
    with pytest.raises(CsvFormatError, match="--units mm"):   # unnamed: the unit must be given
        cop_trace.load_xy_csv(p)
    p.write_text("t,x_cm,y_cm\n0,1,2\n0.01,1,2\n")
    assert cop_trace.load_xy_csv(p)[1].tolist() == [10.0, 10.0]
    p.write_text("t,x,y\n0,1,2\n0,1,2\n")
    with pytest.raises(CsvFormatError, match="not increasing"):
        cop_trace.load_xy_csv(p, units="mm", time_units="s")


# --- fast byte parser against the general one, and the size limits -----------------------


FIELD_CHARS = st.sampled_from(list("0123456789") * 4 + list("-.+e /'x\x00"))


NUMBERISH = st.one_of(st.text(FIELD_CHARS, max_size=14),
                      st.integers(-10 ** 14, 10 ** 14).map(str),
                      st.tuples(st.integers(-10 ** 8, 10 ** 8), st.text("0123456789", min_size=1,
                                                                       max_size=7))
                      .map(lambda p: f"{p[0]}.{p[1]}"))


@settings(max_examples=400, deadline=None)
@given(st.lists(NUMBERISH, min_size=1, max_size=4), st.sampled_from([0, 2, 3, 6]))
def test_fast_parser_agrees_with_the_general_one_or_declines(fields, decimals):
    """parse_fixed may refuse (None) anything, but what it accepts it must read exactly as the
    general parser does; canonical fields (what we write) it must accept."""
    fields = [f.replace(",", "") for f in fields]
    data = ("\n".join(fields) + "\n").encode()
    u = csv_bytes.padded(data)
    ends = np.flatnonzero(u == 10)
    starts = np.concatenate([[csv_bytes.PAD], ends[:-1] + 1])
    fast = csv_bytes.parse_fixed(u, csv_bytes.words(u), starts, ends, decimals)
    lines = np.arange(len(fields))
    try:
        general = csv_parse._parse_numbers(u, starts, ends, decimals, "x", lines, "f")
    except CsvFormatError:
        general = None
    if fast is not None:
        assert general is not None
        assert np.array_equal(fast[0], general[0]) and np.array_equal(fast[1], general[1])
    canonical = re.compile(r"-?\d{1,12}" + (rf"\.\d{{{decimals}}}" if decimals else "") + "$")
    if all(canonical.match(f) or f == "" for f in fields):
        assert fast is not None


def _fixed_text(v: float, decimals: int) -> str:
    if math.isnan(v):
        return ""
    k = int(np.round(v * 10.0 ** decimals))
    digits = str(abs(k)).rjust(decimals + 1, "0")
    body = digits[:len(digits) - decimals] + ("." + digits[-decimals:] if decimals else "")
    return ("-" if k < 0 else "") + body


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(-10 ** 9, 10 ** 9).map(float),
                          st.floats(-1e9, 1e9, allow_nan=False), st.just(float("nan"))),
                min_size=1, max_size=60), st.sampled_from([0, 2, 3, 6]))
def test_formatted_numbers_read_back(values, decimals):
    """Writer and fast reader agree for every value a float keeps exactly at these decimals."""
    values = np.array(values)
    blocks = np.hstack(csv_bytes.format_fixed(values, decimals))
    text = b"".join(bytes(r[r != 0]) + b"\n" for r in blocks)
    assert [x.decode() for x in text.split(b"\n")[:-1]] == \
        [_fixed_text(v, decimals) for v in values]
    u = csv_bytes.padded(text)
    ends = np.flatnonzero(u == 10)
    starts = np.concatenate([[csv_bytes.PAD], ends[:-1] + 1])
    value, empty = csv_bytes.parse_fixed(u, csv_bytes.words(u), starts, ends, decimals)
    assert np.array_equal(empty, np.isnan(values))
    expect = np.round(np.where(np.isnan(values), 0, values) * 10.0 ** decimals)
    assert np.array_equal(value[~empty], expect[~empty].astype(np.int64))


def test_many_chunks_crlf_and_no_final_newline(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_parse, "_READ_CHUNK_BYTES", 2000)   # ~20 chunks of whole lines
    raw = _raw_file(tmp_path, n=300)
    want = csv_parse.read_raw_csv(raw)
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(raw.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    got = csv_parse.read_raw_csv(crlf)
    assert got.samples.equals(want.samples)
    assert all(np.array_equal(got.derived[k], want.derived[k], equal_nan=True)
               for k in csv_format.DERIVED_COLUMNS)
    line = _data_line(raw, 250)                              # an error deep in a later chunk
    _edit(raw, line, lambda ln: ln.replace(ln.split(",")[6], "12x"))
    with pytest.raises(CsvFormatError, match=f"line {line}: bl_counts must be a whole number"):
        csv_parse.read_raw_csv(raw)


def test_hand_edited_numbers_still_read(tmp_path):
    """Fewer decimals, a '+'-free short form: not what we write, but a valid number."""
    raw = _raw_file(tmp_path)
    line = _data_line(raw, 3)
    _edit(raw, line, lambda ln: ",".join(ln.split(",")[:8] + ["12.5"] + ln.split(",")[9:]))
    got = csv_parse.read_raw_csv(raw)
    assert got.derived["fl_n"][3] == 12.5


def test_a_huge_file_is_refused_before_reading(tmp_path):
    """A 1 GB file (sparse: no disk used) is refused from its size, without reading it."""
    raw = _raw_file(tmp_path)
    big = tmp_path / "huge.csv"
    big.write_bytes(raw.read_bytes())
    with open(big, "r+b") as f:
        f.truncate(1_000_000_000)
    with pytest.raises(CsvFormatError, match=r"1000 MB, more than the 256 MB import limit"):
        csv_parse.read_raw_csv(big)
    with Storage(tmp_path / "b.sqlite3") as b:
        with pytest.raises(CsvFormatError, match="import limit"):
            transfer.import_raw_csv(b, big)
        assert b.sessions() == []


def test_limits_are_configurable_and_exact(tmp_path, monkeypatch):
    raw = _raw_file(tmp_path, n=100)
    size = raw.stat().st_size
    assert len(csv_parse.read_raw_csv(raw, max_bytes=size).samples) == 100
    with pytest.raises(CsvFormatError, match="import limit"):
        csv_parse.read_raw_csv(raw, max_bytes=size - 1)
    assert len(csv_parse.read_raw_csv(raw, max_rows=100).samples) == 100
    monkeypatch.setattr(csv_parse, "_READ_CHUNK_BYTES", 1000)  # refused after a few chunks
    with pytest.raises(CsvFormatError, match="more than 99 rows"):
        csv_parse.read_raw_csv(raw, max_rows=99)
    monkeypatch.setattr(csv_parse, "MAX_RAW_CSV_ROWS", 50)
    with pytest.raises(CsvFormatError, match="more than 50 rows"):
        csv_parse.read_raw_csv(raw)


def test_empty_and_truncated_files(tmp_path):
    raw = _raw_file(tmp_path)
    text = raw.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    with pytest.raises(CsvFormatError, match="empty"):
        csv_parse.read_raw_csv(bad)
    bad.write_bytes(text[:text.index(b"\ntrial,")])           # header cut off
    with pytest.raises(CsvFormatError, match="no column header line"):
        csv_parse.read_raw_csv(bad)
    cut = text[:len(text) - 40]                               # last row cut mid-way
    bad.write_bytes(cut)
    last_line = cut.count(b"\n") + 1
    with pytest.raises(CsvFormatError, match=f"line {last_line}: expected 18 fields"):
        csv_parse.read_raw_csv(bad)


def test_file_cut_at_a_line_end_is_refused(tmp_path):
    raw = _raw_file(tmp_path, n=100)
    assert csv_parse.read_raw_csv(raw).metadata["trial.1.samples"] == 100
    data = raw.read_bytes()
    raw.write_bytes(data[:data.rfind(b"\n", 0, len(data) - 1000) + 1])   # whole rows missing
    with pytest.raises(CsvFormatError, match=r"trial 1 has \d+ rows but the header says 100; "
                                             r"the file is incomplete"):
        csv_parse.read_raw_csv(raw)
