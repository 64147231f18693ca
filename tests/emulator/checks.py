"""Assertions on what the host received from the emulated board, shared by the real tests and
by the negative checks that prove each one fails on a deliberately broken firmware build.

Times: the harness logs sim-clock cycles since the emulator started; the board stamps frames
with micros() since its last reset; SerialBoard's Sample.t_s is that device time plus an offset
it picks after a board reset. ``offset_s`` maps one to the other for one run of samples.
"""

from __future__ import annotations

import bisect
import itertools

import numpy as np

from stancelab.board import protocol as P

MATCH_TOL_S = 1e-3   # reads are >= 10 ms apart; device and sim clocks agree within ~50 us
SAME_READ_S = 2e-4   # words of one shared read start within a few us of its t_us


def fresh(sample, c: int) -> bool:
    return not P.channel_status(sample.status, c) & P.ST_NOT_READY


def align_offset(samples, reads, boot_s: float) -> float:
    """Offset of the samples' time axis against device time, from one unambiguous value."""
    rails = (P.COUNT_MAX, P.COUNT_MIN)
    for s in samples:
        for c in range(P.CHANNELS):
            if fresh(s, c) and s.counts[c] not in rails:
                hits = [r for r in reads
                        if r.chip == c and r.value == s.counts[c] and r.t_s >= boot_s]
                if len(hits) == 1:
                    return s.t_s - (hits[0].t_s - boot_s)
    raise AssertionError("no fresh sample value matches a word the chips shifted out")


def check_values_exact(samples, reads, boot_s: float, offset_s: float) -> dict:
    """Every fresh count is bit-exactly the word its chip shifted out at that read, every
    NOT_READY count repeats the previous one, SATURATED is set exactly at the rails, and every
    word the chips shifted out while streaming reached the host."""
    assert samples, "no samples"
    by_chip = {c: sorted((r for r in reads if r.chip == c and r.t_s >= boot_s),
                         key=lambda r: r.cycle) for c in range(P.CHANNELS)}
    times = {c: [r.t_s for r in by_chip[c]] for c in by_chip}
    matched: set[tuple[int, int]] = set()
    prev = None
    n_fresh = 0
    for s in samples:
        t = boot_s + (s.t_s - offset_s)
        # t is the shared read's start when any channel is fresh; otherwise the send time,
        # which the next read may follow within microseconds.
        had_read = any(fresh(s, c) for c in range(P.CHANNELS))
        for c in range(P.CHANNELS):
            st = P.channel_status(s.status, c)
            lo = bisect.bisect_left(times[c], t - MATCH_TOL_S)
            hi = bisect.bisect_right(times[c], t + MATCH_TOL_S)
            near = by_chip[c][lo:hi]
            if fresh(s, c):
                assert len(near) == 1, (
                    f"seq {s.seq} ch{c}: fresh value {s.counts[c]} but {len(near)} chip words "
                    f"near t={t:.6f} s")
                assert s.counts[c] == near[0].value, (
                    f"seq {s.seq} ch{c}: host got {s.counts[c]}, chip shifted out "
                    f"{near[0].value} (conversion {near[0].index})")
                matched.add((c, near[0].cycle))
                n_fresh += 1
            else:
                assert not (had_read and any(abs(r.t_s - t) < SAME_READ_S for r in near)), (
                    f"seq {s.seq} ch{c}: flagged NOT_READY but the chip was read")
                if prev is not None:
                    assert s.counts[c] == prev.counts[c], (
                        f"seq {s.seq} ch{c}: NOT_READY value {s.counts[c]} is not the "
                        f"previous {prev.counts[c]}")
            at_rail = s.counts[c] in (P.COUNT_MAX, P.COUNT_MIN)
            assert bool(st & P.ST_SATURATED) == at_rail, (
                f"seq {s.seq} ch{c}: value {s.counts[c]} with status {st:#x}")
        prev = s
    t0 = boot_s + samples[0].t_s - offset_s
    t1 = boot_s + samples[-1].t_s - offset_s - 0.05
    unsent = [r for c in by_chip for r in by_chip[c]
              if t0 <= r.t_s <= t1 and (c, r.cycle) not in matched]
    assert not unsent, f"{len(unsent)} chip words never reached the host, first {unsent[0]}"
    return {"fresh_values": n_fresh, "frames": len(samples)}


def check_model_values(reads, values) -> None:
    """The model shifted out exactly the script's counts, clamped at the rails."""
    for r in reads:
        want = max(P.COUNT_MIN, min(P.COUNT_MAX, values[r.index % len(values)][r.chip]))
        assert r.value == want, f"model gave {r.value} for {r}, script says {want}"


def check_no_lost_frames(samples) -> None:
    seqs = [s.seq for s in samples]
    gaps = [(a, b) for a, b in itertools.pairwise(seqs) if (b - a) % P.SEQ_MOD != 1]
    assert not gaps, f"sequence gaps (lost frames): {gaps[:5]}"


def frame_rate(samples) -> float:
    """Frames per second of device time (least-squares over the sequence)."""
    seq = np.unwrap(np.array([s.seq for s in samples], float), period=P.SEQ_MOD)
    t = np.array([s.t_s for s in samples])
    return 1.0 / np.polyfit(seq, t, 1)[0]


def check_timing(summary: dict, max_high_us: float = 10.0) -> None:
    assert summary["read_bursts"] > 0, "the firmware never clocked the chips"
    assert summary["power_down_violations"] == 0, (
        f"SCK high > 60 us powered the HX711s down {summary['power_down_violations']} times "
        f"(max high {summary['sck_high_max_us']} us)")
    assert summary["sck_high_max_us"] <= max_high_us, (
        f"SCK held high {summary['sck_high_max_us']} us > {max_high_us} us")
    assert summary["read_bursts_not_25_pulses"] == 0, "a read did not send exactly 25 pulses"


def check_dead_channel(samples, chip: int, death_t: float, within_s: float = 1.0) -> dict:
    """``death_t`` on the samples' time axis. The chip is flagged TIMED_OUT within ``within_s``
    and stays flagged; the other channels keep delivering fresh values."""
    after = [s for s in samples if s.t_s > death_t]
    assert after and after[-1].t_s - death_t > within_s + 1.0, (
        f"frames stopped {after[-1].t_s - death_t if after else 0:.3f} s after the chip died: "
        "the board hung")
    flagged = next((s for s in after
                    if P.channel_status(s.status, chip) & P.ST_TIMED_OUT), None)
    assert flagged is not None, f"channel {chip} never flagged TIMED_OUT"
    delay = flagged.t_s - death_t
    assert delay <= within_s, f"channel {chip} flagged TIMED_OUT only after {delay:.3f} s"
    later = [s for s in after if s.t_s >= flagged.t_s]
    for s in later:
        st = P.channel_status(s.status, chip)
        assert st & P.ST_TIMED_OUT and st & P.ST_NOT_READY, f"seq {s.seq}: status {s.status:#x}"
    for c in range(P.CHANNELS):
        if c != chip:
            ratio = sum(fresh(s, c) for s in later) / len(later)
            assert ratio > 0.95, f"channel {c} fresh in only {ratio:.0%} of frames after"
    return {"flag_delay_s": delay, "frames_after": len(later)}
