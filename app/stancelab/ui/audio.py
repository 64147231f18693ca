"""Sound cues for an athlete who is not looking at the screen (eyes closed, head up).

A tick for each of the last three countdown seconds, a chime when a target is reached and when
a trial ends, and, with guiding on, a tone whose pitch and beep rate rise as the COP nears the
target zone (stancelab.ui.sound makes the samples). They play through the audio output while a
drill runs; where there is none (no PortAudio, no device), the one-shot cues use the system bell
(QApplication.beep) and :attr:`note` says so once, for the status line. ``played`` records the
cues so tests can check them without a speaker.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from stancelab.ui import sound


class AudioCues:
    def __init__(self, enabled: bool = True, guiding: bool = True,
                 open_output=sound.open_output) -> None:
        self.enabled = enabled
        self.guiding = guiding
        self.played: list[str] = []
        self.synth = sound.Synth()
        self.output: sound.Output | None = None
        #: Why there is no audio output (empty when there is one, or not tried yet).
        self.problem = ""
        self._open_output = open_output
        self._told = False
        self._last_tick: int | None = None

    # -- a drill's lifetime
    def start(self) -> str:
        """Open the output for a drill; returns a message for the status line the first time
        the output is missing ("" otherwise)."""
        self._last_tick = None
        if not self.enabled or self.output is not None:
            return ""
        self.output, self.problem = self._open_output(self.synth)
        if self.output is None and not self._told:
            self._told = True
            return self.problem
        return ""

    def stop(self) -> None:
        self.synth.reset()
        if self.output is not None:
            out, self.output = self.output, None
            out.close()

    # -- cues
    def countdown(self, seconds_left: int) -> None:
        """A tick at 3, 2, 1 (once each)."""
        if 1 <= seconds_left <= 3 and seconds_left != self._last_tick:
            self._last_tick = seconds_left
            self._play(f"tick {seconds_left}", sound.tick)
        elif seconds_left > 3:
            self._last_tick = None

    def reached(self, label: str) -> None:
        self._play(f"reached {label}", sound.chime)

    def done(self) -> None:
        self._play("done", sound.chime)

    def guide(self, distance: float | None) -> None:
        """Distance to the target zone (sound.distance_to_zone), or None for silence."""
        self.synth.set_distance(distance if self.enabled and self.guiding else None)

    def _play(self, what: str, make) -> None:
        if not self.enabled:
            return
        self.played.append(what)
        if self.output is not None:
            self.synth.play(make(self.synth.rate))
        else:
            QApplication.beep()
