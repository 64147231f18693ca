"""Shared test setup: Qt runs offscreen; the data directory is a per-test temp folder."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Keep every test away from the user's real StanceLab database and calibrations."""
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path / "stancelab-data"))
    yield
