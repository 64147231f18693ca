"""Which database to open: a clinic's PostgreSQL server or the laptop's own SQLite file.

``STANCELAB_DATABASE_URL=postgresql://user@host/db`` (or ``postgres://``) selects the server for
every command and the app; without it StanceLab uses its SQLite file in the data directory. A
password never belongs in that URL: libpq reads it from ``~/.pgpass``, a service file
(``postgresql:///?service=clinic``) or ``PGPASSWORD`` (docs/clinic.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from stancelab import paths
from stancelab.storage.records import StorageError
from stancelab.storage.sqlite_backend import DEFAULT_BUSY_TIMEOUT_S, SqliteBackend

DATABASE_URL_ENV = "STANCELAB_DATABASE_URL"
SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(target) -> bool:
    return isinstance(target, str) and target.lower().startswith(SERVER_SCHEMES)


def configured_target() -> str | Path:
    """What ``Storage()`` opens: the URL in STANCELAB_DATABASE_URL, else the SQLite file."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    return url if url else paths.database_path()


def open_backend(target=None, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S):
    """A backend for a path (SQLite), a ``postgresql://`` URL, or None (the configured one)."""
    if target is None:
        target = configured_target()
    if is_server_url(target):
        # Imported here: psycopg is only needed by a station that talks to a server (the
        # `clinic` extra), never by a laptop on SQLite.
        try:
            from stancelab.storage.postgres_backend import PostgresBackend
        except ImportError as e:
            raise StorageError(
                f"A PostgreSQL server was asked for, but this StanceLab is installed without "
                f"its driver ({e}). Install it with: pip install 'stancelab[clinic]'",
                "invalid") from None
        return PostgresBackend(target, busy_timeout_s)
    return SqliteBackend(target, busy_timeout_s)
