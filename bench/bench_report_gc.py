"""What the UI thread waits for while the app makes the PDF report: the collector's pauses.

The real window (offscreen) on bench_scale's year of data (made and cached by bench_scale on
first use) makes the report from the Export screen three times. For each report it prints the
event-loop batches over 20 ms (what the UI thread waited), the garbage collections over 5 ms
(a ``gc.callbacks`` timer: they hold Python's lock whichever thread runs them), and how long
a ``gc.collect()`` right after the report takes with nothing left to free.

Run: ``PYTHONPATH=app .venv/bin/python bench/bench_report_gc.py``
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_scale as bs


def main() -> int:
    ddir, _ = bs.ensure_data("year", bs.DataSpec(1, 150, 5, (1, 2)), print)
    os.environ["STANCELAB_DATA_DIR"] = str(ddir)      # read only: the report writes elsewhere
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from stancelab.ui.app import build_window, settle_after_startup
    from stancelab.ui.context import AppContext

    ctx = AppContext()
    win = build_window(ctx)
    win.resize(1280, 800)
    win.show()
    meter = bs.Meter(app, ctx)
    year = max(ctx.storage.athletes(), key=lambda a: len(ctx.storage.sessions(a.id)))
    ctx.select_athlete(year)
    meter.pump()
    settle_after_startup()
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def timer(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], 1e3 * (time.perf_counter() - started[0])))

    gc.callbacks.append(timer)
    exp = win.show_screen("Export")
    meter.pump()
    with tempfile.TemporaryDirectory() as out:
        exp.folder.setText(out)
        try:
            for k in range(3):
                pauses.clear()
                exp.export_pdf()
                waits, quiet = [], 0
                while quiet < 3:
                    t = time.perf_counter()
                    app.processEvents()
                    d = 1e3 * (time.perf_counter() - t)
                    if d > 20:
                        waits.append(round(d))
                    if ctx.worker.running:
                        quiet = 0
                        time.sleep(0.0005)
                    else:
                        quiet += 1
                t = time.perf_counter()
                freed = gc.collect()
                after = 1e3 * (time.perf_counter() - t)
                long_gc = [f"gen{g} {ms:.0f} ms" for g, ms in pauses if ms > 5]
                print(f"report {k + 1}: UI batches > 20 ms: {waits or 'none'}; collections "
                      f"> 5 ms: {', '.join(long_gc) or 'none'}; gc.collect() after: "
                      f"{after:.0f} ms ({freed} freed)")
        finally:
            gc.callbacks.remove(timer)
            win.close()
            ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
