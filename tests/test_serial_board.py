"""SerialBoard and port discovery over real ptys whose far end is a VirtualBoard.

No wall-clock assertions: waits are bounded by deadlines, and what is asserted is counts,
sequence numbers and device time.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import serial

from pty_peer import BOARD_ID, PtyPeer, make_board
from stancelab.board import protocol
from stancelab.board.ports import EXTRA_PORTS_ENV, find_board, list_ports
from stancelab.board.serial_board import SerialBoard
from stancelab.board.source import SourceError

APP_DIR = pathlib.Path(__file__).resolve().parents[1] / "app"
WAIT_S = 10.0   # generous bound for anything that should take well under a second


@pytest.fixture(autouse=True)
def no_thread_left():
    """Every test must leave no reader, reconnect or peer thread behind."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            break
        time.sleep(0.02)
    assert not extra, f"threads left running: {[t.name for t in extra]}"


@pytest.fixture
def peer():
    with PtyPeer() as p:
        yield p


@pytest.fixture
def linked_peer(tmp_path):
    """A peer behind a stable symlink, like /dev/serial/by-id/..., so it can be replugged."""
    p = PtyPeer(link_path=str(tmp_path / "ttyStanceLab"))
    p.start()
    yield p
    p.close()


def wait_until(pred, timeout=WAIT_S, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Collector:
    """Drains a source into a list while the test waits."""

    def __init__(self, board):
        self.board = board
        self.samples = []

    def drain(self):
        self.samples += self.board.read()
        return self.samples

    def wait_for(self, n, what="samples"):
        wait_until(lambda: len(self.drain()) >= n, what=f"{n} {what}")


def as_sent(samples):
    """Host samples as the (seq, t_us) pairs the peer logged when writing them."""
    return [(s.seq, round(s.t_s * 1e6)) for s in samples]


def assert_strictly_increasing(samples):
    t = np.array([s.t_s for s in samples])
    assert np.all(np.diff(t) > 0), "device time must increase: duplicates or reordering"


# ---------------------------------------------------------------- handshake

def test_open_identifies_the_board(peer):
    board = SerialBoard(peer.path)
    board.open()
    try:
        st = board.state
        assert st.kind == "serial" and st.connected and not st.streaming
        assert st.board_id == BOARD_ID
        assert st.firmware == "1.0.0"
        assert st.protocol_version == protocol.PROTOCOL_VERSION
        assert st.nominal_rate_sps == 80
        assert st.error is None
        assert peer.commands[0] == protocol.C_IDENTIFY
        assert protocol.C_SET_RATE in peer.commands
        assert protocol.C_START not in peer.commands
        assert board.ping() > 0
    finally:
        board.close()
    assert not board.state.connected
    board.close()  # twice is fine


def test_handshake_tolerates_a_board_already_streaming(peer):
    """A board left streaming by a crashed program: stray samples first, then our answers."""
    peer.device_command(protocol.cmd_start())
    wait_until(lambda: len(peer.sent_samples) > 5, what="peer streaming")
    with SerialBoard(peer.path) as board:
        assert board.state.board_id == BOARD_ID
        assert not peer.device.streaming, "open() must leave the board idle"
        assert board.read() == [], "samples from before START are not ours"


def test_handshake_tolerates_boot_before_identity(peer):
    peer.reset_board()
    with SerialBoard(peer.path) as board:
        assert board.state.board_id == BOARD_ID


# ---------------------------------------------------------------- streaming

def test_streams_every_frame_in_order(peer):
    with SerialBoard(peer.path) as board:
        got = Collector(board)
        board.start()
        assert board.state.streaming
        got.wait_for(240)   # 3 s of device time
        board.stop()
        assert not peer.device.streaming
        got.drain()
        samples = got.samples
        assert as_sent(samples) == peer.sent_samples, "every frame sent arrives, once, in order"
        seq = np.array([s.seq for s in samples])
        assert np.all(np.diff(seq) == 1) and seq[0] == 0
        dt = np.diff([s.t_s for s in samples])
        assert np.median(dt) == pytest.approx(1 / 80, rel=1e-3)
        assert board.state.lost_frames == 0
        assert board.state.rate_sps == pytest.approx(80, rel=2e-3)
        counts = np.array([s.counts for s in samples])
        # 175 N per corner at ~2190 counts/N, plus the offsets: the right order of magnitude.
        assert np.all(np.abs(counts.mean(axis=0) - 175 * 2190) < 1.5e5)
        time.sleep(0.1)
        assert board.read() == [], "no sample after the STOP acknowledgement"


def test_garbage_and_corrupt_frames_are_skipped(peer):
    rng = np.random.default_rng(7)
    with SerialBoard(peer.path) as board:
        got = Collector(board)
        board.start()
        got.wait_for(20)
        good = bytearray(protocol.encode_sample(9999, 123, (1, 2, 3, 4)))
        good[12] ^= 0x10
        for _ in range(10):
            peer.inject(rng.integers(0, 256, 50, dtype=np.uint8).tobytes())
            peer.inject(b"\xa5\x5a\x01\x14" + bytes(good[4:]))   # sync, plausible length, bad CRC
            peer.inject(bytes(good))
            n = len(got.drain())
            got.wait_for(n + 8)
        board.stop()
        got.drain()
        assert as_sent(got.samples) == peer.sent_samples
        assert board.crc_errors >= 10
        assert board.state.lost_frames == 0
        assert 9999 not in [s.seq for s in got.samples]


def test_board_reset_mid_stream_resumes_without_duplicates(peer):
    with SerialBoard(peer.path) as board:
        got = Collector(board)
        board.start()
        got.wait_for(40)
        n0 = len(got.samples)
        peer.reset_board()   # idle after BOOT: the host must restart it
        got.wait_for(n0 + 80, "samples after the reset")
        assert board.state.streaming and board.state.error is None
        assert board.state.restarts >= 1
        assert_strictly_increasing(got.samples)
        assert peer.commands.count(protocol.C_START) == 2


# ---------------------------------------------------------------- unplug and reconnect

def _unplug_and_return(peer, board, got, power_lost):
    board.start()
    got.wait_for(80)
    peer.unplug()
    wait_until(lambda: not board.state.connected, what="disconnect noticed")
    st = board.state
    assert "disconnected" in st.error and "kept" in st.error
    assert not st.streaming
    before = list(got.drain())
    sent_before = list(peer.sent_samples)
    time.sleep(0.3)
    peer.replug(power_lost=power_lost)
    got.wait_for(len(before) + 40, "samples after reconnect")
    board.stop()
    got.drain()
    after = got.samples[len(before):]
    assert board.state.connected and board.state.error is None
    assert board.state.board_id == BOARD_ID
    assert board.reconnects == 1 and board.state.restarts >= 1
    # Everything received before the loss is kept; only frames in flight in the pty died.
    assert as_sent(before) == sent_before[:len(before)]
    assert_strictly_increasing(got.samples)
    gap = board.interruptions[0]
    assert gap.last_t_s == before[-1].t_s and gap.first_t_s == after[0].t_s
    return before, after


def test_unplug_keeps_samples_and_reconnects_same_board(linked_peer):
    peer = linked_peer
    with SerialBoard(peer.path) as board:
        got = Collector(board)
        _, after = _unplug_and_return(peer, board, got, power_lost=False)
        sent_after = peer.sent_samples[-len(after):]
        assert as_sent(after) == sent_after
        # The board kept its clock: within 2 s of device time after it returned, we stream.
        assert after[0].t_s - peer.replugged_device_us * 1e-6 < 2.0


def test_unplug_with_power_loss_reconnects_and_keeps_time_increasing(linked_peer):
    peer = linked_peer
    with SerialBoard(peer.path) as board:
        got = Collector(board)
        before, after = _unplug_and_return(peer, board, got, power_lost=True)
        sent_after = peer.sent_samples[-len(after):]
        assert [s.seq for s in after] == [seq for seq, _ in sent_after]
        # Device clock restarted at the replug; the first frame came within 2 s of it.
        assert sent_after[0][1] - peer.replugged_device_us < 2_000_000
        assert after[0].t_s > before[-1].t_s


def test_a_different_board_on_the_port_is_refused(linked_peer):
    peer = linked_peer
    with SerialBoard(peer.path) as board:
        board.start()
        peer.unplug()
        wait_until(lambda: not board.state.connected, what="disconnect noticed")
        peer.device = make_board(board_id=0xBADB0A2D)
        peer.replug(power_lost=True)
        wait_until(lambda: "different board" in (board.state.error or ""),
                   what="different board reported")
        assert not board.state.connected
        assert f"{BOARD_ID:08x}" in board.state.error


def test_without_auto_reconnect_the_loss_is_final(linked_peer):
    peer = linked_peer
    board = SerialBoard(peer.path, auto_reconnect=False)
    board.open()
    board.start()
    peer.unplug()
    wait_until(lambda: not board.state.connected, what="disconnect noticed")
    assert "open the board again" in board.state.error
    with pytest.raises(SourceError):
        board.start()
    board.close()


def test_close_while_waiting_for_the_board_to_return(linked_peer):
    peer = linked_peer
    board = SerialBoard(peer.path)
    board.open()
    board.start()
    got = Collector(board)
    got.wait_for(10)
    peer.unplug()
    wait_until(lambda: not board.state.connected, what="disconnect noticed")
    board.close()   # the reconnect loop must end; the thread fixture checks it
    assert not board.state.connected and not board.state.streaming
    assert len(got.drain()) >= 10


def test_a_fault_inside_the_reader_becomes_state_error(peer, monkeypatch):
    with SerialBoard(peer.path) as board:
        def broken(frame, t_host):
            raise ZeroDivisionError("bug")

        monkeypatch.setattr(board, "_make_sample", broken)
        board.start()
        wait_until(lambda: not board.state.connected, what="reader failure reported")
        assert "Internal error" in board.state.error and "ZeroDivisionError" in board.state.error


# ---------------------------------------------------------------- user errors

def test_wrong_protocol_version_names_the_firmware_update(peer):
    peer.identity_override = {"protocol_version": 0}
    with pytest.raises(SourceError, match="protocol version 0") as e:
        SerialBoard(peer.path).open()
    assert "update the board's firmware" in str(e.value)


def test_newer_protocol_asks_to_update_the_app(peer):
    peer.identity_override = {"protocol_version": 2}
    with pytest.raises(SourceError, match="update StanceLab"):
        SerialBoard(peer.path).open()


def test_silent_device_gives_no_answer_error(peer):
    peer.silent = True
    with pytest.raises(SourceError, match="No answer to IDENTIFY") as e:
        SerialBoard(peer.path, boot_grace_s=0).open()
    assert "stancelab ports" in str(e.value) and "baud" in str(e.value)
    assert peer.commands.count(protocol.C_IDENTIFY) == 3


def test_board_in_plotter_mode_is_recognised(peer):
    peer.device.plotter = True
    with pytest.raises(SourceError, match="Serial Plotter mode"):
        SerialBoard(peer.path, boot_grace_s=0).open()


def test_missing_port_lists_what_exists(tmp_path, monkeypatch, peer):
    monkeypatch.setenv(EXTRA_PORTS_ENV, peer.path)
    with pytest.raises(SourceError, match="No serial port") as e:
        SerialBoard(str(tmp_path / "ttyUSB9")).open()
    assert peer.path in str(e.value) and "stancelab ports" in str(e.value)


def test_busy_port_names_the_other_program(peer):
    with SerialBoard(peer.path):
        with pytest.raises(SourceError, match="in use by another program") as e:
            SerialBoard(peer.path).open()
        assert "Arduino IDE" in str(e.value)
    with SerialBoard(peer.path) as again:   # released on close
        assert again.state.connected


def test_busy_port_held_by_another_process(peer):
    holder = serial.Serial(peer.path, exclusive=True)
    try:
        with pytest.raises(SourceError, match="in use"):
            SerialBoard(peer.path).open()
    finally:
        holder.close()


_PERMISSION_PROBE = """
import os, sys
sys.path.insert(0, sys.argv[2])
import stancelab.board.ports  # noqa: F401  (import while the files are still readable)
from stancelab.board.serial_board import SerialBoard
from stancelab.board.source import SourceError
os.setgroups([]); os.setgid(65534); os.setuid(65534)
try:
    SerialBoard(sys.argv[1]).open()
except SourceError as e:
    print(e)
"""


def test_permission_denied_names_the_dialout_fix(peer):
    os.chmod(peer.slave_name, 0)
    if os.geteuid() == 0:
        # root ignores file modes: ask as user "nobody" in a child process.
        r = subprocess.run([sys.executable, "-c", _PERMISSION_PROBE, peer.path, str(APP_DIR)],
                           capture_output=True, text=True, timeout=60, check=False)
        if r.returncode != 0:
            pytest.skip(f"cannot run as user nobody here: {r.stderr.strip()[-200:]}")
        message = r.stdout
    else:
        with pytest.raises(SourceError) as e:
            SerialBoard(peer.path).open()
        message = str(e.value)
    assert "Permission denied" in message
    if sys.platform.startswith("linux"):
        assert "sudo usermod -aG dialout $USER" in message


def test_not_a_serial_port(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with pytest.raises(SourceError, match="not a serial port"):
        SerialBoard(str(f)).open()


def test_commands_before_open_are_refused(peer):
    with pytest.raises(SourceError, match="open"):
        SerialBoard(peer.path).start()


# ---------------------------------------------------------------- discovery

def test_list_ports_probes_extra_paths(tmp_path, monkeypatch, peer):
    silent = PtyPeer().start()
    silent.silent = True
    try:
        missing = str(tmp_path / "ttyACM7")
        monkeypatch.setenv(EXTRA_PORTS_ENV, os.pathsep.join([peer.path, silent.path, missing]))
        ports = {p.device: p for p in list_ports(probe=True, timeout=0.3)}
        assert ports[peer.path].identity.board_id == BOARD_ID
        assert ports[peer.path].error is None
        assert ports[silent.path].identity is None
        assert "No answer" in ports[silent.path].error
        assert "No serial port" in ports[missing].error
        unprobed = {p.device: p for p in list_ports(probe=False)}
        assert unprobed[peer.path].identity is None and unprobed[peer.path].error is None
        assert find_board(timeout=0.3) == peer.path
    finally:
        silent.close()


def test_find_board_refuses_to_guess_between_two(monkeypatch, peer):
    with PtyPeer(make_board(board_id=0x0000B0B2)) as other:
        monkeypatch.setenv(EXTRA_PORTS_ENV, os.pathsep.join([peer.path, other.path]))
        with pytest.raises(SourceError, match="Several StanceLab boards"):
            find_board(timeout=0.3)


def test_find_board_without_boards_is_none(monkeypatch, tmp_path):
    monkeypatch.setenv(EXTRA_PORTS_ENV, str(tmp_path / "gone"))
    assert find_board(timeout=0.3) is None
