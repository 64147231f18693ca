"""Raw samples to forces and centre of pressure, in one vectorised step.

This is the only place between a source and the drills/views where calibration is applied, so
every consumer sees the same numbers for the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import DEFAULT_MIN_LOAD_N, Calibration, cop_from_forces


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
        return cls(*(np.concatenate([getattr(b, f) for b in blocks])
                     for f in ("t_s", "counts", "forces_n", "total_n", "cop_x_mm",
                               "cop_y_mm", "status", "seq")))


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
