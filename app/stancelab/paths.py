"""Where StanceLab keeps its data: the database, calibrations included."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The user data directory; STANCELAB_DATA_DIR overrides it (tests, several stations)."""
    override = os.environ.get("STANCELAB_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir("stancelab", False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return data_dir() / "stancelab.sqlite3"
