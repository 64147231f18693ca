"""Bulk decoding of recorded SAMPLE frames, against the per-frame streaming decoder.

    python bench/bench_decode.py [--frames 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from stancelab.board import protocol
from stancelab.sim.virtual_board import encode_samples


def make_stream(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    seq = np.arange(n)
    t_us = np.arange(n, dtype=np.int64) * 12_500
    counts = rng.integers(protocol.COUNT_MIN, protocol.COUNT_MAX, size=(n, 4))
    return encode_samples(seq, t_us, counts, np.zeros(n, dtype=np.int64))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    raw = make_stream(a.frames)
    bulk_s = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        out = protocol.decode_samples_bulk(raw)
        bulk_s.append(time.perf_counter() - t0)
    assert len(out["seq"]) == a.frames
    # The streaming decoder on a tenth of the data (it is linear), in 4 KiB chunks as a reader
    # thread would feed it.
    part = raw[: len(raw) // 10]
    n_part = len(part) // protocol.SAMPLE_FRAME_LEN
    loop_s = []
    for _ in range(max(1, a.repeats // 2)):
        d = protocol.Decoder()
        t0 = time.perf_counter()
        for i in range(0, len(part), 4096):
            d.feed(part[i:i + 4096])
        loop_s.append(time.perf_counter() - t0)
    assert d.stats.samples == n_part
    # One whole frame per read, as the serial reader gets them from a streaming board (the
    # decoder's short path).
    frames = [part[i:i + protocol.SAMPLE_FRAME_LEN]
              for i in range(0, n_part * protocol.SAMPLE_FRAME_LEN, protocol.SAMPLE_FRAME_LEN)]
    one_s = []
    for _ in range(max(1, a.repeats // 2)):
        d = protocol.Decoder()
        t0 = time.perf_counter()
        for f in frames:
            d.feed(f)
        one_s.append(time.perf_counter() - t0)
    assert d.stats.samples == n_part
    bulk_rate = a.frames / np.median(bulk_s)
    loop_rate = n_part / np.median(loop_s)
    print(f"bulk decode: {a.frames} frames, median {np.median(bulk_s) * 1e3:.1f} ms "
          f"(min {min(bulk_s) * 1e3:.1f}, max {max(bulk_s) * 1e3:.1f}) -> "
          f"{bulk_rate / 1e6:.2f} M frames/s (target >= 1 M frames/s)")
    print(f"streaming decoder (per frame, 4 KiB chunks): {loop_rate / 1e3:.0f} k frames/s")
    print(f"ratio bulk / streaming: {bulk_rate / loop_rate:.1f}x")
    print(f"streaming decoder, one frame per read: {np.median(one_s) / n_part * 1e6:.2f} us "
          "per frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
