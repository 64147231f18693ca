"""ReplayBoard replays a real exported CSV through the Source interface."""

import itertools
import time

import numpy as np
import pytest

from stancelab.board.source import SourceError
from stancelab.files import transfer
from stancelab.station.replay import ReplayBoard
from stancelab.storage import Storage
from test_csvio import recorded_session


@pytest.fixture
def exported(tmp_path):
    with Storage(tmp_path / "a.sqlite3") as store:
        s = recorded_session(store, n_trials=2, n=300, phases=("hold",))
        raw, _ = transfer.export_session(store, s.id, tmp_path)
        recorded = [store.read_samples(t.id) for t in store.trials(s.id)]
    return raw, recorded


def drain(board):
    got = []
    while not (board.finished.is_set() and not board._queue):
        got.extend(board.read(timeout=0.2))
    return got


def test_fast_replay_gives_the_recorded_samples_without_drops(exported):
    raw, recorded = exported
    board = ReplayBoard(raw, speed=None, max_queue=64)  # far smaller than the file
    with board:
        assert board.state.kind == "replay" and board.state.connected
        assert board.state.board_id == 7 and board.state.firmware == "1.0.0"
        board.start()
        got = drain(board)
    assert board.dropped_from_queue == 0
    seq = np.concatenate([r.seq for r in recorded])
    t_s = np.concatenate([r.t_s for r in recorded])
    counts = np.concatenate([r.counts for r in recorded])
    assert [s.seq for s in got] == seq.tolist()
    assert [s.t_s for s in got] == t_s.tolist()
    assert np.array_equal(np.array([s.counts for s in got]), counts)
    assert [s.status for s in got] == np.concatenate([r.status for r in recorded]).tolist()
    assert not board.state.streaming and not board.state.connected


def test_one_trial_in_real_time_is_paced_by_device_time(exported):
    raw, recorded = exported
    board = ReplayBoard(raw, speed=10.0, trial=2)
    with board:
        board.start()
        got = drain(board)
        assert board.state.rate_sps == pytest.approx(80.0, rel=0.01)
    assert [s.seq for s in got] == recorded[1].seq.tolist()
    device_span = got[-1].t_s - got[0].t_s
    host_span = got[-1].t_host_s - got[0].t_host_s
    # Never ahead of schedule (it may be late on a busy machine, which is not checked).
    assert host_span >= device_span / 10.0 * 0.95
    assert all(b.t_host_s >= a.t_host_s for a, b in itertools.pairwise(got))


def test_close_mid_stream_stops_the_thread(exported):
    raw, _ = exported
    board = ReplayBoard(raw, speed=1.0)
    board.open()
    board.start()
    first = board.read(timeout=2.0)
    assert first
    thread = board._thread
    board.close()
    board.close()  # twice is fine
    assert not thread.is_alive()
    left = board.read()
    time.sleep(0.05)
    assert board.read() == []  # nothing arrives after close
    assert len(first) + len(left) < 600


def test_bad_files_give_source_errors(tmp_path, exported):
    raw, _ = exported
    with pytest.raises(SourceError, match="no trial 5"):
        ReplayBoard(raw, trial=5).open()
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="Cannot replay .*not a StanceLab raw CSV"):
        ReplayBoard(other).open()
    with pytest.raises(SourceError, match="Cannot replay"):
        ReplayBoard(tmp_path / "missing.csv").open()
