"""The virtual board answers like the firmware spec says, through the real decoder."""

import numpy as np
import pytest

from stancelab.board import protocol as p
from stancelab.board.source import SampleAssembler
from stancelab.sim.hx711 import ChannelFault
from stancelab.sim.virtual_board import (
    DEFAULT_COUNTS_PER_N,
    DEFAULT_OFFSETS_COUNTS,
    VirtualBoard,
    encode_samples,
)

LOAD_N = np.array([150.0, 180.0, 160.0, 190.0])


def const_load(t):
    return np.tile(LOAD_N, (len(t), 1))


def started(rate=80, **kw):
    vb = VirtualBoard(const_load, **kw)
    dec = p.Decoder()
    dec.feed(vb.boot())
    vb.advance(0.5)  # chips settle
    if rate != 80:
        dec.feed(vb.receive(p.cmd_set_rate(rate)))
    dec.feed(vb.receive(p.cmd_start()))
    return vb, dec


def samples(msgs):
    return [m for m in msgs if isinstance(m, p.SampleFrame)]


def test_boot_identify_ping_and_acks():
    vb = VirtualBoard(const_load, board_id=0x1234ABCD, firmware=(1, 2, 3))
    dec = p.Decoder()
    (boot,) = dec.feed(vb.boot())
    assert boot == p.Boot(1, 1, 0x1234ABCD)
    (ident,) = dec.feed(vb.receive(p.cmd_identify()))
    assert ident == p.Identity(1, (1, 2, 3), 0x1234ABCD, 4, 80, False)
    vb.advance(1.5)
    (pong,) = dec.feed(vb.receive(p.cmd_ping(0xDEADBEEF)))
    assert pong.token == 0xDEADBEEF
    assert abs(pong.t_us - 1.5e6 * (1 + vb.clock_ppm * 1e-6)) < 2
    answers = dec.feed(vb.receive(p.cmd_set_rate(10) + p.cmd_set_rate(50) + p.cmd_start()
                                  + p.encode_command(0x1F) + p.encode_frame(0x30, b"x")
                                  + p.encode_command(p.C_START, b"\x01")))
    assert answers == [p.Ack(p.C_SET_RATE, 0), p.Ack(p.C_SET_RATE, 1), p.Ack(p.C_START, 0),
                       p.Ack(0x1F, 2), p.Ack(0x30, 2), p.Ack(p.C_START, 3)]
    (ident,) = dec.feed(vb.receive(p.cmd_identify()))
    assert ident.rate_sps == 10 and ident.streaming


def test_board_id_survives_reset_and_answers_come_byte_by_byte():
    vb = VirtualBoard(const_load)
    dec = p.Decoder()
    cmd = p.cmd_set_board_id(0xCAFE0042)
    out = b"".join(vb.receive(cmd[i:i + 1]) for i in range(len(cmd)))
    assert dec.feed(out) == [p.Ack(p.C_SET_BOARD_ID, 0)]
    assert dec.feed(vb.boot(2)) == [p.Boot(1, 2, 0xCAFE0042)]


@pytest.mark.parametrize("rate", [10, 80])
def test_rate_and_timestamps(rate):
    vb, dec = started(rate)
    frames = samples(dec.feed(vb.advance(10.0)))
    assert abs(len(frames) - 10 * rate) <= 1
    dt = np.diff([f.t_us for f in frames])
    assert np.all(np.abs(dt - 1e6 / rate) < 60)  # firmware loop latency only
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert dec.stats.lost_frames == 0 and dec.stats.crc_errors == 0


def test_counts_follow_load_with_datasheet_noise():
    for rate, noise in ((80, 40.0), (10, 40.0 * 50 / 90)):
        vb, dec = started(rate)
        frames = samples(dec.feed(vb.advance(60.0)))
        fresh = [f for f in frames if f.status == 0]
        c = np.array([f.counts for f in fresh], dtype=float)
        expect = np.array(DEFAULT_OFFSETS_COUNTS) + np.array(DEFAULT_COUNTS_PER_N) * LOAD_N
        # drift is < 0.3 counts/s: over 60 s the mean moves < 20 counts
        assert np.all(np.abs(c.mean(axis=0) - expect) < 25)
        assert np.all(np.abs(c.std(axis=0) - noise) < 0.15 * noise)


def test_start_resets_sequence_and_stop_stops():
    vb, dec = started()
    first = samples(dec.feed(vb.advance(1.0)))
    assert first[0].seq == 0
    msgs = dec.feed(vb.receive(p.cmd_stop()) + vb.advance(1.0))
    assert msgs == [p.Ack(p.C_STOP, 0)]
    dec.reset_sequence()
    msgs = dec.feed(vb.receive(p.cmd_start()) + vb.advance(0.2))
    assert msgs[0] == p.Ack(p.C_START, 0)
    assert [m.seq for m in samples(msgs)] == list(range(16))


def test_sequence_and_clock_wrap():
    vb, dec = started(micros_at_boot=p.T_MOD - 200_000_000)  # micros wraps after 200 s
    asm = SampleAssembler()
    frames = samples(dec.feed(vb.advance(65_536 / 80 + 2.0)))
    seqs = np.array([f.seq for f in frames])
    assert len(frames) > 65_536
    assert np.all((np.diff(seqs) % 65_536) == 1) and seqs.min() == 0 and seqs.max() == 65_535
    t = np.array([asm(f, 0.0).t_s for f in frames])
    assert min(f.t_us for f in frames) < 1_000_000  # it did wrap
    assert np.all(np.diff(t) > 0.012) and np.all(np.diff(t) < 0.013)
    assert dec.stats.lost_frames == 0 and dec.stats.restarts == 1  # only the BOOT


def test_saturation_clamps_and_flags_only_that_channel():
    def loads(t):
        out = np.tile(LOAD_N, (len(t), 1))
        out[:, 1] = 5000.0    # beyond a 200 kg cell's 24-bit range
        out[:, 2] = -5000.0
        return out
    vb = VirtualBoard(loads)
    dec = p.Decoder()
    dec.feed(vb.boot())
    vb.advance(0.5)
    frames = samples(dec.feed(vb.receive(p.cmd_start()) + vb.advance(1.0)))
    for f in frames:
        assert f.counts[1] == p.COUNT_MAX and f.counts[2] == p.COUNT_MIN
        assert p.channel_status(f.status, 1) & p.ST_SATURATED
        assert p.channel_status(f.status, 2) & p.ST_SATURATED
        assert not p.channel_status(f.status, 0) & p.ST_SATURATED
        assert not p.channel_status(f.status, 3) & p.ST_SATURATED


def test_dead_chip_freezes_then_times_out():
    vb, dec = started(faults={3: ChannelFault("dead", at_s=2.0)})
    frames = samples(dec.feed(vb.advance(5.0)))
    t = np.array([(f.t_us) * 1e-6 for f in frames])
    st = np.array([p.channel_status(f.status, 3) for f in frames])
    c3 = np.array([f.counts[3] for f in frames])
    after = t > 2.05
    assert np.all(st[after] & p.ST_NOT_READY)
    assert np.all(c3[after] == c3[after][0])
    assert np.all(st[t > 3.1] & p.ST_TIMED_OUT) and not np.any(st[t < 2.9] & p.ST_TIMED_OUT)
    others = np.array([p.channel_status(f.status, 0) for f in frames])
    assert not np.any(others & p.ST_TIMED_OUT)


def test_gain_drift_and_saturated_faults():
    faults = {0: ChannelFault("gain", value=0.5), 1: ChannelFault("drift", at_s=0.0, value=500.0),
              2: ChannelFault("saturated", at_s=1.0)}
    vb, dec = started(faults=faults)
    frames = samples(dec.feed(vb.advance(3.0)))
    c = np.array([f.counts for f in frames], dtype=float)
    expect0 = DEFAULT_OFFSETS_COUNTS[0] + 0.5 * DEFAULT_COUNTS_PER_N[0] * LOAD_N[0]
    assert abs(c[:, 0].mean() - expect0) < 30
    assert c[-1, 1] - c[0, 1] > 0.9 * 500 * 2.9
    assert c[-1, 2] == p.COUNT_MAX and c[0, 2] < p.COUNT_MAX


def test_chunking_does_not_change_the_bytes():
    a, _ = started()
    b, _ = started()
    whole = a.advance(2.0)
    parts = b"".join(b.advance(0.013) for _ in range(153)) + b.advance(2.0 - 153 * 0.013)
    assert whole == parts


def test_load_fn_sees_increasing_times():
    seen = []

    def recording(t):
        seen.append(np.array(t))
        return const_load(t)
    vb = VirtualBoard(recording, faults={1: ChannelFault("dead", at_s=0.7)})
    vb.boot()
    vb.receive(p.cmd_start())
    for dt in (0.3, 0.001, 0.5, 0.02, 1.0):
        vb.advance(dt)
    vb.receive(p.cmd_set_rate(10))
    vb.advance(2.0)
    t = np.concatenate(seen)
    assert np.all(np.diff(t) > 0)


def test_oscillator_spread_gives_occasional_not_ready():
    vb, dec = started(seed=3)
    frames = samples(dec.feed(vb.advance(60.0)))
    nr = np.array([[p.channel_status(f.status, c) & p.ST_NOT_READY for c in range(4)]
                   for f in frames]).astype(bool)
    slow = vb.hx711.rate_error < -120e-6  # chips slower than the frame clock
    assert np.all(nr[:, ~slow].sum(axis=0) == 0)
    expected = -vb.hx711.rate_error[slow] * len(frames)
    assert np.all(np.abs(nr[:, slow].sum(axis=0) - expected) <= 2 + 0.1 * expected)


def test_plotter_mode_sends_text_lines_only():
    vb, dec = started()
    out = vb.receive(p.encode_command(p.C_SET_PLOTTER, b"\x01"))
    assert dec.feed(out) == [p.Ack(p.C_SET_PLOTTER, 0)]
    text = vb.advance(0.1) + vb.receive(p.cmd_identify())
    lines = text.decode("ascii").splitlines()
    assert len(lines) == 8 and all(ln.startswith("fl:") for ln in lines)
    assert dec.feed(text) == []


def test_vectorised_encoder_matches_reference():
    rng = np.random.default_rng(1)
    n = 500
    seq = rng.integers(0, 1 << 16, n)
    t_us = rng.integers(0, 1 << 32, n)
    counts = rng.integers(p.COUNT_MIN, p.COUNT_MAX + 1, (n, 4))
    status = rng.integers(0, 1 << 16, n)
    ref = b"".join(p.encode_sample(int(s), int(t), [int(x) for x in c], int(st))
                   for s, t, c, st in zip(seq, t_us, counts, status))
    assert encode_samples(seq, t_us, counts, status) == ref
