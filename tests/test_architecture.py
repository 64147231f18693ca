"""The layout holds: import-linter's contracts (pyproject.toml), no import cycle, small modules.

Each check is also run against a deliberately broken copy of the package, so a checker that
stopped looking would fail here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "app" / "stancelab"
MAX_MODULE_LINES = 600


def _lint_imports(app_dir: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    env = dict(os.environ, PYTHONPATH=str(app_dir))
    return subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_import_contracts_are_kept():
    r = _lint_imports(ROOT / "app")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def _broken_copy(tmp_path: Path, module: str, line: str) -> Path:
    app = tmp_path / "app"
    shutil.copytree(PKG, app / "stancelab", ignore=shutil.ignore_patterns("__pycache__"))
    target = app / "stancelab" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\ndef _probe():\n    {line}\n",
                      encoding="utf-8")
    return app


@pytest.mark.parametrize("module, line, contract", [
    ("board/source.py", "from stancelab.sim import athlete", "Data flows one way"),
    ("drills/base.py", "import stancelab.storage", "Data flows one way"),
    ("analysis/sway.py", "import stancelab.board.protocol", "Data flows one way"),
    ("storage/__init__.py", "import PySide6.QtCore", "Qt and pyqtgraph only in the UI"),
])
def test_a_broken_layer_is_caught(tmp_path, module, line, contract):
    if not (PKG / module).exists():   # a module that became a package, or the reverse
        module = (module.replace("/__init__.py", ".py") if module.endswith("__init__.py")
                  else module.replace(".py", "/__init__.py"))
    r = _lint_imports(_broken_copy(tmp_path, module, line))
    assert r.returncode != 0
    assert contract in r.stdout.split("Broken contracts")[-1]


def _cycles(app_dir: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(app_dir))
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "import_graph.py"), "stancelab"],
                       env=env, capture_output=True, text=True, timeout=300, check=True)
    return r.stdout.splitlines()


def test_no_import_cycles():
    cycles = _cycles(ROOT / "app")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_a_cycle_is_caught(tmp_path):
    app = _broken_copy(tmp_path, "geometry.py", "from stancelab import processing")
    assert any("stancelab.geometry" in c and "stancelab.processing" in c for c in _cycles(app))


def test_no_module_is_over_600_lines():
    long = [f"{p.relative_to(PKG)}: {n}" for p in sorted(PKG.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by role):\n" + \
        "\n".join(long)
