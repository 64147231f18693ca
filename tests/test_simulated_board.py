"""The simulated board end to end: athlete -> counts -> protocol bytes -> decoder -> Samples."""

import threading

import numpy as np
import pytest

from stancelab.board import protocol
from stancelab.board.source import SourceError
from stancelab.calibration import cop_from_forces, default_calibration, tare
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.simulated_board import SimulatedBoard


def counts_of(samples):
    return np.array([s.counts for s in samples], dtype=float)


def test_open_identifies_through_the_protocol():
    sim = SimulatedBoard(realtime=False)
    with pytest.raises(SourceError, match="open"):
        sim.start()
    sim.open()
    st = sim.state
    assert st.connected and not st.streaming
    assert st.kind == "simulated" and st.description == "simulated board"
    assert st.board_id == sim.board.board_id and st.firmware == "1.0.0"
    assert st.protocol_version == 1
    sim.close()
    sim.close()
    assert not sim.state.connected


def test_fast_mode_cop_matches_the_athlete_after_a_tare():
    athlete = VirtualAthlete(stance="off", seed=4)
    sim = SimulatedBoard(athlete, realtime=False, seed=4)
    sim.open()
    empty = sim.run_for(3.0)
    cal = tare(default_calibration(sim.state.board_id), counts_of(empty))
    sim.set_stance("right")
    stepping = sim.run_for(2.0)
    plan = sim.lean_to((15.0, 40.0))
    loaded = sim.run_for(10.0)
    assert sim.state.lost_frames == 0 and abs(sim.state.rate_sps - 80) < 0.1
    seqs = [s.seq for s in empty + stepping + loaded]
    assert seqs == list(range(len(seqs)))
    t_true = sim.board.true_time_s(np.array([s.t_s for s in loaded]))
    total, x, y = cop_from_forces(cal.forces_n(counts_of(loaded)), cal.geometry)
    cop = athlete.cop_mm(t_true)
    truth_total = athlete.total_n(t_true)
    # nominal gains are within ~1 % per cell: the COP is within a few mm, the load within ~1 %
    assert np.median(np.hypot(x - cop[:, 0], y - cop[:, 1])) < 3.0
    assert np.median(np.abs(total / truth_total - 1)) < 0.01
    held = (t_true > plan.end_s + 1)
    assert np.hypot(x[held].mean() - 15.0, y[held].mean() - 40.0) < 12.0


def test_read_generates_chunks_and_max_samples_keeps_the_rest():
    sim = SimulatedBoard(realtime=False, chunk_s=0.5)
    sim.open()
    sim.start()
    first = sim.read(max_samples=10)
    rest = sim.read()
    assert len(first) == 10 and len(rest) == 30
    assert rest[0].seq == 10
    t_host = np.array([s.t_host_s for s in first + rest])
    assert np.all(np.diff(t_host) >= 0)
    sim.stop()
    assert sim.read() == []            # stopped: nothing generated
    sim.close()


def test_ten_samples_per_second_mode():
    sim = SimulatedBoard(realtime=False, rate_sps=10)
    sim.open()
    got = sim.run_for(5.0)
    assert 49 <= len(got) <= 50
    assert abs(sim.state.rate_sps - 10) < 0.05
    sim.close()


def test_realtime_mode_streams_from_a_thread_and_closes_cleanly():
    before = set(threading.enumerate())
    sim = SimulatedBoard(realtime=True, speed=10.0)
    sim.open()
    sim.start()
    got = sim.read(timeout=2.0)
    got += sim.run_for(0.5)
    assert len(got) > 0 and sim.state.streaming
    assert [s.seq for s in got] == list(range(len(got)))
    sim.close()
    assert not sim.state.streaming and not sim.state.connected
    assert set(threading.enumerate()) <= before
    leftover = sim.read()
    assert all(isinstance(s.counts, tuple) for s in leftover)


def test_rejects_an_impossible_rate():
    with pytest.raises(SourceError, match="10 or 80"):
        SimulatedBoard(rate_sps=25)


def test_frames_are_decoded_not_shortcut():
    sim = SimulatedBoard(realtime=False)
    sim.open()
    sim.run_for(1.0)
    assert sim._decoder.stats.samples == 80
    assert sim.board.frames_sent == 80
    assert protocol.PROTOCOL_VERSION == sim.state.protocol_version
    sim.close()
