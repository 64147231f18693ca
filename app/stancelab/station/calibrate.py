"""The calibration procedure: one set of steps, timings and acceptance rule for every front end.

`stancelab calibrate`, the Board screen's wizard and the simulated board's first-use
calibration all drive a :class:`CalibrationProcedure`. Its lifecycle is
:class:`stancelab.station.procedure.Procedure`'s: startup, execute (or the GUI feeding it from
its timer), and shutdown in a ``finally``. The steps are a state machine fed Samples and timed only by their
device time (``t_s``): the same samples give the same result however they are chunked and
however long the user takes between steps.

Front ends only show what the procedure says: :attr:`Step.prompt` (what to do next),
:attr:`Step.problem` (why the last attempt at this step was refused, naming the fix) and the
:class:`Verdict` (accepted or not, why, and the error at each mark). The arithmetic (tare,
least-squares gains, verification) is :mod:`stancelab.calibration`; saving is
:func:`stancelab.station.calibrations.save_accepted`, which refuses a refused verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from stancelab import calibration as cal
from stancelab.board import protocol
from stancelab.geometry import CHANNEL_NAMES, G
from stancelab.station.procedure import ABORTED, FINISHED, NEW, RUNNING, Procedure

#: The five marks of the calibration template (mm, board frame): the centre, then the four
#: points 150 mm left/right and 100 mm forward/back of it, well inside the cells so a mass on a
#: mark loads all four cells, and far enough apart that the fit tells each cell's gain apart.
CALIBRATION_MARKS_MM = ((0.0, 0.0), (-150.0, 100.0), (150.0, 100.0), (-150.0, -100.0),
                        (150.0, -100.0))
DEFAULT_MASS_KG = 20.0
MASS_RANGE_KG = (1.0, 200.0)

# Timings, in seconds of device time (the board's clock), the same for every front end.
#: Dropped after the user says a step is ready: a mass just let go rocks, the plywood top and the
#: cells creep for a few tenths of a second, and at 10 samples/s the HX711 needs a conversion
#: started after the load changed.
SETTLE_S = 0.5
#: Empty board. The tare's drift check compares the first and last quarter of the span, so the
#: span must be long enough for a cell still warming up to show; 3 s is 240 samples at 80/s (the
#: mean's noise about 3 counts, ~1 mN) and 30 at 10/s (the tare needs at least 8).
TARE_S = 3.0
#: Mass on a mark: 2 s averages the noise to well under 0.1 mm of COP, and is short enough for a
#: person used as the known mass to stand still.
HOLD_S = 2.0

# The one acceptance rule, checked on the verification after the fit (docs/app.md, Board).
#: Worst COP error at any mark. A mass placed on its cross within ~2 mm (a printed template and
#: a tape) passes; one 3 mm or more off, which would bias every COP near that mark, is refused.
MAX_COP_ERROR_MM = 2.0
#: Worst load error at any mark. The fit reproduces a consistent mass to a few hundredths of a
#: percent; 1 % (0.7 kg of a 70 kg athlete, the resolution of the weight-distribution figures)
#: means the mass moved, something else touched the board, or the mass entered is not the mass.
MAX_LOAD_ERROR_PCT = 1.0
#: A placement reading below half or above twice the mass (with the previous gains) was not the
#: mass on the board: the step is repeated rather than fitted.
PLAUSIBLE_LOAD_RATIO = (0.5, 2.0)
MIN_SAMPLES = 8

_BAD_STATUS = {protocol.ST_TIMED_OUT: "did not answer (check its HX711's wiring and power)",
               protocol.ST_SATURATED: "is saturated (a load beyond its range, or A+/A- loose)"}


def where(x_mm: float, y_mm: float) -> str:
    """A mark in the words of the template: 'the front-left mark (150 mm left, 100 mm ...)'."""
    if x_mm == 0 and y_mm == 0:
        return "the centre mark"
    side = "right" if x_mm > 0 else "left"
    along = "forward" if y_mm > 0 else "back"
    return (f"the {'front' if y_mm > 0 else 'back'}-{side} mark ({abs(x_mm):.0f} mm {side}, "
            f"{abs(y_mm):.0f} mm {along} of the centre)")


@dataclass(frozen=True)
class Step:
    """What the user must do now. ``mass_kg`` 0 means the board must be empty."""

    kind: str                  # "tare" | "mass"
    number: int                # 1-based, of ``total``
    total: int
    mark: int | None = None    # 1..5 for a mass step
    x_mm: float = 0.0
    y_mm: float = 0.0
    mass_kg: float = 0.0
    problem: str | None = None    # why the last attempt at this step was refused
    previous: str | None = None   # what the step before found ("tare done: ...")

    @property
    def prompt(self) -> str:
        head = f"Step {self.number} of {self.total}: "
        if self.kind == "tare":
            return head + "take everything off the board and keep it and its cables still."
        return head + (f"put the {self.mass_kg:g} kg mass on {where(self.x_mm, self.y_mm)} "
                       "and let go.")

    @property
    def seconds(self) -> float:
        """Device seconds recorded for this step, after SETTLE_S."""
        return TARE_S if self.kind == "tare" else HOLD_S

    @property
    def while_recording(self) -> str:
        what = "the board empty" if self.kind == "tare" else "the mass"
        return f"Recording {SETTLE_S + self.seconds:g} s: keep {what} and the board still."


def first_step(tare_only: bool = False) -> Step:
    """The step a procedure starts with, for a front end to show before it starts one."""
    return Step("tare", 1, 1 if tare_only else 1 + len(CALIBRATION_MARKS_MM))


@dataclass(frozen=True)
class MarkCheck:
    """The verification at one mark, judged by the one rule."""

    mark: int
    x_mm: float
    y_mm: float
    cop_error_mm: float
    load_error_pct: float

    @property
    def ok(self) -> bool:
        return (self.cop_error_mm <= MAX_COP_ERROR_MM
                and abs(self.load_error_pct) <= MAX_LOAD_ERROR_PCT)


@dataclass(frozen=True)
class Verdict:
    """The outcome. ``calibration`` is what to save, and is None when refused."""

    accepted: bool
    reason: str                               # one sentence; when refused it names the fix
    marks: tuple[MarkCheck, ...] = ()
    calibration: cal.Calibration | None = None
    gain_change: tuple[float, ...] | None = None   # fitted / previous - 1, per cell
    residual_n: float | None = None


def judge(fit: cal.GainFit, mass_kg: float) -> Verdict:
    """The acceptance rule: every mark within MAX_COP_ERROR_MM and MAX_LOAD_ERROR_PCT."""
    marks = tuple(MarkCheck(i, v["x_mm"], v["y_mm"], v["cop_error_mm"], v["load_error_pct"])
                  for i, v in enumerate(fit.verification, 1))
    worst_cop = max(marks, key=lambda m: m.cop_error_mm)
    worst_load = max(marks, key=lambda m: abs(m.load_error_pct))
    extra = {"marks": marks, "gain_change": fit.relative_gain_change,
             "residual_n": fit.residual_n}
    if worst_cop.cop_error_mm > MAX_COP_ERROR_MM:
        return Verdict(False, (
            f"Refused: the COP is {worst_cop.cop_error_mm:.1f} mm off at "
            f"{where(worst_cop.x_mm, worst_cop.y_mm)}, more than {MAX_COP_ERROR_MM:g} mm. Put "
            "the mass exactly on that mark's cross and calibrate again; if the same mark fails "
            "again, check that the cells sit flat and the board touches nothing but them."),
            **extra)
    if abs(worst_load.load_error_pct) > MAX_LOAD_ERROR_PCT:
        return Verdict(False, (
            f"Refused: the load reads {worst_load.load_error_pct:+.1f} % off {mass_kg:g} kg at "
            f"{where(worst_load.x_mm, worst_load.y_mm)}, more than {MAX_LOAD_ERROR_PCT:g} %. "
            "Check that the mass is the one entered and that nothing else (a cable, a foot) "
            "touches the board, then calibrate again."), **extra)
    return Verdict(True, (
        f"Accepted: the COP is within {worst_cop.cop_error_mm:.2f} mm and the load within "
        f"{abs(worst_load.load_error_pct):.2f} % at every mark (limits {MAX_COP_ERROR_MM:g} mm, "
        f"{MAX_LOAD_ERROR_PCT:g} %)."), calibration=fit.calibration, **extra)


class Front(Protocol):
    """What :meth:`CalibrationProcedure.execute` needs from a front end that blocks."""

    def prompt(self, step: Step) -> None:
        """Show ``step``; return once the board is as it asks. Raise to stop."""

    def samples(self) -> list:
        """The next Samples from the board (raise CalibrationError if it stopped sending)."""


class CalibrationProcedure(Procedure):
    """Tare on the empty board, the known mass at each of the five marks, fit, verdict.

    A front end that blocks on each prompt (the terminal, the simulator's rig) is given as
    ``front`` and the procedure is :meth:`run` (startup, execute, shutdown in a finally). The
    GUI has no blocking prompt: it calls :meth:`begin`, then :meth:`ready` when the user presses
    the step's button and :meth:`feed` with each frame's samples, and :meth:`end` in every path
    that leaves the wizard."""

    def __init__(self, base: cal.Calibration, mass_kg: float = DEFAULT_MASS_KG, *,
                 tare_only: bool = False, front: Front | None = None) -> None:
        super().__init__()
        lo, hi = MASS_RANGE_KG
        if not lo <= mass_kg <= hi:
            raise cal.CalibrationError(f"the known mass must be between {lo:g} and {hi:g} kg, "
                                       f"not {mass_kg:g}")
        self.base = base
        self.mass_kg = float(mass_kg)
        self.tare_only = tare_only
        self.front = front
        self.step: Step | None = None
        self.verdict: Verdict | None = None
        self.tared: cal.Calibration | None = None
        self.placements: list[cal.Placement] = []
        self.recording = False
        self._t0: float | None = None
        self._t_last = 0.0
        self._counts: list = []
        self._status_bits = 0

    @property
    def total_steps(self) -> int:
        return 1 if self.tare_only else 1 + len(CALIBRATION_MARKS_MM)

    # -- lifecycle
    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def startup(self) -> None:
        self.verdict, self.tared, self.placements = None, None, []
        self.step = first_step(self.tare_only)
        self.recording = False

    def execute(self) -> Verdict | None:
        """To a verdict with a blocking front end; None if stopped before one."""
        if self.front is None:
            raise RuntimeError("execute() needs a front end; the GUI uses begin/ready/feed/end")
        while self.step is not None and not self.should_stop():
            self.front.prompt(self.step)
            self.ready()
            while self.recording and not self.should_stop():
                self.feed(self.front.samples())
        return self.verdict

    def shutdown(self) -> None:
        """Always called: stops recording; without a verdict nothing is left to save."""
        self.recording = False
        self._counts = []
        if self.verdict is None:
            self.step = None

    def begin(self) -> None:
        """The GUI's run(): start without a blocking front end."""
        if self.status != NEW:
            raise RuntimeError("a procedure runs once; make a new one")
        self.status = RUNNING
        self.startup()

    def end(self) -> None:
        """The GUI's finally: shut down; finished with a verdict, else aborted."""
        if self.status == RUNNING:
            self.status = FINISHED if self.verdict is not None else ABORTED
            self.shutdown()

    # -- the state machine
    def ready(self) -> None:
        """The user says the board is as the step asks: record from the next sample on."""
        if self.status != RUNNING or self.step is None:
            raise RuntimeError("the calibration is not running")
        self.recording = True
        self._t0, self._t_last, self._counts, self._status_bits = None, 0.0, [], 0

    @property
    def progress(self) -> float:
        """Fraction of the current step's span recorded (0 while settling)."""
        if not self.recording or self._t0 is None:
            return 0.0
        return min(max((self._t_last - self._t0 - SETTLE_S) / self.step.seconds, 0.0), 1.0)

    def feed(self, samples) -> bool:
        """Samples from the board; True when the step ended (moved on, repeated or verdict)."""
        if not self.recording:
            return False
        end_s = SETTLE_S + self.step.seconds
        for s in samples:
            if self._t0 is None:
                self._t0 = s.t_s
            self._t_last = s.t_s
            t = s.t_s - self._t0
            if t >= end_s:
                self._complete()
                return True
            if t >= SETTLE_S:
                self._counts.append(s.counts)
                self._status_bits |= s.status
        return False

    @property
    def can_finish_tare_only(self) -> bool:
        return (self.status == RUNNING and self.step is not None and self.tared is not None
                and not self.placements and not self.recording)

    def finish_tare_only(self) -> Verdict:
        """After the tare, before any mass step: keep the previous gains, new offsets."""
        if not self.can_finish_tare_only:
            raise RuntimeError("a tare-only calibration needs a finished tare and no placement")
        self._finish(self._tare_verdict())
        return self.verdict

    # -- inside
    def _complete(self) -> None:
        step, counts = self.step, np.asarray(self._counts, dtype=float)
        self.recording = False
        self._counts = []
        problem = self._check_samples(step, counts)
        if problem is None and step.kind == "tare":
            try:
                self.tared = cal.tare(self.base, counts)
            except cal.CalibrationError as e:
                problem = str(e)
        elif problem is None:
            read_kg = self._read_kg(counts)
            problem = self._check_load(step, read_kg)
        if problem is not None:
            self.step = Step(step.kind, step.number, step.total, step.mark, step.x_mm, step.y_mm,
                             step.mass_kg, problem=problem)
            return
        if step.kind == "tare":
            if self.tare_only:
                self._finish(self._tare_verdict())
                return
            done = "Tare done: offsets " + ", ".join(
                f"{n} {v:.0f}" for n, v in zip(CHANNEL_NAMES, self.tared.offsets_counts))
        else:
            mean = counts.mean(axis=0)
            self.placements.append(cal.Placement(self.mass_kg, step.x_mm, step.y_mm,
                                                 tuple(float(v) for v in mean)))
            done = f"Mark {step.mark} recorded: the board read {read_kg:.1f} kg."
        k = len(self.placements)
        if k == len(CALIBRATION_MARKS_MM):
            self._finish(self._fit())
            return
        x, y = CALIBRATION_MARKS_MM[k]
        self.step = Step("mass", k + 2, self.total_steps, k + 1, x, y, self.mass_kg,
                         previous=done)

    def _check_samples(self, step: Step, counts: np.ndarray) -> str | None:
        if len(counts) < MIN_SAMPLES:
            return (f"only {len(counts)} samples arrived in {step.seconds:g} s: the board is "
                    "dropping frames; check the USB cable and repeat this step")
        for ch, name in enumerate(CHANNEL_NAMES):
            bits = protocol.channel_status(self._status_bits, ch)
            for bit, what in _BAD_STATUS.items():
                if bits & bit:
                    return f"the {name} cell {what}; fix it and repeat this step"
        return None

    def _read_kg(self, counts: np.ndarray) -> float:
        """The mass on the board with the offsets just tared and the previous gains."""
        return float((self.tared or self.base).forces_n(counts.mean(axis=0)).sum()) / G

    def _check_load(self, step: Step, read_kg: float) -> str | None:
        lo, hi = PLAUSIBLE_LOAD_RATIO
        if not lo * self.mass_kg <= read_kg <= hi * self.mass_kg:
            return (f"the board read {read_kg:.1f} kg, not {self.mass_kg:g} kg: put the mass on "
                    f"{where(step.x_mm, step.y_mm)}, let go, and repeat this step (or correct "
                    "the mass entered)")
        return None

    def _fit(self) -> Verdict:
        try:
            fit = cal.fit_gains(self.tared, self.placements)
        except cal.CalibrationError as e:
            return Verdict(False, f"Refused: {e}.")
        return judge(fit, self.mass_kg)

    def _tare_verdict(self) -> Verdict:
        return Verdict(True, "Accepted: tare only; new offsets, the gains of the "
                             f"{self.base.method} calibration kept.", calibration=self.tared)

    def _finish(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.step = None
        self.recording = False

