"""The athlete's view of a running drill, readable from the board 2-3 m away.

One widget, sized from the height it gets: the cue in words (at least 6 % of the height, two
lines), the foot and its targets filling the rest of the height on the left, a large countdown,
hold ring and the latest scores on the right, and a small line for the coach at the bottom.
The drill screen shows it inside the coach's window before a drill, and full screen (on a second
screen when there is one, see ui/displays.py) while a drill runs.

It renders the drill's events only (Instruction, PhaseChanged, TargetShown, Progress, Score...);
the drills themselves are Qt-free state machines. The state band behind the cue says, in colour
and in a word, what the athlete is doing: moving to the target, in the zone, hold done,
time-out, touchdown (the other foot down, or stepped off), rest, done. For an exercise the
large number is the rep counter (reps done of the set's planned), the ring says which set it
is, the rest between sets counts down, and each rep's and each set's score joins the list; a
plan session adds a line saying where the athlete is in it (:meth:`AthleteView.set_plan_line`).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from stancelab.drills import events as ev
from stancelab.exercises.settings import KINDS as EXERCISES
from stancelab.exercises.settings import TITLES as EXERCISE_TITLES
from stancelab.geometry import TWO_LEG_MARKS_MM, FootModel
from stancelab.ui.widgets import ACCENT, BG, FG, OK, WARN, BoardCanvas, ProgressRing

#: state -> (band colour, text colour, word). High contrast: black on bright or white on dark.
STATES = {
    "idle": ("#1b2129", FG, ""),
    "waiting": ("#1b2129", FG, "Get on the board"),
    "countdown": ("#3a3000", ACCENT, "Get ready"),
    "moving": ("#2a2400", ACCENT, "Move"),
    "in-zone": (OK, "#000000", "Hold"),
    "hold-done": ("#7dffb0", "#000000", "Got it!"),
    "time-out": (WARN, "#000000", "Time's up"),
    "touchdown": ("#d7263d", "#ffffff", "Touchdown"),
    "rest": ("#12304a", "#cfe8ff", "Rest"),
    "done": (OK, "#000000", "Well done"),
    "stopped": ("#3d4654", FG, "Stopped"),
}
#: Cue text height as a share of the view's height (the issue asks for at least 6 %).
CUE_SHARE = 0.065
#: The foot and targets fill this share of the canvas's height (board margins included).
FOOT_FILL = 0.92


def _font(px: int, bold: bool = True) -> QFont:
    f = QFont()
    f.setPixelSize(max(int(px), 8))
    f.setBold(bold)
    return f


def _label(colour: str = FG, align=Qt.AlignmentFlag.AlignCenter) -> QLabel:
    lab = QLabel("")
    lab.setAlignment(align)
    lab.setWordWrap(True)
    lab.setStyleSheet(f"color: {colour}; background: transparent;")
    return lab


def box_for(outlines, targets=()) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in board mm that shows the foot outlines and targets, the drawing
    filling FOOT_FILL of the box's height (the rest is room for the COP beyond the edge)."""
    pts = [np.asarray(o, dtype=float) for o in outlines]
    pts += [np.array([[x, y]], dtype=float) for _h, x, y in targets]
    if not pts:
        return -200.0, -200.0, 200.0, 200.0
    xy = np.vstack(pts)
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    pad = (y1 - y0) * (1 / FOOT_FILL - 1) / 2
    return float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad)


class AthleteView(QWidget):
    """The athlete's side of the drill screen; keys typed here go to ``key_pressed``."""

    key_pressed = Signal(QKeyEvent)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("athlete-view")
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"#athlete-view {{ background: {BG}; }}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.state = "idle"
        self.scores: list[str] = []
        self.band = QWidget()
        self.band.setObjectName("state-band")
        self.state_word = _label()
        self.state_word.setObjectName("state-word")
        self.cue = _label()
        self.cue.setObjectName("cue")
        band = QHBoxLayout(self.band)
        band.addWidget(self.cue, 1)
        self.canvas = BoardCanvas()
        self.big = _label()
        self.big.setObjectName("countdown")
        self.ring = ProgressRing()
        self.ring.setMinimumSize(60, 60)
        self.score_label = _label(FG, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.score_label.setObjectName("scores")
        self.warning = _label(WARN)
        self.warning.setObjectName("warning")
        self.header = _label("#9aa4b1")
        self.plan_line = _label(ACCENT)
        self.plan_line.setObjectName("plan-line")
        self.plan_line.hide()
        self.coach_line = _label("#7d8794", Qt.AlignmentFlag.AlignRight)
        self.coach_line.setObjectName("coach-overlay")
        side = QVBoxLayout()
        side.setSpacing(4)
        side.addWidget(self.plan_line)
        side.addWidget(self.state_word)
        side.addWidget(self.big)
        side.addWidget(self.ring, 3)
        side.addWidget(self.warning)
        side.addWidget(self.score_label, 2)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.canvas, 5)
        body.addLayout(side, 4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 2)
        lay.setSpacing(2)
        lay.addWidget(self.band)
        lay.addLayout(body, 1)
        foot = QHBoxLayout()
        foot.addWidget(self.header, 1)
        foot.addWidget(self.coach_line, 1)
        lay.addLayout(foot)
        self._outlines: list = []
        self._targets: list = []
        self.target_mm: tuple[float, float, float] | None = None   # x, y, zone radius
        self.foot_length_mm = 265.0
        #: A score's colour (hold done, time-out) stays this long before the next target's.
        self.flash_s = 0.8
        self._flash_until = -math.inf
        self._cue_px = 12
        #: The exercise set under way: (set number, sets, reps planned), and reps done in it.
        self._set: tuple[int, int, int] | None = None
        self._reps_done = 0
        self.set_state("idle")
        self._scale_fonts()

    # -- size
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._scale_fonts()

    def _scale_fonts(self) -> None:
        h = max(self.height(), 200)
        self._cue_px = int(CUE_SHARE * h)
        self.cue.setFont(_font(self._cue_px))
        # Two lines of cue: the band never changes height with the text (no jumping canvas).
        line = self.cue.fontMetrics().lineSpacing()
        self.band.setFixedHeight(2 * line + 12)
        self._fit_cue()
        self.state_word.setFont(_font(0.05 * h))
        self.state_word.setFixedHeight(int(0.07 * h))
        self.big.setFont(_font(0.14 * h))
        self.big.setFixedHeight(int(0.16 * h))
        self.warning.setFont(_font(0.04 * h))
        self.plan_line.setFont(_font(0.032 * h))
        self.score_label.setFont(_font(0.045 * h))
        small = _font(max(0.016 * h, 11), bold=False)
        self.header.setFont(small)
        self.coach_line.setFont(small)

    # -- state
    def set_state(self, state: str) -> None:
        bg, fg, word = STATES[state]
        self.state = state
        self.band.setStyleSheet(f"#state-band {{ background: {bg}; border-radius: 6px; }}")
        self.cue.setStyleSheet(f"color: {fg}; background: transparent;")
        # The same colours as a pill above the countdown, with the state in one word.
        self.state_word.setStyleSheet(f"color: {fg}; background: {bg if word else 'transparent'};"
                                      " border-radius: 8px;")
        self.state_word.setText(word)

    def set_cue(self, text: str) -> None:
        self.cue.setText(text)
        self._fit_cue()

    def _fit_cue(self) -> None:
        """A long cue gets a smaller font, down to the floor of 6 % of the height, so that it
        fits the band's two lines."""
        floor = int(0.06 * max(self.height(), 200))
        width = max(self.width() - 40, 100)   # the band's width once laid out
        px = self._cue_px
        while True:
            font = _font(px)
            fm = QFontMetrics(font)
            box = fm.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap,
                                  self.cue.text())
            if box.height() <= 2 * fm.lineSpacing() or px <= floor:
                break
            px -= 2
        if self.cue.font().pixelSize() != px:
            self.cue.setFont(font)

    def set_coach_line(self, text: str) -> None:
        self.coach_line.setText(text)

    def set_plan_line(self, text: str) -> None:
        """Where the athlete is in a plan session ("" hides it)."""
        self.plan_line.setText(text)
        self.plan_line.setVisible(bool(text))

    @property
    def rep_counter(self) -> str:
        """The exercise's rep counter as shown in large type ("" outside a set)."""
        text = self.big.text()
        return text if self._set is not None and "/" in text else ""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.key_pressed.emit(event)

    # -- the board drawing
    def show_feet(self, outlines, targets=()) -> None:
        self._outlines, self._targets = list(outlines), list(targets)
        self.canvas.set_feet(self._outlines)
        self.canvas.set_targets(self._targets)
        self.canvas.zoom_to_box(*box_for(self._outlines, self._targets))

    def show_foot(self, length_mm: float, leg: str, target_fraction: float | None = None):
        foot = FootModel(length_mm, leg)
        targets = foot.clock_targets(target_fraction) if target_fraction else []
        self.show_feet([foot.outline()], targets)

    def show_two_feet(self, length_mm: float) -> None:
        self.show_feet([FootModel(length_mm, s).outline() + TWO_LEG_MARKS_MM[s]
                        for s in ("left", "right")])

    def clear(self) -> None:
        self.scores = []
        self._set = None
        self._flash_until = -math.inf
        self.score_label.setText("")
        self.warning.setText("")
        self.big.setText("")
        self.ring.set_progress(0)
        self.target_mm = None
        self.canvas.clear_cop()

    # -- events
    def render(self, e, drill: str | None, phase) -> None:
        """Show one drill event; ``drill`` and ``phase`` are the running drill's name and
        phase (for Progress, which means a countdown, a hold or a trial's time by phase)."""
        if isinstance(e, ev.Instruction):
            self.set_cue(e.text)
        elif isinstance(e, ev.TrialStarted):
            word = "set" if e.drill in EXERCISES else "trial"
            self.header.setText(f"{_title(e.drill)} · {word} {e.index + 1} of {e.count} · "
                                f"{e.leg} {'feet' if e.leg == 'both' else 'leg'} · "
                                f"{e.condition}")
            self._set = (e.index + 1, e.count, int(e.settings.get("reps", 0))) \
                if e.drill in EXERCISES else None
            self._reps_done = 0
            self.warning.setText("")
            if e.leg in ("left", "right"):
                frac = e.settings.get("target_fraction", 0.8) if e.drill == "clock" else None
                self.show_foot(self.foot_length_mm, e.leg, frac)
            else:
                self.show_two_feet(self.foot_length_mm)
        elif isinstance(e, ev.PhaseChanged):
            self._phase(e)
        elif isinstance(e, ev.TargetShown):
            self.canvas.set_zone(e.x_mm, e.y_mm, e.zone_radius_mm)
            self.target_mm = (e.x_mm, e.y_mm, e.zone_radius_mm)
            self.ring.set_progress(0, "centre" if e.hour is None else str(e.hour))
            if e.hour is None:
                self.big.setText("")        # no time limit shown for the way back
            if e.t_s >= self._flash_until:
                self.set_state("moving")
        elif isinstance(e, ev.Progress):
            self._progress(e, drill, phase)
        elif isinstance(e, ev.Score):
            self._score(e)
        elif isinstance(e, ev.DrillWarning):
            self.warning.setText(e.text)
            if e.code == "touchdown":        # the other foot is down: red until it lifts
                self.set_state("touchdown")
            elif e.code == "touchdown-over" and self.state == "touchdown":
                self.set_state("moving")
        elif isinstance(e, ev.Aborted):
            self.set_cue(e.reason if e.code == "stepped-off" else f"Stopped: {e.reason}")
            self.warning.setText("")
            self.set_state("touchdown" if e.code == "stepped-off" else "stopped")
        elif isinstance(e, ev.DrillDone):
            self.canvas.set_zone(None)
            self.target_mm = None
            self.big.setText("")
            self.ring.set_progress(1.0 if e.completed else 0.0, "✓" if e.completed else "")
            if e.completed:
                self.set_state("done")

    def _phase(self, e) -> None:
        self.big.setText("")
        if e.phase in (ev.Phase.COUNTDOWN, ev.Phase.REST) and e.seconds:
            self.big.setText(str(math.ceil(e.seconds)))
        if e.phase in (ev.Phase.WAITING, ev.Phase.COUNTDOWN):
            self.ring.set_progress(0)
        if e.phase == ev.Phase.ACTIVE:
            self.warning.setText("")
        state = {ev.Phase.WAITING: "waiting", ev.Phase.COUNTDOWN: "countdown",
                 ev.Phase.ACTIVE: "moving", ev.Phase.REST: "rest"}.get(e.phase)
        if state is not None and not (e.phase == ev.Phase.REST and self.state == "touchdown"):
            self.set_state(state)

    def _progress(self, e, drill, phase) -> None:
        if phase in (ev.Phase.COUNTDOWN, ev.Phase.REST) and e.remaining_s is not None:
            self.big.setText(str(max(math.ceil(e.remaining_s - 1e-9), 0)))
            self.ring.set_progress(e.fraction)
        elif phase == ev.Phase.ACTIVE:
            if drill == "clock":
                self.ring.set_progress(e.hold_fraction, self.ring._text)
                self.canvas.set_zone_reached(e.hold_fraction > 0)
                if e.t_s >= self._flash_until or self.state in ("moving", "in-zone"):
                    self.set_state("in-zone" if e.hold_fraction > 0 else "moving")
                if e.remaining_s is not None:
                    self.big.setText(f"{e.remaining_s:.0f}")
            elif self._set is not None:
                k, n, reps = self._set
                self.big.setText(f"{self._reps_done}/{reps}")
                self.ring.set_progress(e.fraction, f"set {k}/{n}")
            else:
                left = e.remaining_s
                self.big.setText(f"{math.ceil(left - 1e-9)}" if left is not None else "")
                self.ring.set_progress(e.fraction, "")

    def _score(self, e) -> None:
        if self._set is not None and "rep" in e.detail:
            self._reps_done = int(e.detail["rep"])
            self.big.setText(f"{self._reps_done}/{self._set[2]}")
        if e.outcome in ("reached", "time-out"):
            self.set_state("hold-done" if e.outcome == "reached" else "time-out")
            self._flash_until = e.t_s + self.flash_s
        if e.value is None:
            line = f"{e.label}: {e.outcome}"
        else:
            unit = f" {e.unit}" if e.unit and e.unit != "%" else e.unit
            whole = abs(e.value) >= 10 or float(e.value).is_integer()   # counts: "0", not "0.0"
            line = f"{e.label}: {e.value:.{0 if whole else 1}f}{unit}"
        self.scores.append(line)
        self.score_label.setText("\n".join(self.scores[-4:]))


def _title(drill: str) -> str:
    if drill in EXERCISE_TITLES:
        return EXERCISE_TITLES[drill][0].upper() + EXERCISE_TITLES[drill][1:]
    return {"clock": "Clock balance", "single-leg": "Single-leg stand",
            "quiet": "Quiet stance"}.get(drill, drill)
