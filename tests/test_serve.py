"""`stancelab serve`: a board over real TCP sockets on localhost, opened as socket://.

The served boards are real parts: the simulated board's firmware model on the wall clock, and a
VirtualBoard behind a pty (the Arduino on the Pi's USB) bridged by the server.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from fake_pi_board import GPIO_DOUT, GPIO_SCK, fake_pi  # noqa: F401 - the fixture
from pty_peer import BOARD_ID, PtyPeer
from stancelab import cli
from stancelab.board import protocol
from stancelab.board.serial_board import SerialBoard
from stancelab.board.source import SourceError
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.virtual_board import DEFAULT_BOARD_ID, VirtualBoard
from stancelab.station.serve import (
    BoardServer,
    SerialDevice,
    SourceDevice,
    VirtualDevice,
    machine_board_id,
    parse_listen,
)
from stancelab.storage import Storage
from waiting import wait_for

APP_DIR = pathlib.Path(__file__).resolve().parents[1] / "app"


def read_for(src, seconds):
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += src.read(timeout=0.05)
    return got


@pytest.fixture
def served():
    events = []
    server = BoardServer(VirtualDevice(VirtualBoard(VirtualAthlete(seed=1), seed=1)),
                         "127.0.0.1", 0, on_event=lambda kind, **d: events.append((kind, d)))
    server.start()
    server.events = events
    server.url = f"socket://127.0.0.1:{server.address[1]}"
    yield server
    server.close()


def seq_gaps(samples):
    seq = np.array([s.seq for s in samples])
    return int(np.sum((np.diff(seq) % protocol.SEQ_MOD) - 1))


def test_parse_listen():
    assert parse_listen("0.0.0.0:8765") == ("0.0.0.0", 8765)
    assert parse_listen(":9000") == ("0.0.0.0", 9000)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("8765", "host:port", "h:70000"):
        with pytest.raises(ValueError, match="--listen"):
            parse_listen(bad)


def test_handshake_board_id_and_no_lost_frames(served):
    src = SerialBoard(served.url)
    src.open()
    try:
        assert src.state.board_id == DEFAULT_BOARD_ID and src.state.protocol_version == 1
        src.start()
        samples = read_for(src, 1.5)
        assert src.ping() < 0.5
    finally:
        src.close()
    assert len(samples) > 100 and seq_gaps(samples) == 0 and src.state.lost_frames == 0
    assert np.all(np.diff([s.t_s for s in samples]) > 0)
    assert wait_for(lambda: served.client is None)        # gone: the board was stopped
    assert [k for k, _ in served.events] == ["client", "gone"]


def test_a_second_client_is_refused_with_a_message(served):
    first = SerialBoard(served.url)
    first.open()
    try:
        with pytest.raises(SourceError) as e:
            SerialBoard(served.url, auto_reconnect=False).open()
        msg = str(e.value)
        assert "refused this connection" in msg and "in use by 127.0.0.1:" in msg
        assert "\n" not in msg
        first.start()
        assert read_for(first, 0.3)                        # the first one still drives it
    finally:
        first.close()
    assert served.refused == 1


def test_bad_and_partial_clients_never_reach_the_board_or_crash_the_server(served):
    port = served.address[1]
    # garbage, a frame the board would never get (a SAMPLE), then half of a START; then gone
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(os.urandom(3000) + protocol.encode_sample(1, 2, (0, 0, 0, 0))
              + protocol.cmd_start()[:3])
    s.close()
    # a client killed mid-stream (reset, not closed)
    k = socket.create_connection(("127.0.0.1", port))
    k.sendall(protocol.cmd_start())
    assert wait_for(lambda: served.device.board.streaming)
    k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    k.close()                                              # RST
    assert wait_for(lambda: served.client is None and not served.device.board.streaming)
    # a client that connects and says nothing, then goes
    socket.create_connection(("127.0.0.1", port)).close()
    assert wait_for(lambda: served.client is None)
    # and a real one after all that records cleanly
    src = SerialBoard(served.url)
    src.open()
    try:
        src.start()
        samples = read_for(src, 1.0)
    finally:
        src.close()
    assert len(samples) > 60 and seq_gaps(samples) == 0
    assert served.commands_passed >= 4


def test_connection_lost_reconnects_with_the_same_board(served):
    src = SerialBoard(served.url, reconnect_interval_s=0.05)
    src.open()
    try:
        src.start()
        before = read_for(src, 0.5)
        served.kick()                                       # the network drops the connection
        assert wait_for(lambda: src.reconnects >= 1 and src.state.connected)
        after = read_for(src, 0.8)
    finally:
        src.close()
    assert before and after and src.state.board_id == DEFAULT_BOARD_ID
    assert after[0].t_s > before[-1].t_s                    # device time goes on
    assert src.interruptions and src.interruptions[0].back_host_s is not None


def test_a_usb_board_bridged_through_the_server(tmp_path):
    with PtyPeer() as peer:
        server = BoardServer(SerialDevice(peer.path), "127.0.0.1", 0).start()
        try:
            src = SerialBoard(f"socket://127.0.0.1:{server.address[1]}")
            src.open()
            try:
                assert src.state.board_id == BOARD_ID
                src.start()
                samples = read_for(src, 1.0)
            finally:
                src.close()
        finally:
            server.close()
    assert len(samples) > 60 and seq_gaps(samples) == 0
    sent = [seq for seq, _ in peer.sent_samples]
    assert [s.seq for s in samples] == sent[:len(samples)]   # byte for byte what the board sent


@pytest.mark.usefixtures("fake_pi")
def test_the_pis_own_hx711s_served_as_a_board(tmp_path):
    from stancelab.board.gpio import GpioBoard

    device = SourceDevice(GpioBoard(GPIO_DOUT, GPIO_SCK), 0x5E1A0099)
    server = BoardServer(device, "127.0.0.1", 0).start()
    try:
        src = SerialBoard(f"socket://127.0.0.1:{server.address[1]}")
        src.open()
        try:
            assert src.state.board_id == 0x5E1A0099
            src.start()
            samples = read_for(src, 1.0)
        finally:
            src.close()
        assert wait_for(lambda: not device.streaming)     # the client went: stopped
    finally:
        server.close()
    assert len(samples) > 40 and seq_gaps(samples) == 0
    counts = np.array([s.counts for s in samples], float)
    # the four model chips read 150000, 300000, 450000, 600000 counts (FL, FR, BL, BR)
    np.testing.assert_allclose(np.median(counts, axis=0), [150e3, 300e3, 450e3, 600e3],
                               rtol=0.01)
    rate = (len(samples) - 1) / (samples[-1].t_s - samples[0].t_s)
    assert 60 < rate < 90
    mid = tmp_path / "machine-id"
    mid.write_text("0123456789abcdef0123456789abcdef\n")
    assert machine_board_id(str(mid)) == machine_board_id(str(mid)) != machine_board_id("/nope")


def test_nobody_listening_names_the_server(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(SourceError, match=r"Cannot reach the board server.*stancelab serve"):
        SerialBoard(f"socket://127.0.0.1:{port}", auto_reconnect=False).open()


def test_serve_command_and_record_through_socket(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(APP_DIR), STANCELAB_DATA_DIR=str(tmp_path / "pi"))
    proc = subprocess.Popen([sys.executable, "-m", "stancelab", "serve", "--simulate",
                             "--listen", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"socket://127\.0\.0\.1:(\d+)", line)
        assert m, line
        url = f"socket://127.0.0.1:{m.group(1)}"
        assert cli.main(["record", "--port", url, "--seconds", "2", "--athlete", "Net"]) == 0
        with Storage() as store:
            (s,) = store.session_summaries(None)
            (t,) = store.trials(s.id)
            assert s.board_id == DEFAULT_BOARD_ID and s.source_kind == "serial"
            assert store.sample_count(t.id) == 160 and t.status == "completed"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "connected; it drives the board now" in err and "Stopped serving" in err


def test_serve_errors_are_one_line(capsys):
    assert cli.main(["serve", "--simulate", "--listen", "nonsense"]) == 2
    assert "give HOST:PORT" in capsys.readouterr().err
    assert cli.main(["serve", "--port", "/dev/nonexistent-board"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No serial port /dev/nonexistent-board" in err
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        assert cli.main(["serve", "--simulate", "--listen",
                         f"127.0.0.1:{busy.getsockname()[1]}"]) == 2
        assert "cannot listen on" in capsys.readouterr().err
    finally:
        busy.close()
