"""The drill lifecycle shared by every drill: trials, lead-in, stepping off, rest, done.

A drill is a state machine fed processed blocks; it reads time only from the samples, so the
same samples always produce the same events. Each trial has a lead-in (WAITING for a steady
stance at body weight on the mark, then a COUNTDOWN that restarts on an early move), an ACTIVE
part the concrete drill implements, and then REST before the next trial. Samples fed while a
trial is open belong to it, including its lead-in and the rest before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stancelab.drills.events import (
    Aborted,
    DrillDone,
    DrillWarning,
    Event,
    Instruction,
    Phase,
    PhaseChanged,
    Progress,
    TrialDone,
    TrialResult,
    TrialStarted,
)
from stancelab.drills.settings import StanceSettings
from stancelab.geometry import SINGLE_LEG_MARK_MM, G
from stancelab.processing import Block

#: Progress events are emitted at most this often (sample time), enough for a smooth bar.
PROGRESS_EVERY_S = 0.1
#: How much history the drill keeps outside the ACTIVE part, for the steadiness window.
_LEAD_KEEP_S = 5.0


@dataclass(frozen=True)
class TrialSpec:
    leg: str          # "left", "right" or "both"
    condition: str    # shown to the coach and stored with the trial


class Drill:
    """Base class. Subclasses set ``name`` and ``plan`` and implement the ACTIVE part."""

    name = "drill"
    mark_mm = SINGLE_LEG_MARK_MM

    def __init__(self, stance: StanceSettings, plan: list[TrialSpec], rest_s: float = 0.0):
        self.stance = stance
        self.plan = plan
        self.rest_s = rest_s
        self.phase: Phase | None = None
        self.trial_index = -1
        self.results: list[TrialResult] = []
        self.weight_n: float | None = (stance.body_mass_kg * G if stance.body_mass_kg
                                       else None)
        #: Per sample of the last feed(): (trial index or None, phase, target text).
        self.labels: list[tuple[int | None, str, str]] = []
        self.target_label = ""
        self._buf = Block.empty()
        self._ev: list[Event] = []
        self._finished = False
        self._set_up = False
        self._phase_t0 = 0.0
        self._last_progress_t = -math.inf
        self._low_since: float | None = None
        self._ref_xy = (0.0, 0.0)
        self._ref_load = 0.0
        self._trial_t0: float | None = None
        self._active_t0: float | None = None
        self._announced_off_mark = False

    # ------------------------------------------------------------------ lifecycle
    def setup(self) -> list[Event]:
        """Prepare; the first trial opens with the first sample (its time stamps the events)."""
        self._set_up = True
        return []

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def current_spec(self) -> TrialSpec | None:
        return self.plan[self.trial_index] if 0 <= self.trial_index < len(self.plan) else None

    def feed(self, block: Block) -> list[Event]:
        """Advance through the samples of a block and return the events they caused."""
        if not self._set_up:
            raise RuntimeError("call setup() before feed()")
        self._ev = []
        self.labels = []
        n = len(block)
        if n == 0:
            return []
        start = len(self._buf)
        self._buf = Block.concat([self._buf, block])
        self._t = self._buf.t_s
        self._load = self._buf.total_n
        self._x = self._buf.cop_x_mm
        self._y = self._buf.cop_y_mm
        for j in range(start, start + n):
            if self._finished:
                self.labels.append((None, self.phase.value, ""))
                continue
            before = self.trial_index if self._trial_open else None
            if self.phase is None:
                self._open_trial(j)
            self._step(j)
            label = self.trial_index if self._trial_open else before
            self.labels.append((label, self.phase.value, self.target_label))
        self._trim()
        return self._ev

    def abort(self, reason: str, code: str = "stopped", status: str = "aborted",
              t_s: float | None = None) -> list[Event]:
        """Stop from outside (coach pressed stop, board disconnected): close the open trial."""
        self._ev = []
        if self._finished:
            return []
        t = t_s if t_s is not None else (float(self._buf.t_s[-1]) if len(self._buf) else 0.0)
        self._emit(Aborted(t_s=t, reason=reason, code=code))
        if self._trial_open:
            self._close_trial(t, status, reason, {})
        self._set_phase(Phase.ABORTED, t)
        self._finish(t)
        return self._ev

    def cleanup(self) -> None:
        """Release buffers; always called by the runner, also after an error."""
        self._buf = Block.empty()

    # ------------------------------------------------------------------ helpers for subclasses
    def _emit(self, event: Event) -> None:
        self._ev.append(event)

    def _say(self, t: float, text: str) -> None:
        self._emit(Instruction(t_s=t, text=text))

    def _set_phase(self, phase: Phase, t: float, seconds: float | None = None) -> None:
        previous = self.phase
        self.phase = phase
        self._phase_t0 = t
        self._last_progress_t = -math.inf
        self._emit(PhaseChanged(t_s=t, phase=phase, previous=previous, seconds=seconds))

    def _progress(self, t: float, fraction: float, hold_fraction: float = 0.0,
                  remaining_s: float | None = None, force: bool = False) -> None:
        if force or t - self._last_progress_t >= PROGRESS_EVERY_S - 1e-9:
            self._last_progress_t = t
            self._emit(Progress(t_s=t, fraction=min(max(fraction, 0.0), 1.0),
                                hold_fraction=min(max(hold_fraction, 0.0), 1.0),
                                remaining_s=remaining_s))

    def trial_block(self, t0: float | None = None, t1: float | None = None) -> Block:
        """Samples of the open trial kept in memory between t0 and t1 (inclusive)."""
        t = self._buf.t_s
        i0 = 0 if t0 is None else int(np.searchsorted(t, t0, "left"))
        i1 = len(t) if t1 is None else int(np.searchsorted(t, t1, "right"))
        return self._buf[i0:i1]

    @property
    def active_t0(self) -> float | None:
        return self._active_t0

    @property
    def reference_xy(self) -> tuple[float, float]:
        """Mean COP of the steady stance that started the countdown."""
        return self._ref_xy

    # ------------------------------------------------------------------ trial bookkeeping
    _trial_open = False
    _settling = False
    _settle_t0 = 0.0

    def _open_trial(self, j: int, rest: bool = False) -> None:
        t = float(self._t[j])
        self.trial_index += 1
        spec = self.plan[self.trial_index]
        self._trial_open = True
        self._trial_t0 = t
        self._active_t0 = None
        self._announced_off_mark = False
        self.target_label = ""
        self.wait_t0 = t
        self._emit(TrialStarted(t_s=t, index=self.trial_index, count=len(self.plan),
                                drill=self.name, leg=spec.leg, condition=spec.condition,
                                settings=self.settings_dict()))
        if rest:
            self._set_phase(Phase.REST, t, seconds=self.rest_s)
            self._say(t, f"Rest. Next: {self.describe(spec)} in {self.rest_s:.0f} seconds")
        else:
            self._wait(t)

    def _wait(self, t: float) -> None:
        self.wait_t0 = t
        self._set_phase(Phase.WAITING, t)
        self._say(t, self.waiting_text(self.current_spec))

    def _close_trial(self, t: float, status: str, reason: str | None, metrics: dict) -> None:
        spec = self.current_spec
        result = TrialResult(index=self.trial_index, drill=self.name, leg=spec.leg,
                             condition=spec.condition, status=status, reason=reason,
                             t_start_s=self._active_t0, t_end_s=t,
                             settings=self.settings_dict(), metrics=metrics)
        self.results.append(result)
        self._trial_open = False
        self.target_label = ""
        self._emit(TrialDone(t_s=t, result=result))

    def _after_trial(self, t: float) -> None:
        """Open the next trial (with its rest) from the next sample on, or finish."""
        if self.trial_index + 1 < len(self.plan):
            self._begin_next = True
        else:
            if self.phase != Phase.ABORTED:
                self._set_phase(Phase.DONE, t)
                self._say(t, "Well done, that's the end of the drill. You can step off")
            self._finish(t)

    _begin_next = False

    def _finish(self, t: float) -> None:
        self._finished = True
        done = sum(r.status == "completed" for r in self.results)
        self._emit(DrillDone(t_s=t, completed=done, aborted=len(self.results) - done))

    def _trim(self) -> None:
        """Drop samples no longer needed (outside the ACTIVE part and the steady window)."""
        if not len(self._buf):
            return
        t_end = float(self._buf.t_s[-1])
        keep = t_end - _LEAD_KEEP_S
        if self._trial_open and self._active_t0 is not None:
            keep = min(keep, self._active_t0 - _LEAD_KEEP_S)
        if self._trial_open and self.keeps_lead_in:
            keep = min(keep, self.wait_t0)
        if self._buf.t_s[0] < keep:
            self._buf = self.trial_block(keep)

    #: Keep the samples since WAITING began (single-leg measures stabilisation from stepping on).
    keeps_lead_in = False

    # ------------------------------------------------------------------ the state machine
    def _step(self, j: int) -> None:
        t = float(self._t[j])
        if self._begin_next:
            self._begin_next = False
            self._open_trial(j, rest=self.rest_s > 0)
            return
        phase = self.phase
        if phase == Phase.WAITING:
            self._step_waiting(j, t)
        elif phase == Phase.COUNTDOWN:
            self._step_countdown(j, t)
        elif phase == Phase.ACTIVE:
            if self._stepped_off(j, t):
                self._on_step_off(j, t)
            else:
                self.active_step(j, t)
        elif phase == Phase.REST:
            elapsed = t - self._phase_t0
            self._progress(t, elapsed / self.rest_s, remaining_s=max(self.rest_s - elapsed, 0))
            if elapsed >= self.rest_s:
                self._wait(t)

    def _steady(self, j: int, t: float):
        """(steady, mean load, mean x, mean y) over the steadiness window ending at sample j."""
        st = self.stance
        i0 = int(np.searchsorted(self._t, t - st.steady_window_s, "left"))
        if t - self._t[i0] < st.steady_window_s - 0.02:
            return False, 0.0, 0.0, 0.0
        load = self._load[i0:j + 1]
        x, y = self._x[i0:j + 1], self._y[i0:j + 1]
        if np.isnan(x).any():
            return False, 0.0, 0.0, 0.0
        mean = float(load.mean())
        ref = self.weight_n if self.weight_n else mean
        if mean < st.min_weight_n or np.abs(load - ref).max() > st.steady_load_tolerance * ref:
            return False, mean, 0.0, 0.0
        if np.ptp(x) > st.steady_cop_range_mm or np.ptp(y) > st.steady_cop_range_mm:
            return False, mean, 0.0, 0.0
        # Still moving somewhere (not just swaying): the quarters' mean COPs spread out.
        q = max(len(x) // 4, 1)
        qx = [x[i:i + q].mean() for i in range(0, len(x) - q + 1, q)]
        qy = [y[i:i + q].mean() for i in range(0, len(y) - q + 1, q)]
        if max(np.ptp(qx), np.ptp(qy)) > st.steady_drift_mm:
            return False, mean, 0.0, 0.0
        return True, mean, float(x.mean()), float(y.mean())

    def _step_waiting(self, j: int, t: float) -> None:
        steady, load, mx, my = self._steady(j, t)
        if not steady:
            return
        if math.hypot(mx - self.mark_mm[0], my - self.mark_mm[1]) > self.stance.mark_radius_mm:
            if not self._announced_off_mark:
                self._announced_off_mark = True
                self._emit(DrillWarning(t_s=t, code="off-mark",
                                        text=self.off_mark_text(self.current_spec)))
            return
        if self.weight_n is None:
            self.weight_n = load
        self._set_reference(j, t, load)
        self._start_countdown(t)

    def _set_reference(self, j: int, t: float, load: float) -> None:
        """Where the athlete stands now: mean COP over the last half second (the end of the
        steady window, so the tail of a movement does not bias it)."""
        i0 = int(np.searchsorted(self._t, t - 0.5, "left"))
        self._ref_load = load
        self._ref_xy = (float(self._x[i0:j + 1].mean()), float(self._y[i0:j + 1].mean()))

    def _start_countdown(self, t: float) -> None:
        self._settling = False
        self._set_phase(Phase.COUNTDOWN, t, seconds=self.stance.countdown_s)
        self._say(t, self.countdown_text(self.current_spec))

    def _step_countdown(self, j: int, t: float) -> None:
        st = self.stance
        load, x, y = float(self._load[j]), float(self._x[j]), float(self._y[j])
        if self._stepped_off(j, t):
            self._wait(t)
            return
        if self._settling:
            # After an early move the countdown restarts once the athlete has been steady for
            # a whole window that began after the move was flagged.
            if t - self._settle_t0 < self.stance.steady_window_s:
                return
            steady, load, _, _ = self._steady(j, t)
            if steady:
                self._set_reference(j, t, load)
                self._start_countdown(t)
            return
        moved = (math.isnan(x) or abs(load - self._ref_load) > st.early_load_fraction
                 * self._ref_load or math.hypot(x - self._ref_xy[0], y - self._ref_xy[1])
                 > self.early_move_mm())
        if moved:
            self._emit(DrillWarning(t_s=t, code="early-start",
                                    text="Too early: keep still until the countdown ends"))
            self._settling = True
            self._settle_t0 = t
            return
        elapsed = t - self._phase_t0
        self._progress(t, elapsed / st.countdown_s, remaining_s=max(st.countdown_s - elapsed, 0))
        if elapsed >= st.countdown_s:
            self._active_t0 = t
            self._low_since = None
            self._set_phase(Phase.ACTIVE, t)
            self.active_start(j, t)

    def _stepped_off(self, j: int, t: float) -> bool:
        st = self.stance
        weight = self.weight_n or self._ref_load or st.min_weight_n
        if self._load[j] < st.step_off_fraction * weight:
            if self._low_since is None:
                self._low_since = t
            return t - self._low_since >= st.step_off_s
        self._low_since = None
        return False

    def _on_step_off(self, j: int, t: float) -> None:
        reason = "stepped off the board"
        self._emit(Aborted(t_s=t, reason=f"Trial stopped: you {reason}", code="stepped-off"))
        metrics = self.metrics_on_abort(t)
        self._close_trial(t, "aborted", reason, metrics)
        self._set_phase(Phase.ABORTED, t)
        self._after_trial(t)

    # ------------------------------------------------------------------ for subclasses
    def settings_dict(self) -> dict:
        raise NotImplementedError

    def describe(self, spec: TrialSpec) -> str:
        return f"{spec.leg} foot" if spec.leg in ("left", "right") else "both feet"

    def waiting_text(self, spec: TrialSpec) -> str:
        return f"Step onto the middle mark with your {spec.leg} foot and stand still"

    def off_mark_text(self, spec: TrialSpec) -> str:
        return "Move your foot onto the middle mark"

    def countdown_text(self, spec: TrialSpec) -> str:
        return f"Get ready: hold still for {self.stance.countdown_s:.0f} seconds"

    def early_move_mm(self) -> float:
        return self.stance.early_move_mm

    def active_start(self, j: int, t: float) -> None:
        raise NotImplementedError

    def active_step(self, j: int, t: float) -> None:
        raise NotImplementedError

    def metrics_on_abort(self, t: float) -> dict:
        """Scores that still mean something for a trial stopped by stepping off."""
        return {}

    def complete_trial(self, t: float, metrics: dict) -> None:
        self._close_trial(t, "completed", None, metrics)
        self._after_trial(t)
