"""PySide6 6.12.0 on Python 3.11 leaks a reference to None on every void Qt call and aborts
the interpreter after a few thousand calls. The install must avoid that combination, and a
long run of void calls must exit cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import PySide6

LOOP = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    w = QWidget()
    before = sys.getrefcount(None)
    for _ in range(20000):
        w.update()
    leaked = sys.getrefcount(None) - before
    print(leaked)
    sys.exit(0 if leaked < 1000 else 3)
""")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


def test_installed_pyside_is_not_the_crashing_combination():
    bad = sys.version_info[:2] == (3, 11) and _version_tuple(PySide6.__version__) == (6, 12, 0)
    assert not bad, ("PySide6 6.12.0 crashes on Python 3.11: install another version, "
                     "e.g. pip install 'PySide6-Essentials>=6.8,!=6.12.0'")


def test_many_void_qt_calls_exit_cleanly():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", LOOP], env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert proc.returncode == 0, (f"exit {proc.returncode}; None refs leaked: "
                                  f"{proc.stdout.strip()}\n{proc.stderr[-2000:]}")
