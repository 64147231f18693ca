"""Samples as numpy columns: what the database stores and a raw CSV holds, one home for both.

It sits with :class:`~stancelab.board.source.Sample` (one sample) so that the files layer can
read a raw CSV into it without importing the database, and the storage layer can store it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def quantise_us(t_s):
    """Round times to whole microseconds the way the board clock produces them (us * 1e-6)."""
    if isinstance(t_s, np.ndarray):
        return np.round(t_s * 1e6).astype(np.int64) * 1e-6
    return round(t_s * 1e6) * 1e-6


@dataclass
class SampleArrays:
    """Samples of one trial as columns; phase/target are object arrays of str or None."""

    seq: np.ndarray        # int64
    t_s: np.ndarray        # float64
    t_host_s: np.ndarray   # float64
    counts: np.ndarray     # (N, 4) int64, channels FL FR BL BR
    status: np.ndarray     # int64
    phase: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> SampleArrays:
        i = np.zeros(0, np.int64)
        f = np.zeros(0, float)
        o = np.zeros(0, object)
        return cls(i, f, f.copy(), np.zeros((0, 4), np.int64), i.copy(), o, o.copy())

    @classmethod
    def from_samples(cls, samples, phase=None, target=None) -> SampleArrays:
        """From source.Sample objects; phase/target: one value for all, or one per sample."""
        samples = list(samples)
        n = len(samples)
        if n == 0:
            return cls.empty()
        return cls(np.array([s.seq for s in samples], np.int64),
                   quantise_us(np.array([s.t_s for s in samples], float)),
                   quantise_us(np.array([s.t_host_s for s in samples], float)),
                   np.array([s.counts for s in samples], np.int64),
                   np.array([s.status for s in samples], np.int64),
                   _text_column(phase, n), _text_column(target, n))

    @classmethod
    def concat(cls, parts: list[SampleArrays]) -> SampleArrays:
        """The parts one after the other (e.g. a trial read from the database in steps)."""
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, k) for p in parts])
                     for k in ("seq", "t_s", "t_host_s", "counts", "status", "phase",
                               "target")))

    def equals(self, other: SampleArrays) -> bool:
        return (len(self) == len(other)
                and all(np.array_equal(getattr(self, k), getattr(other, k))
                        for k in ("seq", "t_s", "t_host_s", "counts", "status"))
                and list(self.phase) == list(other.phase)
                and list(self.target) == list(other.target))


def _text_column(value, n: int) -> np.ndarray:
    out = np.empty(n, object)
    if value is None or isinstance(value, str):
        out[:] = value or None
    else:
        values = list(value)
        if len(values) != n:
            raise ValueError(f"expected {n} phase/target values, got {len(values)}")
        out[:] = [v or None for v in values]
    return out
