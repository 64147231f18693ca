"""Four HX711 chips sharing one SCK line: conversions, counts, noise, drift and faults.

Each chip runs on its own internal oscillator, so its conversion rate differs slightly from the
nominal 10 or 80 SPS (the datasheet gives no tolerance; boards seen in practice differ by about
+-0.5 %). The firmware reads all four chips at each frame; a chip that has not finished a new
conversion since the previous frame repeats its last value and is flagged NOT_READY, and one whose
DOUT has not fallen for more than 1 s is flagged TIMED_OUT, exactly as docs/protocol.md says.

Everything is vectorised over frame times so that an hour of 80 SPS data takes well under a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stancelab.board import protocol

#: Input-referred noise of the HX711 at gain 128 (datasheet: 50 nV rms at 10 SPS, 90 nV rms at
#: 80 SPS) is ~22 / ~39 counts at AVDD = 5 V (2^23 counts per 0.5 * 5 V / 128 = 19.5 mV).
NOISE_COUNTS_RMS_80SPS = 40.0
NOISE_RATIO_10_TO_80 = 50.0 / 90.0
#: Output settling after power-up or a rate change (datasheet).
SETTLE_S = {10: 0.4, 80: 0.05}
TIMEOUT_S = 1.0
NOMINAL_COUNTS_PER_N = 2189.9

FAULT_KINDS = ("dead", "saturated", "drift", "gain")


@dataclass(frozen=True)
class ChannelFault:
    """A chip or load-cell failure from ``at_s`` (board time, s) on.

    - ``dead``: the chip stops converting (DOUT stays high): value frozen, NOT_READY, and
      TIMED_OUT once more than 1 s has passed since its last conversion;
    - ``saturated``: the bridge reads full scale (a broken excitation or signal wire);
    - ``drift``: an extra drift of ``value`` counts/s (a failing cell or a wet connector);
    - ``gain``: the sensitivity is multiplied by ``value`` (a cell of the wrong capacity).
    """

    kind: str
    at_s: float = 0.0
    value: float = 0.0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")


LoadFn = Callable[[np.ndarray], np.ndarray]


class HX711Bank:
    """The four chips of a board. Times are true (athlete) time in seconds."""

    def __init__(self, load_fn: LoadFn, *, counts_per_n, offsets_counts, noise_counts_rms,
                 drift_counts_per_s, rate_tolerance, seed: int, faults=None) -> None:
        self.load_fn = load_fn
        self.counts_per_n = np.asarray(counts_per_n, dtype=float).reshape(4)
        self.offsets_counts = np.asarray(offsets_counts, dtype=float).reshape(4)
        self.drift_counts_per_s = np.asarray(drift_counts_per_s, dtype=float).reshape(4)
        self.noise_counts_rms_80 = float(noise_counts_rms)
        self.faults: dict[int, ChannelFault] = dict(faults or {})
        for ch in self.faults:
            if ch not in range(4):
                raise ValueError(f"fault channel must be 0..3, not {ch!r}")
        ss = np.random.SeedSequence(seed)
        osc_ss, *noise_ss = ss.spawn(5)
        # One random stream per chip: the noise does not depend on how time is chunked.
        self._noise_rng = [np.random.default_rng(s) for s in noise_ss]
        self.rate_error = np.random.default_rng(osc_ss).uniform(-rate_tolerance, rate_tolerance, 4)
        self.rate_sps = 80
        self._anchor_s = np.zeros(4)
        self._rate = np.full(4, 80.0)
        self._last_n = np.zeros(4, dtype=np.int64)
        self._last_value = np.zeros(4, dtype=np.int64)
        self._last_conv_s = np.zeros(4)
        self._last_t_s = 0.0

    @property
    def noise_counts_rms(self) -> float:
        ratio = 1.0 if self.rate_sps == 80 else NOISE_RATIO_10_TO_80
        return self.noise_counts_rms_80 * ratio

    def power_up(self, rate_sps: int, t_s: float) -> None:
        """Chips (re)start converting; the first output is ready after the settling time."""
        self._last_conv_s[:] = t_s
        self._last_value[:] = 0
        self.set_rate(rate_sps, t_s)

    def set_rate(self, rate_sps: int, t_s: float) -> None:
        self.rate_sps = int(rate_sps)
        self._rate = rate_sps * (1.0 + self.rate_error)
        # Conversion j (j >= 1) completes at anchor + j / rate; j = 1 after the settling time.
        self._anchor_s = t_s + SETTLE_S[self.rate_sps] - 1.0 / self._rate
        self._last_n[:] = 0

    def read(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Counts (N, 4) int64 and status (N,) int64 for frames read at increasing times t_s."""
        t_s = np.asarray(t_s, dtype=float)
        n_frames = len(t_s)
        counts = np.empty((n_frames, 4), dtype=np.int64)
        status = np.zeros(n_frames, dtype=np.int64)
        if n_frames == 0:
            return counts, status
        per_chip = []
        for c in range(4):
            tt = t_s
            fault = self.faults.get(c)
            if fault is not None and fault.kind == "dead":
                tt = np.minimum(t_s, fault.at_s)
            n = np.floor((tt - self._anchor_s[c]) * self._rate[c]).astype(np.int64)
            n = np.maximum.accumulate(np.maximum(n, self._last_n[c]))
            new = n > np.concatenate(([self._last_n[c]], n[:-1]))
            t_conv = self._anchor_s[c] + n[new] / self._rate[c]
            per_chip.append((n, new, t_conv))
        all_t = np.unique(np.concatenate([p[2] for p in per_chip]))
        loads_n = np.asarray(self.load_fn(all_t), dtype=float).reshape(len(all_t), 4) \
            if len(all_t) else np.zeros((0, 4))
        noise_rms = self.noise_counts_rms
        for c, (n, new, t_conv) in enumerate(per_chip):
            load = loads_n[np.searchsorted(all_t, t_conv), c]
            gain = np.full(len(t_conv), self.counts_per_n[c])
            value = self.offsets_counts[c] + self.drift_counts_per_s[c] * t_conv
            fault = self.faults.get(c)
            if fault is not None and len(t_conv):
                hit = t_conv >= fault.at_s
                if fault.kind == "gain":
                    gain[hit] *= fault.value
                elif fault.kind == "drift":
                    value[hit] += fault.value * (t_conv[hit] - fault.at_s)
            value = value + gain * load + noise_rms * self._noise_rng[c].standard_normal(len(t_conv))
            if fault is not None and fault.kind == "saturated":
                value[t_conv >= fault.at_s] = protocol.COUNT_MAX
            conv_counts = np.clip(np.rint(value), protocol.COUNT_MIN, protocol.COUNT_MAX)
            pick = np.cumsum(new)
            counts[:, c] = np.concatenate(([self._last_value[c]], conv_counts.astype(np.int64)))[pick]
            last_conv = np.concatenate(([self._last_conv_s[c]], t_conv))[pick]
            bits = np.where(new, 0, protocol.ST_NOT_READY)
            bits = bits | np.where(t_s - last_conv > TIMEOUT_S, protocol.ST_TIMED_OUT, 0)
            sat = (counts[:, c] >= protocol.COUNT_MAX) | (counts[:, c] <= protocol.COUNT_MIN)
            bits = bits | np.where(sat, protocol.ST_SATURATED, 0)
            status |= bits << (4 * c)
            self._last_n[c] = n[-1]
            self._last_value[c] = counts[-1, c]
            self._last_conv_s[c] = last_conv[-1]
        self._last_t_s = float(t_s[-1])
        return counts, status
