"""The guiding sound, checked in the samples it makes (pitch and beep rate with an FFT, no audio
device needed), and the fallback to the system bell where there is no audio output."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

import ui_helpers
from stancelab.ui import sound
from stancelab.ui.audio import AudioCues

qt_guard = ui_helpers.qt_guard
RATE = sound.RATE


def _peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


def _beep_rate(x: np.ndarray, rate: int = RATE) -> float:
    """Gating frequency: the FFT peak of the tone's on/off envelope (mean removed)."""
    env = (np.abs(x) > 1e-6).astype(float)
    # Envelope sampled at 1 kHz (the sine's zero crossings averaged out).
    k = rate // 1000
    env = env[:len(env) // k * k].reshape(-1, k).max(axis=1)
    spec = np.abs(np.fft.rfft(env - env.mean()))
    return float(np.fft.rfftfreq(len(env), 1 / 1000)[np.argmax(spec)])


def _render(distance, seconds=2.0, block=512) -> np.ndarray:
    syn = sound.Synth()
    syn.set_distance(distance)
    n = int(seconds * RATE)
    return np.concatenate([syn.render(block) for _ in range(n // block)])


@pytest.mark.parametrize("distance", [1.0, 0.5, 0.0])
def test_pitch_and_beep_rate_rise_as_the_athlete_nears_the_zone(distance):
    x = _render(distance)
    freq, beeps = sound.guide_params(distance)
    assert _peak_hz(x) == pytest.approx(freq, abs=2.0)
    assert _beep_rate(x) == pytest.approx(beeps, abs=0.6)


def test_the_mapping_is_monotonic_and_inside_the_zone_is_a_steady_tone():
    freqs, beeps = zip(*(sound.guide_params(v) for v in np.linspace(1.0, 0.0, 11)))
    assert all(b > a for a, b in pairwise(freqs))
    assert all(b > a for a, b in pairwise(beeps))
    assert sound.guide_params(1.5) == sound.guide_params(1.0)    # further than far: far
    x = _render(-0.3)
    assert _peak_hz(x) == pytest.approx(sound.IN_ZONE_HZ, abs=2.0)
    assert np.mean(np.abs(x) > 1e-6) > 0.99                       # never gated off
    assert not np.any(_render(None))                              # no target: silence


def test_the_tone_is_continuous_across_callback_blocks():
    """The audio callback renders blocks of 512 samples; a phase jump between blocks would
    click. The block-by-block signal equals one rendered in one go."""
    whole = sound.tone(sound.IN_ZONE_HZ, 512 * 40)
    assert np.allclose(_render(-0.1, seconds=512 * 40 / RATE), whole, atol=1e-4)


def test_distance_to_zone_from_the_cop():
    target = (0.0, 100.0, 20.0)            # a zone of 20 mm radius at 12 o'clock
    assert sound.distance_to_zone(0.0, 0.0, target, 130.0) == pytest.approx(80 / 130)
    assert sound.distance_to_zone(0.0, 90.0, target, 130.0) == pytest.approx(-0.5)
    assert sound.distance_to_zone(float("nan"), 0.0, target, 130.0) is None
    assert sound.distance_to_zone(0.0, 0.0, None, 130.0) is None


def test_hold_done_is_a_distinct_rising_chime_and_one_shots_mix_in():
    c = sound.chime()
    half = len(c) // 2
    first, second = _peak_hz(c[:half]), _peak_hz(c[half:])
    assert first == pytest.approx(1318.5, abs=10) and second == pytest.approx(1760, abs=10)
    assert abs(first - sound.NEAR_HZ) > 200 and abs(second - sound.IN_ZONE_HZ) > 200
    syn = sound.Synth()
    syn.play(c)
    out = np.concatenate([syn.render(512) for _ in range(len(c) // 512 + 2)])
    assert np.allclose(out[:len(c)], c, atol=1e-6)
    assert not np.any(out[len(c):])


def test_without_an_audio_output_the_bell_is_used_and_said_once():
    cues = AudioCues(open_output=lambda synth: (None, "no audio output device (none here)"))
    assert cues.start() == "no audio output device (none here)"
    cues.countdown(3)
    cues.reached("3 o'clock")
    cues.stop()
    assert cues.start() == ""               # said once, not at every drill
    assert cues.played == ["tick 3", "reached 3 o'clock"]
    assert cues.output is None


def test_with_an_output_the_cues_go_to_the_synth():
    class FakeStream:      # stands for the PortAudio stream only: the synth is the real one
        closed = False

        def close(self):
            FakeStream.closed = True

    cues = AudioCues(open_output=lambda synth: (sound.Output(FakeStream(), synth, "test"), ""))
    cues.start()
    cues.output.stream.stop = lambda: None
    cues.reached("12 o'clock")
    cues.guide(0.0)
    x = cues.synth.render(4410)
    assert np.any(x)
    cues.stop()
    assert FakeStream.closed and not np.any(cues.synth.render(512))


def test_this_machine_s_audio_output_opens_or_says_why():
    """The real PortAudio probe: plays where a device exists, else one sentence, no raise."""
    out, why = sound.open_output(sound.Synth())
    if out is None:
        assert why.startswith("no audio output") and "system bell" in why
    else:
        out.close()
