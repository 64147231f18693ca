"""Shared test setup: Qt runs offscreen; the data directory is a per-test temp folder."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

# The firmware emulator's toolchain and values fixtures, shared by its test modules.
pytest_plugins = ["emulator.host"]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only when selected (``pytest -m slow``, as .ci/run does)."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="long run; selected with: pytest -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Keep every test away from the user's real StanceLab database and calibrations."""
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path / "stancelab-data"))
    yield
