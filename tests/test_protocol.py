"""Wire protocol: encoder round trips and the streaming decoder's guarantees."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stancelab.board import protocol as p

counts_st = st.tuples(*[st.integers(p.COUNT_MIN, p.COUNT_MAX)] * 4)
sample_st = st.builds(p.SampleFrame, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
                      counts_st, st.integers(0, 0xFFFF))


def stream(n, seq0=0, t0=0, period_us=12_500, seed=0):
    rng = random.Random(seed)
    frames = []
    for i in range(n):
        counts = tuple(rng.randint(p.COUNT_MIN, p.COUNT_MAX) for _ in range(4))
        frames.append(p.SampleFrame((seq0 + i) % p.SEQ_MOD, (t0 + i * period_us) % p.T_MOD,
                                    counts, rng.randint(0, 0xFFFF)))
    return frames


def encode(frames):
    return b"".join(p.encode_sample(*f) for f in frames)


def test_crc_check_value():
    assert p.crc16(b"123456789") == 0x29B1


def test_frame_layout_matches_docs():
    raw = p.encode_sample(0x0102, 0x03040506, (1, -1, p.COUNT_MAX, p.COUNT_MIN), 0x0421)
    assert len(raw) == 26
    assert raw[:2] == b"\xa5\x5a" and raw[2] == p.T_SAMPLE and raw[3] == 20
    assert raw[4:6] == b"\x02\x01" and raw[6:10] == b"\x06\x05\x04\x03"
    assert raw[10:13] == b"\x01\x00\x00" and raw[13:16] == b"\xff\xff\xff"
    assert raw[16:19] == b"\xff\xff\x7f" and raw[19:22] == b"\x00\x00\x80"
    assert raw[22:24] == b"\x21\x04"
    assert int.from_bytes(raw[24:26], "little") == p.crc16(raw[2:24])


def test_channel_status_bits():
    status = (p.ST_TIMED_OUT << 4) | (p.ST_SATURATED << 12) | p.ST_NOT_READY
    assert p.channel_status(status, 0) == p.ST_NOT_READY
    assert p.channel_status(status, 1) == p.ST_TIMED_OUT
    assert p.channel_status(status, 2) == 0
    assert p.channel_status(status, 3) == p.ST_SATURATED


@pytest.mark.parametrize("value", [p.COUNT_MAX + 1, p.COUNT_MIN - 1])
def test_encoder_refuses_counts_outside_24_bits(value):
    with pytest.raises(ValueError):
        p.encode_sample(0, 0, (value, 0, 0, 0))


def test_replies_and_commands_round_trip():
    ident = p.Identity(1, (1, 2, 3), 0xDEADBEEF, 4, 80, True)
    msgs = p.Decoder().feed(p.encode_identity(ident) + p.encode_ack(p.C_START) + p.encode_pong(7, 99)
                            + p.encode_boot(0xDEADBEEF, 2) + p.cmd_set_rate(10) + p.cmd_ping(5)
                            + p.encode_frame(0x7E, b"future"))
    assert msgs == [ident, p.Ack(p.C_START, p.ACK_OK), p.Pong(7, 99), p.Boot(1, 2, 0xDEADBEEF),
                    p.Command(p.C_SET_RATE, b"\x0a"), p.Command(p.C_PING, (5).to_bytes(4, "little")),
                    p.Unknown(0x7E, b"future")]
    assert ident.firmware_version == "1.2.3"


@given(st.lists(sample_st, max_size=30))
def test_sample_round_trip(frames):
    # Build a consistent stream (increasing seq and time) from arbitrary payloads.
    frames = [f._replace(seq=i, t_us=1000 + i * 12500) for i, f in enumerate(frames)]
    assert p.Decoder().feed(encode(frames)) == frames


@settings(max_examples=200)
@given(st.data())
def test_chunking_does_not_change_the_result(data):
    frames = stream(data.draw(st.integers(1, 40)), seed=data.draw(st.integers(0, 10**6)))
    junk = data.draw(st.binary(max_size=60))
    raw = junk + encode(frames) + junk
    whole = p.Decoder()
    expected = whole.feed(raw)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=30)))
    chunked = p.Decoder()
    got = []
    prev = 0
    for c in cuts + [len(raw)]:
        got += chunked.feed(raw[prev:c])
        prev = c
    assert got == expected
    assert chunked.stats == whole.stats
    assert [m for m in got if isinstance(m, p.SampleFrame)] == frames


@settings(max_examples=200)
@given(st.data())
def test_frame_sized_reads_take_the_short_path_to_the_same_result(data):
    """A streaming board's reader gets one whole SAMPLE frame per read: the decoder's short
    path for that case gives what the general loop gives, extremes of the 24-bit counts,
    bit flips, repeats and gaps included."""
    n = data.draw(st.integers(1, 30))
    frames = stream(n, seed=data.draw(st.integers(0, 10**6)))
    extremes = (p.COUNT_MIN, p.COUNT_MAX, 0, -1)
    frames[0] = frames[0]._replace(counts=extremes)
    chunks = [p.encode_sample(*f) for f in frames]
    for _ in range(data.draw(st.integers(0, 4))):
        k = data.draw(st.integers(0, len(chunks) - 1))
        action = data.draw(st.sampled_from(["flip", "repeat", "drop"]))
        if action == "flip":
            raw = bytearray(chunks[k])
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
            chunks[k] = bytes(raw)
        elif action == "repeat":
            chunks.insert(k, chunks[k])
        elif len(chunks) > 1:
            del chunks[k]
    whole = p.Decoder()
    expected = whole.feed(b"".join(chunks))
    framewise = p.Decoder()
    got = [m for c in chunks for m in framewise.feed(c)]
    assert got == expected
    assert framewise.stats == whole.stats
    assert framewise.buffered == whole.buffered
    if chunks[0] == p.encode_sample(*frames[0]):
        assert got[0].counts == extremes


def test_one_byte_at_a_time_equals_64k_chunks():
    frames = stream(5000, seed=3)
    raw = encode(frames)
    a = p.Decoder()
    one = [m for i in range(len(raw)) for m in a.feed(raw[i:i + 1])]
    b = p.Decoder()
    big = [m for i in range(0, len(raw), 65536) for m in b.feed(raw[i:i + 65536])]
    assert one == big == frames
    assert a.buffered < p.MAX_FRAME and b.buffered < p.MAX_FRAME


@settings(max_examples=200)
@given(st.binary(min_size=0, max_size=400), st.integers(1, 20))
def test_resynchronises_after_garbage(garbage, n):
    frames = stream(n, seed=n)
    d = p.Decoder()
    got = d.feed(garbage + encode(frames))
    samples = [m for m in got if isinstance(m, p.SampleFrame)]
    # Garbage may hide a frame that it overlaps with (it could swallow the first frame's
    # header as a false length) but never more than the first, and never invent a sample.
    assert samples == frames or samples == frames[1:]


@settings(max_examples=300)
@given(st.integers(1, 25), st.integers(0, 25 * 26 - 1), st.integers(0, 7))
def test_bit_flips_are_rejected_never_accepted(n, byte_index, bit):
    frames = stream(n, seed=byte_index)
    raw = bytearray(encode(frames))
    byte_index %= len(raw)
    raw[byte_index] ^= 1 << bit
    d = p.Decoder()
    got = [m for m in d.feed(bytes(raw)) if isinstance(m, p.SampleFrame)]
    assert all(m in frames for m in got)
    assert len(got) >= n - 2  # a flip damages at most its own frame (and a sync-hidden neighbour)


@given(st.lists(st.integers(0, 49), unique=True, max_size=30), st.integers(0, 0xFFFF))
def test_lost_frames_counted_from_gaps_with_wraparound(dropped, seq0):
    frames = stream(50, seq0=seq0)
    kept = [f for i, f in enumerate(frames) if i not in set(dropped)]
    d = p.Decoder()
    got = d.feed(encode(kept))
    assert got == kept
    first, last = (min(i for i in range(50) if i not in dropped),
                   max(i for i in range(50) if i not in dropped)) if kept else (0, 0)
    expected_lost = sum(1 for i in dropped if first < i < last)
    assert d.stats.lost_frames == expected_lost


def test_duplicates_and_late_frames_are_dropped_and_counted():
    frames = stream(10)
    order = frames[:5] + [frames[4], frames[3]] + frames[5:]
    d = p.Decoder()
    assert d.feed(encode(order)) == frames
    assert d.stats.duplicates == 2 and d.stats.lost_frames == 0


def test_board_restart_without_boot_frame_is_not_counted_as_loss():
    before = stream(40_000)[-5:]  # seq near 40000, time large
    after = stream(5)             # restarted: seq 0, time 0
    d = p.Decoder()
    assert d.feed(encode(before + after)) == before + after
    assert d.stats.lost_frames == 0 and d.stats.restarts == 1


def test_boot_frame_resets_sequence_tracking():
    d = p.Decoder()
    d.feed(encode(stream(5, seq0=100)))
    d.feed(p.encode_boot(1) + encode(stream(3)))
    assert d.stats.lost_frames == 0 and d.stats.restarts == 1 and d.stats.samples == 8


def test_truncated_trailing_frame_is_ignored():
    frames = stream(3)
    raw = encode(frames)
    d = p.Decoder()
    assert d.feed(raw[:-7]) == frames[:2]
    assert 0 < d.buffered < p.MAX_FRAME


@given(st.binary(max_size=5000))
def test_buffer_stays_bounded_on_any_input(garbage):
    d = p.Decoder()
    d.feed(garbage)
    assert d.buffered < p.MAX_FRAME
    d.feed(b"\xa5\x5a\x01")
    assert d.buffered < p.MAX_FRAME


def test_oversized_length_byte_is_resynchronised():
    frames = stream(2)
    d = p.Decoder()
    got = d.feed(b"\xa5\x5a\x01\xff" + encode(frames))
    assert got == frames


def _stream_samples(raw):
    """What the streaming decoder yields before sequence filtering (sequence numbers unique)."""
    return [m for m in p.Decoder().feed(raw) if isinstance(m, p.SampleFrame)]


@settings(max_examples=100)
@given(st.data())
def test_bulk_decoder_matches_streaming_decoder(data):
    frames = stream(data.draw(st.integers(0, 60)), seed=data.draw(st.integers(0, 999)))
    raw = bytearray(encode(frames))
    for _ in range(data.draw(st.integers(0, 5))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    pos = data.draw(st.integers(0, len(raw)))
    raw[pos:pos] = data.draw(st.binary(max_size=80))
    raw = bytes(raw)
    bulk = p.decode_samples_bulk(raw)
    got = [p.SampleFrame(int(s), int(t), tuple(int(v) for v in c), int(st_))
           for s, t, c, st_ in zip(bulk["seq"], bulk["t_us"], bulk["counts"], bulk["status"])]
    assert got == _stream_samples(raw)
