"""The Wii Balance Board reader fed real input_event byte streams (tests/wii_peer.py models the
kernel's side): through a FIFO and a pty, a recorded-style trace, disconnects, the battery, the
calibration procedure of the HX711 board, and the words that select it."""

import os
import pty
import time
import tty

import numpy as np
import pytest

from stancelab import calibration as cal
from stancelab import cli
from stancelab.board import protocol
from stancelab.board import wiiboard as wb
from stancelab.board.source import SourceError
from stancelab.cli.main import build_parser
from stancelab.processing import process
from stancelab.station.calibrate import CALIBRATION_MARKS_MM, CalibrationProcedure
from stancelab.station.choice import BoardChoice, choose_board
from waiting import wait_for
from wii_peer import ADDRESS, Kernel, SysfsTree, cop_from_units, event, recorded_trace, sensors_for


def read_n(src, n, timeout=5.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += src.read(timeout=0.05)
    return got


@pytest.fixture
def tree(tmp_path):
    t = SysfsTree(tmp_path)
    yield t
    t.close()


def board(tree, **kw):
    return wb.WiiBoard(kw.pop("device", None), sysfs_root=tree.sys, dev_root=tree.dev, **kw)


def test_event_layout_is_the_kernels_64_bit_struct():
    assert wb.INPUT_EVENT.size == 24           # timeval 16 + type 2 + code 2 + value 4
    raw = event(12.5, wb.EV_ABS, wb.ABS_HAT1X, 1234)
    assert raw[:8] == (12).to_bytes(8, "little") and raw[8:16] == (500000).to_bytes(8, "little")
    assert raw[16:] == bytes([3, 0, 0x12, 0]) + (1234).to_bytes(4, "little")


def test_decoder_maps_axes_and_is_chunking_invariant():
    data, reports, dropped = recorded_trace(seed=3, seconds=4.0)
    whole = wb.EventDecoder().feed(data)
    rng = np.random.default_rng(0)
    dec, pieces, pos = wb.EventDecoder(), [], 0
    while pos < len(data):
        step = int(rng.integers(1, 100))
        pieces += dec.feed(data[pos:pos + step])
        pos += step
    assert pieces == whole and dec.dropped == dropped == 1
    assert [r.values for r in whole] == [v for _, v in reports]
    np.testing.assert_allclose([r.t_s for r in whole], [t for t, _ in reports], atol=1e-6)
    # one report, one sensor at a time: HAT1X top left -> FL ... HAT0Y bottom right -> BR
    for axis, ch in ((wb.ABS_HAT1X, 0), (wb.ABS_HAT0X, 1), (wb.ABS_HAT1Y, 2), (wb.ABS_HAT0Y, 3)):
        (r,) = wb.EventDecoder().feed(event(1.0, wb.EV_ABS, axis, 500)
                                      + event(1.0, wb.EV_SYN, wb.SYN_REPORT, 0))
        assert r.values == tuple(500 if c == ch else 0 for c in range(4))


def test_finds_the_board_by_name_with_address_and_battery(tree):
    (info,) = wb.find_wiiboards(tree.sys, tree.dev)       # the keyboard beside it is not listed
    assert info.device == tree.device and info.address == ADDRESS
    assert info.battery_pct == 80 and info.board_id == 0x353B7CA1
    assert wb.find_wiiboards(tree.sys / "nothing", tree.dev) == []


def test_recorded_trace_gives_the_boards_own_cop(tree):
    data, reports, _ = recorded_trace()
    src = board(tree)
    src.open()
    try:
        assert src.state.kind == "wiiboard" and src.state.board_id == 0x353B7CA1
        src.start()
        tree.write(data)
        samples = [s for s in read_n(src, len(reports)) if not s.status]
        assert wait_for(lambda: src.state.lost_frames == 1)
    finally:
        src.close()
    assert len(samples) == len(reports)
    # device time from the events: the same intervals, irregular (30-100 reports/s)
    t_ev = np.array([t for t, _ in reports])
    t = np.array([s.t_s for s in samples])
    np.testing.assert_allclose(t - t[0], t_ev - t_ev[0], atol=2e-6)
    steps = np.diff(t)
    assert steps.min() < 0.015 and steps.max() > 0.030
    # COP through StanceLab's nominal Wii calibration equals the board's own arithmetic
    c = cal.default_calibration(src.state.board_id, src.state.firmware)
    assert c.geometry.span_mm() == (433.0, 238.0)
    block = process(samples, c)
    own = np.array([cop_from_units(v) for _, v in reports])
    np.testing.assert_allclose(block.total_n / cal.G, own[:, 0], rtol=1e-12)
    np.testing.assert_allclose(block.cop_x_mm, own[:, 1], atol=1e-9)
    np.testing.assert_allclose(block.cop_y_mm, own[:, 2], atol=1e-9)
    assert 15 < np.mean(block.cop_x_mm) < 25 and -15 < np.mean(block.cop_y_mm) < -5


def test_a_still_board_holds_its_values_flagged_not_fresh(tree):
    src = board(tree, hold_s=0.05)
    src.open()
    try:
        src.start()
        k = Kernel()
        t0 = time.monotonic()
        tree.write(k.report(t0, sensors_for(20.0, 0, 0)))
        first = read_n(src, 1)
        time.sleep(0.4)                         # nothing changes: the kernel sends nothing
        held = src.read()
    finally:
        src.close()
    assert first[0].status == 0 and len(held) >= 3
    assert all(s.status == sum(protocol.ST_NOT_READY << (4 * c) for c in range(4)) for s in held)
    assert all(s.counts == first[0].counts for s in held)
    assert np.all(np.diff([first[0].t_s] + [s.t_s for s in held]) > 0)


def test_unplug_and_back_over_the_fifo(tree):
    src = board(tree, reconnect_interval_s=0.05)
    src.open()
    try:
        src.start()
        k = Kernel()
        now = time.monotonic()
        tree.write(b"".join(k.report(now + i * 0.01, sensors_for(50 + i, 0, 0))
                            for i in range(20)))
        before = read_n(src, 20)
        tree.unplug()                           # switched off: the end of the stream
        assert wait_for(lambda: not src.state.connected)
        assert "disconnected" in src.state.error and "Switch it on again" in src.state.error
        time.sleep(0.2)
        assert not src.state.connected          # not back while the kernel does not list it
        tree.plug(number=9)                     # back as another event device
        assert wait_for(lambda: src.state.connected)
        assert src.state.error is None and src.reconnects == 1 and src.device == tree.device
        k2 = Kernel()
        now = time.monotonic()
        tree.write(b"".join(k2.report(now + i * 0.01, sensors_for(60 + i, 0, 0))
                            for i in range(10)))
        after = [s for s in read_n(src, 10) if not s.status]
    finally:
        src.close()
    fresh = [s for s in before if not s.status]
    assert len(fresh) == 20 and len(after) == 10
    assert after[0].t_s > fresh[-1].t_s + 0.2   # device time goes on across the gap
    assert sum(after[-1].counts) == pytest.approx(6900, abs=4)


def test_disconnect_through_a_pty_read_error(tmp_path):
    tree = SysfsTree(tmp_path, battery_pct=None)
    master, slave = pty.openpty()
    tty.setraw(slave)                           # bytes pass unchanged, as from a char device
    path = os.ttyname(slave)
    src = wb.WiiBoard(path, sysfs_root=tree.sys, dev_root=tree.dev, auto_reconnect=False)
    src.open()
    try:
        src.start()
        k = Kernel()
        os.write(master, k.report(100.0, sensors_for(30, 0, 0)) +
                 k.report(100.02, sensors_for(31, 0, 0)))
        assert len(read_n(src, 2)) == 2
        os.close(slave)
        os.close(master)                        # the far end is gone: read fails with EIO
        assert wait_for(lambda: not src.state.connected)
        assert "disconnected" in src.state.error
    finally:
        src.close()
        tree.close()


def test_battery_low_is_said(tmp_path, capsys, monkeypatch):
    tree = SysfsTree(tmp_path, battery_pct=12)
    src = board(tree)
    try:
        src.open()
        assert "battery is low (12 %)" in src.state.error
        assert "fresh AA" in src.state.error or "four fresh AA" in src.state.error
    finally:
        src.close()
    monkeypatch.setenv(wb.SYSFS_ROOT_ENV, str(tree.sys))
    monkeypatch.setenv(wb.DEV_ROOT_ENV, str(tree.dev))
    assert cli.main(["ports", "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert f"* {tree.device}  Wii Balance Board {ADDRESS}, battery 12 % (low" in out
    tree.close()


def test_no_board_and_several_boards_are_one_line_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(wb.SYSFS_ROOT_ENV, str(tmp_path / "sys"))
    assert cli.main(["record", "--wiiboard", "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No Wii Balance Board found" in err and "bluetoothctl" in err
    a = SysfsTree(tmp_path / "a")
    b = SysfsTree(tmp_path / "a2")
    monkeypatch.setenv(wb.SYSFS_ROOT_ENV, str(a.sys))
    (a.sys / "class" / "input" / "event8" / "device").mkdir(parents=True)
    (a.sys / "class" / "input" / "event8" / "device" / "name").write_text(wb.DEVICE_NAME)
    with pytest.raises(SourceError, match="Several Wii Balance Boards.*--wiiboard DEVICE"):
        board(a).open()
    a.close()
    b.close()


class _Front:
    """The calibration procedure's front end on the kernel model: the known mass is put where
    each step asks; each call to samples() makes the board send a few reports."""

    def __init__(self, src, tree, gains, rng):
        self.src, self.tree, self.gains, self.rng = src, tree, gains, rng
        self.kernel = Kernel()
        self.load = np.zeros(4)
        self.t = 1000.0

    def prompt(self, step):
        self.load = np.zeros(4) if step.kind == "tare" else \
            sensors_for(step.mass_kg, step.x_mm, step.y_mm, self.gains)
        self.src.read()

    def samples(self):
        data = b""
        for _ in range(25):
            self.t += self.rng.uniform(0.010, 0.033)
            data += self.kernel.report(self.t, self.load + self.rng.normal(0, 1.5, 4))
        self.tree.write(data)
        return [s for s in read_n(self.src, 1, timeout=2.0) + self.src.read(timeout=0.05)
                if not s.status]


def test_tare_and_known_mass_through_the_hx711_procedure(tree):
    gains = (1.04, 0.97, 1.02, 0.96)            # each sensor's true scale, unknown to the app
    src = board(tree)
    src.open()
    try:
        src.start()
        base = cal.default_calibration(src.state.board_id, src.state.firmware)
        assert base.gains_n_per_count == (wb.NOMINAL_N_PER_UNIT,) * 4
        verdict = CalibrationProcedure(base, 20.0, front=_Front(
            src, tree, gains, np.random.default_rng(1))).run()
    finally:
        src.close()
    assert verdict.accepted, verdict.reason
    fitted = np.array(verdict.calibration.gains_n_per_count) / wb.NOMINAL_N_PER_UNIT
    np.testing.assert_allclose(fitted * np.array(gains), 1.0, atol=0.01)
    assert verdict.calibration.geometry == base.geometry
    assert len(verdict.marks) == len(CALIBRATION_MARKS_MM)
    assert max(m.cop_error_mm for m in verdict.marks) < 1.0


def test_the_words_select_it_everywhere(tree, tmp_path, monkeypatch):
    assert isinstance(choose_board(BoardChoice(wiiboard=tree.device)).source, wb.WiiBoard)
    args = build_parser().parse_args(["--wiiboard"])          # the GUI's words
    assert BoardChoice.from_args(args).wiiboard == "auto"
    args = build_parser().parse_args(["run-drill", "quiet", "--athlete", "A", "--wiiboard",
                                          tree.device])
    assert BoardChoice.from_args(args).wiiboard == tree.device
    # the GUI's "use the simulated board" keeps the other words but gets the simulator
    assert choose_board(BoardChoice(wiiboard="auto", simulate=True)).source.kind == "simulated"
    # with no word and no StanceLab board answering, the one Wii board is used
    monkeypatch.setenv(wb.SYSFS_ROOT_ENV, str(tree.sys))
    monkeypatch.setenv(wb.DEV_ROOT_ENV, str(tree.dev))
    monkeypatch.setenv("STANCELAB_EXTRA_PORTS", "")
    chosen = choose_board(BoardChoice(), find_timeout_s=0.2)
    assert chosen.source.kind == "wiiboard" and not chosen.fallback


def test_record_from_the_board(tree, monkeypatch, capsys):
    import threading

    from stancelab.storage import Storage

    monkeypatch.setenv(wb.SYSFS_ROOT_ENV, str(tree.sys))
    monkeypatch.setenv(wb.DEV_ROOT_ENV, str(tree.dev))
    stop = threading.Event()

    def athlete():                              # reports at the pace of the board's clock
        k, rng = Kernel(), np.random.default_rng(2)
        while not stop.is_set():
            tree.write(k.report(time.monotonic(), sensors_for(70, 5, 5) + rng.normal(0, 2, 4)))
            time.sleep(rng.uniform(0.010, 0.030))

    th = threading.Thread(target=athlete, daemon=True)
    th.start()
    try:
        link = tree.dev / "input" / "by-id-wiiboard"      # a udev-style symlink to it
        link.symlink_to(tree.device)
        assert cli.main(["record", "--wiiboard", str(link), "--seconds", "1.5",
                         "--athlete", "Wii"]) == 0
    finally:
        stop.set()
        th.join()
    err = capsys.readouterr().err
    assert "Wii Balance Board" in err and "board 353b7ca1, firmware hid-wiimote" in err
    from stancelab import paths
    with Storage(paths.data_dir() / "stancelab.sqlite3") as store:
        (s,) = store.session_summaries(None)
        assert s.source_kind == "wiiboard" and s.board_id == 0x353B7CA1
        from stancelab.ui.trialdata import load_cop, quality_flags
        (trial,) = store.trials(s.id)
        cop = load_cop(store, trial)
        flags = quality_flags(trial, cop)
    # the COP on the Wii board's rectangle, 10 g per unit (nominal: nothing calibrated yet)
    assert np.nanmedian(cop.total_n) == pytest.approx(70 * cal.G, rel=0.01)
    assert np.nanmedian(cop.x_mm) == pytest.approx(5, abs=1)
    assert any(f.startswith("Uneven sampling: intervals") for f in flags), flags
    from stancelab.ui.trialdata import uneven_sampling
    assert uneven_sampling(np.arange(200) / 80.0 + 1e-5 * np.sin(np.arange(200))) is None
