"""Optional sound cues for an athlete who is not looking at the screen: a tick for each of the
last countdown seconds, a tone when a target is reached and when a hold or trial ends.

PySide6-Essentials ships no QtMultimedia, so the cue is the platform's bell
(QApplication.beep): audible where the desktop has a sound theme, silent elsewhere (and
offscreen). ``played`` records the cues so tests can check them without a speaker.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication


class AudioCues:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.played: list[str] = []
        self._last_tick: int | None = None

    def countdown(self, seconds_left: int) -> None:
        """A tick at 3, 2, 1 (once each)."""
        if 1 <= seconds_left <= 3 and seconds_left != self._last_tick:
            self._last_tick = seconds_left
            self._play(f"tick {seconds_left}")
        elif seconds_left > 3:
            self._last_tick = None

    def reached(self, label: str) -> None:
        self._play(f"reached {label}")

    def done(self) -> None:
        self._play("done")

    def _play(self, what: str) -> None:
        if not self.enabled:
            return
        self.played.append(what)
        QApplication.beep()
