"""Shared test setup: Qt runs offscreen; the data directory is a per-test temp folder; the
storage fixtures (`db` on both backends, `pg_server`) come from storage_backends.py."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

# Shared fixtures: the firmware emulator's toolchain and values; the storage backends (one `db`
# fixture over SQLite and a throw-away PostgreSQL server).
pytest_plugins = ["emulator.host", "storage_backends"]


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
    """Keep every test away from the user's real StanceLab database and calibrations (and
    from a clinic server named in the developer's environment)."""
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path / "stancelab-data"))
    monkeypatch.delenv("STANCELAB_DATABASE_URL", raising=False)
    yield
