"""The athlete view on real screens: the app in a child process under Xvfb (QT_QPA_PLATFORM=xcb),
measured as a person would, against the screen it is on; a second monitor that is unplugged and
plugged back mid-drill (RandR monitors, which Qt reports as screens and removes for real); and the
start-up without a display."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xvfb_display import Xvfb

ROOT = Path(__file__).resolve().parents[1]
CHILD = ROOT / "tests" / "ui_athlete_child.py"


def _child(x: Xvfb, tmp_path, *args) -> dict:
    env = x.env(QT_QPA_PLATFORM="xcb", STANCELAB_DATA_DIR=str(tmp_path / "data"),
                PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT / "tests")]))
    res = subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True,
                         text=True, timeout=240, check=False)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stderr[-2000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture
def one_screen():
    x = Xvfb(1920, 1080)
    yield x
    x.close()


@pytest.fixture
def two_screens():
    """A laptop (the coach) and a TV side by side on one X screen."""
    x = Xvfb(3840, 1080)
    x.monitor("COACH", 1920, 1080, 0, output="screen")
    x.monitor("TV", 1920, 1080, 1920)
    yield x
    x.close()


def test_athlete_view_is_readable_from_the_board_at_1920x1080(one_screen, tmp_path):
    r = _child(one_screen, tmp_path, "size")
    h = r["screen"][3]
    assert r["screen"] == [0, 0, 1920, 1080]
    # The coach's window opens to fit the screen (90 % of it), not at a fixed 1280 x 800.
    ax, ay, aw, ah = r["available"]
    wx, wy, ww, wh = r["window"]
    assert ax <= wx and ay <= wy and wx + ww <= ax + aw and wy + wh <= ay + ah
    assert ww >= 0.85 * aw and wh >= 0.85 * ah
    # While the drill runs the athlete view covers the whole screen...
    assert r["athlete_window"] == r["screen"] and r["athlete_screen"] == "screen"
    # ...with the cue in words at least 6 % of the screen's height (two lines' room)...
    assert r["cue_px"] >= 0.06 * h, r
    assert r["cue_band_px"] >= 2 * r["cue_px"]
    assert r["cue_text"]
    # ...the foot and its targets drawn over at least 70 % of it...
    assert r["foot_and_targets_px"] >= 0.70 * h, r
    assert r["foot_px"] >= 0.70 * h, r
    # ...a large countdown and hold ring, the scores in large type, the coach's line small.
    assert r["countdown_px"] >= 0.12 * h
    assert r["ring_px"] >= 0.25 * h
    assert r["score_px"] >= 0.04 * h
    assert r["coach_line_px"] <= 0.02 * h
    assert r["state"] in ("in-zone", "hold-done")
    # Escape stops the drill and brings the coach's window back.
    assert r["after_escape_detached"] is False and r["after_escape_window_visible"] is True
    assert r["restored_window"] == [100, 80, 1300, 760]


def test_the_athlete_view_goes_to_the_second_screen_and_survives_its_unplugging(two_screens,
                                                                               tmp_path):
    r = _child(two_screens, tmp_path, "second", "TV", "1920", "1080", "1920")
    assert r["screens"] == ["COACH", "TV"]
    assert r["coach_screen"] == "COACH"
    assert r["athlete_screen"] == "TV" and r["athlete_window"] == [1920, 0, 1920, 1080]
    # The TV's cable pulled mid-drill: the view comes to the coach's screen, full screen, and
    # the drill goes on; the coach is told why.
    assert r["unplugged_screen"] == "COACH" and r["unplugged_window"] == [0, 0, 1920, 1080]
    assert r["unplugged_state"] == "running"
    assert "unplugged" in r["message"]
    # Plugged back in: the view goes back to the TV.
    assert r["replugged_screen"] == "TV"
    assert r["after_escape_detached"] is False


def _start_app(env_changes: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYTHONPATH=str(ROOT / "app"), STANCELAB_DATA_DIR=str(tmp_path / "data"),
               QT_QPA_PLATFORM="xcb", **env_changes)
    return subprocess.run([sys.executable, "-m", "stancelab", "--simulate"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_without_a_display_the_app_says_so_in_one_line_and_exits_2(tmp_path):
    res = _start_app({}, tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("stancelab: error: there is no display")
    assert "stancelab record --simulate" in lines[0]


def test_a_display_that_cannot_be_opened_is_named(tmp_path):
    res = _start_app({"DISPLAY": ":199"}, tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines == [lines[0]] and "display :199 cannot be opened" in lines[0]
