"""Rep detectors: streaming state machines over the vertical force, one sample at a time.

The board measures the vertical ground reaction force F; with the athlete's weight W (from the
steady stance before the set), a = (F / W - 1) g is the vertical acceleration of the centre of
mass (Newton's second law; Linthorne 2001, Am J Phys 69:1198). A squat or a hinge lowers the
COM and raises it again, so its force goes below W (unweighting: accelerating down), above W
(braking the descent and starting the ascent, the re-weighting) and below W again (braking the
ascent) before it is still. :class:`MovementReps` finds that down - up - down pattern;
:class:`StepUpReps` finds the load-on and step-down of a step-up. Both keep time only from the
samples. Touchdowns of the other foot (the load falls below a share of W) are tracked by both.
Thresholds: exercises.settings.RepSettings; definitions and their limits: docs/exercises.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from stancelab.exercises.settings import RepSettings


@dataclass
class RepTimes:
    """When a rep happened, as the detector saw it (its metrics come from exercises.scoring)."""

    start_s: float
    end_s: float = math.nan
    bottom_s: float | None = None     # squat / RDL: the descent was braked (re-weighting)
    loaded_s: float | None = None     # step-up: the load reached the on-share of body weight
    knee_drive_s: float | None = None  # RDL: the knee drive's upward push
    depth_m: float = 0.0              # squat / RDL: how far the COM went down
    touchdowns: list = field(default_factory=list)   # (start_s, end_s) during the rep
    timed_out: bool = False


class _Touchdowns:
    """The other foot down: load below touchdown_share of body weight for touchdown_s; over when
    it is back above that share + 5 %."""

    def __init__(self, cfg: RepSettings):
        self.cfg = cfg
        self.low_since: float | None = None
        self.active_since: float | None = None
        self.done: list[tuple[float, float]] = []

    def step(self, t: float, share: float) -> str | None:
        cfg = self.cfg
        if self.active_since is not None:
            if share >= cfg.touchdown_share + 0.05:
                self.done.append((self.active_since, t))
                self.active_since = None
                self.low_since = None
                return "end"
            return None
        if share < cfg.touchdown_share:
            if self.low_since is None:
                self.low_since = t
            if t - self.low_since >= cfg.touchdown_s:
                self.active_since = self.low_since
                return "start"
        else:
            self.low_since = None
        return None


class MovementReps:
    """Squat and RDL reps from the vertical COM velocity and the load share.

    The velocity ``v`` is the COM acceleration a = (F / W - 1) g integrated with a leak
    (time constant RepSettings.leak_s): a standing athlete's velocity is zero, so the leak removes
    the drift a small error in W would cause without changing a movement of a few seconds much.
    still -> down (v < -move_speed for sustain_s) -> up (v > +move_speed for sustain_s: the
    descent was braked and the athlete rises) -> the rep ends when the rise is over (v back
    below move_speed / 3). The depth is the area of the descent's velocity. A descent that is
    not followed by a rise within max_rep_s was no rep. A touchdown during a rep marks it; the
    rep then ends once the load is back and the COM still."""

    def __init__(self, cfg: RepSettings, knee_drive: bool = False):
        self.cfg = cfg
        self.knee_drive = knee_drive
        self.state = "still"
        self.rep: RepTimes | None = None
        self.td = _Touchdowns(cfg)
        self._since = 0.0
        self._below: float | None = None
        self._above: float | None = None
        self._quiet: float | None = None
        self._last_level = -math.inf    # last time v >= -move_speed / 3 (before a descent)
        self._refractory_until = -math.inf
        self._t_prev: float | None = None
        self._pre_m = 0.0
        self._level_since: float | None = None
        self._risen_since: float | None = None
        self.v = 0.0

    @property
    def in_rep(self) -> bool:
        return self.rep is not None

    @property
    def confirmed(self) -> bool:
        """A rep is under way and has gone past its descent (not a false start)."""
        return self.rep is not None and self.state != "down"

    def _to(self, state: str, t: float) -> None:
        self.state, self._since = state, t
        self._level_since = self._risen_since = None

    def step(self, t: float, a: float, share: float, a_fast: float | None = None
             ) -> RepTimes | None:
        """Advance one sample; returns the rep that ended at this sample, if any. ``a``: the
        COM acceleration (lightly smoothed); ``a_fast`` is not used here."""
        cfg = self.cfg
        dt = 0.0 if self._t_prev is None else t - self._t_prev
        self._t_prev = t
        if self.td.active_since is not None:
            self.v = 0.0        # the floor takes weight: the force says nothing of the COM
        else:
            self.v += (a - self.v / cfg.leak_s) * dt
        v, thr = self.v, cfg.move_speed
        self._below = (self._below if self._below is not None else t) if v < -thr else None
        self._above = (self._above if self._above is not None else t) if v > thr else None
        self._quiet = (self._quiet if self._quiet is not None else t) \
            if abs(v) < thr / 2 else None
        level = v >= -thr / 3
        td = self.td.step(t, share)
        if td == "start" and self.rep is not None:
            self._to("recover", t)
        elif td == "end" and self.rep is not None:
            self.rep.touchdowns.append(self.td.done[-1])
        below = self._below is not None and t - self._below >= cfg.sustain_s
        above = self._above is not None and t - self._above >= cfg.sustain_s
        st = self.state
        if st == "still":
            if level:
                self._last_level = t
                self._pre_m = 0.0
            else:
                self._pre_m += -v * dt      # the descent so far, before it is confirmed
            if below and self.td.active_since is None and t >= self._refractory_until:
                self.rep = RepTimes(start_s=max(self._last_level, self._since),
                                    depth_m=self._pre_m)
                self._to("down", t)
            return None
        rep = self.rep
        if st == "down":
            if v < 0:
                rep.depth_m += -v * dt
            if level:
                self._last_level = t
                self._pre_m = 0.0
            else:
                self._pre_m += -v * dt
                if below and self._last_level > rep.start_s:
                    # it stopped, then went down again: the rep starts now
                    rep.start_s, rep.depth_m = self._last_level, self._pre_m
            self._level_since = (self._level_since if self._level_since is not None else t) \
                if abs(v) < thr / 2 else None
            if above:
                rep.bottom_s = self._above
                self._to("up", t)
            elif self._level_since is not None and t - self._level_since >= 5 * cfg.settle_s:
                self.rep = None                    # stopped without rising: no rep
                self._to("still", t)
            elif t - rep.start_s > cfg.max_rep_s / 2:
                self.rep = None                    # never rose again: no rep
                self._to("still", t)
        elif st == "up":
            if self.knee_drive and rep.knee_drive_s is None and a > cfg.knee_drive_accel:
                rep.knee_drive_s = t
            self._risen_since = (self._risen_since if self._risen_since is not None else t) \
                if v < thr / 3 else None
            if self._risen_since is not None and t - self._risen_since >= cfg.settle_s:
                if self.knee_drive and rep.knee_drive_s is None and t - self._since < 1.5:
                    return None     # the knee drive may still come: it ends the RDL
                return self._end(t, end_s=self._risen_since)
            if t - rep.start_s > cfg.max_rep_s:
                rep.timed_out = True
                return self._end(t)
        elif st == "recover":
            quiet = t - self._quiet if self._quiet is not None else -1.0
            if self.td.active_since is None and quiet >= cfg.settle_s:
                return self._end(t, end_s=self._quiet)
        return None

    def _end(self, t: float, end_s: float | None = None) -> RepTimes:
        rep = self.rep
        rep.end_s = t if end_s is None else end_s
        if self.td.active_since is not None:
            rep.touchdowns.append((self.td.active_since, t))
        self.rep = None
        self._refractory_until = t + self.cfg.settle_s
        self._last_level = t
        self.v = 0.0       # still at the end of a rep (and no high-pass undershoot after it)
        self._to("still", t)
        return rep


class StepUpReps:
    """Step-up reps from the load share: off the board, load-on, (hold), step-down."""

    def __init__(self, cfg: RepSettings):
        self.cfg = cfg
        self.state = "on"               # the set starts standing on the board (the weigh-in)
        self.rep: RepTimes | None = None
        self._off_since: float | None = None
        self._dip_since: float | None = None
        self.touchdowns: list[tuple[float, float]] = []

    @property
    def in_rep(self) -> bool:
        return self.rep is not None

    def step(self, t: float, a: float, share: float, a_fast: float | None = None
             ) -> RepTimes | None:
        cfg = self.cfg
        if self.state == "on":
            loading = self.rep is not None and self.rep.loaded_s is None
            if share < cfg.touchdown_share and not (loading and share >= cfg.off_share):
                if self._dip_since is None:
                    self._dip_since = t
                if share < cfg.off_share:
                    if self._off_since is None:
                        self._off_since = t
                    if t - self._off_since >= 0.2:   # stepped down: the rep ends at the dip
                        end, self._dip_since, self._off_since = self._dip_since, None, None
                        self.state = "off"
                        if self.rep is not None:
                            rep, self.rep = self.rep, None
                            rep.end_s = end
                            return rep
                        return None
                else:
                    self._off_since = None
            else:
                if self._dip_since is not None and share >= cfg.touchdown_share + 0.05:
                    if t - self._dip_since >= cfg.touchdown_s and self.rep is not None:
                        self.rep.touchdowns.append((self._dip_since, t))
                        self.touchdowns.append((self._dip_since, t))
                    self._dip_since = None
                    self._off_since = None
                if self.rep is not None and self.rep.loaded_s is None and share >= cfg.on_share:
                    self.rep.loaded_s = t
            if self.rep is not None and t - self.rep.start_s > cfg.max_rep_s + 20:
                rep, self.rep = self.rep, None
                rep.end_s, rep.timed_out = t, True
                return rep
        elif self.state == "off" and share >= 0.5:
            # load-on: half the body weight is on the stance foot
            self.rep = RepTimes(start_s=t)
            self.state = "on"
            self._dip_since = self._off_since = None
            if share >= cfg.on_share:
                self.rep.loaded_s = t
        return None
