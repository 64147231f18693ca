"""Raw samples to forces and centre of pressure, in one vectorised step.

This is the only place between a source and the drills/views where calibration is applied, so
every consumer sees the same numbers for the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stancelab.calibration import DEFAULT_MIN_LOAD_N, Calibration, cop_from_forces


@dataclass(frozen=True, eq=False)
class Block:
    """A run of consecutive processed samples; all arrays have the same length N."""

    t_s: np.ndarray        # (N,) device time, s
    counts: np.ndarray     # (N, 4) raw counts, FL FR BL BR
    forces_n: np.ndarray   # (N, 4) corner forces, N
    total_n: np.ndarray    # (N,) total load, N
    cop_x_mm: np.ndarray   # (N,) NaN where the load is below the calibration's threshold
    cop_y_mm: np.ndarray   # (N,)
    status: np.ndarray     # (N,) per-channel status nibbles as sent by the board
    seq: np.ndarray        # (N,) board sequence numbers

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def __getitem__(self, index) -> Block:
        """A slice (or boolean/integer index) of the block, still a Block."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 if index != -1 else None)
        return Block(self.t_s[index], self.counts[index], self.forces_n[index],
                     self.total_n[index], self.cop_x_mm[index], self.cop_y_mm[index],
                     self.status[index], self.seq[index])

    @classmethod
    def empty(cls) -> Block:
        return cls(np.zeros(0), np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0),
                   np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=np.int64))

    @classmethod
    def concat(cls, blocks: list[Block]) -> Block:
        blocks = [b for b in blocks if len(b)]
        if not blocks:
            return cls.empty()
        if len(blocks) == 1:
            return blocks[0]   # blocks are never written in place: sharing is safe
        return cls(*(np.concatenate([getattr(b, f) for b in blocks])
                     for f in ("t_s", "counts", "forces_n", "total_n", "cop_x_mm",
                               "cop_y_mm", "status", "seq")))


#: Up to this many samples :func:`process_for_display` converts in plain Python: the live view
#: gets one or two samples per drain, and a dozen numpy calls on one row cost more than the
#: arithmetic.
SMALL_BATCH = 8


def process(samples, calibration: Calibration,
            min_load_n: float = DEFAULT_MIN_LOAD_N) -> Block:
    """Apply the calibration to a list of Samples and compute total load and COP."""
    n = len(samples)
    if n == 0:
        return Block.empty()
    t_s = np.fromiter((s.t_s for s in samples), dtype=float, count=n)
    counts = np.array([s.counts for s in samples], dtype=float).reshape(n, 4)
    status = np.fromiter((s.status for s in samples), dtype=np.int64, count=n)
    seq = np.fromiter((s.seq for s in samples), dtype=np.int64, count=n)
    forces = calibration.forces_n(counts)
    total, x, y = cop_from_forces(forces, calibration.geometry, min_load_n=min_load_n)
    return Block(t_s, counts, forces, total, x, y, status, seq)


def process_for_display(samples, calibration: Calibration,
                        min_load_n: float = DEFAULT_MIN_LOAD_N) -> Block:
    """:func:`process` for what is only drawn (the live view): a few samples go through plain
    Python. Same formulas; the COP can differ from :func:`process` in the last bit (the BLAS
    dot product there adds in another order), so whatever is recorded or scored uses
    :func:`process`, which gives the same bits however the samples are chunked."""
    if 0 < len(samples) <= SMALL_BATCH:
        return _process_small(samples, calibration, min_load_n)
    return process(samples, calibration, min_load_n)


_NAN = float("nan")
#: The last calibration's numbers as Python floats (calibrations are frozen: identity is
#: enough to know they still apply).
_constants: tuple = (None, ())


def _process_small(samples, calibration: Calibration, min_load_n: float) -> Block:
    """One Python pass per sample into one array; see :func:`process_for_display`."""
    global _constants
    cal, consts = _constants    # one read: another thread may replace the pair meanwhile
    if cal is not calibration:
        geo = calibration.geometry
        consts = tuple(float(v) for v in (*calibration.offsets_counts,
                                           *calibration.gains_n_per_count,
                                           *geo.cell_x_mm, *geo.cell_y_mm))
        _constants = (calibration, consts)
    o0, o1, o2, o3, g0, g1, g2, g3, x0, x1, x2, x3, y0, y1, y2, y3 = consts
    nan = _NAN
    rows = []
    ints = []
    for s in samples:
        c0, c1, c2, c3 = s.counts
        f0, f1, f2, f3 = (c0 - o0) * g0, (c1 - o1) * g1, (c2 - o2) * g2, (c3 - o3) * g3
        total = f0 + f1 + f2 + f3
        if total >= min_load_n:
            x = (f0 * x0 + f1 * x1 + f2 * x2 + f3 * x3) / total
            y = (f0 * y0 + f1 * y1 + f2 * y2 + f3 * y3) / total
        else:
            x = y = nan
        rows.append((s.t_s, c0, c1, c2, c3, f0, f1, f2, f3, total, x, y))
        ints.append((s.status, s.seq))
    a = np.array(rows, dtype=float)
    i = np.array(ints, dtype=np.int64)
    return Block(a[:, 0], a[:, 1:5], a[:, 5:9], a[:, 9], a[:, 10], a[:, 11], i[:, 0], i[:, 1])
