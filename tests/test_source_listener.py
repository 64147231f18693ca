"""Source.set_listener: one wake-up per empty -> non-empty transition, from the pushing thread."""

from __future__ import annotations

import threading

from stancelab.sim.simulated_board import SimulatedBoard


def test_listener_fires_once_per_batch_until_the_queue_is_drained():
    calls = []
    with SimulatedBoard(seed=1, realtime=False) as sim:
        sim.start()
        sim.read()                       # whatever start() queued
        sim.set_listener(lambda: calls.append(len(sim._queue)))
        sim.generate(0.05)               # 4 samples into an empty queue: one call
        assert len(calls) == 1 and calls[0] >= 1
        sim.generate(0.05)               # queue not empty: coalesced, no call
        sim.generate(0.05)
        assert len(calls) == 1
        got = sim.read()
        assert len(got) == 12
        sim.generate(0.0125)             # drained, so the next sample wakes again
        assert len(calls) == 2
        sim.set_listener(None)
        sim.read()
        sim.generate(0.05)
        assert len(calls) == 2


def test_listener_runs_on_the_reader_thread_of_a_streaming_board():
    woke = threading.Event()
    threads = []

    def on_data():
        threads.append(threading.current_thread().name)
        woke.set()

    sim = SimulatedBoard(seed=2, realtime=True)
    sim.set_listener(on_data)
    with sim:
        sim.start()
        assert woke.wait(5.0)
        sim.set_listener(None)
        sim.stop()
    assert threads[0] == "simulated-board"
    assert len(sim.read()) >= 1
