"""Sensor health: name a dead, saturated, drifting or mis-scaled load cell by its corner.

A broken cell does not stop the data: it bends it. A dead chip repeats its last value, a broken
wire reads full scale, a wet connector drifts, a cell of the wrong capacity scales its corner.
Every one of these moves the COP and would be scored as sway, so the monitor watches the same
processed blocks the drills get and says which corner is wrong and what to do about it.

- Live, from every block: *dead* (the board's TIMED_OUT bit, or counts frozen for
  ``frozen_s``: a healthy HX711 never repeats a value that long, its noise is ~40 counts rms) and
  *saturated* (the SATURATED bit or counts at the 24-bit rails for ``saturated_samples``).
- Whenever the board is empty for a few seconds: each corner's *drift* (force slope) and its
  *offset* from the tare.
- With a known body mass, while the athlete shifts weight: each corner's *gain*, from the least
  squares fit of m g = sum_i k_i F_i. A cell that reads 8 % low has k = 1 / 0.92; the check uses
  each k relative to the other three, so shoes and clothes (a common scale) do not name a corner.

:func:`pretrial_check` runs the same checks on an empty-board hold and a short guided weight
shift. Scoring asks :meth:`HealthMonitor.faults_between` / :meth:`HealthMonitor.quality_flags`
whether a trial was recorded through a fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from stancelab.board import protocol
from stancelab.calibration import Calibration
from stancelab.geometry import CHANNEL_NAMES, G
from stancelab.processing import Block, process

DEAD, SATURATED, DRIFT, OFFSET, GAIN, LOAD = "dead", "saturated", "drift", "offset", "gain", "load"
KINDS = (DEAD, SATURATED, DRIFT, OFFSET, GAIN, LOAD)


@dataclass(frozen=True)
class Thresholds:
    #: A value unchanged this long (and over at least ``frozen_samples`` samples) is a dead chip.
    frozen_s: float = 0.5
    frozen_samples: int = 5
    #: Consecutive samples at a rail (or flagged SATURATED) before a cell is called saturated.
    saturated_samples: int = 3
    #: Empty board: every corner below this force (N), for at least ``empty_s`` seconds.
    empty_max_n: float = 60.0
    empty_s: float = 3.0
    #: Samples this close to a load change are not used for the empty-board checks (s).
    empty_margin_s: float = 0.5
    #: Force slope (N/s) with the board empty that counts as drifting; normal thermal drift of
    #: the cells is ~1e-4 N/s, a wet connector or failing cell 0.01-1 N/s.
    drift_n_per_s: float = 0.01
    #: Force (N) with the board empty, from a stale tare.
    offset_n: float = 5.0
    #: A corner's gain relative to the other three beyond this fraction is wrong.
    gain_rel: float = 0.04
    #: ... and the fit must be this many standard errors away (enough weight shift seen).
    gain_sigmas: float = 6.0
    #: Total load off the known body mass by more than this fraction (scale, no corner).
    load_rel: float = 0.06
    #: Samples with at least this fraction of body weight count as loaded (pre-trial check).
    gain_min_load: float = 0.7
    #: Live gain fit: samples within this fraction of body weight, for ``gain_settle_s``.
    gain_band: float = 0.15
    gain_settle_s: float = 1.0
    #: Seconds of weight-bearing history kept for the gain fit, and the least it needs.
    gain_window_s: float = 20.0
    gain_min_s: float = 3.0


@dataclass(frozen=True)
class Fault:
    kind: str
    channel: int | None      # 0..3 (FL, FR, BL, BR), None for the whole board
    since_t_s: float         # onset, sample time
    detected_t_s: float      # when the evidence was sufficient
    advice: str
    value: float = math.nan  # what was measured: gain ratio, N/s, N, fraction
    until_t_s: float | None = None   # set when the condition went away

    @property
    def corner(self) -> str:
        return "whole board" if self.channel is None else CHANNEL_NAMES[self.channel]

    def __str__(self) -> str:
        return f"{self.kind} ({self.corner}) since {self.since_t_s:.2f} s: {self.advice}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "corner": self.corner, "since_t_s": round(self.since_t_s, 3),
                "until_t_s": None if self.until_t_s is None else round(self.until_t_s, 3),
                "value": None if math.isnan(self.value) else round(float(self.value), 4),
                "advice": self.advice}


def advice(kind: str, channel: int | None, value: float = math.nan) -> str:
    """What to tell the coach, naming the corner and the fix."""
    name = "board" if channel is None else CHANNEL_NAMES[channel]
    if kind == DEAD:
        return (f"the {name} load cell stopped answering: check the {name} cable and connector "
                "(and that its HX711 has power), then restart the board")
    if kind == SATURATED:
        return (f"the {name} load cell reads full scale: check the {name} cable for a broken "
                "wire, and that nothing presses on that corner")
    if kind == DRIFT:
        return (f"the {name} load cell is drifting ({value:+.3f} N/s): check the {name} cable and "
                "connector for moisture or a loose screw, let it settle and re-tare; replace the "
                "cell if it keeps drifting")
    if kind == OFFSET:
        return (f"the {name} corner reads {value:+.1f} N with the board empty: re-tare with the "
                "board empty")
    if kind == GAIN:
        pct = (1.0 / value - 1.0) * 100.0
        return (f"recalibrate: the {name} cell reads {abs(pct):.0f} % "
                f"{'low' if pct < 0 else 'high'} (check it is the right capacity and sits flat)")
    if kind == LOAD:
        return (f"the board reads {abs(value) * 100:.0f} % {'heavy' if value > 0 else 'light'} "
                "for the entered body mass: check the mass entered, re-tare with the board empty, "
                "then recalibrate")
    raise ValueError(f"unknown fault kind {kind!r}")


# ---------------------------------------------------------------- checks on a stretch of data

def empty_board_faults(block: Block, th: Thresholds = Thresholds()) -> list[Fault]:
    """Drift and offset per corner from samples taken with the board empty."""
    t = np.asarray(block.t_s, float)
    if len(t) < 8:
        return []
    f = np.asarray(block.forces_n, float)
    tc = t - t.mean()
    slope = (tc @ (f - f.mean(axis=0))) / float(tc @ tc)
    mean = f.mean(axis=0)
    t0, t1 = float(t[0]), float(t[-1])
    out = []
    for ch in range(4):
        if abs(slope[ch]) > th.drift_n_per_s:
            out.append(Fault(DRIFT, ch, t0, t1, advice(DRIFT, ch, slope[ch]), float(slope[ch])))
        elif abs(mean[ch]) > th.offset_n:
            out.append(Fault(OFFSET, ch, t0, t1, advice(OFFSET, ch, mean[ch]), float(mean[ch])))
    return out


@dataclass(frozen=True)
class GainEstimate:
    k: np.ndarray            # (4,) true/measured force per corner, scale set by the body mass
    se: np.ndarray           # (4,) standard errors
    relative: np.ndarray     # (4,) k_i / mean of the other three
    scale: float             # mean k: the board's overall reading vs the body mass
    n: int


def estimate_gains(forces_n, weight_n: float) -> GainEstimate | None:
    """Least squares k in weight = sum_i k_i F_i over weight-bearing samples."""
    f = np.asarray(forces_n, float)
    if len(f) < 10:
        return None
    k, *_ = np.linalg.lstsq(f, np.full(len(f), weight_n), rcond=None)
    resid = f @ k - weight_n
    # One robust pass: a toe touching the floor or a hop is not a gain; drop > 3.5 MAD-sigma.
    mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    inlier = np.abs(resid) <= 3.5 * max(mad, 1e-9)
    if inlier.sum() >= 10 and not inlier.all():
        f = f[inlier]
        k, *_ = np.linalg.lstsq(f, np.full(len(f), weight_n), rcond=None)
        resid = f @ k - weight_n
    dof = max(len(f) - 4, 1)
    s2 = float(resid @ resid) / dof
    try:
        cov = s2 * np.linalg.inv(f.T @ f)
    except np.linalg.LinAlgError:
        return None
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    others = (k.sum() - k) / 3.0
    return GainEstimate(k, se, k / others, float(k.mean()), len(f))


def gain_faults(est: GainEstimate | None, t0: float, t1: float,
                th: Thresholds = Thresholds()) -> list[Fault]:
    """The corner whose gain stands out from the other three, if the fit is sure of it."""
    if est is None:
        return []
    dev = est.relative - 1.0
    # Standard error of the relative gain, dominated by the corner's own k.
    se_rel = est.se / np.maximum(np.abs((est.k.sum() - est.k) / 3.0), 1e-12)
    sure = (np.abs(dev) > th.gain_rel) & (np.abs(dev) > th.gain_sigmas * se_rel) \
        & (est.relative > 0.5) & (est.relative < 2.0)   # outside: not a gain, a broken fit
    if not sure.any():
        return []
    ch = int(np.argmax(np.where(sure, np.abs(dev), -1.0)))
    return [Fault(GAIN, ch, t0, t1, advice(GAIN, ch, float(est.relative[ch])),
                  float(est.relative[ch]))]


# ---------------------------------------------------------------- the live monitor

#: The gain fit takes one sample per 1/GAIN_FIT_HZ: the load noise (body sway's vertical
#: acceleration, below ~3 Hz) is then about independent from row to row, so the least-squares
#: standard errors mean what they say.
GAIN_FIT_HZ = 5.0


def _decimate(t: np.ndarray, next_slot: float) -> np.ndarray:
    """True for the first sample in each 1/GAIN_FIT_HZ slot not yet taken."""
    slot = np.floor(t * GAIN_FIT_HZ)
    first = np.r_[True, slot[1:] != slot[:-1]] if len(t) else np.zeros(0, bool)
    return first & (slot >= next_slot)


def _status_bits(status: np.ndarray, ch: int, bit: int) -> np.ndarray:
    return ((np.asarray(status, np.int64) >> (4 * ch)) & bit) != 0


@dataclass
class _Channel:
    value: float | None = None     # last count
    value_t0: float = 0.0          # when the current value first appeared
    value_n: int = 0               # samples with the current value
    sat_n: int = 0                 # consecutive saturated samples
    sat_t0: float = 0.0


@dataclass
class HealthMonitor:
    """Fed processed blocks in order; keeps the active faults and their history."""

    calibration: Calibration | None = None
    body_mass_kg: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        self._ch = [_Channel() for _ in range(4)]
        self._active: dict[tuple[str, int | None], Fault] = {}
        self.history: list[Fault] = []      # every fault raised, with until_t_s once cleared
        self._empty: list[Block] = []
        self._empty_t0: float | None = None
        self._empty_checked_t = -math.inf
        self._gain_f: list[np.ndarray] = []
        self._gain_t: list[np.ndarray] = []
        self._gain_checked_t = -math.inf
        self._gain_next_t = -math.inf      # next 1/GAIN_FIT_HZ slot, in slots
        self._loaded_since: float | None = None
        self.last_t_s: float | None = None

    # ---------------------------------------------------------------- queries
    @property
    def active(self) -> list[Fault]:
        return list(self._active.values())

    @property
    def ok(self) -> bool:
        return not self._active

    def faults_between(self, t0: float | None = None, t1: float | None = None) -> list[Fault]:
        """Faults whose active span overlaps [t0, t1] (sample time); None is open-ended."""
        lo = -math.inf if t0 is None else t0
        hi = math.inf if t1 is None else t1
        return [f for f in self.history
                if f.since_t_s <= hi and (f.until_t_s is None or f.until_t_s >= lo)]

    def quality_flags(self, t0: float | None = None, t1: float | None = None) -> dict:
        """What a trial's metrics should carry: whether the data can be scored, and why not."""
        faults = self.faults_between(t0, t1)
        return {"sensor_ok": not faults,
                "sensor_faults": [f.to_dict() for f in faults],
                "sensor_advice": sorted({f.advice for f in faults})}

    # ---------------------------------------------------------------- raising and clearing
    def report(self, fault: Fault) -> Fault | None:
        """Record a fault (from the live checks, or from :func:`pretrial_check`)."""
        key = (fault.kind, fault.channel)
        if key in self._active:
            return None
        if fault.kind in (DEAD, SATURATED):
            self._forget_gain_data(fault.since_t_s)
        self._active[key] = fault
        self.history.append(fault)
        return fault

    def _clear(self, kind: str, channel: int | None, t: float) -> None:
        fault = self._active.pop((kind, channel), None)
        if fault is not None:
            i = next(i for i in range(len(self.history) - 1, -1, -1)
                     if self.history[i] is fault)
            self.history[i] = replace(fault, until_t_s=t)

    # ---------------------------------------------------------------- feeding
    def feed_samples(self, samples) -> list[Fault]:
        """Raw Samples (counts and status) through this monitor's calibration."""
        if self.calibration is None:
            raise ValueError("HealthMonitor.feed_samples needs a calibration; pass "
                             "HealthMonitor(calibration=...) or feed processed blocks")
        return self.feed(process(samples, self.calibration))

    def feed(self, block: Block) -> list[Fault]:
        """Check the block; returns the faults raised by it."""
        n = len(block)
        if n == 0:
            return []
        t = np.asarray(block.t_s, float)
        counts = np.asarray(block.counts, float)
        new: list[Fault] = []
        for ch in range(4):
            new += self._stuck_and_rails(ch, t, counts[:, ch], block.status)
        new += self._empty_checks(block)
        new += self._gain_checks(block)
        self.last_t_s = float(t[-1])
        return new

    def _stuck_and_rails(self, ch: int, t, c, status) -> list[Fault]:
        th, st = self.thresholds, self._ch[ch]
        out = []
        timed_out = _status_bits(status, ch, protocol.ST_TIMED_OUT)
        rail = _status_bits(status, ch, protocol.ST_SATURATED) | (c >= protocol.COUNT_MAX) \
            | (c <= protocol.COUNT_MIN)
        for i in range(len(t)):   # blocks are a few dozen samples; the state is per sample
            ti, ci = float(t[i]), float(c[i])
            if st.value is None or ci != st.value:
                st.value, st.value_t0, st.value_n = ci, ti, 1
                if (DEAD, ch) in self._active and not timed_out[i]:
                    self._clear(DEAD, ch, ti)
            else:
                st.value_n += 1
            if rail[i]:
                if st.sat_n == 0:
                    st.sat_t0 = ti
                st.sat_n += 1
                if st.sat_n >= th.saturated_samples:
                    f = self.report(Fault(SATURATED, ch, st.sat_t0, ti, advice(SATURATED, ch)))
                    out += [f] if f else []
                continue   # a value pinned at a rail is saturation, not a dead chip
            if st.sat_n:
                st.sat_n = 0
                self._clear(SATURATED, ch, ti)
            frozen = ti - st.value_t0 >= th.frozen_s and st.value_n >= th.frozen_samples
            if timed_out[i] or frozen:
                since = min(st.value_t0, ti - 1.0) if timed_out[i] else st.value_t0
                f = self.report(Fault(DEAD, ch, since, ti, advice(DEAD, ch)))
                out += [f] if f else []
        return out

    def _empty_checks(self, block: Block) -> list[Fault]:
        th = self.thresholds
        f = np.asarray(block.forces_n, float)
        empty = np.all(np.abs(f) < th.empty_max_n, axis=1)
        out: list[Fault] = []
        # Split into runs; a non-empty sample ends the current run.
        i = 0
        n = len(block)
        while i < n:
            j = i
            while j < n and empty[j] == empty[i]:
                j += 1
            if empty[i]:
                if self._empty_t0 is None:
                    self._empty_t0 = float(block.t_s[i])
                self._empty.append(block[i:j])
            else:
                self._empty, self._empty_t0 = [], None
            i = j
        if self._empty_t0 is None:
            return out
        t_now = float(block.t_s[-1])
        if t_now - self._empty_t0 < th.empty_s + 2 * th.empty_margin_s \
                or t_now - self._empty_checked_t < 1.0:
            return out
        self._empty_checked_t = t_now
        run = Block.concat(self._empty)
        keep = (run.t_s >= self._empty_t0 + th.empty_margin_s) \
            & (run.t_s <= t_now - th.empty_margin_s) & (run.t_s >= t_now - 10.0)
        self._empty = [run[run.t_s >= t_now - 12.0]]
        found = [f for f in empty_board_faults(run[keep], th) if self._healthy(f.channel)]
        self._clear_unless(found, (DRIFT, OFFSET), t_now)
        for fault in found:
            r = self.report(fault)
            out += [r] if r else []
        return out

    def _clear_unless(self, found: list[Fault], kinds, t: float) -> None:
        """A check ran again and did not find these: clear them (re-tared, recalibrated)."""
        still = {(f.kind, f.channel) for f in found}
        for key in [k for k in self._active if k[0] in kinds and k not in still]:
            self._clear(*key, t)

    def _settled(self, t: np.ndarray, total: np.ndarray, weight: float) -> np.ndarray:
        """Samples bearing about the body weight for ``gain_settle_s`` already: stepping on or
        off, a hop or a touchdown does not obey weight = sum k F and must not feed the fit."""
        th = self.thresholds
        ok = np.abs(total / weight - 1.0) <= th.gain_band
        out = np.zeros(len(t), bool)
        for i in range(len(t)):
            if not ok[i]:
                self._loaded_since = None
                continue
            if self._loaded_since is None:
                self._loaded_since = float(t[i])
            out[i] = t[i] - self._loaded_since >= th.gain_settle_s
        return out

    def _suspect(self, t_now: float) -> bool:
        """A channel on its way to a dead or saturated verdict: its data would bend the fit."""
        return any(st.sat_n or (st.value_n >= 3 and t_now - st.value_t0 >= 0.15)
                   for st in self._ch)

    def _forget_gain_data(self, since_t_s: float) -> None:
        t = np.concatenate(self._gain_t) if self._gain_t else np.zeros(0)
        f = np.concatenate(self._gain_f) if self._gain_f else np.zeros((0, 4))
        keep = t < since_t_s
        self._gain_t, self._gain_f = [t[keep]], [f[keep]]

    def _healthy(self, ch: int | None) -> bool:
        return not any(k in self._active for k in ((DEAD, ch), (SATURATED, ch)))

    def _gain_checks(self, block: Block) -> list[Fault]:
        if not self.body_mass_kg:
            return []
        th = self.thresholds
        weight = self.body_mass_kg * G
        t_block = np.asarray(block.t_s, float)
        use = self._settled(t_block, np.asarray(block.total_n, float), weight) \
            & _decimate(t_block, self._gain_next_t)
        if len(t_block):
            self._gain_next_t = math.floor(t_block[-1] * GAIN_FIT_HZ) + 1
        if use.any():
            self._gain_f.append(np.asarray(block.forces_n, float)[use])
            self._gain_t.append(t_block[use])
        t_now = float(block.t_s[-1])
        if not self._gain_t or t_now - self._gain_checked_t < 0.25:
            return []
        self._gain_checked_t = t_now
        t = np.concatenate(self._gain_t)
        f = np.concatenate(self._gain_f)
        keep = t >= t_now - th.gain_window_s
        t, f = t[keep], f[keep]
        self._gain_t, self._gain_f = [t], [f]
        if not all(self._healthy(ch) for ch in range(4)) or self._suspect(t_now) \
                or len(t) < th.gain_min_s * GAIN_FIT_HZ:
            return []
        out = []
        for fault in gain_faults(estimate_gains(f, weight), float(t[0]), t_now, th):
            old = self._active.get((GAIN, fault.channel))
            if old is not None:   # more weight shifts, a better estimate: refresh the advice
                better = replace(old, value=fault.value, advice=fault.advice)
                self._active[(GAIN, fault.channel)] = better
                self.history[self.history.index(old)] = better
                continue
            r = self.report(fault)
            out += [r] if r else []
        return out


# ---------------------------------------------------------------- the pre-trial check

@dataclass(frozen=True)
class PretrialReport:
    faults: list[Fault]
    offsets_n: np.ndarray | None        # mean force per corner with the board empty
    drift_n_per_s: np.ndarray | None    # force slope per corner with the board empty
    gains: GainEstimate | None          # from the weight shifts
    load_error: float | None            # total load / body weight - 1, during the stance

    @property
    def ok(self) -> bool:
        return not self.faults

    def summary(self) -> str:
        if self.ok:
            return "board check passed: all four corners read as expected"
        return "board check failed:\n" + "\n".join(f"- {f.advice}" for f in self.faults)


def pretrial_check(empty: Block | None, stance: Block | None, body_mass_kg: float | None,
                   thresholds: Thresholds = Thresholds(),
                   monitor: HealthMonitor | None = None) -> PretrialReport:
    """Check the board before trials: an empty-board hold (>= 3 s) for drift and the tare, and
    the athlete standing and shifting weight (centre, left, right, forward, back) for gains.

    Faults found are also reported to ``monitor`` so the session's quality flags carry them."""
    th = thresholds
    live = HealthMonitor(body_mass_kg=None, thresholds=th)
    faults: list[Fault] = []
    offsets = drift = None
    for b in (empty, stance):
        if b is not None and len(b):
            faults += [f for f in live.feed(b) if f.kind in (DEAD, SATURATED)]
    if empty is not None and len(empty) >= 8:
        t = empty.t_s
        keep = (t >= t[0] + th.empty_margin_s) & (t <= t[-1] - th.empty_margin_s)
        e = empty[keep] if keep.sum() >= 8 else empty
        f = np.asarray(e.forces_n, float)
        tc = e.t_s - e.t_s.mean()
        offsets = f.mean(axis=0)
        drift = (tc @ (f - offsets)) / float(tc @ tc)
        faults += [x for x in empty_board_faults(e, th) if live._healthy(x.channel)]
    gains = None
    load_error = None
    if stance is not None and len(stance) and body_mass_kg:
        weight = body_mass_kg * G
        loaded = np.asarray(stance.total_n) >= th.gain_min_load * weight
        if loaded.any():
            load_error = float(np.median(stance.total_n[loaded]) / weight - 1.0)
        if all(live._healthy(ch) for ch in range(4)):
            t = np.asarray(stance.t_s, float)
            use = live._settled(t, np.asarray(stance.total_n, float), weight) \
                & _decimate(t, -math.inf)
            gains = estimate_gains(stance.forces_n[use], weight)
            t0 = float(stance.t_s[0])
            t1 = float(stance.t_s[-1])
            found = gain_faults(gains, t0, t1, th)
            faults += found
            if not found and load_error is not None and abs(load_error) > th.load_rel:
                faults.append(Fault(LOAD, None, t0, t1, advice(LOAD, None, load_error),
                                    load_error))
    if monitor is not None:
        # What this check could judge and found fine clears an earlier verdict (re-tared,
        # recalibrated, mass corrected); what it found is reported.
        judged = ((DRIFT, OFFSET) if offsets is not None else ()) \
            + ((GAIN, LOAD) if gains is not None else ())
        ends = [float(b.t_s[-1]) for b in (empty, stance) if b is not None and len(b)]
        monitor._clear_unless(faults, judged, max(ends) if ends else 0.0)
        for f in faults:
            monitor.report(f)
    return PretrialReport(faults, offsets, drift, gains, load_error)
