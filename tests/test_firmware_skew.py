"""The firmware at 10 samples/s against four HX711s on skewed oscillators, for 120 simulated
seconds: a healthy chip is never flagged TIMED_OUT, never clocked while it converts (at most 27
SCK pulses between two of its conversions), and every word it shifts out reaches the host.

A builder who leaves the breakouts' RATE pin low gets exactly this: 10 samples/s, each chip on
its own RC oscillator. Slow (about 1-3 wall minutes per run); `.ci/run` runs it with -m slow.
"""

from __future__ import annotations

import pytest

from emulator import checks, runner
from emulator.host import collect, span
from stancelab.board import protocol as P
from stancelab.board.serial_board import SerialBoard

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

SIM_S = 120.0
# Chips at 10, 10.05, 9.95 and 10.02 samples/s; the phase sets are two unrelated start offsets.
TOL = "0,0.005,-0.005,0.002"
PHASES = ("0,0.37,0.71,0.13", "0.55,0.05,0.91,0.33")
WALL_S = 900.0


def timed_out_events(samples) -> dict[int, int]:
    """Per channel, how many times it went from not TIMED_OUT to TIMED_OUT."""
    events = {}
    for c in range(P.CHANNELS):
        flags = [bool(P.channel_status(s.status, c) & P.ST_TIMED_OUT) for s in samples]
        events[c] = sum(1 for a, b in zip([False, *flags], flags, strict=False) if b and not a)
    return events


@pytest.fixture(scope="module", params=PHASES, ids=("phase-a", "phase-b"))
def run(request, toolchain, values_file, tmp_path_factory):
    elf = runner.build_firmware("default")
    work = tmp_path_factory.mktemp("skew")
    h = runner.Harness(toolchain, elf, values_file[0], work, seconds=SIM_S + 15.0,
                       extra=("--tol", TOL, "--phase", request.param))
    try:
        board = SerialBoard(h.pty, rate_sps=10, auto_reconnect=False)
        board.open()
        board.start()
        samples = collect(board, lambda xs: span(xs) >= SIM_S, wall_s=WALL_S)
        lost = board.lost_frames
        board.close()
    finally:
        try:
            summary = h.finish()
        except Exception:
            h.kill()
            raise
    return samples, lost, summary, h.reads()


def test_no_healthy_chip_timed_out(run):
    samples, lost, _, _ = run
    assert span(samples) >= SIM_S
    checks.check_no_lost_frames(samples)
    assert lost == 0
    events = timed_out_events(samples)
    assert sum(events.values()) == 0, f"healthy chips flagged TIMED_OUT: {events}"


def test_never_clocked_while_converting(run):
    _, _, summary, _ = run
    checks.check_timing(summary)
    clocks = {c["chip"]: c["clocks_max"] for c in summary["chips"]}
    busy = {c["chip"]: c["busy_reads"] for c in summary["chips"]}
    assert max(clocks.values()) <= 27, f"SCK pulses between two conversions: {clocks}"
    assert sum(busy.values()) == 0, f"reads started on a converting chip: {busy}"


def test_every_word_reaches_the_host(run, values_file):
    samples, _, _, reads = run
    checks.check_model_values(reads, values_file[1])
    offset = checks.align_offset(samples, reads, 0.0)
    stats = checks.check_values_exact(samples, reads, 0.0, offset)
    # Frames are paced by the crystal at 10/s; the chips' own rates decide how many are fresh.
    rate = (samples[-1].seq - samples[0].seq) / span(samples)
    assert rate == pytest.approx(10.0, rel=2e-3)
    assert stats["fresh_values"] > 0.95 * 4 * len(samples) * 9.95 / 10.0
