"""Sound that guides: the tones, made by pure functions, and the audio output that plays them.

Sonification of the distance to the target (clock balance): a beeping tone whose pitch and beep
rate rise as the COP nears the zone, a steady tone while inside it, a rising two-note chime when
the hold is done, a short tick for each of the last countdown seconds.

The samples are computed here with numpy (tests check their pitch and timing with an FFT, no
audio device needed) and played through PortAudio by ``sounddevice``: a 60 kB pure-Python
binding, maintained, over Debian's ``libportaudio2`` (about 200 kB), against the 200+ MB of
PySide6-Addons that Qt Multimedia would add to the install. Where PortAudio or an output device
is missing, :func:`open_output` says why in one sentence and the cues fall back to the system
bell (stancelab.ui.audio).
"""

from __future__ import annotations

import math
import threading

import numpy as np

RATE = 44_100
#: Pitch and beep rate of the guide tone: far from the zone (distance 1) to at its edge (0).
FAR_HZ, NEAR_HZ = 330.0, 880.0
FAR_BEEPS, NEAR_BEEPS = 2.0, 10.0
IN_ZONE_HZ = 990.0
AMPLITUDE = 0.25


def guide_params(distance: float | None) -> tuple[float, float]:
    """(pitch Hz, beeps per second) for a distance to the zone in [0, 1] (0 = at its edge,
    1 = far; larger is clipped). Negative: inside the zone, a steady tone (0 beeps/s). None:
    silence (0 Hz)."""
    if distance is None or math.isnan(distance):   # nothing to guide to
        return 0.0, 0.0
    if distance < 0:
        return IN_ZONE_HZ, 0.0
    near = 1.0 - min(float(distance), 1.0)
    return FAR_HZ + (NEAR_HZ - FAR_HZ) * near, FAR_BEEPS + (NEAR_BEEPS - FAR_BEEPS) * near


def distance_to_zone(x_mm: float, y_mm: float, target: tuple[float, float, float] | None,
                     scale_mm: float) -> float | None:
    """How far the COP is from the target zone's edge, as a share of ``scale_mm`` (half the
    foot's length: from the middle to the toes is about 1); negative inside the zone."""
    if target is None or math.isnan(x_mm):
        return None
    tx, ty, r = target
    d = float(np.hypot(x_mm - tx, y_mm - ty)) - r
    return d / r if d < 0 else d / scale_mm


def tone(freq_hz: float, n: int, rate: int = RATE, beeps_per_s: float = 0.0,
         phase: float = 0.0, t0_s: float = 0.0, amplitude: float = AMPLITUDE) -> np.ndarray:
    """``n`` float32 samples of a sine at ``freq_hz`` starting at ``phase`` (radians); gated on
    and off ``beeps_per_s`` times a second (half on, half off, timed from ``t0_s``) when > 0."""
    t = np.arange(n) / rate
    out = amplitude * np.sin(phase + 2 * np.pi * freq_hz * t)
    if beeps_per_s > 0:
        on = ((t0_s + t) * beeps_per_s) % 1.0 < 0.5
        out = out * on
    return out.astype(np.float32)


def chime(rate: int = RATE) -> np.ndarray:
    """Hold done: two rising notes (E6 then A6, 0.12 s each) with a short fade."""
    notes = [tone(f, int(0.12 * rate), rate) for f in (1318.5, 1760.0)]
    out = np.concatenate(notes)
    fade = np.minimum(1.0, np.minimum(np.arange(len(out)), np.arange(len(out))[::-1]) / 200)
    return (out * fade).astype(np.float32)


def tick(rate: int = RATE) -> np.ndarray:
    """A countdown tick: 40 ms at 1 kHz, decaying."""
    n = int(0.04 * rate)
    return (tone(1000.0, n, rate) * np.exp(-np.arange(n) / (0.01 * rate))).astype(np.float32)


class Synth:
    """What the audio callback plays: the guide tone (continuous, phase-continuous across
    blocks) mixed with one-shot sounds. ``render`` is the callback's body; it is pure numpy and
    runs without a device in tests."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._freq = 0.0
        self._beeps = 0.0
        self._phase = 0.0
        self._t = 0.0
        self._shots: list[np.ndarray] = []

    def set_distance(self, distance: float | None) -> None:
        freq, beeps = guide_params(distance)
        with self._lock:
            self._freq, self._beeps = freq, beeps

    def reset(self) -> None:
        """Silence: no guide tone, no pending one-shots."""
        with self._lock:
            self._freq = self._beeps = 0.0
            self._shots = []

    def play(self, samples: np.ndarray) -> None:
        with self._lock:
            self._shots.append(samples)

    def render(self, n: int) -> np.ndarray:
        with self._lock:
            freq, beeps, phase, t0 = self._freq, self._beeps, self._phase, self._t
            shots, self._shots = self._shots, []
        out = tone(freq, n, self.rate, beeps, phase, t0) if freq > 0 else \
            np.zeros(n, np.float32)
        rest = []
        for s in shots:
            k = min(n, len(s))
            out[:k] += s[:k]
            if len(s) > n:
                rest.append(s[n:])
        with self._lock:
            self._phase = (phase + 2 * np.pi * freq * n / self.rate) % (2 * np.pi)
            self._t = t0 + n / self.rate
            self._shots[:0] = rest
        return np.clip(out, -1.0, 1.0)


class Output:
    """A PortAudio output stream fed by a :class:`Synth`."""

    def __init__(self, stream, synth: Synth, name: str) -> None:
        self.stream, self.synth, self.name = stream, synth, name

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def open_output(synth: Synth) -> tuple[Output | None, str]:
    """(output, "") when an audio device plays; else (None, why, worded for the status line)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as e:   # the package, or the PortAudio library it loads
        return None, (f"no audio output ({e}): sound cues use the system bell; install "
                      "libportaudio2 for guiding tones")

    def callback(outdata, frames, _time, _status) -> None:
        outdata[:, 0] = synth.render(frames)

    try:
        dev = sd.query_devices(kind="output")
        stream = sd.OutputStream(samplerate=synth.rate, channels=1, dtype="float32",
                                 callback=callback, blocksize=512)
        stream.start()
    except Exception as e:  # noqa: BLE001 - PortAudioError, ValueError: no device here
        return None, (f"no audio output device ({str(e) or type(e).__name__}): sound cues "
                      "use the system bell")
    return Output(stream, synth, str(dev.get("name", "audio"))), ""
