"""Shared test setup: Qt runs offscreen; the data directory is a per-test temp folder; the
storage fixtures (`db` on both backends, `pg_server`) come from storage_backends.py."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from storage_backends import db, pg_db, pg_server  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Keep every test away from the user's real StanceLab database and calibrations (and
    from a clinic server named in the developer's environment)."""
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path / "stancelab-data"))
    monkeypatch.delenv("STANCELAB_DATABASE_URL", raising=False)
    yield
