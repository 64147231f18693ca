"""Child process of tests/test_ui_athlete_view.py: the real app under a real X server (Xvfb,
QT_QPA_PLATFORM=xcb), a clock-balance drill on the simulated board, and what a person would
measure on the screen, printed as one JSON object.

    python tests/ui_athlete_child.py size             # one screen
    python tests/ui_athlete_child.py second TV W H X  # a second monitor TV: unplug, plug back
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from PySide6.QtCore import QRectF
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from stancelab.ui import displays
from stancelab.ui.app import build_window
from stancelab.ui.context import AppContext


def pump(app, until, timeout_s=60.0, what="") -> None:
    end = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.002)


def rect(r) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def drawn_height_px(canvas, items) -> float:
    """Height on the screen (device pixels) of the union of scene items as the canvas draws
    them."""
    box = QRectF()
    for it in items:
        box = box.united(it.sceneBoundingRect())
    return float(canvas.mapFromScene(box).boundingRect().height())


def start_clock(app, ctx, win):
    ctx.connect_simulated(seed=3)
    drills = win.show_screen("Drills")
    drills.select("clock-right")
    drills.go()
    pump(app, lambda: drills.view.state in ("moving", "in-zone") and drills.detached,
         what="the first clock target")
    return drills


def measure_size(app, ctx, win) -> dict:
    screen = win.screen()
    out = {"screen": rect(screen.geometry()), "available": rect(screen.availableGeometry()),
           "window": rect(win.frameGeometry())}
    drills = start_clock(app, ctx, win)
    pump(app, lambda: drills.view.state == "in-zone" and drills.ring.fraction > 0.3,
         what="a hold in the zone")
    for _ in range(5):
        app.processEvents()
    view, canvas = drills.view, drills.canvas
    out.update({
        "athlete_window": rect(drills._window.frameGeometry()),
        "athlete_screen": drills._window.screen().name(),
        "cue_px": view.cue.fontInfo().pixelSize(),
        "cue_band_px": view.band.height(),
        "cue_text": view.cue.text(),
        "foot_px": drawn_height_px(canvas, canvas._feet),
        "foot_and_targets_px": drawn_height_px(canvas, canvas._feet + canvas._target_items),
        "countdown_px": view.big.fontInfo().pixelSize(),
        "ring_px": min(view.ring.width(), view.ring.height()),
        "score_px": view.score_label.fontInfo().pixelSize(),
        "coach_line_px": view.coach_line.fontInfo().pixelSize(),
        "state": view.state,
    })
    # Escape from the keyboard (as a pedal would send it), through the X server.
    subprocess.run(["xdotool", "key", "Escape"], check=True)
    pump(app, lambda: drills.state == "done" and not drills.detached, timeout_s=10,
         what="Escape to stop the drill")
    out["after_escape_detached"] = drills.detached
    out["after_escape_window_visible"] = win.isVisible()
    # The coach moves the window; the next start puts it back there.
    win.setGeometry(100, 80, 1300, 760)
    pump(app, lambda: win.geometry().width() == 1300, timeout_s=5, what="the window resize")
    displays.remember_main_window(win)
    win.setGeometry(0, 0, 1200, 700)
    displays.place_main_window(win)
    out["restored_window"] = rect(win.geometry())
    return out


def measure_second(app, ctx, win, name: str, w: int, h: int, x: int) -> dict:
    out = {"screens": [s.name() for s in QGuiApplication.screens()],
           "coach_screen": win.screen().name()}
    drills = start_clock(app, ctx, win)
    out["athlete_screen"] = drills._window.screen().name()
    out["athlete_window"] = rect(drills._window.geometry())
    removed = []
    app.screenRemoved.connect(lambda s: removed.append(s.name()))
    subprocess.run(["xrandr", "--delmonitor", name], check=True)
    pump(app, lambda: removed, what="Qt to see the monitor go")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.005)
    out["unplugged_screen"] = drills._window.screen().name()
    out["unplugged_window"] = rect(drills._window.geometry())
    out["unplugged_state"] = drills.state
    out["message"] = drills.message.text()
    out["status"] = win.status.text()
    mm = f"{w}/{w * 254 // 960}x{1080}/{1080 * 254 // 960}+{x}+0"
    subprocess.run(["xrandr", "--setmonitor", name, mm, "none"], check=True)
    pump(app, lambda: drills._window.screen().name() == name, timeout_s=10,
         what="the athlete view back on the plugged-in screen")
    out["replugged_screen"] = drills._window.screen().name()
    drills.escape()
    out["after_escape_detached"] = drills.detached
    return out


def main(argv) -> int:
    app = QApplication(sys.argv[:1])
    ctx = AppContext()
    ctx.realtime = False
    win = build_window(ctx)
    displays.place_main_window(win)
    win.show()
    pump(app, lambda: win.isVisible() and win.windowHandle().isExposed(), what="the window")
    try:
        if argv[0] == "size":
            out = measure_size(app, ctx, win)
        else:
            name, w, h, x = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
            out = measure_second(app, ctx, win, name, w, h, x)
    finally:
        win.close()
        ctx.close()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
