"""The domain core never imports Qt: only stancelab.ui may."""

import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parents[1] / "app" / "stancelab"
QT_ROOTS = {"PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "shiboken6", "qtpy"}


def _imported_roots(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_no_qt():
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "ui":
            continue
        bad = _imported_roots(path) & QT_ROOTS
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert not offenders, "Qt imported outside stancelab.ui:\n" + "\n".join(offenders)


def test_checker_catches_a_qt_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from PySide6 import QtCore\nimport numpy\n")
    assert _imported_roots(probe) & QT_ROOTS == {"PySide6"}
