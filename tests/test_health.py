"""Sensor faults: each ChannelFault of the virtual board, through the real decoder, processing
and a fitted calibration, is named by corner in time; a healthy board raises nothing."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from stancelab import health
from stancelab.board.source import Sample
from stancelab.geometry import CHANNEL_NAMES
from stancelab.processing import Block, process
from stancelab.sim import factory
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.hx711 import ChannelFault
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.sim.virtual_board import VirtualBoard
from stancelab.station.calibrations import calibrate_on_rig

MASS_KG = 70.0


@pytest.fixture(scope="module")
def cal():
    """The virtual board calibrated by the real procedure (tare, 20 kg at five marks)."""
    rig = factory.Rig(seed=0, board=VirtualBoard(lambda t: np.zeros((len(t), 4)), seed=0))
    return calibrate_on_rig(rig).calibration


def clock(hour: float, r_mm: float = 90.0) -> tuple[float, float]:
    a = math.radians(hour * 30.0)
    return (r_mm * math.sin(a), r_mm * math.cos(a))


#: A clock of weight shifts, diagonals included (a cell's gain is told from its diagonal
#: opposite's only by diagonal shifts; see docs/reliability.md).
CLOCK_SHIFTS = [(1.0 + 1.5 * i, clock(h)) for i, h in enumerate([0, 1.5, 3, 4.5, 6, 7.5, 9, 10.5])]


class Session:
    """A simulated athlete on a (possibly faulty) virtual board, processed like the runner does."""

    def __init__(self, cal, faults=None, *, stance="both", seed=1, eyes="open",
                 body_mass_kg=MASS_KG):
        self.athlete = VirtualAthlete(mass_kg=MASS_KG, stance=stance, eyes=eyes, seed=seed)
        self.board = VirtualBoard(self.athlete, seed=seed, faults=faults)
        self.src = SimulatedBoard(self.athlete, realtime=False, board=self.board)
        self.src.open()
        self.src.start()
        self.cal = cal
        self.monitor = health.HealthMonitor(cal, body_mass_kg=body_mass_kg)
        self.raised: list[health.Fault] = []
        self.blocks: list[Block] = []

    def device_s(self, true_s: float) -> float:
        """Board time (what samples carry) of a true time."""
        return self.board.device_us(true_s) / 1e6

    def run_until(self, true_s: float, actions=()) -> Block:
        actions = sorted(actions)
        got = []
        while self.board.t_s < true_s - 1e-9:
            while actions and actions[0][0] <= self.board.t_s:
                _, act = actions.pop(0)
                act(self.src)
            block = process(self.src.read(), self.cal)
            self.raised += self.monitor.feed(block)
            got.append(block)
        self.blocks += got
        return Block.concat(got)

    def close(self):
        self.src.close()


def leans(t0, shifts=CLOCK_SHIFTS):
    return [(t0 + t, lambda s, xy=xy: s.lean_to(xy)) for t, xy in shifts] + \
        [(t0 + shifts[-1][0] + 1.5, lambda s: s.lean_to((0.0, 0.0)))]


# ------------------------------------------------------------------ no false alarm

@pytest.mark.parametrize("seed", [1, 2])
def test_healthy_board_with_a_swaying_athlete_raises_nothing_in_60_s(cal, seed):
    s = Session(cal, stance="off", seed=seed)
    s.run_until(4.0)                                        # empty board: drift/tare checks
    s.run_until(25.0, [(4.0, lambda src: src.set_stance("both"))] + leans(8.0))
    s.run_until(45.0, [(25.0, lambda src: src.set_eyes("closed"))])
    s.run_until(64.0, [(45.0, lambda src: src.set_stance("left"))])  # single leg, touchdowns
    s.close()
    assert s.raised == [] and s.monitor.history == []
    assert s.monitor.quality_flags()["sensor_ok"] is True
    # The checks did run: the board was seen empty and the gain fit had data.
    assert s.monitor._empty_checked_t > 0 and len(np.concatenate(s.monitor._gain_t)) > 20


# ------------------------------------------------------------------ dead and saturated

@pytest.mark.parametrize("channel", range(4))
@pytest.mark.parametrize("kind", ["dead", "saturated"])
def test_dead_or_saturated_cell_is_named_within_one_second(cal, channel, kind):
    at = 6.0
    s = Session(cal, {channel: ChannelFault(kind, at_s=at)})
    s.run_until(at + 3.0, leans(1.0, CLOCK_SHIFTS[:3]))
    s.close()
    assert [(f.kind, f.channel) for f in s.raised] == [(kind, channel)]
    f = s.raised[0]
    onset = s.device_s(at)
    assert f.detected_t_s - onset <= 1.0
    assert abs(f.since_t_s - onset) <= 0.1
    assert CHANNEL_NAMES[channel] in f.advice and "cable" in f.advice
    assert f.corner == CHANNEL_NAMES[channel]


def test_dead_cell_frozen_at_zero_is_caught_without_status_bits(cal):
    """A chip whose DOUT is stuck low reads 0 every time and never sets a status bit."""
    s = Session(cal)
    block = s.run_until(3.0)
    s.close()
    counts = block.counts.copy()
    counts[80:, 2] = 0.0
    stuck = process_counts(block, counts, cal)
    mon = health.HealthMonitor(cal)
    raised = mon.feed(stuck[:100]) + mon.feed(stuck[100:])
    assert [(f.kind, f.channel) for f in raised] == [("dead", 2)]
    # The same from raw samples through the monitor's own calibration.
    samples = [Sample(int(q), float(t), 0.0, tuple(int(v) for v in c), int(st))
               for q, t, c, st in zip(block.seq, block.t_s, counts, block.status)]
    assert [(f.kind, f.channel) for f in health.HealthMonitor(cal).feed_samples(samples)] \
        == [("dead", 2)]
    with pytest.raises(ValueError, match="needs a calibration"):
        health.HealthMonitor().feed_samples(samples)
    assert raised[0].detected_t_s - block.t_s[80] <= 1.0


def process_counts(block: Block, counts, cal) -> Block:
    samples = [Sample(int(q), float(t), 0.0, tuple(int(v) for v in c), int(st))
               for q, t, c, st in zip(block.seq, block.t_s, counts, block.status)]
    return process(samples, cal)


def test_a_dead_cell_that_comes_back_clears_and_stays_in_the_history(cal):
    s = Session(cal)
    block = s.run_until(4.0)
    s.close()
    counts = block.counts.copy()
    counts[80:200, 1] = counts[80, 1]                 # frozen for 1.5 s, then alive again
    b = process_counts(block, counts, cal)
    mon = health.HealthMonitor(cal)
    mon.feed(b)
    assert mon.active == [] and len(mon.history) == 1
    f = mon.history[0]
    assert f.kind == "dead" and f.channel == 1 and f.until_t_s == pytest.approx(b.t_s[200])


# ------------------------------------------------------------------ drift and tare

@pytest.mark.parametrize("channel", range(4))
def test_drifting_cell_is_named_at_the_pretrial_check(cal, channel):
    s = Session(cal, {channel: ChannelFault("drift", at_s=0.0, value=60.0)}, stance="off")
    empty = s.run_until(4.0)
    stance = s.run_until(16.0, [(4.0, lambda src: src.set_stance("both"))] + leans(5.0, CLOCK_SHIFTS[:4]))
    s.close()
    report = health.pretrial_check(empty, stance, MASS_KG)
    assert [(f.kind, f.channel) for f in report.faults] == [("drift", channel)]
    assert CHANNEL_NAMES[channel] in report.faults[0].advice
    assert "re-tare" in report.faults[0].advice
    assert "failed" in report.summary()
    # The live monitor says the same while the board stands empty.
    assert ("drift", channel) in [(f.kind, f.channel) for f in s.raised]


def test_stale_tare_is_named_by_corner_at_the_pretrial_check(cal):
    off = list(cal.offsets_counts)
    off[3] -= 20.0 / cal.gains_n_per_count[3]         # the back-right corner reads +20 N
    stale = replace(cal, offsets_counts=tuple(off))
    s = Session(stale, stance="off")
    empty = s.run_until(4.0)
    s.close()
    report = health.pretrial_check(empty, None, None)
    assert [(f.kind, f.channel) for f in report.faults] == [("offset", 3)]
    assert report.faults[0].value == pytest.approx(20.0, abs=1.0)
    assert "re-tare" in report.faults[0].advice


def test_a_passing_pretrial_check_clears_the_fault_an_earlier_one_found(cal):
    off = list(cal.offsets_counts)
    off[0] += 15.0 / cal.gains_n_per_count[0]
    s = Session(replace(cal, offsets_counts=tuple(off)), stance="off")
    empty = s.run_until(4.0)
    s.close()
    mon = health.HealthMonitor(cal)
    assert not health.pretrial_check(empty, None, None, monitor=mon).ok
    assert [(f.kind, f.channel) for f in mon.active] == [("offset", 0)]
    s = Session(cal, stance="off")                      # re-tared
    empty = s.run_until(4.0)
    s.close()
    assert health.pretrial_check(empty, None, None, monitor=mon).ok
    assert mon.active == [] and mon.history[0].until_t_s is not None


def test_healthy_pretrial_check_passes(cal):
    s = Session(cal, stance="off")
    empty = s.run_until(4.0)
    stance = s.run_until(18.0, [(4.0, lambda src: src.set_stance("both"))] + leans(5.0))
    s.close()
    report = health.pretrial_check(empty, stance, MASS_KG)
    assert report.ok, report.summary()
    assert np.all(np.abs(report.drift_n_per_s) < 0.002)
    assert np.all(np.abs(report.gains.relative - 1) < 0.01)
    assert abs(report.load_error) < 0.01


# ------------------------------------------------------------------ gain

@pytest.mark.parametrize("channel,factor", [(3, 0.92), (0, 1.10), (1, 0.90), (2, 1.08)])
def test_wrong_gain_is_named_at_the_pretrial_check(cal, channel, factor):
    s = Session(cal, {channel: ChannelFault("gain", at_s=0.0, value=factor)}, stance="off")
    empty = s.run_until(4.0)
    stance = s.run_until(18.0, [(4.0, lambda src: src.set_stance("both"))] + leans(5.0))
    s.close()
    mon = health.HealthMonitor(cal, body_mass_kg=MASS_KG)
    report = health.pretrial_check(empty, stance, MASS_KG, monitor=mon)
    assert [(f.kind, f.channel) for f in report.faults] == [("gain", channel)]
    f = report.faults[0]
    assert 1.0 / f.value == pytest.approx(factor, abs=0.015)     # the reading, relative to true
    word = "low" if factor < 1 else "high"
    assert f"the {CHANNEL_NAMES[channel]} cell reads " in f.advice and f" % {word}" in f.advice
    assert report.faults[0].advice.startswith("recalibrate")
    assert mon.quality_flags()["sensor_ok"] is False     # the session carries it


def test_wrong_gain_is_named_live_during_diagonal_weight_shifts(cal):
    s = Session(cal, {3: ChannelFault("gain", at_s=0.0, value=0.92)})
    s.run_until(16.0, leans(1.0))
    s.close()
    gains = [f for f in s.raised if f.kind == "gain"]
    assert [(f.kind, f.channel) for f in s.raised] == [("gain", 3)]
    # Named once the shifts reach a diagonal pair (t = 1 + 4.5 s in), within the clock.
    assert gains[0].detected_t_s <= s.device_s(1.0 + CLOCK_SHIFTS[-1][0])
    assert "back-right cell reads" in s.monitor.active[0].advice
    assert 1.0 / s.monitor.active[0].value == pytest.approx(0.92, abs=0.015)


def test_whole_board_scale_is_not_blamed_on_a_corner(cal):
    """Shoes and clothes, or a wrong mass entered: every corner reads the same few % off."""
    s = Session(cal, stance="off")
    empty = s.run_until(4.0)
    stance = s.run_until(18.0, [(4.0, lambda src: src.set_stance("both"))] + leans(5.0))
    s.close()
    report = health.pretrial_check(empty, stance, MASS_KG * 0.9)
    assert [(f.kind, f.channel) for f in report.faults] == [("load", None)]
    assert "heavy" in report.faults[0].advice and "mass entered" in report.faults[0].advice


# ------------------------------------------------------------------ scoring hook

def test_quality_flags_cover_only_trials_recorded_through_a_fault(cal):
    at = 10.0
    s = Session(cal, {0: ChannelFault("dead", at_s=at)})
    s.run_until(14.0)
    s.close()
    mon = s.monitor
    onset = s.device_s(at)
    before = mon.quality_flags(1.0, onset - 1.0)
    through = mon.quality_flags(onset - 3.0, onset + 2.0)
    assert before == {"sensor_ok": True, "sensor_faults": [], "sensor_advice": []}
    assert through["sensor_ok"] is False
    assert through["sensor_faults"][0]["kind"] == "dead"
    assert through["sensor_faults"][0]["corner"] == "front-left"
    assert mon.faults_between(onset + 1.0, None)[0].channel == 0


def _latency_table() -> None:
    """Detection latency of each fault on each corner (the figures in docs/reliability.md)."""
    rig = factory.Rig(seed=0, board=VirtualBoard(lambda t: np.zeros((len(t), 4)), seed=0))
    c = calibrate_on_rig(rig).calibration
    print("fault      corner        onset->detected (s)")
    for kind in ("dead", "saturated"):
        for ch in range(4):
            worst = 0.0
            for seed in range(1, 6):
                s = Session(c, {ch: ChannelFault(kind, at_s=6.0 + 0.1 * seed)}, seed=seed)
                s.run_until(9.0)
                s.close()
                f = next(f for f in s.raised if f.kind == kind)
                worst = max(worst, f.detected_t_s - s.device_s(6.0 + 0.1 * seed))
            print(f"{kind:10} {CHANNEL_NAMES[ch]:12}  max over 5 seeds {worst:.3f}")
    s = Session(c, {3: ChannelFault("gain", at_s=0.0, value=0.92)})
    s.run_until(16.0, leans(1.0))
    s.close()
    g = next(f for f in s.raised if f.kind == "gain")
    print(f"gain x0.92 back-right, live: named {g.detected_t_s - s.device_s(1.0):.2f} s after "
          f"the clock of weight shifts began (one shift every 1.5 s); estimate "
          f"{1 / s.monitor.active[0].value:.3f}")


if __name__ == "__main__":
    _latency_table()
