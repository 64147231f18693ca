"""processing.process: calibration and COP applied to whole blocks of samples."""

import numpy as np
import pytest

from stancelab.board.source import Sample
from stancelab.calibration import NOMINAL_COUNTS_PER_N, Calibration
from stancelab.geometry import G
from stancelab.processing import Block, process


def _sample(i, forces_n, offsets=(0, 0, 0, 0)):
    counts = tuple(round(f * NOMINAL_COUNTS_PER_N + o) for f, o in zip(forces_n, offsets))
    return Sample(seq=i, t_s=i / 80, t_host_s=0.0, counts=counts, status=0)


def test_cop_and_total_from_known_loads():
    cal = Calibration(board_id=1)
    w = 70 * G
    # All weight on the front-right cell, then evenly spread, then a 3:1 left/right split.
    loads = [(0, w, 0, 0), (w / 4,) * 4, (3 * w / 8, w / 8, 3 * w / 8, w / 8)]
    block = process([_sample(i, f) for i, f in enumerate(loads)], cal)
    assert len(block) == 3
    np.testing.assert_allclose(block.total_n, w, rtol=1e-4)
    np.testing.assert_allclose(block.cop_x_mm, [250, 0, -125], atol=0.05)
    np.testing.assert_allclose(block.cop_y_mm, [175, 0, 0], atol=0.05)
    np.testing.assert_array_equal(block.seq, [0, 1, 2])
    np.testing.assert_allclose(block.t_s, [0, 1 / 80, 2 / 80])


def test_offsets_are_removed_and_light_load_gives_nan_cop():
    offsets = (1000, -2000, 500, 300)
    cal = Calibration(board_id=1, offsets_counts=offsets)
    block = process([_sample(0, (5, 5, 5, 5), offsets), _sample(1, (100, 100, 100, 100),
                                                               offsets)], cal)
    np.testing.assert_allclose(block.total_n, [20, 400], atol=0.01)
    assert np.isnan(block.cop_x_mm[0]) and np.isnan(block.cop_y_mm[0])
    assert block.cop_x_mm[1] == pytest.approx(0, abs=0.1)


def test_empty_and_slicing_and_concat():
    cal = Calibration(board_id=1)
    assert len(process([], cal)) == 0
    block = process([_sample(i, (100, 200, 300, 400)) for i in range(10)], cal)
    assert block.counts.shape == (10, 4) and block.forces_n.shape == (10, 4)
    head, tail = block[:4], block[4:]
    joined = Block.concat([head, Block.empty(), tail])
    np.testing.assert_array_equal(joined.seq, block.seq)
    np.testing.assert_array_equal(joined.cop_x_mm, block.cop_x_mm)
    assert len(block[-1]) == 1 and block[-1].seq[0] == 9


@pytest.mark.parametrize("n", [1, 3, 8, 9])
def test_display_fast_path_equals_process(n):
    """The live view's plain-Python path for small batches gives what process() gives."""
    from stancelab.processing import process_for_display

    rng = np.random.default_rng(n)
    cal = Calibration(board_id=1, offsets_counts=(41_000.0, -18_000.0, 63_000.0, 12_000.0),
                      gains_n_per_count=tuple(1 / NOMINAL_COUNTS_PER_N * (1 + 0.01 * k)
                                              for k in range(4)))
    samples = [_sample(i, rng.uniform(0, 300, 4), cal.offsets_counts) for i in range(n)]
    # One sample with nobody on the board: COP undefined in both.
    samples[0] = _sample(0, (1.0, 1.0, 1.0, 1.0), cal.offsets_counts)
    a, b = process(samples, cal), process_for_display(samples, cal)
    for name in ("t_s", "counts", "forces_n", "total_n", "status", "seq"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("cop_x_mm", "cop_y_mm"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-14, atol=1e-12)
        assert np.isnan(getattr(b, name)[0])
