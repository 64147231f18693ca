"""Single-leg stand: stepping on, touchdowns of the lifted foot, stabilisation, steady sway.

Works on the raw samples (device timestamps, total load, COP with NaN when the board is
empty); the thresholds are parameters with the defaults documented in docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from stancelab.analysis.filters import DEFAULT_SETTINGS, AnalysisSettings, prepare
from stancelab.analysis.sway import SwayMetrics, sway_metrics
from stancelab.geometry import FootModel


@dataclass(frozen=True)
class SingleLegSettings:
    stand_load_share: float = 0.85      # stepped on: load first reaches this share of body weight
    touchdown_load_share: float = 0.85  # touchdown: load below this share (other foot on floor)
    jump_width_fraction: float = 1.0    # ...or the COP moves more than this many foot widths
    jump_window_s: float = 0.10         # ...within this time (other foot put on the board)
    merge_gap_s: float = 0.25           # flagged samples closer than this are one touchdown
    stab_window_s: float = 0.5          # moving window for the stabilisation test
    stab_factor: float = 1.5            # stable once the window RMS <= this x steady-state RMS
    min_steady_s: float = 2.0           # shortest steady part worth sway metrics
    window_s: float = 10.0              # sway also over this fixed window of steady stance

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SingleLegMetrics:
    stand_start_s: float
    time_held_s: float
    touchdowns: int
    touchdown_times_s: list
    time_to_stabilisation_s: float
    steady_start_s: float
    steady_end_s: float
    sway: SwayMetrics | None
    settings: dict = field(default_factory=dict)
    window_sway: SwayMetrics | None = None   # over the first window_s of steady stance
    window_reason: str | None = None         # why window_sway is absent

    def values(self) -> dict[str, float]:
        out = {"time_held_s": self.time_held_s, "touchdowns": float(self.touchdowns),
               "time_to_stabilisation_s": self.time_to_stabilisation_s}
        if self.sway is not None:
            out.update(self.sway.values())
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sway"] = self.sway.to_dict() if self.sway is not None else None
        d["window_sway"] = (self.window_sway.to_dict() if self.window_sway is not None
                            else None)
        return d


def touchdown_events(t_s, x_mm, y_mm, load_n, body_weight_n: float, foot: FootModel,
                     settings: SingleLegSettings = SingleLegSettings()) -> list[tuple[float, float]]:
    """(start_s, end_s) of each touchdown: load below the share of body weight, COP undefined,
    or the COP jumping by more than the foot-width threshold within the jump window."""
    t = np.asarray(t_s, dtype=float)
    x = np.asarray(x_mm, dtype=float)
    y = np.asarray(y_mm, dtype=float)
    load = np.asarray(load_n, dtype=float)
    flag = ~(load >= settings.touchdown_load_share * body_weight_n)  # NaN load counts as low
    flag |= ~(np.isfinite(x) & np.isfinite(y))
    j = np.searchsorted(t, t - settings.jump_window_s, side="left")
    with np.errstate(invalid="ignore"):
        jump = np.hypot(x - x[j], y - y[j]) > settings.jump_width_fraction * foot.width
    flag |= jump
    idx = np.flatnonzero(flag)
    if idx.size == 0:
        return []
    ft = t[idx]
    breaks = np.flatnonzero(np.diff(ft) > settings.merge_gap_s)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [idx.size - 1]])
    return [(float(ft[a]), float(ft[b])) for a, b in zip(starts, ends)]


def time_to_stabilisation(t_s, x_mm, y_mm, settings: SingleLegSettings = SingleLegSettings(),
                          analysis: AnalysisSettings = DEFAULT_SETTINGS) -> float:
    """Seconds from the first sample until the COP first settles.

    Reference: mean COP and RMS distance r_ss over the second half of the part. Settled at the
    start of the first window (stab_window_s) whose RMS distance from that mean is at most
    stab_factor * r_ss. NaN when the part is shorter than two windows."""
    p = prepare(t_s, x_mm, y_mm, analysis)
    n = p.x_mm.size
    w = round(settings.stab_window_s * p.fs_hz)
    if w < 2 or n < 2 * w:
        return float("nan")
    half = slice(n // 2, None)
    mx, my = p.x_mm[half].mean(), p.y_mm[half].mean()
    d2 = (p.x_mm - mx) ** 2 + (p.y_mm - my) ** 2
    r_ss = math.sqrt(float(d2[half].mean()))
    c = np.concatenate([[0.0], np.cumsum(d2)])
    window_rms = np.sqrt((c[w:] - c[:-w]) / w)
    ok = np.flatnonzero(window_rms <= settings.stab_factor * r_ss)
    return float(p.t_s[ok[0]] - p.t_s[0]) if ok.size else float("nan")


def single_leg_metrics(t_s, x_mm, y_mm, load_n, body_weight_n: float, foot: FootModel,
                       settings: SingleLegSettings = SingleLegSettings(),
                       analysis: AnalysisSettings = DEFAULT_SETTINGS) -> SingleLegMetrics:
    t = np.asarray(t_s, dtype=float)
    load = np.asarray(load_n, dtype=float)
    if body_weight_n <= 0:
        raise ValueError("body weight must be positive (enter the athlete's mass)")
    on = np.flatnonzero(load >= settings.stand_load_share * body_weight_n)
    if on.size == 0:
        raise ValueError(f"the load never reached {settings.stand_load_share:.0%} of body weight "
                         f"({body_weight_n:.0f} N): check the athlete's mass and that they "
                         "stood on one foot")
    i_on = int(on[0])
    t_on = float(t[i_on])
    sl = slice(i_on, None)
    events = touchdown_events(t[sl], np.asarray(x_mm, float)[sl], np.asarray(y_mm, float)[sl],
                              load[sl], body_weight_n, foot, settings)
    # A flag in the first jump window after stepping on is the step itself, not a touchdown.
    events = [e for e in events if e[1] > t_on + settings.jump_window_s]
    t_stop = events[0][0] if events else float(t[-1])
    held = max(0.0, t_stop - t_on)
    part = (t >= t_on) & (t <= t_stop)
    x_p = np.asarray(x_mm, float)[part]
    y_p = np.asarray(y_mm, float)[part]
    try:
        tts = time_to_stabilisation(t[part], x_p, y_p, settings, analysis)
    except ValueError:
        tts = float("nan")
    steady_start = t_on + (tts if math.isfinite(tts) else 0.0)
    sway = None
    if math.isfinite(tts) and t_stop - steady_start >= settings.min_steady_s:
        steady = (t >= steady_start) & (t <= t_stop)
        sway = sway_metrics(t[steady], np.asarray(x_mm, float)[steady],
                            np.asarray(y_mm, float)[steady], analysis)
    window_sway, window_reason = None, None
    if not math.isfinite(tts):
        window_reason = "the COP never settled (no time to stabilisation)"
    elif t_stop - steady_start < settings.window_s:
        window_reason = (f"steady stance lasted {max(0.0, t_stop - steady_start):.1f} s, less "
                         f"than the {settings.window_s:g} s window")
    else:
        w = (t >= steady_start) & (t <= steady_start + settings.window_s)
        window_sway = sway_metrics(t[w], np.asarray(x_mm, float)[w],
                                   np.asarray(y_mm, float)[w], analysis)
    return SingleLegMetrics(window_sway=window_sway, window_reason=window_reason,
                            stand_start_s=t_on, time_held_s=held, touchdowns=len(events),
                            touchdown_times_s=[e[0] for e in events],
                            time_to_stabilisation_s=tts, steady_start_s=steady_start,
                            steady_end_s=t_stop, sway=sway,
                            settings={"single_leg": settings.to_dict(),
                                      "analysis": analysis.to_dict()})
